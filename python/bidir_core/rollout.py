"""Rollout storage for PPO: numpy buffers allocated once, GAE and minibatches in C++."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from bidir_core import _core
from bidir_core._checks import check_count
from bidir_core.vector_env_buffers import IMAGE_SHAPE

if TYPE_CHECKING:
    import torch

__all__ = ["RolloutBuffer"]

# name -> (trailing shape after (T, N) given num_actions, dtype); the order of the fields.
_FIELDS: dict[str, tuple[str, Any]] = {
    "image": ("image", np.uint8),
    "direction": ("", np.int64),
    "actions": ("", np.int64),
    "logprobs": ("", np.float32),
    "student_logprobs": ("", np.float32),
    "values": ("", np.float32),
    "rewards": ("", np.float32),
    "terminated": ("", np.bool_),
    "truncated": ("", np.bool_),
    "final_values": ("", np.float32),
    "hints": ("actions", np.float32),
    "hint_valid": ("", np.bool_),
    "advantages": ("", np.float32),
    "returns": ("", np.float32),
}


class RolloutBuffer:
    """(T, N, ...) numpy arrays for one PPO rollout of T steps over N envs, allocated once.

    Row ``t`` holds step ``t`` of every env: the observation ``image``/``direction`` the
    action was chosen from, ``actions``, ``logprobs`` (log mu of the behaviour policy
    that drew the action), ``student_logprobs`` (log piS of that action: the same unless a
    teacher's actions are mixed in), ``values`` (V of that observation),
    the step's ``rewards``/``terminated``/``truncated``, ``final_values`` (V of the final
    observation of an episode cut by its time limit, read only where ``truncated`` and not
    ``terminated``), the teacher's ``hints`` (T, N, num_actions) with ``hint_valid``, and
    the ``advantages``/``returns`` that ``compute_gae`` writes. All are C-contiguous and
    never reallocated, so views taken once (``torch_views``) stay valid.
    """

    image: np.ndarray
    direction: np.ndarray
    actions: np.ndarray
    logprobs: np.ndarray
    student_logprobs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_values: np.ndarray
    hints: np.ndarray
    hint_valid: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray

    def __init__(
        self,
        num_steps: int,
        num_envs: int,
        num_actions: int = len(_core.ACTION_NAMES),
        image_shape: tuple[int, ...] = IMAGE_SHAPE,
    ) -> None:
        """Allocate zeroed buffers for num_steps steps of num_envs envs."""
        self.num_steps: int = check_count("num_steps", num_steps)
        self.num_envs: int = check_count("num_envs", num_envs)
        self.num_actions: int = check_count("num_actions", num_actions)
        self.image_shape: tuple[int, ...] = tuple(int(d) for d in image_shape)
        trailing = {"": (), "image": self.image_shape, "actions": (self.num_actions,)}
        for name, (kind, dtype) in _FIELDS.items():
            shape = (self.num_steps, self.num_envs, *trailing[kind])
            setattr(self, name, np.zeros(shape, dtype=dtype))

    @property
    def batch_size(self) -> int:
        """Number of transitions in the rollout, T * N."""
        return self.num_steps * self.num_envs

    def arrays(self) -> dict[str, np.ndarray]:
        """All buffers by name (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def compute_gae(
        self, next_values: Any, gamma: float, lam: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill advantages and returns by GAE in C++; next_values is V after the last step (N,)."""
        next_v = np.ascontiguousarray(next_values, dtype=np.float32)
        _core.compute_gae(
            self.rewards,
            self.values,
            self.terminated,
            self.truncated,
            self.final_values,
            next_v,
            gamma,
            lam,
            self.advantages,
            self.returns,
        )
        return self.advantages, self.returns

    def minibatches(self, num_minibatches: int, seed: int) -> Iterator[np.ndarray]:
        """Yield int64 index arrays into the flattened (T * N) batch, a seeded partition.

        The minibatches are consecutive slices of ``shuffled_indices(T * N, seed)``; their
        sizes differ by at most one when num_minibatches does not divide T * N.
        """
        count = check_count("num_minibatches", num_minibatches)
        if count > self.batch_size:
            raise ValueError(f"num_minibatches must be <= T * N = {self.batch_size}, got {count}")
        perm = _core.shuffled_indices(self.batch_size, seed)
        bounds = [self.batch_size * i // count for i in range(count + 1)]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            yield perm[lo:hi]

    def torch_views(self) -> dict[str, torch.Tensor]:
        """All buffers as CPU torch tensors sharing memory with the numpy arrays."""
        import torch

        return {name: torch.from_numpy(array) for name, array in self.arrays().items()}
