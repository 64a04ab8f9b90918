"""Differential tests: bidir_core steps bit for bit like minigrid 3.2.0, seeds included.

For every task, env i of make_vec(task, N).reset(seed=s) must start the episode of
gymnasium.make(task).reset(seed=s + i); with the same actions, image, direction, mission,
reward (float32 of minigrid's), terminated and truncated must be identical at every step,
and automatic resets must continue each env's random stream as minigrid's reset() does.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_reference, mission_strings
from gymnasium.vector import AutoresetMode

import bidir_core

# Random actions favour "forward" so agents travel; half the time the oracle's action is
# taken instead so that episodes also end in success (pickups, doors, goals, all actions).
ACTION_PROBS = np.array([0.15, 0.15, 0.35, 0.1, 0.1, 0.1, 0.05])


def _compare_obs(task, t, i, ours, ref_obs):
    np.testing.assert_array_equal(
        ours["image"][i], ref_obs["image"], err_msg=f"{task} step {t} env {i}: image"
    )
    assert ours["direction"][i] == ref_obs["direction"], f"{task} step {t} env {i}: direction"


def run_parity(task: str, num_envs: int, steps: int, seed: int, expert_prob: float = 0.5,
               num_threads: int = 1) -> int:
    env = bidir_core.make_vec(task, num_envs, num_threads=num_threads)
    refs = [make_reference(task) for _ in range(num_envs)]
    obs, _ = env.reset(seed=seed)
    ref_obs = [r.reset(seed=seed + i)[0] for i, r in enumerate(refs)]
    assert env.missions() == [o["mission"] for o in ref_obs]
    assert mission_strings(obs["mission"]) == [o["mission"] for o in ref_obs]
    for i in range(num_envs):
        _compare_obs(task, 0, i, obs, ref_obs[i])

    rng = np.random.default_rng(seed)
    pending_reset = [False] * num_envs
    episodes = 0
    for t in range(1, steps + 1):
        actions = rng.choice(7, size=num_envs, p=ACTION_PROBS)
        use_expert = rng.random(num_envs) < expert_prob
        actions = np.where(use_expert, env.expert_actions(), actions)
        obs, rew, term, trunc, info = env.step(actions)
        for i, r in enumerate(refs):
            if pending_reset[i]:
                o, _ = r.reset()
                exp_rew, exp_term, exp_trunc = 0.0, False, False
                pending_reset[i] = False
                assert mission_strings(obs["mission"][i : i + 1])[0] == o["mission"]
            else:
                o, exp_rew, exp_term, exp_trunc, _ = r.step(int(actions[i]))
                pending_reset[i] = exp_term or exp_trunc
            _compare_obs(task, t, i, obs, o)
            assert rew[i] == np.float32(exp_rew), f"{task} step {t} env {i}: reward"
            assert term[i] == exp_term, f"{task} step {t} env {i}: terminated"
            assert trunc[i] == exp_trunc, f"{task} step {t} env {i}: truncated"
            if exp_term or exp_trunc:
                episodes += 1
                assert info["_episode_stats"][i]
                assert info["episode_stats"]["l"][i] == r.step_count
                assert info["episode_stats"]["success"][i] == (exp_rew > 0)
    return episodes


@pytest.mark.slow
def test_every_task_matches_minigrid(task_id):
    steps = 400 if "16x16" not in task_id else 250
    episodes = run_parity(task_id, num_envs=12, steps=steps, seed=1000)
    assert episodes >= 12  # auto-resets were exercised


@pytest.mark.parametrize("seed", [0, 7, 123456789, 2**32 + 5])
@pytest.mark.slow
def test_paper_task_many_seeds(seed):
    run_parity("BabyAI-GoToRedBallNoDists-v0", num_envs=16, steps=300, seed=seed,
               expert_prob=0.3)


@pytest.mark.slow
def test_random_policy_only():
    # Pure random actions: long episodes, truncations, pickups and drops of distractors.
    episodes = run_parity("BabyAI-GoToLocal-v0", num_envs=16, steps=300, seed=99,
                          expert_prob=0.0)
    assert episodes > 0


def test_threads_match_minigrid():
    run_parity("BabyAI-GoToRedBall-v0", num_envs=10, steps=200, seed=5, num_threads=2)


def test_same_step_autoreset_matches_minigrid():
    task, n, seed = "BabyAI-GoToRedBallGrey-v0", 8, 31
    env = bidir_core.make_vec(task, n, autoreset_mode=AutoresetMode.SAME_STEP)
    refs = [make_reference(task) for _ in range(n)]
    obs, _ = env.reset(seed=seed)
    for i, r in enumerate(refs):
        r.reset(seed=seed + i)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(300):
        actions = np.where(rng.random(n) < 0.5, env.expert_actions(), rng.integers(0, 7, n))
        obs, rew, term, trunc, info = env.step(actions)
        for i, r in enumerate(refs):
            o, exp_rew, exp_term, exp_trunc, _ = r.step(int(actions[i]))
            assert rew[i] == np.float32(exp_rew)
            assert (term[i], trunc[i]) == (exp_term, exp_trunc)
            if exp_term or exp_trunc:
                ended += 1
                assert info["_final_obs"][i]
                np.testing.assert_array_equal(info["final_obs"]["image"][i], o["image"])
                assert info["final_obs"]["direction"][i] == o["direction"]
                o, _ = r.reset()
            np.testing.assert_array_equal(obs["image"][i], o["image"])
            assert obs["direction"][i] == o["direction"]
    assert ended > 0
