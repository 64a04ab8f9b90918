"""Helpers shared by the training tests."""

from __future__ import annotations

import numpy as np
from bidir_core.training import read_metrics
from bidir_core.training.modes import UpdateContext
from bidir_core.training.metrics import WALL_TIME_COLUMNS


def history(run_dir) -> list[dict]:
    """The metrics rows without the wall-time columns."""
    return [
        {k: v for k, v in row.items() if k not in WALL_TIME_COLUMNS}
        for row in read_metrics(run_dir)
    ]


def update_ctx(iteration: int, buf, *, student=None, tokenizer=None, frames: int = 0) -> UpdateContext:
    """The UpdateContext of a hand-made rollout (next values 0, no student unless given)."""
    return UpdateContext(
        iteration=iteration, frames=frames, rollout=buf,
        next_values=np.zeros(buf.actions.shape[1], np.float32), student=student, tokenizer=tokenizer,
    )
