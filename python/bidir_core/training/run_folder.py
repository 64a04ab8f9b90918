"""A training run's folder: the files in it, how a new one is made, and its config read back.

| file | what |
|---|---|
| ``config.json`` | the resolved TrainConfig (PPO hyper-parameters included) |
| ``metrics.csv``, ``metrics.jsonl`` | one row per iteration (see ``METRIC_COLUMNS``) |
| ``tb/`` | the same rows as TensorBoard scalars |
| ``checkpoint.pt`` | model, optimiser, RNG and env states, counters, rolling window |
| ``checkpoint.prev.pt`` | the checkpoint before it, the fallback if the newest is damaged |
| ``.lock`` | locked (``flock``) while a Trainer works in the folder |
| ``success.png`` | success rate against frames, drawn at the end |
| ``student.gif`` | the final student alone playing ``video_episodes`` fresh episodes |
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from bidir_core.training.config import TrainConfig
from bidir_core.training.run_lock import LOCK_FILE, RunLock

__all__ = [
    "CHECKPOINT", "CONFIG", "CORRUPT_CHECKPOINT", "PREVIOUS_CHECKPOINT", "VIDEO", "check_empty",
    "new_run_folder", "read_config",
]  # fmt: skip

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
PREVIOUS_CHECKPOINT = "checkpoint.prev.pt"
CORRUPT_CHECKPOINT = "checkpoint.corrupt.pt"
VIDEO = "student.gif"


def check_empty(run_dir: Path, allowed: tuple[str, ...] = ()) -> None:
    """Raise ValueError if ``run_dir`` holds anything but the ``allowed`` names."""
    if run_dir.exists() and any(p.name not in allowed for p in run_dir.iterdir()):
        raise ValueError(f"run directory {run_dir} is not empty; use --resume to continue it")


@contextlib.contextmanager
def new_run_folder(run_dir: Path) -> Iterator[RunLock]:
    """Make ``run_dir`` (or take it if empty) and lock it. Until the block ends the folder
    cannot be resumed, so if the block raises, what it wrote is removed and the lock freed."""
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    try:
        check_empty(run_dir, allowed=(LOCK_FILE,))  # (another process may have come first)
    except BaseException:
        lock.release()
        raise
    try:
        yield lock
    except BaseException:
        lock.release()
        if created:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:  # it was empty: what is in it now is ours
            for p in run_dir.iterdir():
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        raise


def read_config(run_dir: Path) -> TrainConfig:
    """The TrainConfig of the run in ``run_dir`` (ValueError if it has no valid config.json)."""
    config_path = run_dir / CONFIG
    if not config_path.is_file():
        raise ValueError(f"{run_dir} is not a run directory (no config.json)")
    try:
        return TrainConfig.from_dict(json.loads(config_path.read_text()))
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_path} is not valid JSON: {err}") from err
