"""What a training mode is: the hooks the trainer calls, the contexts they receive, the registry.

A mode is a ``ModeHooks`` subclass registered under its name. The trainer calls:

* ``hint_source()``, ``actor()`` and ``prompt_style()`` once, when it builds the rollout collector;
* ``start(StartContext)`` once the collector exists (after a resume's state is restored);
* ``extra_loss()`` before each student update: a term added to the PPO loss (None: none);
* ``after_update(UpdateContext)`` after each rollout's update (GAE is in the rollout):
  teacher updates and the mode's metrics (names in ``metric_names``; they may also fill
  the trainer's own columns);
* ``state_dict()`` / ``load_state_dict()`` with every checkpoint; ``close()`` at the end.

Hooks get what they need through the contexts, never the trainer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from bidir_core.rollout import RolloutBuffer
from bidir_core.student.ppo import ExtraLoss
from bidir_core.training.collector import Actor, HintSource

__all__ = [
    "ModeHooks",
    "StartContext",
    "UpdateContext",
    "available_modes",
    "make_mode",
    "register_mode",
]


@dataclass(frozen=True)
class StartContext:
    """What a mode may keep from the trainer when the run starts or resumes."""

    buffer: RolloutBuffer
    """The rollout buffer the collector fills (the same object every iteration)."""
    frames: int
    """Frames trained so far (0 for a new run)."""


@dataclass(frozen=True)
class UpdateContext:
    """One iteration's data, as ``after_update`` sees it."""

    iteration: int
    """The iteration just finished (1-based)."""
    frames: int
    """Frames trained before this iteration's rollout."""
    rollout: RolloutBuffer
    """The rollout, with GAE advantages and returns computed."""
    next_values: np.ndarray
    """The acting policy's value of each env's state after the rollout (N,)."""
    student: Any
    """The student's ActorCritic (its critic judges the teacher in bidir)."""
    tokenizer: Any
    """The student's MissionTokenizer."""
    missions: Any = None
    """The mission tokens of every step of the rollout (T, N, L) int64 tensor."""


class ModeHooks:
    """The hooks of a training mode; this base class adds nothing to PPO."""

    name: str = ""
    metric_names: tuple[str, ...] = ()

    def start(self, ctx: StartContext) -> None:
        """Called once the trainer is built (and a resumed state restored)."""

    def hint_source(self) -> HintSource | None:
        """The teacher hint source, or None for no hints."""
        return None

    def extra_loss(self) -> ExtraLoss | None:
        """An extra loss term for the student's update, or None."""
        return None

    def prompt_style(self) -> str:
        """The teacher prompt the rollout's envs build ("short" or "glam")."""
        return "short"

    def actor(self) -> Actor | None:
        """The policy acting instead of the student (which is then not trained), or None."""
        return None

    def after_update(self, ctx: UpdateContext) -> dict[str, float]:
        """Run after each iteration's update (the student's, if it acts); return metrics."""
        return {}

    def sim_steps(self) -> int:
        """Env steps taken outside the real rollout so far (lookahead, probes), cumulative."""
        return 0

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from state_dict()."""

    def close(self) -> None:
        """Release resources (teacher services, threads)."""


_MODES: dict[str, Callable[..., ModeHooks]] = {}


def register_mode(name: str, factory: Callable[..., ModeHooks]) -> None:
    """Make ``name`` a training mode; factory(config) builds its hooks."""
    if name in _MODES:
        raise ValueError(f"training mode {name!r} is already registered")
    _MODES[name] = factory


def available_modes() -> list[str]:
    """Names of the registered training modes."""
    return list(_MODES)


def make_mode(name: str, config: Any) -> ModeHooks:
    """Build the hooks of mode ``name`` for a TrainConfig; unknown names raise ValueError."""
    if name not in _MODES:
        raise ValueError(f"unknown training mode {name!r}; available: {', '.join(_MODES)}")
    return _MODES[name](config)
