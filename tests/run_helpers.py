"""Helpers shared by the training tests."""

from __future__ import annotations

from bidir_core.training import read_metrics
from bidir_core.training.metrics import WALL_TIME_COLUMNS


def history(run_dir) -> list[dict]:
    """The metrics rows without the wall-time columns."""
    return [
        {k: v for k, v in row.items() if k not in WALL_TIME_COLUMNS}
        for row in read_metrics(run_dir)
    ]
