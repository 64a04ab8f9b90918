"""Small argument checks shared by the Python entry points."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from bidir_core import _core

__all__ = [
    "check_bool", "check_count", "check_indices", "check_int", "check_seed", "check_seeds",
    "check_task", "check_tile_size", "reject_masked",
]  # fmt: skip


def reject_masked(name: str, array: Any) -> None:
    """Raise TypeError if ``array`` is a numpy masked array.

    The C++ core reads an array's buffer, where a masked array keeps whatever values hide
    under its mask: they would be used as if they were data. Fill (``a.filled(x)``) or
    drop (``a.compressed()``) the masked entries first.
    """
    if type(array) is np.ndarray:  # the common case, without the subclass check's cost
        return
    if isinstance(array, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a numpy masked array; pass a plain ndarray (fill the masked entries "
            f"with {name}.filled(value) or drop them first): the values under the mask "
            "would be read as data"
        )


def check_task(task_id: Any) -> str:
    """``task_id`` if it names a task (else a TypeError/ValueError with close matches)."""
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, got {type(task_id).__name__}")
    tasks = _core.list_tasks()
    if task_id not in tasks:
        close = difflib.get_close_matches(task_id, tasks, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown task id {task_id!r}{hint} (bidir_core.list_tasks() lists all)"
        )
    return task_id


def check_int(name: str, value: Any, lo: int) -> int:
    """``value`` as an int >= ``lo`` (else TypeError/ValueError naming ``name``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return int(value)


def check_indices(name: str, value: Any, n: int) -> np.ndarray:
    """``value``, a 1-D sequence/array of indices in [0, n), as a contiguous int64 array."""
    idx = np.asarray(value)
    if idx.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {idx.shape}")
    if idx.size == 0:
        return np.zeros(0, np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {idx.dtype}")
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        raise IndexError(f"{name}[{bad[0]}] = {idx[bad[0]]} is out of range [0, {n})")
    return np.ascontiguousarray(idx, dtype=np.int64)


def check_count(name: str, value: Any) -> int:
    """``value`` as an int >= 1 (else TypeError/ValueError naming ``name``)."""
    return check_int(name, value, 1)


def check_tile_size(tile_size: Any) -> int:
    """``tile_size`` as an int in [1, MAX_TILE_SIZE]."""
    if isinstance(tile_size, (bool, np.bool_)) or not isinstance(tile_size, (int, np.integer)):
        raise TypeError(f"tile_size must be an int, got {type(tile_size).__name__}")
    if not 1 <= tile_size <= _core.MAX_TILE_SIZE:
        raise ValueError(f"tile_size must be in [1, {_core.MAX_TILE_SIZE}], got {tile_size}")
    return int(tile_size)


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool (else TypeError naming ``name``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int in [0, 2**64)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {type(seed).__name__}")
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"{name} must be in [0, 2**64), got {seed}")
    return int(seed)


def check_seeds(seed: Any, num_envs: int) -> np.ndarray | None:
    """A reset's ``seed`` as uint64 seeds of ``num_envs`` envs: an int ``s`` (env ``i`` gets
    ``s + i``), one int per env, or None (None)."""
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        base = check_seed(seed)
        if base + num_envs > 2**64:
            raise ValueError(f"seed + num_envs must be <= 2**64, got seed {seed}")
        return np.arange(num_envs, dtype=np.uint64) + np.uint64(base)
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != num_envs:
            raise ValueError(f"seed must have {num_envs} entries, got {len(seed)}")
        return np.array([check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)], np.uint64)
    raise TypeError(f"seed must be an int or a sequence of ints, got {type(seed).__name__}")
