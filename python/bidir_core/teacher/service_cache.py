"""The teacher service's cache: the teacher's answers by prompt hash, least recently used out."""

from __future__ import annotations

import collections

import numpy as np

__all__ = ["AnswerCache"]

Entry = tuple[int, np.ndarray]  # (teacher version, probs (A,) float32)


class AnswerCache:
    """At most ``size`` answers, each with the teacher version that made it; an entry is
    served at version v if it was made at most ``max_staleness`` versions before v."""

    def __init__(self, size: int, max_staleness: int) -> None:
        self.size: int = size
        self.max_staleness: int = max_staleness
        self._entries: collections.OrderedDict[int, Entry] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: int, version: int) -> Entry | None:
        """The entry of ``key`` if servable at ``version`` (and mark it recently used)."""
        entry = self.peek(key, version)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def peek(self, key: int, version: int) -> Entry | None:
        """The entry of ``key`` if servable at ``version``, without marking it used."""
        entry = self._entries.get(key)
        if entry is not None and 0 <= version - entry[0] <= self.max_staleness:
            return entry
        return None

    def put(self, key: int, version: int, probs: np.ndarray) -> None:
        """Keep the answer unless a newer version's answer is cached; evict the oldest."""
        old = self._entries.get(key)
        if old is None or old[0] <= version:
            self._entries[key] = (version, probs)
            self._entries.move_to_end(key)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
