"""The in-process teacher backend: the model answers queued prompts in one worker thread."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from bidir_core.teacher.backends.common import (
    Completion,
    _check_int,
    _check_seconds,
    _check_teacher,
    logprobs_to_probs,
)

__all__ = ["LocalTeacherBackend"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")


class LocalTeacherBackend:
    """Runs a teacher in one background thread on batches of queued (key, prompt) pairs.

    ``enqueue`` and ``cancel`` take a lock; ``poll`` and ``in_flight`` do not. Results come
    back in order as ``Completion`` objects through ``poll()``. Keys must be unique among
    the queued and in-flight prompts (the client de-duplicates).
    """

    def __init__(
        self,
        teacher: Any,
        *,
        num_actions: int,
        max_batch: int = 32,
        max_wait: float = 0.002,
        name: str = "teacher",
    ):
        _check_teacher(teacher)
        self.num_teacher_actions: int = len(teacher.actions)
        self.num_actions: int = _check_int("num_actions", num_actions, 1)
        if self.num_teacher_actions > self.num_actions:
            raise ValueError(
                f"the teacher scores {self.num_teacher_actions} actions but the env has only "
                f"{self.num_actions}"
            )
        self.max_batch: int = _check_int("max_batch", max_batch, 1)
        self.max_wait: float | None = _check_seconds("max_wait", max_wait, allow_none=False)
        self._teacher = teacher
        self._versioned = callable(getattr(teacher, "action_logprobs_versioned", None))
        self._queue: collections.OrderedDict[int, tuple[str, float]] = collections.OrderedDict()
        self._cond = threading.Condition(threading.Lock())
        self._done: collections.deque[Completion] = collections.deque()
        self._in_flight: tuple[int, tuple[int, ...], float] | None = None
        self._stopping = False
        self._next_id = 0
        self._failures = 0  # consecutive failed batches (worker-owned)
        self.crashed: bool = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-worker", daemon=True)
        self._thread.start()

    # -- client side -----------------------------------------------------------------------
    def enqueue(self, items: Sequence[tuple[int, str]]) -> None:
        """Queue (key, prompt) pairs for the model."""
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return
            for key, prompt in items:
                self._queue[key] = (prompt, now)
            self._cond.notify()

    def cancel(self, keys: Sequence[int] | None = None) -> list[int]:
        """Drop queued (not yet running) keys, all if None; return those dropped."""
        with self._cond:
            if keys is None:
                dropped = list(self._queue)
                self._queue.clear()
                return dropped
            return [k for k in keys if self._queue.pop(k, None) is not None]

    def poll(self) -> list[Completion]:
        """Return the completions that arrived since the last poll (never blocks)."""
        out = []
        done = self._done
        while done:
            out.append(done.popleft())
        return out

    def in_flight(self) -> tuple[int, tuple[int, ...], float] | None:
        """(batch id, keys, start time.monotonic()) of the batch in the model, if any."""
        return self._in_flight

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread.is_alive()

    def close(self, join_timeout: float | None = 10.0) -> bool:
        """Stop the worker (dropping queued prompts); return True if it was joined."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(join_timeout)
        return not self._thread.is_alive()

    # -- worker side -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                self._answer(*batch)
        except BaseException:  # a bug here must not pass silently: the client sees it
            self.crashed = True
            logger.exception("teacher service worker crashed")

    def _next_batch(self):
        # The batch closes max_wait after the oldest prompt the worker saw queued, even if
        # that prompt is cancelled meanwhile: with envs superseding their prompts every
        # step, a deadline that followed the current oldest could be put off forever.
        deadline = None
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._queue:
                    if deadline is None:
                        deadline = next(iter(self._queue.values()))[1] + self.max_wait
                    left = deadline - time.monotonic()
                    if len(self._queue) >= self.max_batch or left <= 0:
                        break
                    self._cond.wait(left)
                else:
                    self._cond.wait()
            take = min(self.max_batch, len(self._queue))
            items = [self._queue.popitem(last=False) for _ in range(take)]
            start = time.monotonic()
            batch_id = self._next_id
            self._next_id += 1
            keys = tuple(k for k, _ in items)
            self._in_flight = (batch_id, keys, start)
        prompts = [p for _, (p, _) in items]
        wait = sum(start - t for _, (_, t) in items) / take
        return batch_id, keys, prompts, start, wait

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
        self._in_flight = None
        self._done.append(Completion(batch_id, keys, probs, ok, int(version), latency, wait, error))
