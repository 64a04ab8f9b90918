"""A teacher with the feedback table's correction added to its logits (``--feedback table``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from bidir_core import _core

if TYPE_CHECKING:
    from bidir_core.teacher.policy import Teacher

__all__ = ["CorrectedTeacher"]


class CorrectedTeacher:
    """A teacher whose logits get ``alpha * table[hash(prompt)]`` added (non-parametric update).

    Presents the ``Teacher`` interface the service needs (``actions``, ``version``,
    ``action_logprobs``, ``lock``). ``version`` is advanced by ``publish()`` once per
    teacher update (LM optimizer steps and table update together), so the service's cache
    serves no answer older than ``max_staleness`` updates.
    """

    def __init__(self, teacher: Teacher, table: _core.FeedbackTable, alpha: float) -> None:
        self.teacher: Teacher = teacher
        self.table: _core.FeedbackTable = table
        self.alpha: float = float(alpha)
        self.actions: tuple[str, ...] = teacher.actions
        self.lock: threading.RLock = teacher.lock
        self.version: int = 0
        self.published: tuple[int, dict[str, np.ndarray]] | None = None

    def publish(self) -> int:
        """Mark a teacher update (parameters, table or both); return the new version."""
        with self.lock:
            self.version += 1
            if self.published is not None:
                self.keep_published_weights()
            return self.version

    def keep_published_weights(self) -> None:
        """Copy the LM's trainable weights as those of the current version (``published``),
        now and at every ``publish``; call it again after loading other weights."""
        from bidir_core.teacher.backends.process import trainable_state

        with self.lock:
            self.published = (self.version, trainable_state(self.teacher))

    def correction(self, prompts: list[str], hashes: np.ndarray | None = None) -> np.ndarray:
        """alpha * table values (B, A) for the prompts (0 for unseen prompts); ``hashes``:
        their ``hash_prompts`` when the caller has them already."""
        values = self.table.lookup(_core.hash_prompts(prompts) if hashes is None else hashes)
        return self.alpha * values[:, : len(self.actions)]

    def action_logprobs(self, prompts: list[str]) -> np.ndarray:
        """log softmax(log piT + alpha * table) (B, A) float32."""
        with self.lock:
            return self.corrected(prompts, self.teacher.action_logprobs(prompts))

    def corrected(self, prompts: list[str], base: np.ndarray,
                  hashes: np.ndarray | None = None) -> np.ndarray:
        """log softmax(base + alpha * table) (B, A) float32 for the LM's log-probs ``base``
        (``hashes``: the prompts' hashes, when the caller has them)."""
        with self.lock:
            if len(self.table) == 0 or self.alpha == 0.0:
                return base
            logits = np.asarray(base, np.float64) + self.correction(prompts, hashes)
            logits -= logits.max(axis=1, keepdims=True)
            logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return logits.astype(np.float32)
