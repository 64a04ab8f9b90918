"""Training modes: what each adds to the student's PPO loop, and the registry of modes.

A mode is a ``ModeHooks`` subclass registered under its name. The trainer calls:

* ``attach(trainer)`` once the trainer (and its collector) exist, after a resume's state
  is restored;
* ``hint_source()`` once: an object whose ``fill_hints`` writes the teacher's πT into the
  rollout before the student acts (None: no hints, the network sees zeros);
* ``extra_loss()`` once: a term added to the PPO loss of every minibatch (None: none);
* ``actor()`` once: a policy that acts in the envs instead of the student (None: the
  student acts); with an actor the student is not updated and ``after_update`` trains
  the actor (the ``glam`` mode, where the teacher LM is the policy);
* ``after_update(iteration, rollout)`` after each rollout's update (GAE is in the
  rollout): teacher updates, and the mode's metrics, which go into the metrics files
  (names in ``metric_names``; they may also fill the trainer's own columns);
* ``state_dict()`` / ``load_state_dict()`` with every checkpoint.

Only modes that work are registered; ``bidir train --mode`` offers exactly these.
"""

from __future__ import annotations

from typing import Any, Callable

from bidir_core.rollout import RolloutBuffer
from bidir_core.student.ppo import ExtraLoss
from bidir_core.training.collector import Actor, HintSource

__all__ = ["ModeHooks", "PPOMode", "available_modes", "make_mode", "register_mode"]


class ModeHooks:
    """The hooks of a training mode; this base class adds nothing to PPO."""

    name: str = ""
    metric_names: tuple[str, ...] = ()

    def attach(self, trainer: Any) -> None:
        """Called once by the trainer when it is fully built (e.g. to reach its buffers)."""

    def hint_source(self) -> HintSource | None:
        """The teacher hint source, or None for no hints."""
        return None

    def extra_loss(self) -> ExtraLoss | None:
        """An extra loss term for the student's update, or None."""
        return None

    def actor(self) -> Actor | None:
        """The policy acting instead of the student (which is then not trained), or None."""
        return None

    def after_update(self, iteration: int, rollout: RolloutBuffer) -> dict[str, float]:
        """Run after the update of ``iteration`` (the student's, if it acts); return metrics."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from state_dict()."""

    def close(self) -> None:
        """Release resources (teacher services, threads)."""


class PPOMode(ModeHooks):
    """``ppo``: the student alone, no teacher."""

    name = "ppo"


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


register_mode("ppo", lambda config: PPOMode())
