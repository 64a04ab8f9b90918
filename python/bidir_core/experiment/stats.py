"""Means over seeds and their Student-t confidence intervals."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["mean_ci", "t_quantile"]


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t distribution with df >= 1 degrees of freedom."""
    if not 0.5 <= p < 1:
        raise ValueError(f"p must be in [0.5, 1), got {p}")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an int >= 1, got {df!r}")
    return _t_ppf(float(p), df)


@functools.cache  # (checked first: the cache takes 2.0 and True for 2 and 1)
def _t_ppf(p: float, df: int) -> float:
    from scipy import stats  # imported here: it takes seconds, and `bidir` starts without it

    return float(stats.t.ppf(p, df))


def mean_ci(values: Sequence[float | None], confidence: float = 0.95) -> dict[str, Any]:
    """``{"mean", "ci", "n"}`` of the finite values: ci is the half-width of the Student-t
    interval (None with fewer than two values), mean is None with none."""
    xs = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    n = len(xs)
    if n == 0:
        return {"mean": None, "ci": None, "n": 0}
    mean = float(xs.mean())
    if n < 2:
        return {"mean": mean, "ci": None, "n": 1}
    sem = float(xs.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci": t_quantile(0.5 + confidence / 2, n - 1) * sem, "n": n}
