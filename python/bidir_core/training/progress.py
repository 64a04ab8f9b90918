"""How a run reports its iterations and hears that it should stop.

``Progress`` is a tqdm bar on a terminal and, where stderr is not one (CI, a log file, a
notebook), a line at most every ``log_interval`` seconds and at the first and last
iterations. ``StopSignals`` turns SIGINT, SIGTERM and SIGHUP into a request to finish the
iteration and checkpoint; a second signal aborts (KeyboardInterrupt).
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["STOP_SIGNALS", "Progress", "StopSignals"]

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""Signals that make ``Trainer.train`` finish the iteration, checkpoint and stop."""


class Progress:
    """The progress of one ``train()`` call: a bar, periodic lines, or nothing (off)."""

    def __init__(self, config: Any, enabled: bool, frames: int, log_interval: float) -> None:
        self.config: Any = config
        self.enabled: bool = enabled
        self.log_interval: float = log_interval
        self._last_line = -math.inf
        self._bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=config.total_iterations * config.steps_per_iteration,
                initial=frames,
                unit="frame",
                unit_scale=True,
                dynamic_ncols=True,
                desc=f"{config.mode} {config.task}",
            )

    def update(self, row: dict[str, Any]) -> None:
        """Report the iteration's metrics row (``iteration`` and ``frames`` included)."""
        if self._bar is not None:
            self._bar.update(self.config.steps_per_iteration)
            self._bar.set_postfix(
                it=row["iteration"],
                success=f"{row['rolling_success']:.3f}",
                ret=f"{row['rolling_return']:.3f}",
                refresh=False,
            )
        elif self.enabled:
            self._line(row)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _line(self, row: dict[str, Any]) -> None:
        cfg, iteration = self.config, row["iteration"]
        now = time.monotonic()
        if not (iteration in (1, cfg.total_iterations)
                or now - self._last_line >= self.log_interval):
            return
        self._last_line = now

        def fmt(key: str, name: str, digits: int = 3) -> str:
            value = row.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return ""
            return f" {name} {value:.{digits}f}"

        total = cfg.total_iterations * cfg.steps_per_iteration
        line = (f"{cfg.mode} it {iteration}/{cfg.total_iterations} "
                f"frames {row['frames']:,}/{total:,} fps {row['fps']:,.0f}"
                + fmt("rolling_success", "success(behaviour)") + fmt("rolling_return", "return")
                + fmt("student_success", "student_alone") + fmt("probe_agreement", "agreement")
                + fmt("hint_age_mean", "hint_age", 2))
        print(line, file=sys.stderr, flush=True)


class StopSignals:
    """A context manager: while active, the first of STOP_SIGNALS sets ``requested`` and
    ``name`` (and says so on stderr); a second raises KeyboardInterrupt. Outside the
    main thread it installs nothing."""

    def __init__(self) -> None:
        self.requested: bool = False
        self.name: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            signums = [getattr(signal, n) for n in STOP_SIGNALS if hasattr(signal, n)]
            self._previous = {s: signal.signal(s, self._handler) for s in signums}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous = {}

    def _handler(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.name = True, name
        what = "Ctrl-C" if name == "SIGINT" else name
        try:  # (after SIGHUP the terminal may be gone)
            print(f"\nbidir: {what}: finishing this iteration and checkpointing "
                  f"({what} again to abort)", file=sys.stderr, flush=True)
        except OSError:
            pass
