"""The TD feedback of each teacher query and the per-(prompt, action) feedback table.

For every teacher query answered during a rollout, the feedback is the lambda-discounted,
importance-weighted sum of the student's TD errors over the steps the hint covered (until
the next query or the episode's end), computed in C++ (``_core.aggregate_feedback``; the
exact definition is in ``cpp/feedback/td_feedback.h``). ``FeedbackAggregator`` adds the
running mean/std normalisation and clipping (the ratio weights the normalised advantage:
``rho_t * clip((A_t - mean) / (std + eps))``; why, in ``docs/decisions.md``), and
``FeedbackTable`` (C++) keeps a running feedback per (prompt hash, action) for the
non-parametric teacher correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bidir_core._checks import reject_masked
from bidir_core._core import FeedbackTable, RunningMeanStd, aggregate_feedback

__all__ = ["FeedbackAggregator", "FeedbackBatch", "FeedbackTable", "RunningMeanStd"]


@dataclass
class FeedbackBatch:
    """One rollout's feedback, all (T, N) arrays owned by the aggregator (overwritten by the
    next call: copy what you keep)."""

    deltas: np.ndarray
    """float32 TD errors of the student's critic at every step."""
    raw: np.ndarray
    """float32 window feedback at query steps (0 elsewhere), before normalisation."""
    normalized: np.ndarray
    """float32 raw feedback normalised by the running statistics and clipped."""
    window_lengths: np.ndarray
    """int32 number of steps each query's hint covered (0 where there was no query)."""
    advantages: np.ndarray
    """float32 unweighted window sums of TD errors at query steps (0 elsewhere): the
    critic's advantage estimate of the action taken, ``raw = ratios * advantages``."""
    ratios: np.ndarray
    """float32 truncated importance ratios min(rho_max, piT/mu) at query steps (0 elsewhere)."""
    queries: np.ndarray
    """bool: where a teacher query was answered (the mask of the three arrays above)."""

    def stats(self) -> dict[str, float]:
        """Summary numbers for logging: counts, means and spreads over the queries."""
        q = self.queries
        n = int(q.sum())
        if n == 0:
            return {"feedback/queries": 0.0}
        raw = self.raw[q]
        return {
            "feedback/queries": float(n),
            "feedback/raw_mean": float(raw.mean()),
            "feedback/raw_std": float(raw.std()),
            "feedback/normalized_mean": float(self.normalized[q].mean()),
            "feedback/positive_fraction": float((raw > 0).mean()),
            "feedback/window_mean": float(self.window_lengths[q].mean()),
            "feedback/ratio_mean": float(self.ratios[q].mean()),
            "feedback/td_error_abs_mean": float(np.abs(self.deltas).mean()),
        }


def _check_unit(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not 0.0 < float(value) < float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


class FeedbackAggregator:
    """Turns a rollout into normalised per-query feedback for the teacher.

    Args:
        gamma: discount of the TD errors and of the window sum.
        lam: GAE lambda of the window sum (0: only the query step's TD error counts).
        rho_max: truncation of the importance ratio piT(a|x) / mu(a|s).
        clip: normalised feedback is clipped to [-clip, clip].
        eps: added to the running std before dividing.
    """

    def __init__(
        self,
        gamma: float = 0.99,
        lam: float = 0.95,
        rho_max: float = 1.0,
        clip: float = 5.0,
        eps: float = 1e-8,
    ) -> None:
        self.gamma: float = _check_unit("gamma", gamma)
        self.lam: float = _check_unit("lam", lam)
        self.rho_max: float = _check_positive("rho_max", rho_max)
        self.clip: float = _check_positive("clip", clip)
        self.eps: float = _check_positive("eps", eps)
        self.stats: RunningMeanStd = RunningMeanStd()
        self._out: dict[str, np.ndarray] = {}

    def _outputs(self, shape: tuple[int, int]) -> dict[str, np.ndarray]:
        if not self._out or self._out["deltas"].shape != shape:
            self._out = {
                "deltas": np.zeros(shape, np.float32),
                "raw": np.zeros(shape, np.float32),
                "window_lengths": np.zeros(shape, np.int32),
                "advantages": np.zeros(shape, np.float32),
                "ratios": np.zeros(shape, np.float32),
            }
        return self._out

    def __call__(
        self,
        *,
        rewards: np.ndarray,
        values: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        final_values: np.ndarray,
        next_values: np.ndarray,
        queries: np.ndarray,
        teacher_logprobs: np.ndarray,
        behaviour_logprobs: np.ndarray,
        update_stats: bool = True,
    ) -> FeedbackBatch:
        """Aggregates one rollout ((T, N) arrays as in ``RolloutBuffer``; ``next_values``
        (N,)). ``teacher_logprobs`` is log piT(a_t | x_t) of the action taken at each query,
        ``behaviour_logprobs`` log mu of the policy that chose it (both read at query steps
        only). With ``update_stats`` the running statistics first absorb this rollout's
        unweighted window sums (``advantages``); ``normalized`` is
        ``ratios * clip((advantages - mean) / (std + eps))`` (see the module docstring).

        Bad values are a ValueError naming the array and the (t, n) index: at query steps
        ``teacher_logprobs`` must be finite or ``-inf`` (an action the teacher never
        proposes: its ratio, and so its feedback, is 0; NaN or +inf would otherwise become
        the largest weight rho_max), ``behaviour_logprobs`` finite; rewards and values
        finite. Numpy masked arrays are a TypeError (their hidden values would be read)."""
        for name, array in (
            ("rewards", rewards), ("values", values), ("terminated", terminated),
            ("truncated", truncated), ("final_values", final_values),
            ("next_values", next_values), ("queries", queries),
            ("teacher_logprobs", teacher_logprobs), ("behaviour_logprobs", behaviour_logprobs),
        ):  # fmt: skip
            reject_masked(name, array)
        out = self._outputs(np.shape(rewards)) if np.ndim(rewards) == 2 else {}
        if not out:
            raise ValueError(f"rewards must have shape (T, N), got {np.shape(rewards)}")
        aggregate_feedback(
            rewards,
            values,
            terminated,
            truncated,
            final_values,
            next_values,
            queries,
            teacher_logprobs,
            behaviour_logprobs,
            self.gamma,
            self.lam,
            self.rho_max,
            out["deltas"],
            out["advantages"],
            out["ratios"],
            out["raw"],
            out["window_lengths"],
        )
        if update_stats:
            self.stats.update(out["advantages"], queries)
        normalized = self.stats.normalize(out["advantages"], queries, eps=self.eps, clip=self.clip)
        normalized *= out["ratios"]
        return FeedbackBatch(
            deltas=out["deltas"],
            raw=out["raw"],
            normalized=normalized,
            window_lengths=out["window_lengths"],
            advantages=out["advantages"],
            ratios=out["ratios"],
            queries=queries,
        )

    def state_dict(self) -> dict[str, Any]:
        """The running statistics and settings, for checkpoints."""
        return {
            "stats": self.stats.state(),
            "gamma": self.gamma,
            "lam": self.lam,
            "rho_max": self.rho_max,
            "clip": self.clip,
            "eps": self.eps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a ``state_dict()``; settings must match."""
        if not isinstance(state, dict) or "stats" not in state:
            raise ValueError("feedback state must be a dict with a 'stats' entry")
        for key in ("gamma", "lam", "rho_max", "clip", "eps"):
            if key in state and float(state[key]) != getattr(self, key):
                raise ValueError(
                    f"feedback state has {key}={state[key]}, this aggregator {getattr(self, key)}"
                )
        self.stats.load_state(state["stats"])
