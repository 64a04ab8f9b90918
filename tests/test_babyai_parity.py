"""Every BabyAI id registered by minigrid 3.2.0 that bidir_core implements, step for step.

For each id: seeded resets (grid, agent, mission) and a continued stream of random
actions (automatic resets continue minigrid's random stream), comparing image,
direction, mission, reward (float32), terminated and truncated at every step. One minigrid
env per id, closed at the end. The fast tier runs a few seeds and ~200 steps per id; the
slow tier runs more seeds and longer streams.
"""

from __future__ import annotations

import gymnasium as gym
import minigrid  # noqa: F401
import numpy as np
import pytest
from conftest import mission_strings

import bidir_core

BABYAI_IDS = sorted(e for e in gym.registry if e.startswith("BabyAI"))
OURS = set(bidir_core.list_tasks())
IMPLEMENTED = [e for e in BABYAI_IDS if e in OURS]
# Actions that change the world are over-represented so the verifiers are exercised.
ACTION_PROBS = np.array([0.16, 0.16, 0.3, 0.12, 0.1, 0.12, 0.04])


def check_parity(task: str, seeds, steps: int) -> tuple[int, int]:
    ref = gym.make(task).unwrapped
    env = bidir_core.make_vec(task, 1)
    episodes = successes = 0
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            o, _ = ref.reset(seed=seed)
            assert env.missions()[0] == o["mission"], f"{task} seed {seed}: mission"
            assert mission_strings(obs["mission"])[0] == o["mission"]
            np.testing.assert_array_equal(obs["image"][0], o["image"], err_msg=f"{task} seed {seed}")
            assert obs["direction"][0] == o["direction"]
            rng = np.random.default_rng(seed)
            pending = False
            for t in range(1, steps + 1):
                a = int(rng.choice(7, p=ACTION_PROBS))
                obs, rew, term, trunc, _ = env.step(np.array([a]))
                if pending:
                    o, _ = ref.reset()
                    r, te, tr = 0.0, False, False
                    pending = False
                    assert env.missions()[0] == o["mission"], f"{task} seed {seed} step {t}: mission"
                else:
                    o, r, te, tr, _ = ref.step(a)
                    pending = te or tr
                    if pending:
                        episodes += 1
                        successes += r > 0
                where = f"{task} seed {seed} step {t}"
                np.testing.assert_array_equal(obs["image"][0], o["image"], err_msg=where)
                assert obs["direction"][0] == o["direction"], where
                assert rew[0] == np.float32(r), where
                assert (bool(term[0]), bool(trunc[0])) == (te, tr), where
    finally:
        ref.close()
        env.close()
    return episodes, successes


def test_every_babyai_id_is_implemented():
    missing = [e for e in BABYAI_IDS if e not in OURS]
    assert not missing and len(BABYAI_IDS) == 96


@pytest.mark.parametrize("task", IMPLEMENTED)
def test_babyai_parity_fast(task):
    check_parity(task, seeds=[1, 2], steps=100)


@pytest.mark.slow
@pytest.mark.parametrize("task", IMPLEMENTED)
def test_babyai_parity_slow(task):
    check_parity(task, seeds=[10, 11, 12, 13, 2**32 + 3], steps=400)


def test_long_missions_are_not_truncated():
    # BossLevel missions reach well over 128 bytes; the observation holds them whole.
    env = bidir_core.make_vec("BabyAI-BossLevel-v0", 64, seed=0)
    longest = 0
    for seed in range(0, 640, 64):
        obs, _ = env.reset(seed=seed)
        assert mission_strings(obs["mission"]) == env.missions()
        longest = max(longest, *(len(m) for m in env.missions()))
    assert longest > 128


@pytest.mark.parametrize("task,at_least", [
    ("BabyAI-GoTo-v0", 0.9), ("BabyAI-PickupLoc-v0", 0.9), ("BabyAI-PutNextLocal-v0", 0.9),
    ("BabyAI-Open-v0", 0.9), ("BabyAI-KeyCorridorS3R3-v0", 0.9), ("BabyAI-BossLevel-v0", 0.7),
])
def test_oracle_solves_levels(task, at_least):
    n = 16
    env = bidir_core.make_vec(task, n, seed=0)
    env.reset(seed=0)
    done = np.zeros(n, bool)
    success = np.zeros(n, bool)
    for _ in range(2000):
        _, rew, term, trunc, _ = env.step(env.expert_actions())
        ended = (term | trunc) & ~done
        success |= ended & (rew > 0)
        done |= ended
        if done.all():
            break
    assert done.all() and success.mean() >= at_least, success.mean()
