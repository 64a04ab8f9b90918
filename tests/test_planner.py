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
@pytest.mark.slow
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


@pytest.mark.parametrize(
    "task", ["BabyAI-GoToRedBallNoDists-v0", "BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-5x5-v0"]
)
def test_optimal_actions_are_exactly_the_first_steps_of_shortest_plans(task):
    """Checked by rollouts: action a, then the oracle, reaches the goal in the state's plan
    length exactly when a is marked optimal. The oracle's own action is always one of them;
    a state whose episode is over (oracle_samples records those) has none."""
    from bidir_core.teacher import optimal_actions, oracle_samples

    prompts, oracle, states = oracle_samples(task, 96, seed=3, return_states=True)
    same_prompts, same_oracle = oracle_samples(task, 96, seed=3)
    assert prompts == same_prompts and (oracle == same_oracle).all()
    optimal = optimal_actions(task, states)
    assert optimal.shape == (96, 6) and optimal.dtype == np.bool_
    env = bidir_core.make_vec(task, 1, autoreset_mode="SameStep")
    env.reset(seed=0)
    live = 0
    for i, state in enumerate(states):
        if state["needs_reset"]:
            assert not optimal[i].any()
            continue
        live += 1
        assert optimal[i, oracle[i]]
        env.set_state(0, state)
        length = int(env.plan_lengths()[0])
        for a in range(6):
            env.set_state(0, state)
            action, steps = a, 0
            while steps <= length:
                _, reward, term, trunc, _ = env.step(np.array([action]))
                steps += 1
                if term[0] or trunc[0]:
                    break
                action = int(env.expert_actions()[0])
            reached = bool(term[0] and reward[0] > 0)
            assert optimal[i, a] == (reached and steps == length), (i, a, steps, length)
    assert live > 48


def test_optimal_actions_find_ties_the_oracle_breaks():
    from bidir_core.teacher import optimal_actions, oracle_samples

    _, _, states = oracle_samples("BabyAI-GoToLocal-v0", 256, seed=0, return_states=True)
    optimal = optimal_actions("BabyAI-GoToLocal-v0", states)
    ties = optimal.sum(1) > 1
    assert ties.any()  # e.g. the goal right behind: both turns start a shortest plan
    assert not optimal[:, 3:].any()  # pick up, drop, toggle never bring a GoTo goal closer
    with pytest.raises(ValueError, match="num_actions"):
        optimal_actions("BabyAI-GoToLocal-v0", states, num_actions=0)
