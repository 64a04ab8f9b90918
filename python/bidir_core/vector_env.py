"""Batched grid-world environments behind the Gymnasium vector API."""

from __future__ import annotations

from typing import Any, Sequence, TypedDict, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from bidir_core import _core
from bidir_core._core import EnvSnapshot
from bidir_core._typing import Unpack
from bidir_core._checks import (
    check_bool,
    check_count,
    check_seed,
    check_seeds,
    check_task,
    check_tile_size,
    reject_masked,
)
from bidir_core.vector_env_access import EnvAccess, ObsDict, StepResult
from bidir_core.vector_env_buffers import (
    MISSION_BYTES,
    core_buffers,
    observations,
    readonly_views,
    single_observation_space,
)

__all__ = [
    "BidirVecEnv", "DEFAULT_TASK", "make_vec", "list_tasks", "ACTION_NAMES", "MISSION_BYTES", "PROMPT_STYLES",
    "EnvSnapshot", "ObsDict", "StepResult", "EnvOptions", "VecEnvOptions",
]

ACTION_NAMES: tuple[str, ...] = tuple(_core.ACTION_NAMES)  # indexed by minigrid action id
PROMPT_STYLES: tuple[str, ...] = ("short", "glam")
DEFAULT_TASK: str = "BabyAI-GoToRedBallNoDists-v0"
"""The task every command trains on unless told otherwise."""
RENDER_MODES: tuple[str | None, ...] = (None, "rgb_array")
DEFAULT_TILE_SIZE: int = 32
"""Pixels per grid cell of a rendered frame (minigrid's TILE_PIXELS)."""
RENDER_FPS: int = 10
"""Frames per second of recorded videos (minigrid's metadata["render_fps"])."""
MAX_TILE_SIZE: int = _core.MAX_TILE_SIZE

AutoresetModeLike = Union[AutoresetMode, str]
_AUTORESET_NAMES = ", ".join(repr(m.value) for m in AutoresetMode)


class EnvOptions(TypedDict, total=False):
    """The options of ``make_vec`` (documented there) that the wrappers of other APIs pass on."""

    seed: int | None
    num_threads: int
    prompt_style: str


class VecEnvOptions(EnvOptions, total=False):
    """The keyword options of ``make_vec`` and ``BidirVecEnv`` (documented at ``make_vec``)."""

    autoreset_mode: AutoresetModeLike
    copy: bool
    stats_key: str | None
    batch_size: int | None
    max_episode_steps: int | None
    render_mode: str | None
    tile_size: int
    highlight: bool


def list_tasks() -> list[str]:
    """Return the ids of all tasks, named as in minigrid."""
    return list(_core.list_tasks())


