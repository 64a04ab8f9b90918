"""The process teacher backend: a replica of the LM answers prompts in a child process.

In the thread backend the model's forward passes share the interpreter (and its GIL) with
the rollout. Here a spawned child process builds its own replica of the teacher from a
picklable ``factory`` and scores the batches; the parent keeps the teacher that learns.
Whenever the parent's ``teacher.version`` moves on, the trainable weights travel to the
child before its next batch, and the child's answers carry the version they were made
with. ``postprocess(prompts, logp, keys)`` (e.g. the feedback table's correction; ``keys``
are the prompts' hashes) runs in the parent on each answer.

In the parent, one feeder thread forms batches (one in the child at a time) and one
reader thread collects answers; both sleep on pipes and take the GIL only to move data.
A child that dies is restarted (up to ``max_restarts`` times, with the latest weights);
its batch in flight fails (no hint), and training goes on. After that it is ``crashed``.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
import threading
import time
from typing import Any, Callable

import numpy as np

from bidir_core._checks import check_int
from bidir_core.teacher.backends.common import (
    Completion,
    _check_seconds,
    logprobs_to_probs,
)
from bidir_core.teacher.backends.queued import QueuedBackend

__all__ = ["ProcessTeacherBackend", "replica_factory", "trainable_state", "versioned_state"]

logger: logging.Logger = logging.getLogger("bidir_core.teacher.service")


def replica_factory(name: str, *, temperature: float, batch_size: int,
                    lora: dict[str, Any] | None = None, actions: Any = None,
                    device: str = "cpu", dtype: str | None = None) -> Callable[[], Any]:
    """A picklable recipe that loads teacher ``name`` in the child (with the same LoRA
    adapters, on ``device``, in ``dtype``: a torch dtype name or None for the model's)."""
    return functools.partial(_build_replica, name, temperature, batch_size, lora, actions, device,
                             dtype)


def _build_replica(name: str, temperature: float, batch_size: int,
                   lora: dict[str, Any] | None, actions: Any, device: str = "cpu",
                   dtype: str | None = None) -> Any:
    from bidir_core.teacher.learner import apply_lora
    from bidir_core.teacher.loading import load_teacher

    kwargs = {} if actions is None else {"actions": actions}
    teacher = load_teacher(name, temperature=temperature, batch_size=batch_size,
                           device=device, dtype=dtype, **kwargs)
    if lora is not None:
        apply_lora(teacher, **lora)
    return teacher


def trainable_state(teacher: Any) -> dict[str, Any]:
    """The teacher model's trainable weights (all of them without adapters) as float32 arrays."""
    model = teacher.model
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    # numpy (float32), not tensors: the connection's pickler would share tensors by fd
    return {k: p.detach().to("cpu").float().numpy().copy() for k, p in named}


def versioned_state(teacher: Any, timeout: float) -> tuple[int, dict[str, Any]] | None:
    """(version, ``trainable_state``) of ``teacher``, read under its lock so that both come
    from one update (a ``CorrectedTeacher``'s ``published`` copy where it keeps one); None
    if the lock is not free within ``timeout`` s (-1: wait)."""
    lock = getattr(teacher, "lock", None)
    if lock is not None and not lock.acquire(timeout=timeout):
        return None
    try:
        published = getattr(teacher, "published", None)
        if published is not None and published[0] == teacher.version:
            return published
        owner = getattr(teacher, "teacher", teacher)  # CorrectedTeacher
        return int(teacher.version), trainable_state(owner)
    finally:
        if lock is not None:
            lock.release()


class ProcessTeacherBackend(QueuedBackend):
    """Answers queued (key, prompt) pairs with a replica of ``teacher`` in a child process.

    ``factory`` builds the replica in the child (picklable: a module-level function or a
    ``functools.partial`` of one); it must build the same architecture as ``teacher``
    (adapters included), whose trainable weights are then copied over.
    """

    crashed: bool
    """Set when the child died more than ``max_restarts`` times or could not be restarted."""

    def __init__(
        self,
        teacher: Any,
        factory: Callable[[], Any],
        *,
        num_actions: int,
        max_batch: int = 32,
        max_wait: float = 0.002,
        max_restarts: int = 3,
        start_timeout: float = 600.0,
        postprocess: Callable[[list[str], np.ndarray, np.ndarray], np.ndarray] | None = None,
        name: str = "teacher",
    ) -> None:
        super().__init__(teacher, num_actions, max_batch, max_wait)
        if not callable(factory):
            raise TypeError("factory must be a callable that builds the teacher replica")
        self.max_restarts: int = check_int("max_restarts", max_restarts, 0)
        self.start_timeout: float | None = _check_seconds("start_timeout", start_timeout, allow_none=False)
        self._teacher = teacher
        self._factory = factory
        self._postprocess = postprocess
        self._batch: tuple[int, tuple[int, ...], list[str], float, float] | None = None
        self._sent_version: int | None = None
        self.restarts: int = 0
        self._proc: Any = None
        self._conn: Any = None
        self._start_child()  # the first start is synchronous: a broken factory raises here
        self._feeder = threading.Thread(target=self._work, args=("teacher process backend",),
                                        name=f"{name}-feeder", daemon=True)
        self._feeder.start()

    @property
    def alive(self) -> bool:
        """Whether batches are being answered (or the child is being restarted)."""
        return self._feeder.is_alive() and not self.crashed

    @property
    def pid(self) -> int | None:
        """The child's process id (None while none runs)."""
        return None if self._proc is None else self._proc.pid

    def close(self, join_timeout: float | None = 10.0) -> bool:
        """Stop the feeder and the child; return True if both ended."""
        self._stop_queue()
        self._feeder.join(join_timeout)
        self._stop_child(join_timeout)
        return not self._feeder.is_alive()

    # -- the child -------------------------------------------------------------------------
    def _start_child(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bidir_core.teacher.backends.child", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
        )
        theirs.close()
        conn = Connection(ours.detach())
        try:
            conn.send(self._factory)
            if not conn.poll(self.start_timeout):
                raise RuntimeError(
                    f"the teacher process did not start within {self.start_timeout:g} s"
                )
            msg = conn.recv()
        except (EOFError, OSError) as exc:
            proc.kill()
            raise RuntimeError(
                f"the teacher process died while starting (exit code {proc.poll()}): {exc}"
            ) from None
        except BaseException:
            proc.kill()
            raise
        if msg[0] != "ready":
            proc.wait(5)
            raise RuntimeError(f"the teacher process could not build the teacher: {msg[1]}")
        if msg[1] != self.num_teacher_actions:
            proc.kill()
            raise ValueError(
                f"the replica scores {msg[1]} actions, the teacher {self.num_teacher_actions}"
            )
        self._proc, self._conn = proc, conn
        self._sent_version = None  # a new child gets the weights before its first batch

    def _stop_child(self, timeout: float | None) -> None:
        if self._proc is None:
            return
        try:
            self._conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._conn.close()

    def _sync_weights(self) -> None:
        """Send the trainable weights if the teacher's version moved (skipped while it is busy)."""
        version = int(self._teacher.version)
        if version == self._sent_version:
            return
        got = versioned_state(self._teacher, timeout=0.05)
        if got is None:
            return  # mid-update: the next batch tries again
        version, state = got
        self._conn.send(("weights", version, state))
        self._sent_version = version

    # -- the feeder thread (QueuedBackend._work) --------------------------------------------
    def _answer(self, batch_id, keys, prompts, start, wait) -> None:
        probs = ok = None
        version, error = -1, None
        try:
            self._sync_weights()
            self._conn.send(("score", batch_id, prompts))
            msg = self._receive(batch_id)
            _, _, logp, version, _, error = msg
            if logp is not None:
                if self._postprocess is not None:
                    logp = self._postprocess(prompts, logp, np.array(keys, np.uint64))
                probs, ok = logprobs_to_probs(logp, len(prompts), self.num_teacher_actions,
                                              self.num_actions)
                if not ok.all():
                    error = f"{int((~ok).sum())} of {len(ok)} rows were NaN or infinite"
        except (EOFError, OSError, BrokenPipeError) as exc:
            error = f"the teacher process died ({type(exc).__name__}: {exc})"
            self._restart()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._finish(Completion(batch_id, keys, probs, ok, int(version),
                                time.monotonic() - start, wait, error))

    def _receive(self, batch_id: int):
        """The child's answer to batch_id; EOFError if the child dies meanwhile."""
        while True:
            if self._conn.poll(0.5):
                msg = self._conn.recv()
                if msg[0] == "done" and msg[1] == batch_id:
                    return msg
            elif self._proc.poll() is not None:
                raise EOFError(f"exit code {self._proc.returncode}")
            if self._stopping:
                raise EOFError("closing")

    def _restart(self) -> None:
        if self._stopping:
            return
        self._stop_child(1.0)
        self._proc = None
        if self.restarts >= self.max_restarts:
            self.crashed = True
            logger.error("teacher process died %d times; no more hints", self.restarts + 1)
            return
        self.restarts += 1
        logger.warning("teacher process died; restarting it (%d of %d)", self.restarts,
                       self.max_restarts)
        try:
            self._start_child()
        except Exception:
            self.crashed = True
            logger.exception("the teacher process could not be restarted; no more hints")
