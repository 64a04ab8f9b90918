"""What the teacher backends share: the completion record, the client side of a prompt
queue, argument checks, log-probs to hints."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Completion", "QueueClient", "drain", "logprobs_to_probs"]


@dataclasses.dataclass(frozen=True)
class Completion:
    """The backend's answer to one batch of queued prompts."""

    batch_id: int
    keys: tuple[int, ...]  # prompt hashes, in batch order
    probs: np.ndarray | None  # float32 (B, A), or None when the whole batch failed
    ok: np.ndarray | None  # bool (B,): rows with a usable answer
    version: int  # teacher version the answers come from (-1 on failure)
    latency: float  # seconds in the teacher call
    wait: float  # mean seconds the prompts waited in the queue
    error: str | None  # why rows (or the batch) failed


def drain(done: collections.deque[Completion]) -> list[Completion]:
    """Take every completion out of a backend's ``done`` deque (appended by its worker
    threads; ``popleft`` is atomic, so no lock is needed)."""
    out = []
    while done:
        out.append(done.popleft())
    return out


class QueueClient:
    """The client side of a backend that queues prompts: ``enqueue`` (under ``_cond``, into
    the queue ``_queue_for`` names) and ``poll``; subclasses set the three attributes."""

    _cond: threading.Condition
    _stopping: bool
    _done: collections.deque[Completion]

    def _queue_for(self, key: int) -> collections.OrderedDict[int, tuple[str, float]]:
        raise NotImplementedError

    def enqueue(self, items: Sequence[tuple[int, str]]) -> None:
        """Queue (key, prompt) pairs for the model."""
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return
            for key, prompt in items:
                self._queue_for(key)[key] = (prompt, now)
            self._cond.notify_all()

    def poll(self) -> list[Completion]:
        """The completions that arrived since the last poll (never blocks)."""
        return drain(self._done)


def _check_seconds(name: str, value: Any, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.floating, np.integer)
    ):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    value = float(value)
    if not (value >= 0.0 and value < float("inf")):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _check_teacher(teacher: Any) -> None:
    missing = [a for a in ("actions", "version", "action_logprobs") if not hasattr(teacher, a)]
    if missing:
        raise TypeError(
            f"teacher must provide actions, version and action_logprobs(prompts); "
            f"{type(teacher).__name__} lacks {', '.join(missing)}"
        )
    if not callable(teacher.action_logprobs):
        raise TypeError("teacher.action_logprobs must be callable")


def logprobs_to_probs(
    logp: Any, batch: int, num_teacher_actions: int, num_actions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Turn a teacher's (B, A_T) log-probs into (B, num_actions) float32 probabilities.

    Rows are renormalised with a softmax (a no-op for log-normalised input); actions the
    teacher does not score get probability 0. Returns (probs, ok) where ok marks rows
    without NaN/+inf and with at least one finite entry. Raises ValueError on a wrong shape.
    """
    a = np.asarray(logp, dtype=np.float64)
    if a.shape != (batch, num_teacher_actions):
        raise ValueError(
            f"teacher returned log-probs of shape {a.shape}, "
            f"expected ({batch}, {num_teacher_actions})"
        )
    probs = np.zeros((batch, num_actions), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        top = a.max(axis=1, keepdims=True) if batch else np.zeros((0, 1))
        ok = np.isfinite(top[:, 0]) & ~np.isnan(a).any(axis=1) & ~np.isposinf(a).any(axis=1)
    if ok.any():
        e = np.exp(a[ok] - top[ok])
        probs[ok, :num_teacher_actions] = e / e.sum(axis=1, keepdims=True)
    return probs, ok
