"""The ``ppo`` mode: the student alone, learning from its reward (no teacher)."""

from __future__ import annotations

from bidir_core.training.modes.base import ModeHooks, register_mode

__all__ = ["PPOMode"]


class PPOMode(ModeHooks):
    """``ppo``: the student alone, no teacher."""

    name = "ppo"


register_mode("ppo", lambda config: PPOMode())
