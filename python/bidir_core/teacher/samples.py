"""Planner-labelled BabyAI-Text: (prompt, oracle action) pairs from oracle-with-epsilon rollouts.

Envs follow the oracle planner, except that with probability ``epsilon`` an env takes a
uniformly random action (ids 0..5) instead, which spreads the visited states off the
shortest paths. Every visited state is recorded with the planner's optimal action.
"""

from __future__ import annotations

import numpy as np

from bidir_core.teacher.prompt import env_prompts
from bidir_core.vector_env import make_vec

__all__ = ["oracle_samples"]


def oracle_samples(
    task: str,
    num_states: int,
    *,
    seed: int = 0,
    epsilon: float = 0.25,
    num_envs: int = 32,
) -> tuple[list[str], np.ndarray]:
    """Return ``num_states`` prompts and the oracle's optimal action id (int64) for each."""
    if isinstance(num_states, bool) or not isinstance(num_states, (int, np.integer)):
        raise TypeError(f"num_states must be an int, got {type(num_states).__name__}")
    if num_states < 1:
        raise ValueError(f"num_states must be >= 1, got {num_states}")
    if not 0.0 <= float(epsilon) <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    num_envs = int(min(num_envs, num_states))
    env = make_vec(task, num_envs, seed=seed)
    rng = np.random.default_rng(seed)
    env.reset()
    prompts: list[str] = []
    experts: list[np.ndarray] = []
    while len(prompts) < num_states:
        expert = env.expert_actions().copy()
        prompts.extend(env_prompts(env))
        experts.append(expert)
        explore = rng.random(num_envs) < epsilon
        actions = np.where(explore, rng.integers(0, 6, num_envs), expert)
        env.step(actions)
    return prompts[:num_states], np.concatenate(experts)[:num_states].astype(np.int64)
