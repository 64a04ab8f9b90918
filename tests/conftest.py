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


@pytest.fixture(params=bidir_core.list_tasks())
def task_id(request) -> str:
    return request.param
