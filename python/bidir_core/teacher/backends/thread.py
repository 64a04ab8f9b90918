"""The in-process teacher backend: the model answers queued prompts in one worker thread."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from bidir_core.teacher.backends.common import Completion, logprobs_to_probs
from bidir_core.teacher.backends.queued import QueuedBackend

__all__ = ["LocalTeacherBackend"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")


class LocalTeacherBackend(QueuedBackend):
    """Runs a teacher in one background thread on batches of queued (key, prompt) pairs
    (the queue and batching: ``QueuedBackend``); results come back in order through ``poll()``."""

    def __init__(
        self,
        teacher: Any,
        *,
        num_actions: int,
        max_batch: int = 32,
        max_wait: float = 0.002,
        name: str = "teacher",
    ):
        super().__init__(teacher, num_actions, max_batch, max_wait)
        self._teacher = teacher
        self._versioned = callable(getattr(teacher, "action_logprobs_versioned", None))
        self._failures = 0  # consecutive failed batches (worker-owned)
        self._thread = threading.Thread(target=self._work, args=("teacher service worker",),
                                        name=f"{name}-worker", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread.is_alive()

    def close(self, join_timeout: float | None = 10.0) -> bool:
        """Stop the worker (dropping queued prompts); return True if it was joined."""
        self._stop_queue()
        if threading.current_thread() is not self._thread:
            self._thread.join(join_timeout)
        return not self._thread.is_alive()

    def _answer(self, batch_id, keys, prompts, start, wait) -> None:
        probs = ok = None
        version = -1
        error = None
        try:
            if self._versioned:
                logp, version = self._teacher.action_logprobs_versioned(prompts)
            else:
                before = int(self._teacher.version)
                logp = self._teacher.action_logprobs(prompts)
                # An update during the call gives mixed parameters: call it the older one.
                version = min(before, int(self._teacher.version))
            probs, ok = logprobs_to_probs(
                logp, len(prompts), self.num_teacher_actions, self.num_actions
            )
            if not ok.all():
                error = f"{int((~ok).sum())} of {len(ok)} rows were NaN or infinite"
        except Exception as exc:  # any teacher failure means "no hint"
            error = f"{type(exc).__name__}: {exc}"
            self._failures += 1
            if self._failures == 1 or self._failures % 100 == 0:
                logger.warning(
                    "teacher failed on a batch of %d prompts (%d in a row); those envs get no hint",
                    len(prompts),
                    self._failures,
                    exc_info=self._failures == 1,
                )
        else:
            if self._failures:
                logger.warning("teacher answers again after %d failed batches", self._failures)
            self._failures = 0
        latency = time.monotonic() - start
        self._finish(Completion(batch_id, keys, probs, ok, int(version), latency, wait, error))
