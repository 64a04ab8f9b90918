"""Shared fixtures: the reference minigrid environments."""

from __future__ import annotations

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid and BabyAI ids)
import numpy as np
import pytest

import bidir_core


def make_reference(task_id: str):
    """The unwrapped minigrid env for task_id (no checker wrappers, same semantics)."""
    return gym.make(task_id).unwrapped


def mission_strings(mission_bytes: np.ndarray) -> list[str]:
    """Decode the fixed-width UTF-8 mission rows of an observation."""
    return [bytes(row).rstrip(b"\0").decode("utf-8") for row in mission_bytes]


# The MiniGrid tasks and the first BabyAI levels: tests that loop over tasks (parity with
# the oracle, vocabulary) use this sample; every BabyAI id is covered by
# tests/test_babyai_parity.py.
CORE_TASKS = [
    t for t in bidir_core.list_tasks()
    if not t.startswith("BabyAI") or t in (
        "BabyAI-GoToRedBallNoDists-v0", "BabyAI-GoToRedBallGrey-v0", "BabyAI-GoToRedBall-v0",
        "BabyAI-GoToObj-v0", "BabyAI-GoToLocal-v0")
]


@pytest.fixture(params=CORE_TASKS)
def task_id(request) -> str:
    return request.param
