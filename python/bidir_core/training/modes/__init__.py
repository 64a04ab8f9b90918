"""Training modes, one file each: ``ppo``, ``teach``, ``bidir`` and ``glam``.

``base`` defines the hooks and the contexts they receive; ``config`` the teacher settings
the teacher modes share; ``hints`` the teacher -> student hint path of the rollout.
Only modes that work are registered; ``bidir train --mode`` offers exactly these.
"""

from bidir_core.training.modes.base import (
    ModeHooks,
    StartContext,
    UpdateContext,
    available_modes,
    make_mode,
    register_mode,
)
from bidir_core.training.modes.config import TEACHER_MODES, TeacherModeConfig
from bidir_core.training.modes import ppo as _ppo  # noqa: F401  (registers the modes)
from bidir_core.training.modes import teach as _teach  # noqa: F401
from bidir_core.training.modes import bidir as _bidir  # noqa: F401
from bidir_core.training.modes import glam as _glam  # noqa: F401

__all__ = [
    "TEACHER_MODES",
    "ModeHooks",
    "StartContext",
    "TeacherModeConfig",
    "UpdateContext",
    "available_modes",
    "make_mode",
    "register_mode",
]
