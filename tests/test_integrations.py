"""Stable-Baselines3 and envpool compatibility."""

import time

import numpy as np
import pytest

import bidir_core

TASK = "BabyAI-GoToRedBallNoDists-v0"


def test_sb3_vec_env_info_keys():
    sb3 = pytest.importorskip("bidir_core.integrations.sb3")
    env = sb3.make_sb3_vec("MiniGrid-Empty-5x5-v0", 4, seed=0)
    env.seed(7)
    obs = env.reset()
    assert env.observation_space.contains({k: v[0] for k, v in obs.items()})
    ref = bidir_core.make_vec("MiniGrid-Empty-5x5-v0", 4)
    np.testing.assert_array_equal(obs["image"], ref.reset(seed=7)[0]["image"])
    seen = {"success": 0, "truncated": 0}
    for t in range(260):
        a = env.env.expert_actions() if t < 60 else np.zeros(4, np.int64)  # then spin in place
        final = env.env._final_obs["image"]  # a live view of the C++ final-observation buffer
        obs, rew, dones, infos = env.step(a)
        assert rew.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == 4
        for i in np.flatnonzero(dones):
            info = infos[i]
            np.testing.assert_array_equal(info["terminal_observation"]["image"], final[i])
            assert info["is_success"] == (info["episode"]["r"] > 0)
            assert info["episode"]["l"] >= 1 and info["episode"]["t"] >= 0
            seen["success"] += info["is_success"]
            seen["truncated"] += info["TimeLimit.truncated"]
            assert info["TimeLimit.truncated"] == (info["episode"]["l"] == 100)
        for i in np.flatnonzero(~dones):
            assert infos[i] == {}
    assert seen["success"] >= 4 and seen["truncated"] >= 4
    assert env.get_attr("task_id") == ["MiniGrid-Empty-5x5-v0"] * 4
    assert len(env.env_method("expert_actions", indices=[1, 2])) == 2
    assert env.env_is_wrapped(object) == [False] * 4


@pytest.mark.slow
def test_sb3_ppo_trains_a_few_thousand_steps():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    from bidir_core.integrations.sb3 import make_sb3_vec

    env = VecMonitor(make_sb3_vec(TASK, 8, seed=0))
    model = PPO("MultiInputPolicy", env, n_steps=64, batch_size=128, n_epochs=2, seed=0,
                policy_kwargs={"net_arch": [32]}, device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    assert len(model.ep_info_buffer) > 0  # episodes were reported
    assert time.perf_counter() - start < 60


# -- envpool --------------------------------------------------------------------------------
def _envpool_loop(env, steps=40):
    """Code written for envpool.make(..., env_type="gymnasium"): sync and async stepping."""
    obs, info = env.reset()
    n = len(info["env_id"])
    total = 0.0
    for t in range(steps):
        obs, rew, term, trunc, info = env.step(np.full(n, t % 2), info["env_id"])
        total += float(rew.sum())
        assert term.shape == trunc.shape == (n,)
    env.async_reset()
    for t in range(steps):
        obs, rew, term, trunc, info = env.recv()
        assert sorted(info["env_id"].tolist()) == list(range(n))
        env.send(np.full(n, t % 2), info["env_id"])
    obs, rew, term, trunc, info = env.recv()
    return n, total


def test_the_envpool_loop_runs_on_make_vec():
    ours = bidir_core.make_vec(TASK, num_envs=4, batch_size=4, seed=0, max_episode_steps=64)
    assert _envpool_loop(ours)[0] == 4


@pytest.mark.slow  # importing envpool takes seconds
@pytest.mark.filterwarnings("ignore:.*precision lowered:UserWarning")
def test_the_same_loop_runs_on_envpool_and_on_make_vec():
    envpool = pytest.importorskip("envpool")
    theirs = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=4, batch_size=4, seed=0)
    ours = bidir_core.make_vec(TASK, num_envs=4, batch_size=4, seed=0, max_episode_steps=64)
    assert _envpool_loop(theirs)[0] == _envpool_loop(ours)[0] == 4


def test_envpool_arguments_that_differ_are_refused_clearly():
    with pytest.raises(ValueError, match="batch_size"):
        bidir_core.make_vec(TASK, 4, batch_size=2)
    with pytest.raises(ValueError, match="max_episode_steps"):
        bidir_core.make_vec(TASK, 4, max_episode_steps=10)
    env = bidir_core.make_vec(TASK, 3, seed=0)
    assert env.max_episode_steps == 64
    with pytest.raises(RuntimeError, match="recv"):
        env.recv()
    env.reset()
    with pytest.raises(ValueError, match="permutation"):
        env.step(np.zeros(3, np.int64), env_id=np.array([0, 0, 1]))


def test_env_id_orders_the_actions():
    a = bidir_core.make_vec(TASK, 3, seed=4)
    b = bidir_core.make_vec(TASK, 3, seed=4)
    a.reset()
    b.reset()
    acts = np.array([0, 1, 2])
    perm = np.array([2, 0, 1])
    oa = a.step(acts)[0]
    ob = b.step(acts[perm], env_id=perm)[0]
    np.testing.assert_array_equal(oa["image"], ob["image"])
