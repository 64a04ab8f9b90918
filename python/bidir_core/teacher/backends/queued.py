"""The part of a teacher backend that every local one shares: a prompt queue, batching,
completions.

``enqueue`` and ``cancel`` take a lock; ``poll`` and ``in_flight`` do not. A worker thread
(``_work``) takes batches off the queue (up to ``max_batch``, or whatever is queued
``max_wait`` after the oldest prompt it saw) and hands each to the subclass's ``_answer``,
which ends with ``_finish``. Keys must be unique among the queued and in-flight prompts
(the client de-duplicates).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from bidir_core._checks import check_int
from bidir_core.teacher.backends.common import Completion, QueueClient
from bidir_core.teacher.backends.common import _check_seconds, _check_teacher

__all__ = ["QueuedBackend", "check_backend_args"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")

Batch = tuple[int, tuple[int, ...], list[str], float, float]
"""(batch id, keys, prompts, start time.monotonic(), mean seconds the prompts waited)."""


def check_backend_args(teacher: Any, num_actions: Any, max_batch: Any,
                       max_wait: Any) -> tuple[int, int, int, float]:
    """(actions the teacher scores, num_actions, max_batch, max_wait), checked."""
    _check_teacher(teacher)
    num_teacher_actions = len(teacher.actions)
    num_actions = check_int("num_actions", num_actions, 1)
    if num_teacher_actions > num_actions:
        raise ValueError(
            f"the teacher scores {num_teacher_actions} actions but the env has only {num_actions}"
        )
    wait = _check_seconds("max_wait", max_wait, allow_none=False)
    assert wait is not None
    return num_teacher_actions, num_actions, check_int("max_batch", max_batch, 1), wait


class QueuedBackend(QueueClient):
    """A backend's queue, batching and completions; subclasses implement ``_answer``."""

    crashed: bool
    """Set when the worker thread died of a bug (the client then stops using the backend)."""

    def __init__(self, teacher: Any, num_actions: int, max_batch: int, max_wait: float) -> None:
        checked = check_backend_args(teacher, num_actions, max_batch, max_wait)
        self.num_teacher_actions: int = checked[0]
        self.num_actions: int = checked[1]
        self.max_batch: int = checked[2]
        self.max_wait: float = checked[3]
        self._queue: collections.OrderedDict[int, tuple[str, float]] = collections.OrderedDict()
        self._cond = threading.Condition(threading.Lock())
        self._done: collections.deque[Completion] = collections.deque()
        self._in_flight: tuple[int, tuple[int, ...], float] | None = None
        self._stopping = False
        self._next_id = 0
        self.crashed = False

    # -- client side -----------------------------------------------------------------------
    def _queue_for(self, key: int) -> collections.OrderedDict[int, tuple[str, float]]:
        return self._queue

    def cancel(self, keys: Sequence[int] | None = None) -> list[int]:
        """Drop queued (not yet answered) keys, all if None; return those dropped."""
        with self._cond:
            if keys is None:
                dropped = list(self._queue)
                self._queue.clear()
                return dropped
            return [k for k in keys if self._queue.pop(k, None) is not None]

    def in_flight(self) -> tuple[int, tuple[int, ...], float] | None:
        """(batch id, keys, start time.monotonic()) of the batch in the model, if any."""
        return self._in_flight

    # -- worker side -----------------------------------------------------------------------
    def _stop_queue(self) -> None:
        """Drop the queue and wake the worker so that it ends."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()

    def _work(self, what: str) -> None:
        """The worker thread: answer batches until stopped (a crash is logged and flagged)."""
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                self._answer(*batch)
        except BaseException:  # a bug here must not pass silently: the client sees it
            self.crashed = True
            logger.exception("%s crashed", what)

    def _answer(self, batch_id: int, keys: tuple[int, ...], prompts: list[str], start: float,
                wait: float) -> None:
        raise NotImplementedError

    def _finish(self, completion: Completion) -> None:
        """Hand a batch's answer to the client."""
        self._in_flight = None
        self._done.append(completion)

    def _next_batch(self) -> Batch | None:
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
