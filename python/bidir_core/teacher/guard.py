"""The training loop's guard around teacher calls: a timeout and an exception guard.

A teacher must never stop training. Every call the loop makes into the teacher outside
the asynchronous service (the oracle probe, scoring the rollout's queries, the teacher's
update, glam's acting) goes through ``TeacherGuard.call``: a call that raises, or runs
past ``timeout`` seconds, is a failure that the caller skips; ``finite_rows`` marks
non-finite scores as invalid rows. Failures are logged and counted (``metrics()``).

Calls run one at a time in one daemon worker thread, so the loop can stop waiting for a
hung call. While a timed-out call still runs, new calls fail at once ("busy") instead of
queueing behind it; when it returns, the guard serves again. ``start``/``finish`` split a
call in two, so the loop can go on while it runs (the LM's update in the background).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

import numpy as np

__all__ = ["TeacherGuard", "finite_rows"]

logger: logging.Logger = logging.getLogger(__name__)


def finite_rows(scores: Any) -> np.ndarray:
    """Rows (B,) of a (B, A) score array whose entries are all finite or -inf (a masked action)."""
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"teacher scores must be a (batch, actions) array, got shape {a.shape}")
    return ~(np.isnan(a) | (a == np.inf)).any(axis=1) & np.isfinite(a).any(axis=1)


class _Call:
    __slots__ = ("fn", "args", "kwargs", "done", "value", "error", "what")

    def __init__(self, what: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.what, self.fn, self.args, self.kwargs = what, fn, args, kwargs
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class TeacherGuard:
    """Runs teacher calls with a timeout (seconds, None: none) and an exception guard."""

    def __init__(self, timeout: float | None, name: str = "teacher") -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        self.timeout = timeout
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._running: _Call | None = None  # a call that timed out and has not returned
        self._failures: dict[str, int] = {}
        self._thread = threading.Thread(target=self._work, name=f"{name}-guard", daemon=True)
        self._thread.start()

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """(True, fn(*args, **kwargs)), or (False, None) if it raised, hung or the guard is busy."""
        return self.finish(self.start(what, fn, *args, **kwargs))

    def start(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Queue a call and return at once; ``finish`` its handle for ``call``'s result.
        While an earlier call that timed out still runs, the call fails here ("busy")."""
        running = self._running
        if running is not None:
            if not running.done.is_set():
                return self._fail(what, "busy: an earlier teacher call has not returned")
            self._running = None
        c = _Call(what, fn, args, kwargs)
        self._calls.put(c)
        return c

    def finish(self, handle: Any) -> tuple[bool, Any]:
        """Wait up to ``timeout`` seconds for a started call: (True, its value), or (False,
        None) if it raised, hung or never started."""
        if not isinstance(handle, _Call):
            return False, None  # ``start`` failed it already (and counted it)
        c = handle
        if not c.done.wait(self.timeout):
            self._running = c
            return self._fail(c.what, f"no answer within {self.timeout:g} s")
        if c.error is not None:
            return self._fail(c.what, f"{type(c.error).__name__}: {c.error}", c.error)
        return True, c.value

    def count(self, what: str, n: int = 1) -> None:
        """Count n failures of kind ``what`` found by the caller (e.g. non-finite rows)."""
        if n:
            self._failures[what] = self._failures.get(what, 0) + int(n)

    def metrics(self, reset: bool = True) -> dict[str, float]:
        """``teacher_failures``: failed calls (and invalid score rows) since the last reset."""
        out = {"teacher_failures": float(sum(self._failures.values()))}
        if reset:
            self._failures.clear()
        return out

    def close(self, join_timeout: float = 5.0) -> None:
        """Stop the worker thread and wait up to ``join_timeout`` seconds for it (a hung call
        is left to finish on its own). Joining matters at exit: a daemon thread still inside
        C++ when the interpreter finalises can abort the process."""
        self._calls.put(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(join_timeout)

    def _fail(self, what: str, why: str, exc: BaseException | None = None) -> tuple[bool, None]:
        first = what not in self._failures
        self.count(what)
        logger.warning("%s call %r failed (%s); skipped, training goes on", self.name, what, why,
                       exc_info=exc if first else None)
        return False, None

    def _work(self) -> None:
        while True:
            c = self._calls.get()
            if c is None:
                return
            try:
                c.value = c.fn(*c.args, **c.kwargs)
            except BaseException as exc:  # reported to the caller, never raised in the thread
                c.error = exc
            finally:
                c.done.set()
