"""Batched grid-world environments behind the Gymnasium vector API."""

from __future__ import annotations

import difflib
from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from bidir_core import _core
from bidir_core._checks import reject_masked

__all__ = [
    "BidirVecEnv", "DEFAULT_TASK", "make_vec", "list_tasks", "ACTION_NAMES", "MISSION_BYTES", "PROMPT_STYLES",
]

MISSION_BYTES: int = _core.MISSION_BYTES
ACTION_NAMES: tuple[str, ...] = tuple(_core.ACTION_NAMES)  # indexed by minigrid action id
PROMPT_STYLES: tuple[str, ...] = ("short", "glam")
DEFAULT_TASK: str = "BabyAI-GoToRedBallNoDists-v0"
"""The task every command trains on unless told otherwise."""


def list_tasks() -> list[str]:
    """Return the ids of all tasks, named as in minigrid."""
    return list(_core.list_tasks())


def _check_task(task_id: Any) -> str:
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


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_seed(seed: Any, name: str = "seed") -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {type(seed).__name__}")
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"{name} must be in [0, 2**64), got {seed}")
    return int(seed)


class BidirVecEnv(gym.vector.VectorEnv):
    """N environments of one task, stepped in C++, exact to minigrid (seeds included).

    Observations are dicts of ``image`` uint8 (N, 7, 7, 3) indexed [vx, vy, channel],
    ``direction`` int64 (N,) and ``mission`` uint8 (N, MISSION_BYTES) (UTF-8, zero padded;
    ``missions()`` gives the strings). The returned arrays are read-only views of buffers
    that the next ``step``/``reset`` overwrites: copy what you keep.

    Env ``i`` of ``reset(seed=s)`` starts the episode of
    ``gymnasium.make(task_id).reset(seed=s + i)``; automatic resets continue each env's
    random stream as minigrid's unseeded ``reset()`` does.

    ``info["episode"]`` holds ``r`` (return), ``l`` (length) and ``success`` for the envs
    whose episode ended in this step, marked by ``info["_episode"]``. In ``SAME_STEP``
    mode ``info["final_obs"]`` holds those envs' last observations (``info["_final_obs"]``).

    Every method but ``reset`` and ``set_state`` raises RuntimeError until ``reset()`` has
    run, and every method raises RuntimeError after ``close()`` (which stops the env's
    threads and frees its envs). One env serves one call at a time: a call from a second
    thread while another is running raises RuntimeError (use one env per thread).
    """

    def __init__(
        self,
        task_id: str,
        num_envs: int,
        *,
        seed: int | None = None,
        num_threads: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        prompt_style: str = "short",
    ):
        task_id = _check_task(task_id)
        num_envs = _check_count("num_envs", num_envs)
        num_threads = _check_count("num_threads", num_threads)
        try:
            autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode must be 'NextStep' or 'SameStep', got {autoreset_mode!r}"
            ) from None
        if autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode {autoreset_mode} is not supported")
        self._default_seed = None if seed is None else _check_seed(seed)
        self._seeded = False

        self.num_envs = num_envs
        self.task_id = task_id
        self.metadata = {"autoreset_mode": autoreset_mode, "render_modes": []}
        self.render_mode = None
        self._same_step = autoreset_mode == AutoresetMode.SAME_STEP
        self._core = _core.VecEnv(task_id, num_envs, num_threads, self._same_step)
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
        self._core.prompt_style = prompt_style

        n = num_envs
        self._buf = {
            "image": np.zeros((n, 7, 7, 3), np.uint8),
            "direction": np.zeros(n, np.int64),
            "mission": np.zeros((n, MISSION_BYTES), np.uint8),
            "reward": np.zeros(n, np.float32),
            "terminated": np.zeros(n, np.bool_),
            "truncated": np.zeros(n, np.bool_),
            "episode_done": np.zeros(n, np.bool_),
            "episode_return": np.zeros(n, np.float32),
            "episode_length": np.zeros(n, np.int32),
            "episode_success": np.zeros(n, np.bool_),
            "final_image": np.zeros((n, 7, 7, 3), np.uint8),
            "final_direction": np.zeros(n, np.int64),
            "final_mission": np.zeros((n, MISSION_BYTES), np.uint8),
        }
        self._core.bind_buffers(self._buf)
        self._view = {k: _readonly(v) for k, v in self._buf.items()}
        self._obs = {k: self._view[k] for k in ("image", "direction", "mission")}
        self._final_obs = {
            "image": self._view["final_image"],
            "direction": self._view["final_direction"],
            "mission": self._view["final_mission"],
        }

        self.single_observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (7, 7, 3), np.uint8),
                "direction": spaces.Discrete(4),
                "mission": spaces.Box(0, 255, (MISSION_BYTES,), np.uint8),
            }
        )
        self.observation_space = batch_space(self.single_observation_space, n)
        self.single_action_space = spaces.Discrete(len(ACTION_NAMES))
        self.action_space = batch_space(self.single_action_space, n)
        self._actions = np.zeros(n, np.int64)

    # -- Gymnasium API -------------------------------------------------------------------
    def reset(
        self,
        *,
        seed: int | Sequence[int] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``); return (obs, info)."""
        seeds = self._seed_array(seed)
        mask = None
        if options:
            unknown = set(options) - {"reset_mask"}
            if unknown:
                raise ValueError(f"unknown reset option(s) {sorted(unknown)}; known: reset_mask")
            if options.get("reset_mask") is not None:
                reject_masked("reset_mask", options["reset_mask"])
                mask = np.asarray(options["reset_mask"])
                if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
                    raise ValueError(
                        f"options['reset_mask'] must be a bool array of shape ({self.num_envs},),"
                        f" got {mask.dtype} {mask.shape}"
                    )
                mask = np.ascontiguousarray(mask)
        if seeds is None and not self._seeded:
            seeds = self._seed_array(
                self._default_seed
                if self._default_seed is not None
                else int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
            )
        self._core.reset(seeds, mask)
        self._seeded = True
        return self._obs, {}

    def step(self, actions: Any):
        """Step every env with one action each; return (obs, reward, terminated, truncated, info)."""
        reject_masked("actions", actions)
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers, got dtype {a.dtype}")
        if a.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {a.shape}")
        if not self._seeded:
            raise RuntimeError("call reset() before step()")
        if a.dtype == np.int64 and a.flags.c_contiguous:
            self._core.step(a)
        else:
            if a.dtype.kind == "u" and a.dtype.itemsize == 8 and (a > 2**62).any():
                bad = int(np.flatnonzero(a > 2**62)[0])
                raise ValueError(f"actions[{bad}] = {a[bad]} is out of range [0, 7)")
            self._actions[:] = a
            self._core.step(self._actions)
        info: dict[str, Any] = {}
        done = self._buf["episode_done"]
        if done.any():
            info["episode"] = {
                "r": self._view["episode_return"],
                "l": self._view["episode_length"],
                "success": self._view["episode_success"],
            }
            info["_episode"] = self._view["episode_done"]
            if self._same_step:
                info["final_obs"] = self._final_obs
                info["_final_obs"] = self._view["episode_done"]
        v = self._view
        return self._obs, v["reward"], v["terminated"], v["truncated"], info

    def close_extras(self, **kwargs: Any) -> None:
        """Stop the env's threads and free its envs; later calls raise RuntimeError."""
        core = getattr(self, "_core", None)  # None if __init__ failed before creating it
        if core is not None:
            core.close()

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
        if indices is None:
            return self._core.prompts(None)
        reject_masked("indices", indices)
        idx = np.asarray(indices)
        if idx.ndim != 1:
            raise ValueError(f"indices must be one-dimensional, got shape {idx.shape}")
        if idx.size == 0:
            return []
        if idx.dtype.kind not in "iu":
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
        bad = np.flatnonzero((idx < 0) | (idx >= self.num_envs))
        if bad.size:
            raise IndexError(
                f"indices[{bad[0]}] = {idx[bad[0]]} is out of range [0, {self.num_envs})"
            )
        return self._core.prompts(np.ascontiguousarray(idx, dtype=np.int64))

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
        step_count, max_steps, mission, instr (kind, obj_type, obj_color, targets),
        episode_return, needs_reset and rng (numpy's PCG64 state dict).
        """
        self._core.set_state(self._index(index), state)

    def _index(self, index: Any) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        if not 0 <= index < self.num_envs:
            raise IndexError(f"index {index} is out of range [0, {self.num_envs})")
        return int(index)

    def _seed_array(self, seed: Any) -> np.ndarray | None:
        if seed is None:
            return None
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            base = _check_seed(seed)
            if base + self.num_envs > 2**64:
                raise ValueError(f"seed + num_envs must be <= 2**64, got seed {seed}")
            return np.arange(self.num_envs, dtype=np.uint64) + np.uint64(base)
        if isinstance(seed, (list, tuple, np.ndarray)):
            if len(seed) != self.num_envs:
                raise ValueError(f"seed must have {self.num_envs} entries, got {len(seed)}")
            return np.array([_check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)], np.uint64)
        raise TypeError(f"seed must be an int or a sequence of ints, got {type(seed).__name__}")

    def __repr__(self) -> str:
        return f"BidirVecEnv({self.task_id!r}, num_envs={self.num_envs})"


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def make_vec(
    task_id: str,
    num_envs: int,
    *,
    seed: int | None = None,
    num_threads: int = 1,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    prompt_style: str = "short",
) -> BidirVecEnv:
    """Create ``num_envs`` C++ environments of ``task_id`` as a Gymnasium VectorEnv.

    ``prompt_style`` chooses the teacher prompt ``prompts()`` builds: "short" or "glam".
    """
    return BidirVecEnv(
        task_id, num_envs, seed=seed, num_threads=num_threads, autoreset_mode=autoreset_mode,
        prompt_style=prompt_style,
    )
