"""The teacher service's per-env state: each env's latest hint and the prompt it waits for.

An answer reaches an env only if it answers a prompt the env submitted at the step of its
current hint or later; a late answer to an older prompt is dropped for that env.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["EnvHints", "Hints", "Request", "within_staleness"]


@dataclasses.dataclass(frozen=True)
class Hints:
    """The latest teacher hint per env (fresh arrays, owned by the caller)."""

    probs: np.ndarray  # float32 (N, A): πT over the env's actions; zero rows where invalid
    valid: np.ndarray  # bool (N,): a usable hint exists
    age: (
        np.ndarray
    )  # int64 (N,): steps (tick() calls) since its prompt was submitted; -1 if invalid
    version: np.ndarray  # int64 (N,): teacher version that produced it; -1 if invalid


def within_staleness(produced: Any, version: int, max_staleness: int) -> Any:
    """Whether answers made by teacher version(s) ``produced`` may be served at ``version``."""
    lag = version - produced
    return (lag >= 0) & (lag <= max_staleness)


class Request:
    """A prompt queued or in the model, and the envs waiting for it (env -> step)."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: dict[int, int] = {}


class EnvHints:
    """Per env: its hint (probs, hash, version, the step it was asked at) and the prompt it
    waits for; ``pending`` maps each prompt hash in the backend to its ``Request``."""

    def __init__(self, num_envs: int, num_actions: int) -> None:
        n = num_envs
        self.probs: np.ndarray = np.zeros((n, num_actions), np.float32)
        self.has: np.ndarray = np.zeros(n, np.bool_)
        self.hash: np.ndarray = np.zeros(n, np.uint64)
        self.version: np.ndarray = np.zeros(n, np.int64)
        self.step: np.ndarray = np.zeros(n, np.int64)
        self.waiting: np.ndarray = np.zeros(n, np.bool_)
        self.waiting_key: np.ndarray = np.zeros(n, np.uint64)
        self.pending: dict[int, Request] = {}

    def read(self, step: int, version: int, max_staleness: int, max_age: int | None) -> Hints:
        """The hints as of ``step``: invalid where none, too stale or older than ``max_age``."""
        age = step - self.step
        valid = self.has & within_staleness(self.version, version, max_staleness)
        if max_age is not None:
            valid &= age <= max_age
        probs = self.probs.copy()
        probs[~valid] = 0.0
        return Hints(probs, valid, np.where(valid, age, -1), np.where(valid, self.version, -1))

    def set_many(self, ids: np.ndarray, probs: np.ndarray, keys: list[int],
                 versions: list[int], step: int) -> None:
        """Give envs ``ids`` hints resolved now (the newest they can have: no step check)."""
        self.probs[ids] = probs
        self.has[ids] = True
        self.hash[ids] = np.array(keys, np.uint64)
        self.version[ids] = versions
        self.step[ids] = step

    def deliver(self, i: int, step: int, key: int, version: int, probs: np.ndarray) -> None:
        """Env i's answer to the prompt it asked at ``step``, unless it has a newer hint."""
        if step >= self.step[i]:
            self.probs[i] = probs
            self.has[i] = True
            self.hash[i] = key
            self.version[i] = version
            self.step[i] = step

    def fail(self, ids: np.ndarray, step: int) -> None:
        """Envs ``ids`` get no hint for what they asked at ``step`` (unless theirs is newer)."""
        sel = ids[self.step[ids] <= step]
        self.has[sel] = False
        self.step[sel] = step

    def wait_for(self, req: Request, i: int, key: int, step: int) -> None:
        """Env i waits, from ``step``, for the answer to prompt ``key``."""
        req.waiters[i] = step
        self.waiting[i] = True
        self.waiting_key[i] = key

    def supersede(self, i: int, drop: list[int]) -> None:
        """Env i stops waiting for its pending prompt; that prompt may now be orphaned.

        Env i stays among the prompt's waiters: if the prompt is already in the model, its
        answer still reaches env i unless a newer hint got there first (see ``resolve``).
        """
        if self.waiting[i]:
            self.waiting[i] = False
            drop.append(int(self.waiting_key[i]))

    def orphans(self, keys: list[int]) -> list[int]:
        """The pending prompts among ``keys`` that no env currently waits for."""
        out = []
        for key in set(keys):
            req = self.pending.get(key)
            if req is not None and not any(
                self.waiting[w] and int(self.waiting_key[w]) == key for w in req.waiters
            ):
                out.append(key)
        return out

    def resolve(self, key: int, version: int, probs: np.ndarray | None) -> None:
        """Hand a finished prompt's answer (None: no hint) to the envs waiting for it."""
        req = self.pending.pop(key, None)
        if req is None:
            return
        for i, step in req.waiters.items():
            if self.waiting[i] and int(self.waiting_key[i]) == key:
                self.waiting[i] = False
            if probs is None:
                if step >= self.step[i]:
                    self.has[i] = False
                    self.step[i] = step
            else:
                self.deliver(i, step, key, version, probs)
