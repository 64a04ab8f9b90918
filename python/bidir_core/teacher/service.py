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

import logging
import threading
from collections.abc import Sequence
from typing import Any, Callable, Union

import numpy as np

from bidir_core import _core
from bidir_core._checks import check_indices, check_int
from bidir_core.teacher.backends.common import (
    Completion,
    _check_seconds,
    _check_teacher,
)
from bidir_core.teacher.backends.thread import LocalTeacherBackend
from bidir_core.teacher.service_answers import AnswerIntake
from bidir_core.teacher.service_cache import AnswerCache
from bidir_core.teacher.service_hints import EnvHints, Hints, Request, within_staleness
from bidir_core.teacher.service_stats import ServiceStats

__all__ = ["Completion", "Hints", "LocalTeacherBackend", "TeacherService"]

logger: logging.Logger = logging.getLogger(__name__)

PromptSource = Union[Sequence[str], Callable[[np.ndarray], Sequence[str]]]


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

        self._step = 0
        self._envs = EnvHints(self.num_envs, self.num_actions)
        self._cache = AnswerCache(self.cache_size, self.max_staleness)
        self._closed = False
        self._owner: int | None = None
        self._crash_logged = False
        self._stats = ServiceStats()
        self._intake = AnswerIntake(self._backend, self._envs, self._cache, self._stats,
                                    self._version, self.timeout)

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
        self._intake.poll(self._closed)
        counts = self._stats.counts
        k = len(ids)
        counts["queries"] += k
        if k == 0:
            return 0
        step = self._step
        envs = self._envs
        if self._closed or self._backend_dead():
            envs.fail(ids, step)
            counts["rejected"] += k
            return 0

        version = self._version()
        # Fast path: the env's prompt is the one its current hint answers.
        same = (
            envs.has[ids]
            & (envs.hash[ids] == hashes)
            & within_staleness(envs.version[ids], version, self.max_staleness)
        )
        drop: list[int] = []
        if same.any():
            sel = ids[same]
            envs.step[sel] = step
            for i in sel[envs.waiting[sel]].tolist():
                envs.supersede(i, drop)
        hits = int(same.sum())

        cache = self._cache
        pending = envs.pending
        id_list, key_list = ids.tolist(), hashes.tolist()
        waiting = envs.waiting[ids].tolist()  # env ids are unique: read once
        hit_envs: list[int] = []
        hit_keys: list[int] = []
        hit_entries: list[tuple[int, np.ndarray]] = []
        new: list[tuple[int, int, int]] = []  # (position, env, key)
        for j in np.flatnonzero(~same).tolist():
            i = id_list[j]
            key = key_list[j]
            entry = cache.get(key, version)
            if entry is not None:
                if waiting[j]:
                    envs.supersede(i, drop)
                hit_envs.append(i)
                hit_keys.append(key)
                hit_entries.append(entry)
                continue
            if waiting[j] and int(envs.waiting_key[i]) == key:
                pending[key].waiters[i] = step  # still waiting for the same prompt
                counts["joined"] += 1
                continue
            if waiting[j]:
                envs.supersede(i, drop)
            req = pending.get(key)
            if req is not None:
                envs.wait_for(req, i, key, step)
                counts["joined"] += 1
            elif self._intake.hung is not None:
                envs.fail(np.array([i]), step)
                counts["rejected"] += 1
            else:
                new.append((j, i, key))
        if hit_envs:
            probs = np.stack([p for _, p in hit_entries])
            envs.set_many(np.array(hit_envs), probs, hit_keys, [v for v, _ in hit_entries], step)
            hits += len(hit_envs)
        counts["cache_hits"] += hits
        items = self._wait_for_new(new, prompts, verify, step) if new else []
        if drop:
            self._cancel_orphans(drop)
        if items:
            self._backend.enqueue(items)
            counts["queued"] += len(items)
        return hits

    def _wait_for_new(self, new: list[tuple[int, int, int]], prompts: PromptSource,
                      verify: bool, step: int) -> list[tuple[int, str]]:
        """Make the envs of the missed prompts ``new`` ((position in submit, env, hash) each)
        wait for them; return the (hash, text) of those to queue."""
        if callable(prompts):
            texts = prompts(np.array([i for _, i, _ in new], np.int64))
            if isinstance(texts, (str, bytes)) or len(texts) != len(new):
                raise ValueError(f"prompts({len(new)} env ids) must return {len(new)} strings")
        else:
            texts = [prompts[j] for j, _, _ in new]
        # A wrong hash would poison the cache: check them all before changing anything.
        if verify:
            got = _core.hash_prompts(list(texts))
            bad = np.flatnonzero(got != np.array([key for _, _, key in new], np.uint64))
            if bad.size:
                raise ValueError(
                    f"the prompt of env {new[bad[0]][1]} does not match its hash: hashes must "
                    f"be hash_prompts(prompts) (env.prompt_hashes() for env.prompts())"
                )
        envs, counts = self._envs, self._stats.counts
        items: list[tuple[int, str]] = []
        for (_, i, key), text in zip(new, texts):
            req = envs.pending.get(key)
            if req is None:  # two envs may miss on the same new prompt
                req = envs.pending[key] = Request()
                items.append((key, text))
            else:
                counts["joined"] += 1
            envs.wait_for(req, i, key, step)
        return items

    def hints(self) -> Hints:
        """Return the latest available hint per env (fresh arrays)."""
        self._check_thread()
        self._intake.poll(self._closed)
        if self._closed:
            n = self.num_envs
            return Hints(
                np.zeros((n, self.num_actions), np.float32),
                np.zeros(n, np.bool_),
                np.full(n, -1, np.int64),
                np.full(n, -1, np.int64),
            )
        version = self._version()
        hints = self._envs.read(self._step, version, self.max_staleness, self.max_age)
        counts = self._stats.counts
        counts["hint_reads"] += self.num_envs
        valid = hints.valid
        nv = int(valid.sum())
        counts["hint_valid"] += nv
        if nv:
            counts["hint_age_sum"] += int(hints.age[valid].sum())
            counts["hint_lag_sum"] += int((version - hints.version[valid]).sum())
        return hints

    def forget(self, env_ids: Any) -> None:
        """Envs ``env_ids`` began new episodes: their hints, and answers still to come for
        what they asked before, no longer apply (they are invalid until a new answer)."""
        self._check_thread()
        ids = self._check_env_ids(env_ids)
        if ids.size:
            self._envs.fail(ids, self._step)

    def tick(self, steps: int = 1) -> None:
        """Advance the step clock that hint ages are measured in (call once per env step)."""
        self._check_thread()
        self._step += check_int("steps", steps, 0)

    def served(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cached answers of prompt hashes: probs (K, A) float32 (zero rows where none)
        and the teacher version of each (K,) int64 (-1: none cached, or too stale to serve)."""
        self._check_thread()
        hashes = self._check_hashes(hashes, len(hashes))
        self._intake.poll(self._closed)
        probs = np.zeros((len(hashes), self.num_actions), np.float32)
        versions = np.full(len(hashes), -1, np.int64)
        now = self._version()
        for i, key in enumerate(hashes.tolist()):
            hit = self._cache.peek(key, now)
            if hit is not None:
                versions[i], probs[i] = hit
        return probs, versions

    def metrics(self, reset: bool = False) -> dict[str, float]:
        """Counters and rates since creation (or the last reset) as a flat dict (the keys:
        ``ServiceStats.summary``)."""
        self._check_thread()
        self._intake.poll(self._closed)
        out = self._stats.summary(cache_entries=len(self._cache), pending=len(self._envs.pending),
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
        ids = check_indices("env_ids", env_ids, self.num_envs)
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

    def _backend_dead(self) -> bool:
        if self._backend.crashed or not self._backend.alive:
            if not self._crash_logged:
                logger.error("teacher service worker is not running; every request gets no hint")
                self._crash_logged = True
            return True
        return False

    def _cancel_orphans(self, keys: list[int]) -> None:
        """Cancel the queued prompts among keys that no env currently waits for."""
        orphans = self._envs.orphans(keys)
        if orphans:
            for key in self._backend.cancel(orphans):
                del self._envs.pending[key]
                self._stats.counts["cancelled"] += 1