class BidirVecEnv(EnvAccess, gym.vector.VectorEnv[ObsDict, np.ndarray, np.ndarray]):
    """N environments of one task, stepped in C++, exact to minigrid (seeds included);
    ``make_vec`` documents the arguments and the observations (``image`` is indexed
    [vx, vy, channel]; ``missions()`` decodes ``mission``). Automatic resets continue each
    env's random stream as minigrid's unseeded ``reset()`` does.

    ``info[stats_key]`` (default ``"episode_stats"``; ``stats_key=None`` turns it off)
    holds Gymnasium's episode statistics ``r`` (return), ``l`` (length), ``t`` (seconds
    since the episode began) plus ``success``, for the envs whose episode ended in this
    step, marked by ``info["_" + stats_key]`` (other entries are 0). It does not use
    ``"episode"``, so ``gymnasium.wrappers.vector.RecordEpisodeStatistics`` can add its own.
    In ``SAME_STEP`` mode ``info["final_obs"]`` holds those envs' last observations
    (``info["_final_obs"]``). In ``DISABLED`` mode an env whose episode ended must be reset
    (``reset(options={"reset_mask": mask})``) before the next ``step``.

    For envpool users: ``batch_size`` (must equal ``num_envs``), ``info["env_id"]``,
    ``async_reset``/``send``/``recv`` and ``step(actions, env_id)`` follow
    ``envpool.make(..., env_type="gymnasium")``.

    Every method but ``reset`` and ``set_state`` raises RuntimeError until ``reset()`` has
    run, and every method raises RuntimeError after ``close()`` (which stops the env's
    threads and frees its envs). One env serves one call at a time: a call from a second
    thread while another is running raises RuntimeError (use one env per thread).
    """

    metadata: dict[str, Any]
    render_mode: str | None
    single_observation_space: spaces.Dict
    observation_space: spaces.Dict
    single_action_space: spaces.Discrete
    action_space: spaces.MultiDiscrete
    num_envs: int
    task_id: str
    autoreset_mode: AutoresetMode

    def __init__(
        self,
        task_id: str,
        num_envs: int,
        *,
        seed: int | None = None,
        num_threads: int = 1,
        autoreset_mode: AutoresetModeLike = AutoresetMode.NEXT_STEP,
        prompt_style: str = "short",
        copy: bool = True,
        stats_key: str | None = "episode_stats",
        batch_size: int | None = None,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        tile_size: int = DEFAULT_TILE_SIZE,
        highlight: bool = True,
    ) -> None:
        task_id = check_task(task_id)
        if render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or 'rgb_array', got {render_mode!r} (for a window, "
                "wrap the env in gymnasium.wrappers.vector.HumanRendering)"
            )
        self.tile_size: int = check_tile_size(tile_size)
        self.highlight: bool = check_bool("highlight", highlight)
        num_envs = check_count("num_envs", num_envs)
        num_threads = check_count("num_threads", num_threads)
        try:
            autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode must be one of {_AUTORESET_NAMES}, got {autoreset_mode!r}"
            ) from None
        if stats_key is not None and (not isinstance(stats_key, str) or not stats_key):
            raise TypeError(f"stats_key must be a non-empty str or None, got {stats_key!r}")
        if stats_key in ("final_obs", "env_id"):
            raise ValueError(f"stats_key {stats_key!r} collides with another info key")
        if batch_size is not None and check_count("batch_size", batch_size) != num_envs:
            raise ValueError(
                f"batch_size must equal num_envs ({num_envs}), got {batch_size}: all envs "
                "step together in C++ (no asynchronous partial batches)"
            )
        self._default_seed = None if seed is None else check_seed(seed)
        self._seeded = False

        self.num_envs = num_envs
        self.task_id = task_id
        self.metadata = {
            "autoreset_mode": autoreset_mode,
            "render_modes": ["rgb_array"],
            "render_fps": RENDER_FPS,
        }
        self.render_mode = render_mode
        self.autoreset_mode = autoreset_mode
        self._same_step = autoreset_mode == AutoresetMode.SAME_STEP
        self._disabled = autoreset_mode == AutoresetMode.DISABLED
        self._copy = check_bool("copy", copy)
        self._stats_key = stats_key
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
        # DISABLED runs the core in next-step mode and refuses to step an ended episode
        # (the core never sees a step of it, so it never auto-resets).
        self._core = _core.VecEnv(task_id, num_envs, num_threads, self._same_step)
        self._core.prompt_style = prompt_style

        n = num_envs
        self._buf = core_buffers(n)
        self._core.bind_buffers(self._buf)
        self._max_steps: int | None = None
        if max_episode_steps is not None:
            max_episode_steps = check_count("max_episode_steps", max_episode_steps)
            limit = self.max_episode_steps
            if limit is None:
                raise ValueError(
                    f"max_episode_steps is fixed by the task as in minigrid and {task_id}'s "
                    "depends on each episode's instruction: pass None"
                )
            if max_episode_steps != limit:
                raise ValueError(
                    f"max_episode_steps is fixed by the task as in minigrid: {task_id} ends "
                    f"episodes after {self.max_episode_steps} steps, got {max_episode_steps}"
                )
        self._view = readonly_views(self._buf)
        self._obs = observations(self._view)
        self._final_obs = observations(self._view, final=True)

        self.single_observation_space = single_observation_space()
        self.observation_space = batch_space(self.single_observation_space, n)
        self.single_action_space = spaces.Discrete(len(ACTION_NAMES))
        self.action_space = batch_space(self.single_action_space, n)
        self._actions = np.zeros(n, np.int64)
        self._env_id = np.arange(n, dtype=np.int32)
        self._env_id.flags.writeable = False
        self._ended = np.zeros(n, np.bool_)  # DISABLED: episodes that ended, not yet reset
        self._pending: str | None = None  # what recv() returns: None, "reset" or "step"
        self._step_result: StepResult | None = None

    @property
    def max_episode_steps(self) -> int | None:
        """The task's time limit (episodes are truncated after this many steps), or None
        for the levels whose missions are instruction trees (most BabyAI levels beyond the
        GoTo family), whose time limit depends on each episode's instruction."""
        if self._max_steps is None:
            if not self._seeded:  # the envs hold no episode yet; reset() will reseed them
                self._core.reset(np.zeros(self.num_envs, np.uint64), None)
            state = self._core.get_state(0)
            if state["instr"]["kind"] == 2:  # the limit depends on the episode's instruction
                return None
            self._max_steps = int(state["max_steps"])
        return self._max_steps

    # -- Gymnasium API -------------------------------------------------------------------
    def reset(
        self,
        *,
        seed: int | Sequence[int] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[ObsDict, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``); return (obs, info).

        ``seed``: an int ``s`` (env ``i`` gets ``s + i``), one int per env, or None (the
        first reset draws a seed, or uses make_vec's ``seed``; later ones continue each
        env's random stream). ``info`` holds ``env_id``.
        """
        seeds = check_seeds(seed, self.num_envs)
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
            seeds = check_seeds(
                self._default_seed
                if self._default_seed is not None
                else int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1),
                self.num_envs,
            )
        self._core.reset(seeds, mask)
        self._seeded = True
        self._pending = None
        if mask is None:
            self._ended[:] = False
        else:
            self._ended[mask] = False
        return self._out(self._obs), {"env_id": self._env_id}

    def step(self, actions: Any, env_id: Any = None) -> StepResult:
        """Step every env with one action each; return (obs, reward, terminated, truncated, info).

        ``actions``: integers of shape (N,), minigrid's action ids (``ACTION_NAMES``).
        ``env_id`` (envpool's argument): None, or a permutation of ``range(N)`` saying which
        env each action is for; the results are always in env order (``info["env_id"]``).
        """
        reject_masked("actions", actions)
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers, got dtype {a.dtype}")
        if a.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {a.shape}")
        if not self._seeded:
            raise RuntimeError("call reset() before step()")
        if self._disabled and self._ended.any():
            bad = np.flatnonzero(self._ended)
            raise RuntimeError(
                f"autoreset_mode is DISABLED and the episodes of envs {bad[:8].tolist()} ended: "
                "reset them first (reset(options={'reset_mask': mask}))"
            )
        if env_id is not None:
            a = self._reorder(a, env_id)
        if a.dtype == np.int64 and a.flags.c_contiguous:
            ended = self._core.step(a)
        else:
            if a.dtype.kind == "u" and a.dtype.itemsize == 8 and (a > 2**62).any():
                bad = int(np.flatnonzero(a > 2**62)[0])
                raise ValueError(f"actions[{bad}] = {a[bad]} is out of range [0, {len(ACTION_NAMES)})")
            self._actions[:] = a
            ended = self._core.step(self._actions)
        info: dict[str, Any] = {"env_id": self._env_id}
        if ended:
            b = self._buf
            done = b["episode_done"]
            if self._disabled:
                self._ended |= done
            key = self._stats_key
            if key is not None:
                # The core zeroes the statistics of the envs whose episode did not end; an
                # episode's time counts from its reset, in NEXT_STEP from the step that
                # ended the one before (the reset step is the new episode's, as Gymnasium's
                # RecordEpisodeStatistics counts it).
                info[key] = {
                    "r": b["episode_return"].copy(),
                    "l": b["episode_length"].copy(),
                    "t": b["episode_time"].copy(),
                    "success": b["episode_success"].copy(),
                }
                info["_" + key] = done.copy()
            if self._same_step:
                info["final_obs"] = self._out(self._final_obs)
                info["_final_obs"] = done.copy()
        if self._copy:
            b = self._buf
            return (
                {k: v.copy() for k, v in self._obs.items()},
                b["reward"].copy(), b["terminated"].copy(), b["truncated"].copy(), info,
            )
        v = self._view
        return self._obs, v["reward"], v["terminated"], v["truncated"], info

    def _out(self, obs: ObsDict) -> ObsDict:
        return {k: v.copy() for k, v in obs.items()} if self._copy else obs

    def close_extras(self, **kwargs: Any) -> None:
        """Stop the env's threads and free its envs; later calls raise RuntimeError."""
        core = getattr(self, "_core", None)  # None if __init__ failed before creating it
        if core is not None:
            core.close()

    def __repr__(self) -> str:
        return f"BidirVecEnv({self.task_id!r}, num_envs={self.num_envs})"


def make_vec(task_id: str, num_envs: int = 1, **options: Unpack[VecEnvOptions]) -> BidirVecEnv:
    """Create ``num_envs`` C++ environments of ``task_id`` as a Gymnasium VectorEnv.

    The arguments after ``num_envs`` are keyword-only; ``VecEnvOptions`` types them.

    Args:
        task_id: a task of ``bidir_core.list_tasks()`` (the authoritative list), named as
            in minigrid: the MiniGrid tasks MiniGrid-Empty-{5x5,6x6,8x8,16x16}-v0 and
            MiniGrid-DoorKey-{5x5,6x6,8x8,16x16}-v0, and minigrid's BabyAI levels, from
            BabyAI-GoToRedBallNoDists-v0, BabyAI-GoToRedBallGrey-v0, BabyAI-GoToRedBall-v0,
            BabyAI-GoToObj-v0 and BabyAI-GoToLocal-v0 up to BabyAI-BossLevel-v0.
        num_envs: how many environments step together (>= 1; default 1).
        seed: the seed of the first ``reset()`` without one: env ``i`` starts the episode of
            ``gymnasium.make(task_id).reset(seed=seed + i)`` (None, the default: a random
            seed). This follows minigrid, not envpool (whose per-env seeds differ).
        num_threads: C++ worker threads stepping the envs (default 1).
        autoreset_mode: ``AutoresetMode`` or its value: ``"NextStep"`` (default; the step
            after an episode ends resets that env and ignores its action), ``"SameStep"``
            (reset in the same step; the last observation goes to ``info["final_obs"]``) or
            ``"Disabled"`` (reset ended envs yourself with ``options={"reset_mask": m}``).
            Also in ``env.metadata["autoreset_mode"]``.
        prompt_style: the teacher prompt ``prompts()`` builds: "short" (default) or "glam".
        copy: True (default): ``step``/``reset`` return fresh writeable arrays, as Gymnasium
            envs do (wrappers such as ``ClipReward`` may write them). False: read-only views
            of the C++ buffers, overwritten by the next call (no copies; for hot loops).
        stats_key: the info key of the episode statistics (``r``, ``l``, ``t``,
            ``success`` with the ``"_" + stats_key`` mask; default ``"episode_stats"``);
            None: none.
        batch_size: envpool's argument; must be None (default) or ``num_envs``.
        max_episode_steps: envpool's argument; must be None (default) or the task's time limit
            (fixed by the task, as in minigrid; ``env.max_episode_steps``).
        render_mode: None (default) or ``"rgb_array"``: ``render()`` returns a tuple of every env's
            frame, pixel for pixel minigrid's (``render_frames()`` works in either mode).
            For a window wrap the env in ``gymnasium.wrappers.vector.HumanRendering``.
        tile_size: pixels per grid cell of a frame (1..1024; minigrid's default 32).
        highlight: lighten the cells each agent sees, as minigrid does by default (True).

    Returns:
        A ``BidirVecEnv`` (a ``gymnasium.vector.VectorEnv``) with dict observations of
        ``image`` uint8 (N, 7, 7, 3), ``direction`` int64 (N,), ``mission`` uint8
        (N, MISSION_BYTES) and ``Discrete(7)`` actions per env.

    Example:
        >>> import numpy as np, bidir_core
        >>> env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 8, seed=0)
        >>> obs, info = env.reset()
        >>> obs, reward, terminated, truncated, info = env.step(env.expert_actions())
        >>> obs["image"].shape
        (8, 7, 7, 3)

    The same env comes from ``gymnasium.make_vec("bidir_core/<task>", num_envs=N,
    vectorization_mode="vector_entry_point")``; ``gymnasium.make("bidir_core/<task>")``
    gives a single env (``bidir_core.gym_env.BidirEnv``).
    """
    return BidirVecEnv(task_id, num_envs, **options)
