"""The asynchronous teacher service: the rollout loop submits prompts, reads hints, never waits.

The LM is the slow part of LLM-in-the-loop RL (GLAM scores every prompt of every step
synchronously). Here the rollout thread hands the service each env's prompt hash (and,
lazily, its text) and reads back the latest hint per env; a background worker owns the
model and answers batches of cache misses.

Data flow of one rollout step::

    hashes = env.prompt_hashes(out=buf)        # C++, no strings
    service.submit(hashes, env.prompts)        # hits resolve now; misses are queued
    hints = service.hints()                    # probs (N, A), valid (N,), age (N,)
    ... act ...; env.step(actions); service.tick()

The design (cache, versions, latest-wins, the GIL, failures) is in docs/decisions.md,
"The teacher service".

Single-threaded use: ``submit``, ``hints``, ``tick`` and ``metrics`` must be called from
one thread (the rollout loop's); ``close`` may be called from any thread.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable, Union

import numpy as np

from bidir_core import _core
from bidir_core._checks import check_int
from bidir_core.teacher.backends.common import (
    Completion,
    _check_seconds,
    _check_teacher,
)
from bidir_core.teacher.backends.thread import LocalTeacherBackend
from bidir_core.teacher.service_stats import ServiceStats

__all__ = ["Completion", "Hints", "LocalTeacherBackend", "TeacherService"]

logger: logging.Logger = logging.getLogger(__name__)

PromptSource = Union[Sequence[str], Callable[[np.ndarray], Sequence[str]]]


@dataclasses.dataclass(frozen=True)
class Hints:
    """The latest teacher hint per env (fresh arrays, owned by the caller)."""

    probs: np.ndarray  # float32 (N, A): πT over the env's actions; zero rows where invalid
    valid: np.ndarray  # bool (N,): a usable hint exists
    age: (
        np.ndarray
    )  # int64 (N,): steps (tick() calls) since its prompt was submitted; -1 if invalid
    version: np.ndarray  # int64 (N,): teacher version that produced it; -1 if invalid


class _Request:
    """A prompt queued or in the model, and the envs waiting for it (env -> step)."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: dict[int, int] = {}


