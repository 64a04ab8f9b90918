"""One process per run folder: an exclusive lock on ``RUN_DIR/.lock``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LOCK_FILE", "RunDirLockedError", "RunLock"]

LOCK_FILE = ".lock"


class RunDirLockedError(ValueError):
    """Another Trainer (another ``bidir train``) works in this run folder."""


class RunLock:
    """An exclusive ``flock`` on ``run_dir/.lock``, held until ``release()`` (or the
    process ends: the kernel drops it, so a killed run never leaves a stale lock)."""

    def __init__(self, run_dir: Path) -> None:
        try:
            import fcntl
        except ImportError:  # (not POSIX: no lock)
            fcntl = None

        self.path: Path = run_dir / LOCK_FILE
        self._file = open(self.path, "a+")
        try:
            if fcntl is not None:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip()
            self._file.close()
            raise RunDirLockedError(
                f"run directory {run_dir} is in use by another bidir train"
                f"{f' (pid {holder})' if holder.isdigit() else ''}; wait for it to end or stop it"
            ) from None
        except BaseException:
            self._file.close()
            raise
        try:  # who holds it, for the message above (best effort)
            self._file.seek(0)
            self._file.truncate()
            self._file.write(f"{os.getpid()}\n")
            self._file.flush()
        except OSError:
            pass

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()
