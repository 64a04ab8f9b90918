"""The teacher service's counters and model-call latencies, and the metrics they report."""

from __future__ import annotations

import collections

import numpy as np

__all__ = ["ServiceStats"]

_COUNTERS = (
    "queries", "cache_hits", "joined", "queued", "cancelled", "model_queries", "answered",
    "failed", "rejected", "stale_dropped", "batches", "late_batches", "teacher_errors",
    "timeouts",
)  # fmt: skip


class ServiceStats:
    """Counts of what happened to the service's requests (``counts``, a Counter the
    service increments) and the latencies of its last 1024 model calls."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.latencies: collections.deque[float] = collections.deque(maxlen=1024)

    def record_batch(self, size: int, wait: float, latency: float) -> None:
        """Count a model call on ``size`` prompts that waited ``wait`` s and took ``latency`` s."""
        m = self.counts
        m["batches"] += 1
        m["model_queries"] += size
        m["batch_size_max"] = max(m["batch_size_max"], size)
        m["wait_sum"] += wait
        self.latencies.append(latency)

    def reset(self) -> None:
        """Start counting again from zero."""
        self.counts.clear()
        self.latencies.clear()

    def summary(self, *, cache_entries: int, pending: int, version: int) -> dict[str, float]:
        """The counters and rates as a flat dict.

        queries (env requests), cache_hits, cache_hit_rate, joined (waited on a prompt
        already pending), queued (misses handed to the worker), cancelled (queued prompts
        dropped because no env waits for them any more), model_queries (prompts the teacher
        scored), answered, failed (no hint: teacher error, bad output, timeout), rejected
        (no hint without asking: teacher hung or service closed), stale_dropped (answered
        with parameters too old by then), batches, late_batches (timed-out calls that
        returned), batch_size_mean, batch_size_max, latency_mean_s / p50 / p95 / max (model
        call), queue_wait_mean_s, teacher_errors, timeouts, hint_valid_fraction,
        hint_age_mean (steps), hint_version_lag_mean, cache_entries, pending, version.
        """
        m = self.counts
        lat = np.array(self.latencies) if self.latencies else np.zeros(1)
        out = {k: float(m[k]) for k in _COUNTERS}
        out.update(
            cache_hit_rate=m["cache_hits"] / max(m["queries"], 1),
            batch_size_mean=m["model_queries"] / max(m["batches"], 1),
            batch_size_max=float(m["batch_size_max"]),
            latency_mean_s=float(lat.mean()),
            latency_p50_s=float(np.percentile(lat, 50)),
            latency_p95_s=float(np.percentile(lat, 95)),
            latency_max_s=float(lat.max()),
            queue_wait_mean_s=m["wait_sum"] / max(m["batches"], 1),
            hint_valid_fraction=m["hint_valid"] / max(m["hint_reads"], 1),
            hint_age_mean=m["hint_age_sum"] / max(m["hint_valid"], 1),
            hint_version_lag_mean=m["hint_lag_sum"] / max(m["hint_valid"], 1),
            cache_entries=float(cache_entries),
            pending=float(pending),
            version=float(version),
        )
        return out
