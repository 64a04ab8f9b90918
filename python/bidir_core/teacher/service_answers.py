"""The teacher service's intake: the backend's answers into the cache and the envs, and the
watch on a model call that hangs."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from bidir_core.teacher.backends.common import Completion
from bidir_core.teacher.service_cache import AnswerCache
from bidir_core.teacher.service_hints import EnvHints, within_staleness
from bidir_core.teacher.service_stats import ServiceStats

__all__ = ["AnswerIntake"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")


class AnswerIntake:
    """Reads the backend's completions; a call running past ``timeout`` seconds fails its
    prompts and those queued behind it, and ``hung`` stays set until that call returns."""

    def __init__(self, backend: Any, envs: EnvHints, cache: AnswerCache, stats: ServiceStats,
                 version: Callable[[], int], timeout: float | None) -> None:
        self._backend = backend
        self._envs = envs
        self._cache = cache
        self._stats = stats
        self._version = version
        self.timeout: float | None = timeout
        self.hung: tuple[int, float] | None = None  # (batch id, start) of a timed-out call
        self._timed_out: set[int] = set()

    def poll(self, closed: bool) -> None:
        """Take the finished calls; unless ``closed``, fail the one in flight if it hangs."""
        backend = self._backend
        for c in backend.poll():
            self._complete(c)
        if closed or self.timeout is None:
            return
        flight = backend.in_flight()
        if flight is None:
            return
        batch_id, keys, start = flight
        if batch_id in self._timed_out or time.monotonic() - start <= self.timeout:
            return
        # The call hangs: its prompts and everything queued behind it get no hint.
        self._timed_out.add(batch_id)
        self.hung = (batch_id, start)
        counts = self._stats.counts
        counts["timeouts"] += 1
        queued = backend.cancel(None)
        logger.warning(
            "teacher call on %d prompts has run %.1f s (timeout %.1f s); those and %d queued "
            "prompts get no hint, and new ones too until it returns",
            len(keys),
            time.monotonic() - start,
            self.timeout,
            len(queued),
        )
        for key in (*keys, *queued):
            if key in self._envs.pending:
                counts["failed"] += 1
            self._envs.resolve(key, -1, None)

    def _complete(self, c: Completion) -> None:
        m = self._stats.counts
        if c.batch_id in self._timed_out:
            self._timed_out.discard(c.batch_id)
            if self.hung is not None and self.hung[0] == c.batch_id:
                self.hung = None
            m["late_batches"] += 1
            logger.warning(
                "teacher returned from a call %.1f s after it began; serving hints again",
                c.latency,
            )
            return
        self._stats.record_batch(len(c.keys), c.wait, c.latency)
        envs = self._envs
        if c.probs is None:
            m["teacher_errors"] += 1
            m["failed"] += len(c.keys)
            for key in c.keys:
                envs.resolve(key, -1, None)
            return
        fresh = bool(within_staleness(c.version, self._version(), self._cache.max_staleness))
        for row, key in enumerate(c.keys):
            if not c.ok[row]:
                m["failed"] += 1
                envs.resolve(key, -1, None)
            elif not fresh:
                m["stale_dropped"] += 1
                envs.resolve(key, -1, None)
            else:
                m["answered"] += 1
                probs = c.probs[row]
                self._cache.put(key, c.version, probs)
                envs.resolve(key, c.version, probs)
        if not c.ok.all():
            logger.warning("teacher output unusable for some prompts: %s", c.error)
