"""Teacher prompts and candidate action strings, in the Lamorel/GLAM format.

The prompt of a state is::

    Goal of the agent: {mission}
    Observation: {BabyAI-Text sentences joined by ", "}
    Action:

and the teacher scores each candidate action string as its continuation.

``ACTION_STRINGS[i]`` is the text of minigrid action id ``i``. The candidates of a task
are the first six ("turn left" .. "toggle"): "done" (id 6) is a no-op in every task we
implement (GoTo* succeed on facing the target, Empty/DoorKey on reaching the goal), so no
teacher is asked about it and a teacher never suggests it. A task that needs "done" would
list itself in ``TASKS_USING_DONE``; the teacher's action ids stay the minigrid ids either
way, because "done" is last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bidir_core.vector_env import ACTION_NAMES

__all__ = [
    "ACTION_STRINGS",
    "DEFAULT_ACTIONS",
    "TASKS_USING_DONE",
    "actions_for_task",
    "env_prompts",
    "make_prompt",
    "make_prompts",
]

# The BabyAI action strings, indexed by minigrid action id (the env's ACTION_NAMES).
ACTION_STRINGS: tuple[str, ...] = ACTION_NAMES
DEFAULT_ACTIONS: tuple[str, ...] = ACTION_STRINGS[:6]
# Tasks whose success requires the "done" action. None of the implemented tasks does.
TASKS_USING_DONE: frozenset[str] = frozenset()


def actions_for_task(task_id: str) -> tuple[str, ...]:
    """Return the candidate action strings for ``task_id`` (index = minigrid action id)."""
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, got {type(task_id).__name__}")
    return ACTION_STRINGS if task_id in TASKS_USING_DONE else DEFAULT_ACTIONS


def make_prompt(mission: str, sentences: Sequence[str]) -> str:
    """Return the Lamorel/GLAM prompt of one state."""
    if not isinstance(mission, str):
        raise TypeError(f"mission must be a str, got {type(mission).__name__}")
    if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
        raise TypeError("sentences must be a sequence of str (one per BabyAI-Text sentence)")
    return f"Goal of the agent: {mission}\nObservation: {', '.join(sentences)}\nAction:"


def make_prompts(missions: Sequence[str], descriptions: Sequence[Sequence[str]]) -> list[str]:
    """Return the prompts of a batch of states (missions and per-state sentences)."""
    if len(missions) != len(descriptions):
        raise ValueError(
            f"missions and descriptions must have the same length, "
            f"got {len(missions)} and {len(descriptions)}"
        )
    return [make_prompt(m, d) for m, d in zip(missions, descriptions)]


def env_prompts(env: Any) -> list[str]:
    """Return the prompts of the current states of a ``bidir_core.make_vec`` env.

    Uses the env's C++ ``prompts()`` where it has one (same text, built in bulk).
    """
    prompts = getattr(env, "prompts", None)
    if callable(prompts):
        return list(prompts())
    return make_prompts(env.missions(), env.descriptions())
