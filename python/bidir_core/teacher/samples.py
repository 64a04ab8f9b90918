"""Planner-labelled BabyAI-Text: (prompt, oracle action) pairs from oracle-with-epsilon rollouts.

Envs follow the oracle planner, except that with probability ``epsilon`` an env takes a
uniformly random action (ids 0..5) instead, which spreads the visited states off the
shortest paths. Every visited state is recorded with the planner's optimal action.

The planner breaks ties (left before right before forward): where the ball is behind
the agent, "turn left" and "turn right" both start a shortest plan, and the oracle names
only the first. ``optimal_actions`` gives every action that starts one.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from bidir_core.teacher.prompt import env_prompts
from bidir_core.vector_env import make_vec

__all__ = ["SampleOptions", "optimal_actions", "oracle_samples"]


class SampleOptions(TypedDict, total=False):
    """``oracle_samples``'s rollout and prompt options, for the functions that pass them on."""

    epsilon: float
    num_envs: int
    prompt_style: str


def oracle_samples(
    task: str,
    num_states: int,
    *,
    seed: int = 0,
    epsilon: float = 0.25,
    num_envs: int = 32,
    return_states: bool = False,
    prompt_style: str = "short",
) -> tuple[list[str], np.ndarray] | tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    """Return ``num_states`` prompts (in ``prompt_style``) and the oracle's optimal action
    id (int64) for each; with ``return_states`` also each state (``BidirVecEnv.get_state``)."""
    if isinstance(num_states, bool) or not isinstance(num_states, (int, np.integer)):
        raise TypeError(f"num_states must be an int, got {type(num_states).__name__}")
    if num_states < 1:
        raise ValueError(f"num_states must be >= 1, got {num_states}")
    if not 0.0 <= float(epsilon) <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    num_envs = int(min(num_envs, num_states))
    env = make_vec(task, num_envs, seed=seed, prompt_style=prompt_style, copy=False)
    rng = np.random.default_rng(seed)
    prompts: list[str] = []
    experts: list[np.ndarray] = []
    states: list[dict[str, Any]] = []
    try:
        env.reset()
        while len(prompts) < num_states:
            expert = env.expert_actions().copy()
            prompts.extend(env_prompts(env))
            experts.append(expert)
            if return_states:
                states.extend(env.get_state(i) for i in range(num_envs))
            explore = rng.random(num_envs) < epsilon
            actions = np.where(explore, rng.integers(0, 6, num_envs), expert)
            env.step(actions)
    finally:
        env.close()  # its C++ worker threads end now, not at garbage collection
    oracle = np.concatenate(experts)[:num_states].astype(np.int64)
    if return_states:
        return prompts[:num_states], oracle, states[:num_states]
    return prompts[:num_states], oracle


def optimal_actions(task: str, states: list[dict[str, Any]], num_actions: int = 6,
                    chunk: int = 64) -> np.ndarray:
    """(len(states), num_actions) bool: whether action a starts a shortest plan from each
    saved state, i.e. reaches the goal at once where the plan is one step long, or leaves
    a plan one step shorter. All False where the planner finds no plan, and in a state
    whose episode is over (``needs_reset``: ``oracle_samples`` records the terminal
    state of each episode, where no action matters)."""
    if isinstance(num_actions, bool) or not isinstance(num_actions, int) or num_actions < 1:
        raise ValueError(f"num_actions must be an int >= 1, got {num_actions!r}")
    out = np.zeros((len(states), num_actions), np.bool_)
    if not states:
        return out
    chunk = min(chunk, len(states))
    env = make_vec(task, num_actions * chunk, autoreset_mode="SameStep", copy=False)
    try:
        env.reset(seed=0)
        actions = np.tile(np.arange(num_actions, dtype=np.int64), chunk)
        for start in range(0, len(states), chunk):
            part = states[start : start + chunk]
            n = len(part) * num_actions
            for s, state in enumerate(part):
                for a in range(num_actions):
                    env.set_state(s * num_actions + a, state)
            before = env.plan_lengths()[:n].copy()
            _, reward, terminated, truncated, _ = env.step(actions)
            after = env.plan_lengths()[:n]  # (an env that ended was reset: not read)
            reached = terminated[:n] & (reward[:n] > 0)
            ended = terminated[:n] | truncated[:n]
            on_path = np.where(ended, reached & (before == 1), (after >= 0) & (after == before - 1))
            live = np.repeat([not state["needs_reset"] for state in part], num_actions)
            on_path &= live & (before >= 1)
            out[start : start + len(part)] = on_path.reshape(len(part), num_actions)
    finally:
        env.close()
    return out
