"""The teacher -> student hint path: the rollout's queries to the teacher service and its hints.

Every ``query_every`` steps of an env (and at each episode's first step) the env's prompt
hash, computed in C++, is submitted to the ``TeacherService``; each step the student reads
the latest hint of every env. The rollout never waits for a language model (``hint_wait``
0 by default for LMs): it acts on the freshest hint it has, whose age the service reports;
for ``tiny``, which answers in milliseconds, a query step waits up to 0.2 s for its own.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bidir_core.rollout import RolloutBuffer
from bidir_core.vector_env import BidirVecEnv, EnvSnapshot

__all__ = ["TeacherHints"]


class TeacherHints:
    """The collector's hint source: queries the service, fills hints, records the queries.

    Per rollout it records, for every (step, env), whether a query was made (``queries``),
    its prompt hash and, where ``keep_prompts``, its text; and the oracle planner's action
    at the queried state (``oracle``), which scores the teacher's agreement.
    """

    def __init__(self, service: Any, num_envs: int, num_steps: int, query_every: int,
                 *, keep_prompts: bool, wait: float = 0.0) -> None:
        self.service = service
        self.wait = wait
        self.query_every = query_every
        self.keep_prompts = keep_prompts
        self.explore_eps: float = 0.0  # set by the mode before each rollout
        self.queries: np.ndarray = np.zeros((num_steps, num_envs), np.bool_)
        self.hashes: np.ndarray = np.zeros((num_steps, num_envs), np.uint64)
        self.oracle: np.ndarray = np.zeros((num_steps, num_envs), np.int64)
        self.prompts: dict[int, str] = {}  # flat index t * N + n -> prompt text
        self.record_states = False  # keep each queried env's state (lookahead feedback)
        self.states: dict[int, EnvSnapshot] = {}  # flat index -> env.snapshot()
        self._since = np.full(num_envs, query_every, np.int64)  # steps since the last query
        self._ended = np.zeros(num_envs, np.bool_)  # ended at the last step before a resume
        self.buffer: RolloutBuffer | None = None

    def fill_hints(self, t: int, env: BidirVecEnv, lo: int, hints: np.ndarray,
                   valid: np.ndarray) -> None:
        """Query where due for envs lo.. of ``env`` at step t; write their latest hints."""
        num_envs = self.queries.shape[1]
        hi = lo + env.num_envs
        if lo == 0:
            if t == 0:
                self.queries[:] = False
                self.prompts.clear()
                self.states.clear()
            else:
                self.service.tick()
        if self.buffer is not None:
            # the envs whose episode ended at the last step (at t = 0: the previous rollout's
            # last step; a new buffer holds no ended episodes): their next step asks, and
            # what the teacher said about the old episode is not a hint for the new one
            ended = self.buffer.terminated[t - 1, lo:hi] | self.buffer.truncated[t - 1, lo:hi]
            if t == 0:
                ended = ended | self._ended[lo:hi]
                self._ended[lo:hi] = False
            self._since[lo:hi][ended] = self.query_every
            if ended.any():
                self.service.forget(np.flatnonzero(ended) + lo)
        due = np.flatnonzero(self._since[lo:hi] >= self.query_every)
        if due.size:
            hashes = env.prompt_hashes()
            ids = due + lo
            self.queries[t, ids] = True
            self.hashes[t, ids] = hashes[due]
            self.oracle[t, ids] = env.expert_actions()[due]
            if self.record_states:
                for i, flat in zip(due.tolist(), (t * num_envs + ids).tolist()):
                    self.states[flat] = env.snapshot(i)
            if self.keep_prompts:
                texts = env.prompts(due)
                for i, text in zip(ids.tolist(), texts):
                    self.prompts[t * num_envs + i] = text
                self.service.submit(hashes[due], texts, env_ids=ids, verify=False)
            else:
                self.service.submit(hashes[due], lambda sub: env.prompts(sub - lo), env_ids=ids,
                                    verify=False)
            self._since[ids] = 0
        self._since[lo:hi] += 1
        h = self.service.hints()
        if due.size and self.wait > 0:
            deadline = time.monotonic() + self.wait
            while not (h.valid[ids] & (h.age[ids] == 0)).all() and time.monotonic() < deadline:
                time.sleep(0.0005)
                h = self.service.hints()
        hints[:] = h.probs[lo:hi]
        valid[:] = h.valid[lo:hi]

    def query_prompts(self) -> tuple[np.ndarray, list[str]]:
        """Flat (t * N + n) indices of this rollout's queries and their prompt texts."""
        idx = np.flatnonzero(self.queries)
        return idx, [self.prompts[i] for i in idx.tolist()]

    def state_dict(self) -> dict[str, Any]:
        """The per-env query clocks and which episodes ended at the rollout's last step (the
        rest is rebuilt each rollout)."""
        ended = self._ended.copy()
        if self.buffer is not None:
            ended |= self.buffer.terminated[-1] | self.buffer.truncated[-1]
        return {"since": self._since.copy(), "ended": ended}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the query clocks."""
        since = np.asarray(state["since"], np.int64)
        if since.shape != self._since.shape:
            raise ValueError(f"hint state has {since.shape} envs, expected {self._since.shape}")
        ended = np.asarray(state.get("ended", np.zeros_like(self._ended)), np.bool_)
        if ended.shape != self._ended.shape:
            raise ValueError(f"hint state has {ended.shape} envs, expected {self._ended.shape}")
        self._since[:] = since
        self._ended[:] = ended
