"""A teacher replica of the Ray backend: the actor that scores prompts, the parent's view
of it, and its weights following the parent teacher's version."""

from __future__ import annotations

import collections
import os
import time
from typing import Any, Callable

import numpy as np

from bidir_core.teacher.backends.process import versioned_state

__all__ = ["ReplicaSlot", "TeacherReplica", "WeightPublisher"]


class TeacherReplica:
    """One replica of the teacher in a Ray actor: built by ``factory``, frozen, and
    answering ``score`` with the weights of the last ``set_weights`` (version -1: none yet)."""

    def __init__(self, factory: Callable[[], Any], threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.teacher: Any = factory()
        for p in self.teacher.model.parameters():
            p.requires_grad_(False)
        self.version: int = -1

    def ready(self) -> tuple[int, int]:
        """(actions the replica scores, its process id)."""
        return len(self.teacher.actions), os.getpid()

    def set_weights(self, version: int, state: dict[str, np.ndarray]) -> None:
        """Load trainable weights (``trainable_state``) of teacher ``version``."""
        import torch

        with torch.no_grad():
            params = dict(self.teacher.model.named_parameters())
            for name, value in state.items():
                params[name].copy_(torch.from_numpy(value))
        self.version = int(version)

    def score(self, prompts: list[str]) -> tuple[Any, int, float, str | None, int]:
        """(log-probs (B, A) float32 or None, version, seconds, error, process id)."""
        start = time.monotonic()
        try:
            logp, error = np.asarray(self.teacher.action_logprobs(prompts), np.float32), None
        except Exception as exc:  # a failed batch is "no hint", not a dead replica
            logp, error = None, f"{type(exc).__name__}: {exc}"
        return logp, self.version, time.monotonic() - start, error, os.getpid()


class ReplicaSlot:
    """The parent's view of one replica: its actor, queue, weights and batch in flight."""

    def __init__(self, index: int, actor: Any) -> None:
        self.index: int = index
        self.actor: Any = actor
        self.queue: collections.OrderedDict[int, tuple[str, float]] = collections.OrderedDict()
        self.version: int | None = None  # weights sent to this actor (None: not since its start)
        self.busy: bool = False
        self.lost: bool = False  # dead for good (Ray gave up restarting it)


class WeightPublisher:
    """The parent teacher's trainable weights in Ray's object store (put once per version),
    sent to the replicas whose weights lag."""

    def __init__(self, ray: Any, teacher: Any) -> None:
        self._ray = ray
        self._teacher = teacher
        self._weights: tuple[int, Any] | None = None  # (version, ObjectRef) last put

    def current(self, wait: bool) -> tuple[int, Any] | None:
        """(version, object ref) of the teacher's current trainable weights; None if the
        teacher is mid-update and ``wait`` is False."""
        version = int(self._teacher.version)
        if self._weights is not None and self._weights[0] == version:
            return self._weights
        got = versioned_state(self._teacher, timeout=-1 if wait else 0.05)
        if got is None:
            return None
        self._weights = (got[0], self._ray.put(got[1]))
        return self._weights

    def send(self, slot: ReplicaSlot) -> None:
        """Before a batch: load the current weights into the slot's replica if it lags
        (waiting for them if it has none since its start)."""
        weights = self.current(wait=slot.version is None)
        if weights is not None and weights[0] != slot.version:
            slot.actor.set_weights.remote(*weights)  # actor calls run in order
            slot.version = weights[0]

    def publish(self, slots: list[ReplicaSlot]) -> None:
        """Send a new version to every running replica that has weights, not waiting for it."""
        weights = self.current(wait=False)
        if weights is None:
            return
        for s in slots:
            if not s.lost and s.version is not None and s.version != weights[0]:
                s.actor.set_weights.remote(*weights)
                s.version = weights[0]
