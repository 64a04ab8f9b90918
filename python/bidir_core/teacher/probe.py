"""The oracle probe: fixed oracle-labelled states on which a teacher's agreement is measured."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bidir_core.teacher.guard import finite_rows
from bidir_core.teacher.samples import oracle_samples

__all__ = ["OracleProbe"]


def _sample_steps(num_states: int, num_envs: int = 32) -> int:
    """Env steps ``oracle_samples`` takes for num_states states (every env steps each round)."""
    k = min(num_envs, num_states)
    return -(-num_states // k) * k


class OracleProbe:
    """Fixed oracle-labelled states of a task, on which a teacher's agreement is measured.

    ``probe_agreement``: argmax piT == the oracle's action; ``probe_expert_prob``: mean piT
    of the oracle's action; ``probe_agreement_determined``: the agreement on the probe
    states whose prompt determines the oracle's action. The oracle sees the whole grid, the
    prompt only what is in view: where the goal is out of sight, states with the same
    prompt get different oracle actions, and no teacher of the prompt can agree with more
    than the most common of them. A probe state counts as determined when no state of a
    larger sample (``pool_factor`` x the probe, drawn the same way) has the same prompt
    and another oracle action. Drawing the states steps envs: ``sim_steps`` counts them.
    """

    pool_factor = 8

    def __init__(self, task: str, num_states: int, seed: int, prompt_style: str = "short") -> None:
        prompts, oracle = oracle_samples(
            task, num_states, seed=seed + 777, prompt_style=prompt_style
        )
        self.prompts: list[str] = prompts
        self.oracle: np.ndarray = oracle
        pool_prompts, pool_oracle = oracle_samples(
            task, self.pool_factor * num_states, seed=seed + 778, prompt_style=prompt_style
        )
        labels: dict[str, set[int]] = {}
        for prompt, action in zip(self.prompts + pool_prompts,
                                  np.concatenate([self.oracle, pool_oracle]).tolist()):
            labels.setdefault(prompt, set()).add(action)
        self.determined: np.ndarray = np.array([len(labels[p]) == 1 for p in self.prompts])
        self.sim_steps: int = _sample_steps(num_states) + _sample_steps(self.pool_factor * num_states)

    @staticmethod
    def due(iteration: int, every: int, last: int) -> bool:
        """Measure at the first and last iterations and every ``every`` in between."""
        return iteration == 1 or iteration % every == 0 or iteration == last

    def score(self, logp: np.ndarray) -> dict[str, float]:
        """The agreement metrics of log piT (len(prompts), A) on the probe's prompts."""
        logp = np.asarray(logp)
        if logp.ndim != 2 or logp.shape[0] != len(self.prompts):
            raise ValueError(f"expected log-probs of shape ({len(self.prompts)}, A), got {logp.shape}")
        ok = self.oracle < logp.shape[1]
        expert = np.zeros(len(self.oracle))
        expert[ok] = np.exp(logp[ok, self.oracle[ok]])
        agree = logp.argmax(1) == self.oracle
        return {
            "probe_agreement": float(agree.mean()),
            "probe_agreement_determined": (
                float(agree[self.determined].mean()) if self.determined.any() else math.nan
            ),
            "probe_expert_prob": float(expert.mean()),
        }

    def guarded(self, guard: Any, action_logprobs: Any) -> dict[str, float]:
        """The agreement metrics of ``action_logprobs`` called through a ``TeacherGuard``:
        empty when the call fails or returns non-finite scores (the guard counts it)."""
        ok, logp = guard.call("probe", action_logprobs, self.prompts)
        if not ok:
            return {}
        if not finite_rows(logp).all():
            guard.count("probe: non-finite scores")
            return {}
        return self.score(logp)

    def __call__(self, teacher: Any) -> dict[str, float]:
        """The agreement metrics of ``teacher`` (anything with ``action_logprobs``)."""
        return self.score(teacher.action_logprobs(self.prompts))
