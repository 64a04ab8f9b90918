"""The arrays the C++ envs write on every step, read-only views of them, and the
observation space they fill."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from bidir_core import _core

__all__ = ["IMAGE_SHAPE", "MISSION_BYTES", "core_buffers", "observations", "readonly_views",
           "single_observation_space"]

MISSION_BYTES: int = _core.MISSION_BYTES
IMAGE_SHAPE: tuple[int, ...] = next(s for n, s, _ in _core.buffer_specs() if n == "image")
"""One observation's ``image``: (view width, view height, channels) as the C++ env writes it."""


def core_buffers(num_envs: int) -> dict[str, np.ndarray]:
    """Zeroed output arrays of ``num_envs`` envs, as ``_core.VecEnv.bind_buffers`` takes them
    (names, shapes and dtypes from ``_core.buffer_specs()``)."""
    return {
        name: np.zeros((num_envs, *shape), dtype) for name, shape, dtype in _core.buffer_specs()
    }


def readonly_views(buffers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A read-only view of each array."""
    views = {}
    for k, a in buffers.items():
        views[k] = v = a.view()
        v.flags.writeable = False
    return views


def observations(arrays: dict[str, np.ndarray], final: bool = False) -> dict[str, np.ndarray]:
    """The observation dict (``image``, ``direction``, ``mission``) among ``arrays``: the
    current observations, or with ``final`` the last ones of the episodes that ended."""
    prefix = "final_" if final else ""
    return {k: arrays[prefix + k] for k in ("image", "direction", "mission")}


def single_observation_space() -> spaces.Dict:
    """One env's observation space."""
    specs = {name: (shape, np.dtype(dtype)) for name, shape, dtype in _core.buffer_specs()}
    return spaces.Dict(
        {
            "image": spaces.Box(0, 255, *specs["image"]),
            "direction": spaces.Discrete(4),
            "mission": spaces.Box(0, 255, *specs["mission"]),
        }
    )