class TeacherService:
    """Asynchronous, batched, cached teacher hints for N envs (see the module docstring).

    Args:
        teacher: object with ``actions`` (index = action id), ``version`` and
            ``action_logprobs(prompts) -> (B, len(actions))`` log πT.
        num_envs: number of envs whose hints are tracked.
        num_actions: width of the hint vector (the env's action count, ``len(_core.ACTION_NAMES)``).
        max_batch: most prompts per model call.
        max_wait: seconds the worker waits for a batch to fill after its oldest prompt.
        cache_size: most answers kept in the LRU cache.
        max_staleness: oldest teacher version served, in versions behind the current one.
        timeout: seconds after which a model call counts as hung (None: never).
        max_age: hints older than this many steps are reported invalid (None: no limit).
        join_timeout: seconds ``close`` waits for the worker.
        backend: a started backend to use instead of ``LocalTeacherBackend(teacher)``.
    """

    def __init__(
        self,
        teacher: Any,
        num_envs: int,
        *,
        num_actions: int = len(_core.ACTION_NAMES),
        max_batch: int = 32,
        max_wait: float = 0.002,
        cache_size: int = 1 << 16,
        max_staleness: int = 0,
        timeout: float | None = 30.0,
        max_age: int | None = None,
        join_timeout: float = 10.0,
        backend: LocalTeacherBackend | None = None,
    ):
        _check_teacher(teacher)
        self.num_envs: int = check_int("num_envs", num_envs, 1)
        self.num_actions: int = check_int("num_actions", num_actions, 1)
        self.cache_size: int = check_int("cache_size", cache_size, 1)
        self.max_staleness: int = check_int("max_staleness", max_staleness, 0)
        self.timeout: float | None = _check_seconds("timeout", timeout, allow_none=True)
        if self.timeout == 0.0:
            raise ValueError("timeout must be > 0 (or None for no timeout)")
        self.max_age: int | None = None if max_age is None else check_int("max_age", max_age, 0)
        self.join_timeout: float | None = _check_seconds("join_timeout", join_timeout, allow_none=False)
        self._teacher = teacher
        if backend is None:
            backend = LocalTeacherBackend(
                teacher, num_actions=num_actions, max_batch=max_batch, max_wait=max_wait
            )
        elif backend.num_actions != self.num_actions:
            raise ValueError(
                f"backend.num_actions is {backend.num_actions}, expected {self.num_actions}"
            )
        self._backend = backend

        n = self.num_envs
        self._step = 0
        self._probs = np.zeros((n, self.num_actions), np.float32)
        self._has = np.zeros(n, np.bool_)
        self._hint_hash = np.zeros(n, np.uint64)
        self._hint_version = np.zeros(n, np.int64)
        self._hint_step = np.zeros(n, np.int64)
        self._has_pending = np.zeros(n, np.bool_)
        self._pending_key = np.zeros(n, np.uint64)
        self._cache: collections.OrderedDict[int, tuple[int, np.ndarray]] = (
            collections.OrderedDict()
        )
        self._pending: dict[int, _Request] = {}
        self._hung: tuple[int, float] | None = None  # (batch id, start) of a timed-out call
        self._timed_out: set[int] = set()
        self._closed = False
        self._owner: int | None = None
        self._crash_logged = False
        self._stats = ServiceStats()
        self._m = self._stats.counts  # incremented where things happen

    # -- the interface -------------------------------------------------------------------
    def submit(self, hashes: np.ndarray, prompts: PromptSource, env_ids: Any = None,
               verify: bool = True) -> int:
        """Ask for hints for the current states of some envs; never waits for the model.

        Args:
            hashes: uint64 (K,) prompt hashes (``env.prompt_hashes()``), one per env.
            prompts: the K prompt strings, or a callable that maps an int64 array of env
                ids to their prompts (``env.prompts``); it is called only for cache misses.
            env_ids: the K env ids (None: all envs, K = num_envs).
            verify: check that the missed prompts hash to ``hashes`` (False only where
                both come from the same env, as the training loop's hint source does).

        Returns the number of envs whose hint resolved now from the cache.
        """
        self._check_thread()
        ids = self._check_env_ids(env_ids)
        hashes = self._check_hashes(hashes, len(ids))
        if not callable(prompts):
            if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
                raise TypeError(
                    "prompts must be a sequence of str or a callable env_ids -> prompts, "
                    f"got {type(prompts).__name__}"
                )
            if len(prompts) != len(ids):
                raise ValueError(f"prompts has {len(prompts)} entries, expected {len(ids)}")
        self._poll()
        k = len(ids)
        self._m["queries"] += k
        if k == 0:
            return 0
        step = self._step
        if self._closed or self._backend_dead():
            self._fail_envs(ids, step)
            self._m["rejected"] += k
            return 0

        version = self._version()
        # Fast path: the env's prompt is the one its current hint answers.
        same = (
            self._has[ids]
            & (self._hint_hash[ids] == hashes)
            & self._version_ok(self._hint_version[ids], version)
        )
        drop: list[int] = []
        if same.any():
            sel = ids[same]
            self._hint_step[sel] = step
            for i in sel[self._has_pending[sel]].tolist():
                self._supersede(i, drop)
        hits = int(same.sum())

        cache = self._cache
        pending = self._pending
        id_list, key_list = ids.tolist(), hashes.tolist()
        waiting = self._has_pending[ids].tolist()  # env ids are unique: read once
        hit_envs: list[int] = []
        hit_keys: list[int] = []
        hit_entries: list[tuple[int, np.ndarray]] = []
        new: list[tuple[int, int, int]] = []  # (position, env, key)
        for j in np.flatnonzero(~same).tolist():
            i = id_list[j]
            key = key_list[j]
            entry = cache.get(key)
            if entry is not None and 0 <= version - entry[0] <= self.max_staleness:
                cache.move_to_end(key)
                if waiting[j]:
                    self._supersede(i, drop)
                hit_envs.append(i)
                hit_keys.append(key)
                hit_entries.append(entry)
                continue
            if waiting[j] and int(self._pending_key[i]) == key:
                pending[key].waiters[i] = step  # still waiting for the same prompt
                self._m["joined"] += 1
                continue
            if waiting[j]:
                self._supersede(i, drop)
            req = pending.get(key)
            if req is not None:
                self._wait_for(req, i, key, step)
                self._m["joined"] += 1
            elif self._hung is not None:
                self._fail_envs(np.array([i]), step)
                self._m["rejected"] += 1
            else:
                new.append((j, i, key))
        if hit_envs:  # hints resolved now are the newest any env can have: no step check
            sel = np.array(hit_envs)
            self._probs[sel] = np.stack([probs for _, probs in hit_entries])
            self._has[sel] = True
            self._hint_hash[sel] = np.array(hit_keys, np.uint64)
            self._hint_version[sel] = [v for v, _ in hit_entries]
            self._hint_step[sel] = step
            hits += len(hit_envs)
        self._m["cache_hits"] += hits

        items: list[tuple[int, str]] = []
        if new:
            if callable(prompts):
                texts = prompts(np.array([i for _, i, _ in new], np.int64))
                if isinstance(texts, (str, bytes)) or len(texts) != len(new):
                    raise ValueError(f"prompts({len(new)} env ids) must return {len(new)} strings")
            else:
                texts = [prompts[j] for j, _, _ in new]
            # A wrong hash would poison the cache: check them all before changing anything.
            bad = np.zeros(0, np.int64)
            if verify:
                got = _core.hash_prompts(list(texts))
                bad = np.flatnonzero(got != np.array([key for _, _, key in new], np.uint64))
            if bad.size:
                raise ValueError(
                    f"the prompt of env {new[bad[0]][1]} does not match its hash: hashes must "
                    f"be hash_prompts(prompts) (env.prompt_hashes() for env.prompts())"
                )
            for (_, i, key), text in zip(new, texts):
                req = pending.get(key)
                if req is None:  # two envs may miss on the same new prompt
                    req = pending[key] = _Request()
                    items.append((key, text))
                else:
                    self._m["joined"] += 1
                self._wait_for(req, i, key, step)
        if drop:
            self._cancel_orphans(drop)
        if items:
            self._backend.enqueue(items)
            self._m["queued"] += len(items)
        return hits

    def hints(self) -> Hints:
        """Return the latest available hint per env (fresh arrays)."""
        self._check_thread()
        self._poll()
        if self._closed:
            n = self.num_envs
            return Hints(
                np.zeros((n, self.num_actions), np.float32),
                np.zeros(n, np.bool_),
                np.full(n, -1, np.int64),
                np.full(n, -1, np.int64),
            )
        version = self._version()
        age = self._step - self._hint_step
        valid = self._has & self._version_ok(self._hint_version, version)
        if self.max_age is not None:
            valid &= age <= self.max_age
        probs = self._probs.copy()
        probs[~valid] = 0.0
        m = self._m
        m["hint_reads"] += self.num_envs
        nv = int(valid.sum())
        m["hint_valid"] += nv
        if nv:
            m["hint_age_sum"] += int(age[valid].sum())
            m["hint_lag_sum"] += int((version - self._hint_version[valid]).sum())
        return Hints(
            probs,
            valid,
            np.where(valid, age, -1),
            np.where(valid, self._hint_version, -1),
        )

    def tick(self, steps: int = 1) -> None:
        """Advance the step clock that hint ages are measured in (call once per env step)."""
        self._check_thread()
        self._step += check_int("steps", steps, 0)

    def served(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cached answers of prompt hashes: probs (K, A) float32 (zero rows where none)
        and the teacher version of each (K,) int64 (-1: none cached, or too stale to serve)."""
        self._check_thread()
        hashes = self._check_hashes(hashes, len(hashes))
        self._poll()
        probs = np.zeros((len(hashes), self.num_actions), np.float32)
        versions = np.full(len(hashes), -1, np.int64)
        now = self._version()
        for i, key in enumerate(hashes.tolist()):
            hit = self._cache.get(key)
            if hit is not None and self._version_ok(hit[0], now):
                versions[i], probs[i] = hit
        return probs, versions

    def metrics(self, reset: bool = False) -> dict[str, float]:
        """Counters and rates since creation (or the last reset) as a flat dict (the keys:
        ``ServiceStats.summary``)."""
        self._check_thread()
        self._poll()
        out = self._stats.summary(cache_entries=len(self._cache), pending=len(self._pending),
                                  version=self._version())
        if reset:
            self._stats.reset()
        return out

    def close(self) -> None:
        """Stop the worker and join it; afterwards every request resolves to no hint."""
        if self._closed:
            return
        self._closed = True
        if not self._backend.close(self.join_timeout):
            logger.warning(
                "teacher service: the worker is still inside the teacher after %.1f s; "
                "leaving it behind (daemon thread)",
                self.join_timeout,
            )

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def __enter__(self) -> TeacherService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------
    def _check_thread(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError(
                "TeacherService.submit/hints/tick/metrics must be called from one thread"
            )

    def _check_env_ids(self, env_ids: Any) -> np.ndarray:
        if env_ids is None:
            return np.arange(self.num_envs)
        ids = np.asarray(env_ids)
        if ids.ndim != 1:
            raise ValueError(f"env_ids must be one-dimensional, got shape {ids.shape}")
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"env_ids must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64, copy=False)
        bad = np.flatnonzero((ids < 0) | (ids >= self.num_envs))
        if bad.size:
            raise IndexError(
                f"env_ids[{bad[0]}] = {ids[bad[0]]} is out of range [0, {self.num_envs})"
            )
        if np.unique(ids).size != ids.size:
            raise ValueError("env_ids must not repeat an env")
        return ids

    @staticmethod
    def _check_hashes(hashes: Any, k: int) -> np.ndarray:
        if not isinstance(hashes, np.ndarray):
            raise TypeError(f"hashes must be a uint64 numpy.ndarray, got {type(hashes).__name__}")
        if hashes.dtype != np.uint64:
            raise TypeError(f"hashes must have dtype uint64, got {hashes.dtype}")
        if hashes.shape != (k,):
            raise ValueError(f"hashes must have shape ({k},), got {hashes.shape}")
        return hashes

    def _version(self) -> int:
        return int(self._teacher.version)

    def _version_ok(self, produced: Any, version: int) -> Any:
        lag = version - produced
        return (lag >= 0) & (lag <= self.max_staleness)

    def _backend_dead(self) -> bool:
        if self._backend.crashed or not self._backend.alive:
            if not self._crash_logged:
                logger.error("teacher service worker is not running; every request gets no hint")
                self._crash_logged = True
            return True
        return False

    def _deliver(self, i: int, step: int, key: int, version: int, probs: np.ndarray) -> None:
        if step >= self._hint_step[i]:
            self._probs[i] = probs
            self._has[i] = True
            self._hint_hash[i] = key
            self._hint_version[i] = version
            self._hint_step[i] = step

    def _fail_envs(self, ids: np.ndarray, step: int) -> None:
        newer = self._hint_step[ids] <= step
        sel = ids[newer]
        self._has[sel] = False
        self._hint_step[sel] = step

    def _wait_for(self, req: _Request, i: int, key: int, step: int) -> None:
        req.waiters[i] = step
        self._has_pending[i] = True
        self._pending_key[i] = key

    def _supersede(self, i: int, drop: list[int]) -> None:
        """Env i stops waiting for its pending prompt; that prompt may now be orphaned.

        Env i stays among the prompt's waiters: if the prompt is already in the model, its
        answer still reaches env i unless a newer hint got there first (see _resolve).
        """
        if self._has_pending[i]:
            self._has_pending[i] = False
            drop.append(int(self._pending_key[i]))

    def _cancel_orphans(self, keys: list[int]) -> None:
        """Cancel the queued prompts among keys that no env currently waits for."""
        orphans = []
        for key in set(keys):
            req = self._pending.get(key)
            if req is not None and not any(
                self._has_pending[w] and int(self._pending_key[w]) == key for w in req.waiters
            ):
                orphans.append(key)
        if orphans:
            for key in self._backend.cancel(orphans):
                del self._pending[key]
                self._m["cancelled"] += 1

    def _resolve(self, key: int, version: int, probs: np.ndarray | None) -> None:
        """Hand a finished prompt's answer (None: no hint) to the envs waiting for it."""
        req = self._pending.pop(key, None)
        if req is None:
            return
        for i, step in req.waiters.items():
            if self._has_pending[i] and int(self._pending_key[i]) == key:
                self._has_pending[i] = False
            if probs is None:
                if step >= self._hint_step[i]:
                    self._has[i] = False
                    self._hint_step[i] = step
            else:
                self._deliver(i, step, key, version, probs)

    def _poll(self) -> None:
        for c in self._backend.poll():
            self._complete(c)
        if self._closed or self.timeout is None:
            return
        flight = self._backend.in_flight()
        if flight is None:
            return
        batch_id, keys, start = flight
        if batch_id in self._timed_out or time.monotonic() - start <= self.timeout:
            return
        # The call hangs: its prompts and everything queued behind it get no hint.
        self._timed_out.add(batch_id)
        self._hung = (batch_id, start)
        self._m["timeouts"] += 1
        queued = self._backend.cancel(None)
        logger.warning(
            "teacher call on %d prompts has run %.1f s (timeout %.1f s); those and %d queued "
            "prompts get no hint, and new ones too until it returns",
            len(keys),
            time.monotonic() - start,
            self.timeout,
            len(queued),
        )
        for key in (*keys, *queued):
            if key in self._pending:
                self._m["failed"] += 1
            self._resolve(key, -1, None)

    def _complete(self, c: Completion) -> None:
        m = self._m
        if c.batch_id in self._timed_out:
            self._timed_out.discard(c.batch_id)
            if self._hung is not None and self._hung[0] == c.batch_id:
                self._hung = None
            m["late_batches"] += 1
            logger.warning(
                "teacher returned from a call %.1f s after it began; serving hints again",
                c.latency,
            )
            return
        m["batches"] += 1
        m["model_queries"] += len(c.keys)
        m["batch_size_max"] = max(m["batch_size_max"], len(c.keys))
        m["wait_sum"] += c.wait
        self._stats.latencies.append(c.latency)
        if c.probs is None:
            m["teacher_errors"] += 1
            m["failed"] += len(c.keys)
            for key in c.keys:
                self._resolve(key, -1, None)
            return
        version = self._version()
        fresh = bool(self._version_ok(c.version, version))
        for row, key in enumerate(c.keys):
            if not c.ok[row]:
                m["failed"] += 1
                self._resolve(key, -1, None)
            elif not fresh:
                m["stale_dropped"] += 1
                self._resolve(key, -1, None)
            else:
                m["answered"] += 1
                probs = c.probs[row]
                old = self._cache.get(key)
                if old is None or old[0] <= c.version:
                    self._cache[key] = (c.version, probs)
                    self._cache.move_to_end(key)
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
                self._resolve(key, c.version, probs)
        if not c.ok.all():
            logger.warning("teacher output unusable for some prompts: %s", c.error)
