"""The Python API of make_vec: spaces, buffers, autoreset, threads, info, missions."""

from __future__ import annotations

import numpy as np
from conftest import mission_strings
from gymnasium.vector import AutoresetMode

import bidir_core

EXPECTED_TASKS = {
    "BabyAI-GoToRedBallNoDists-v0",
    "BabyAI-GoToRedBallGrey-v0",
    "BabyAI-GoToRedBall-v0",
    "BabyAI-GoToObj-v0",
    "BabyAI-GoToLocal-v0",
    *(f"MiniGrid-Empty-{s}x{s}-v0" for s in (5, 6, 8, 16)),
    *(f"MiniGrid-DoorKey-{s}x{s}-v0" for s in (5, 6, 8, 16)),
}


def test_list_tasks():
    tasks = bidir_core.list_tasks()
    assert EXPECTED_TASKS <= set(tasks)
    assert len(set(tasks)) == len(tasks)
    # Every other task is a BabyAI level registered by minigrid.
    import gymnasium as gym
    import minigrid  # noqa: F401
    assert set(tasks) - EXPECTED_TASKS <= {e for e in gym.registry if e.startswith("BabyAI")}


def test_spaces_and_metadata():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 4, seed=3)
    assert env.num_envs == 4
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert env.single_action_space.n == 7
    obs, info = env.reset()
    assert set(info) == {"env_id"}
    np.testing.assert_array_equal(info["env_id"], np.arange(4))
    assert obs["image"].shape == (4, 7, 7, 3) and obs["image"].dtype == np.uint8
    assert obs["direction"].shape == (4,) and obs["direction"].dtype == np.int64
    assert obs["mission"].shape == (4, bidir_core.MISSION_BYTES)
    assert env.observation_space.contains(obs)
    assert mission_strings(obs["mission"]) == ["go to the red ball"] * 4
    obs, rew, term, trunc, info = env.step(env.action_space.sample())
    assert rew.dtype == np.float32 and term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert env.observation_space.contains(obs)


def test_outputs_are_preallocated_views_with_copy_false():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 8, seed=0, copy=False)
    obs1, _ = env.reset()
    obs2, rew2, *_ = env.step(np.zeros(8, np.int64))
    obs3, rew3, *_ = env.step(np.ones(8, np.int64))
    assert np.shares_memory(obs1["image"], obs3["image"])
    assert np.shares_memory(rew2, rew3)
    assert not obs3["image"].flags.writeable


def test_default_seed_and_unseeded_resets_differ_between_envs():
    a = bidir_core.make_vec("BabyAI-GoToLocal-v0", 16, seed=11)
    b = bidir_core.make_vec("BabyAI-GoToLocal-v0", 16)
    c = bidir_core.make_vec("BabyAI-GoToLocal-v0", 16)
    obs_a, _ = a.reset()
    obs_11 = bidir_core.make_vec("BabyAI-GoToLocal-v0", 16).reset(seed=11)[0]
    np.testing.assert_array_equal(obs_a["image"], obs_11["image"])
    ib = b.reset()[0]["image"].copy()
    ic = c.reset()[0]["image"].copy()
    assert len({ib[i].tobytes() for i in range(16)}) > 8  # envs are not clones
    assert not np.array_equal(ib, ic)


def test_seed_sequence_and_reset_mask():
    env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 3)
    obs, _ = env.reset(seed=[5, 9, 5])
    np.testing.assert_array_equal(obs["image"][0], obs["image"][2])
    before = obs["image"].copy()
    missions = env.missions()
    obs, _ = env.reset(options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(obs["image"][0], before[0])
    assert env.missions()[0] == missions[0]


def _rollout(env, steps, seed):
    rng = np.random.default_rng(seed)
    out = []
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        obs, rew, term, trunc, _ = env.step(rng.integers(0, 7, env.num_envs))
        out.append((obs["image"].copy(), rew.copy(), term.copy(), trunc.copy()))
    return out


def test_threads_give_identical_results():
    one = _rollout(bidir_core.make_vec("BabyAI-GoToRedBall-v0", 9), 150, 1)
    two = _rollout(bidir_core.make_vec("BabyAI-GoToRedBall-v0", 9, num_threads=2), 150, 1)
    three = _rollout(bidir_core.make_vec("BabyAI-GoToRedBall-v0", 9, num_threads=3), 150, 1)
    for a, b, c in zip(one, two, three):
        for x, y, z in zip(a, b, c):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)


def test_episode_info_reports_return_length_success():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 16, seed=2)
    env.reset()
    seen = 0
    for _ in range(80):
        _, rew, term, trunc, info = env.step(env.expert_actions())
        if "_episode_stats" in info:
            done = info["_episode_stats"]
            np.testing.assert_array_equal(done, term | trunc)
            np.testing.assert_array_equal(info["episode_stats"]["r"][done], rew[done])
            assert info["episode_stats"]["success"][done].all()
            assert (info["episode_stats"]["l"][done] >= 1).all()
            seen += int(done.sum())
    assert seen >= 16

def test_episode_stats_are_zero_where_no_episode_ended():
    # The core writes every row of the statistics (0 where no episode ended) and counts the
    # ended episodes; random actions end some by success, some by truncation.
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 16, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    seen = successes = 0
    for _ in range(300):
        _, rew, term, trunc, info = env.step(rng.integers(0, 7, 16))
        if "_episode_stats" not in info:
            assert not (term | trunc).any()
            continue
        done, stats = info["_episode_stats"], info["episode_stats"]
        np.testing.assert_array_equal(done, term | trunc)
        assert [stats[k].dtype for k in ("r", "l", "t", "success")] == [
            np.float32, np.int32, np.float64, np.bool_]
        for k in ("r", "l", "t", "success"):
            assert not stats[k][~done].any(), k
        assert (stats["l"][done] >= 1).all() and (stats["t"][done] >= 0).all()
        np.testing.assert_array_equal(stats["r"][done], rew[done])
        seen += int(done.sum())
        successes += int(stats["success"].sum())
    assert seen > successes > 0
    raw = env._core
    ended = 0
    for _ in range(100):
        count = raw.step(rng.integers(0, 7, 16))
        assert count == int(env._buf["episode_done"].sum())
        ended += count
    assert ended > 0



def test_next_step_autoreset_ignores_action_and_zeroes_outputs():
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 4, seed=0)
    env.reset()
    for _ in range(200):
        _, _, term, trunc, _ = env.step(env.expert_actions())
        if (term | trunc).any():
            break
    ended = term | trunc
    assert ended.any()
    _, rew, term, trunc, _ = env.step(np.full(4, 2))
    assert (rew[ended] == 0).all() and not term[ended].any() and not trunc[ended].any()


def test_following_the_oracle_solves_every_episode():
    for task in ("BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-8x8-v0"):
        env = bidir_core.make_vec(task, 16, seed=4)
        env.reset()
        successes = failures = 0
        for _ in range(400):
            _, _, _, _, info = env.step(env.expert_actions())
            if "_episode_stats" in info:
                done = info["_episode_stats"]
                successes += int(info["episode_stats"]["success"][done].sum())
                failures += int((~info["episode_stats"]["success"][done]).sum())
        assert successes >= 16 and failures == 0, task


def test_repr_and_describe_images_shape():
    env = bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 2)
    assert "MiniGrid-Empty-5x5-v0" in repr(env)
    obs, _ = env.reset(seed=0)
    texts = bidir_core.describe_images(np.ascontiguousarray(obs["image"]))
    assert texts == env.descriptions()
    assert all(isinstance(s, str) for t in texts for s in t)
