"""What ``BidirVecEnv`` offers beyond Gymnasium's vector API: text and prompts for the
teacher, the oracle's actions, env states, frames, and envpool's asynchronous calls.

``EnvAccess`` is a mixin over the env's C++ core (``_core.VecEnv``); ``vector_env.py``
holds the Gymnasium side (spaces, reset, step, autoreset, copies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

import numpy as np

from bidir_core._checks import check_bool, check_indices, check_tile_size, reject_masked
from bidir_core._core import EnvSnapshot

__all__ = ["EnvAccess", "ObsDict", "StepResult"]

#: The observation dict: ``image`` uint8 (N, 7, 7, 3), ``direction`` int64 (N,),
#: ``mission`` uint8 (N, MISSION_BYTES).
ObsDict = Dict[str, np.ndarray]
#: What ``step`` returns: (obs, reward, terminated, truncated, info).
StepResult = Tuple[ObsDict, np.ndarray, np.ndarray, np.ndarray, Dict[str, Any]]


class EnvAccess:
    """The teacher-, oracle-, state- and render-facing methods of ``BidirVecEnv``."""

    _core: Any
    num_envs: int
    render_mode: str | None
    tile_size: int
    highlight: bool
    _obs: ObsDict
    _env_id: np.ndarray
    _pending: str | None
    _step_result: StepResult | None

    if TYPE_CHECKING:  # provided by BidirVecEnv
        def reset(self, *, seed: Any = None,
                  options: Any = None) -> tuple[ObsDict, dict[str, Any]]: ...
        def step(self, actions: Any, env_id: Any = None) -> StepResult: ...
        def _out(self, obs: ObsDict) -> ObsDict: ...

    # -- envpool's asynchronous API (synchronous here) ----------------------------------------
    def async_reset(self) -> None:
        """envpool's ``async_reset``: reset all envs; ``recv()`` returns the result."""
        self.reset()
        self._pending = "reset"

    def send(self, actions: Any, env_id: Any = None) -> None:
        """envpool's ``send``: step the envs (at once, in C++); ``recv()`` returns the result."""
        self._step_result = self.step(actions, env_id)
        self._pending = "step"

    def recv(self) -> StepResult:
        """envpool's ``recv``: the result of the last ``async_reset`` or ``send``.

        After ``async_reset`` it is (obs, zero rewards, all False, all False, info).
        """
        if self._pending is None:
            raise RuntimeError("recv() needs a prior async_reset() or send()")
        pending, self._pending = self._pending, None
        if pending == "step":
            result, self._step_result = self._step_result, None
            return result
        n = self.num_envs
        return (
            self._out(self._obs), np.zeros(n, np.float32), np.zeros(n, np.bool_),
            np.zeros(n, np.bool_), {"env_id": self._env_id},
        )

    def _reorder(self, a: np.ndarray, env_id: Any) -> np.ndarray:
        reject_masked("env_id", env_id)
        ids = np.asarray(env_id)
        if ids.dtype.kind not in "iu" or ids.shape != (self.num_envs,):
            raise ValueError(
                f"env_id must be integers of shape ({self.num_envs},), got {ids.dtype} {ids.shape}"
            )
        if not np.array_equal(np.sort(ids), self._env_id):
            raise ValueError(f"env_id must be a permutation of range({self.num_envs})")
        out = np.empty(self.num_envs, np.int64 if a.dtype.kind == "i" else a.dtype)
        out[ids] = a
        return out


    # -- Beyond Gymnasium -----------------------------------------------------------------
    def missions(self) -> list[str]:
        """Return each env's mission string."""
        return self._core.missions()

    def descriptions(self) -> list[list[str]]:
        """Return, per env, the BabyAI-Text sentences describing its current view."""
        return self._core.descriptions()

    @property
    def prompt_style(self) -> str:
        """The teacher prompt ``prompts()`` builds: "short" or "glam"."""
        return self._core.prompt_style

    def prompts(self, indices: Any = None) -> list[str]:
        """Return the teacher prompts of the envs in ``indices``, built in C++.

        ``prompt_style`` "short": ``"Goal of the agent: {mission}\\nObservation:
        {descriptions joined by ', '}\\nAction:"``; "glam": GLAM's prompt (the candidate
        actions, the goal, the episode's last 3 observations and 2 actions; see
        docs/prompts.md). ``indices`` is None (all envs, in order) or a 1-D sequence/array
        of env indices.
        """
        return self._core.prompts(self._indices(indices))

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Gymnasium's vector render: with ``render_mode="rgb_array"`` a tuple of every env's
        frame (uint8 (H * tile_size, W * tile_size, 3), as minigrid's ``render()``); None
        without a render mode."""
        if self.render_mode is None:
            return None
        return tuple(self.render_frames())

    def render_frames(
        self,
        indices: Any = None,
        tile_size: int | None = None,
        highlight: bool | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the frames of the envs in ``indices`` (None: all), drawn in C++ pixel for
        pixel as minigrid's ``env.render()``: uint8 (len(indices), height * tile_size,
        width * tile_size, 3). ``tile_size`` (pixels per cell, 1..1024) and ``highlight``
        (lighten the cells the agent sees) default to the env's. ``out``, a writeable
        C-contiguous uint8 array of that shape, is filled and returned instead of a new
        array (no allocation per call). Works in any render mode.
        """
        tile_size = self.tile_size if tile_size is None else check_tile_size(tile_size)
        highlight = self.highlight if highlight is None else check_bool("highlight", highlight)
        return self._core.render(self._indices(indices), tile_size, highlight, out)

    def _indices(self, indices: Any) -> np.ndarray | None:
        """``indices`` (None, or a 1-D sequence/array of env indices) as the core takes it."""
        if indices is None:
            return None
        reject_masked("indices", indices)
        return check_indices("indices", indices, self.num_envs)

    def prompt_hashes(self, out: np.ndarray | None = None) -> np.ndarray:
        """Return the 64-bit FNV-1a hash of every env's prompt, uint64 (N,).

        Equal to ``bidir_core.hash_prompts(self.prompts())`` but computed in C++ without
        building any string (the GIL is released). ``out``, if given, must be a writeable
        C-contiguous uint64 array of shape (N,); it is filled and returned.
        """
        return self._core.prompt_hashes(out)

    def expert_actions(self) -> np.ndarray:
        """Return the oracle planner's optimal next action for each env, int64 (N,)."""
        return self._core.expert_actions()

    def plan_lengths(self) -> np.ndarray:
        """Return the length of the oracle planner's shortest plan per env, int64 (N,)
        (-1 where the planner finds none)."""
        return self._core.plan_lengths()

    def get_state(self, index: int) -> dict[str, Any]:
        """Return env ``index``'s full state as a picklable dict (see docs of set_state)."""
        return self._core.get_state(self._index(index))

    def set_state(self, index: int, state: dict[str, Any]) -> None:
        """Restore env ``index`` from ``get_state`` output; malformed states raise.

        The state holds: version, task, grid (uint8 (W, H, 6): type, color, state and a
        box's contents as type, color, state), agent_pos, agent_dir, carrying (uint8 (6,)),
        step_count, max_steps, mission, instr, episode_return, needs_reset and rng
        (numpy's PCG64 state dict). instr holds kind (0: goal tile, 1: go-to targets, 2: a
        BabyAI instruction tree), obj_type, obj_color, targets (int64 (K, 2)) and tree (None
        unless kind 2). A tree holds nodes (int64 (K, 9), columns kind (GoTo, Pickup, Open,
        PutNext, And, Before, After = 0..6), strict, desc, desc2, a, b, a_done, b_done
        (0 continue, 1 success, 2 failure), pre_carrying), root, descs (dicts of type, color
        (-1: any), loc (-1 none, 0 left, 1 right, 2 front, 3 behind), obj_set (int64 ids)
        and obj_poss (int64 (P, 2))), ids (int32 (W, H): each cell's object id, -1 empty),
        cur_pos (int64 (num_ids, 2)), carried_id and start_carrying.
        """
        self._core.set_state(self._index(index), state)

    def snapshot(self, index: int) -> EnvSnapshot:
        """Env ``index``'s state copied in C++, for ``restore`` into any env of this task
        (the fast, in-memory counterpart of ``get_state``; not picklable)."""
        return self._core.snapshot(self._index(index))

    def restore(self, indices: np.ndarray, snapshots: list[EnvSnapshot]) -> None:
        """Give env ``indices[k]`` the state of ``snapshots[k]`` (``indices`` int64 (K,))."""
        self._core.restore(indices, snapshots)

    def _index(self, index: Any) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        if not 0 <= index < self.num_envs:
            raise IndexError(f"index {index} is out of range [0, {self.num_envs})")
        return int(index)
