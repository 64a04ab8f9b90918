"""The oracle planner against a brute-force search over minigrid's own env (deep copies)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import make_reference

import bidir_core


def brute_force_length(ref, limit: int) -> int:
    """Fewest actions to a positive reward, by BFS over deep copies of a minigrid env."""

    def key(e):
        carrying = None if e.carrying is None else (e.carrying.type, e.carrying.color)
        return (tuple(e.agent_pos), e.agent_dir, carrying, e.grid.encode().tobytes())

    frontier = [ref]
    seen = {key(ref)}
    for depth in range(1, limit + 1):
        nxt = []
        for e in frontier:
            for a in range(7):
                c = copy.deepcopy(e)
                _, reward, term, trunc, _ = c.step(a)
                if reward > 0:
                    return depth
                if term or trunc:
                    continue
                k = key(c)
                if k not in seen:
                    seen.add(k)
                    nxt.append(c)
        frontier = nxt
    return -1


@pytest.mark.parametrize(
    "task,seeds",
    [("BabyAI-GoToRedBallNoDists-v0", range(6)), ("MiniGrid-DoorKey-5x5-v0", range(3))],
)
def test_oracle_is_optimal_against_brute_force(task, seeds):
    for seed in seeds:
        ref = make_reference(task)
        ref.reset(seed=seed)
        optimal = brute_force_length(ref, limit=30)
        assert optimal > 0
        env = bidir_core.make_vec(task, 1)
        env.reset(seed=seed)
        steps = 0
        while True:
            _, reward, term, trunc, _ = env.step(env.expert_actions())
            steps += 1
            if term[0] or trunc[0]:
                break
        assert reward[0] > 0, f"{task} seed {seed}: oracle failed"
        assert steps == optimal, f"{task} seed {seed}: oracle took {steps}, optimum {optimal}"


def test_expert_actions_shape_and_range():
    env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 32, seed=1)
    env.reset()
    a = env.expert_actions()
    assert a.shape == (32,) and a.dtype == np.int64
    assert ((a >= 0) & (a <= 5)).all()
