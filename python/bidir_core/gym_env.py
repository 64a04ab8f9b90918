"""A single Gymnasium env over the C++ core and the ``bidir_core/<task>`` registrations.

``gymnasium.make("bidir_core/BabyAI-GoToRedBallNoDists-v0")`` gives a ``BidirEnv`` (one env,
observations as minigrid's: ``image``, ``direction`` and ``mission`` as text);
``gymnasium.make_vec("bidir_core/<task>", num_envs=N, vectorization_mode="vector_entry_point")``
gives the batched C++ ``BidirVecEnv``. ``import bidir_core`` registers every task of
``bidir_core.list_tasks()`` (idempotently). Gymnasium >= 1.0 no longer loads entry-point
plugins, so without that import use the id form ``"bidir_core:bidir_core/<task>"``, which
makes Gymnasium import bidir_core first.
"""

from __future__ import annotations

import string
from typing import Any, Dict, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from bidir_core.vector_env_buffers import IMAGE_SHAPE
from bidir_core.vector_env import (
    ACTION_NAMES,
    DEFAULT_TILE_SIZE,
    MISSION_BYTES,
    RENDER_FPS,
    RENDER_MODES,
    BidirVecEnv,
    list_tasks,
)

__all__ = ["BidirEnv", "MISSION_CHARSET", "NAMESPACE", "register_envs"]

#: The namespace of the registered ids: ``bidir_core/<task>``.
NAMESPACE = "bidir_core"
#: The characters a mission may hold (BabyAI's and MiniGrid's missions are lower-case words,
#: commas and spaces).
MISSION_CHARSET = string.ascii_letters + string.digits + " ,.'-"


class BidirEnv(gym.Env[Dict[str, Any], int]):
    """One environment of ``task_id`` (a C++ ``BidirVecEnv`` of one env), like minigrid's.

    Observations are dicts of ``image`` uint8 (7, 7, 3), ``direction`` int (0..3) and
    ``mission`` str (a ``gymnasium.spaces.Text``). ``reset(seed=s)`` starts the episode of
    minigrid's ``gymnasium.make(task_id).reset(seed=s)``; ``reset()`` continues the random
    stream. ``step`` after the end of an episode raises: call ``reset()``.
    ``info`` of the last step holds ``is_success``. ``render_mode="rgb_array"``: ``render()``
    draws the grid as minigrid does (``tile_size`` pixels per cell, the agent's view
    highlighted unless ``highlight=False``).
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": RENDER_FPS}
    render_mode: str | None
    observation_space: spaces.Dict
    action_space: spaces.Discrete
    vec: BidirVecEnv
    task_id: str

    def __init__(self, task_id: str, *, num_threads: int = 1, prompt_style: str = "short",
                 render_mode: str | None = None, tile_size: int = DEFAULT_TILE_SIZE,
                 highlight: bool = True) -> None:
        if render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or 'rgb_array', got {render_mode!r} (for a window: "
                "gymnasium.make(id, render_mode='human') applies Gymnasium's HumanRendering)"
            )
        self.render_mode = render_mode
        self.task_id = task_id
        self.vec = BidirVecEnv(
            task_id, 1, num_threads=num_threads, autoreset_mode=AutoresetMode.DISABLED,
            prompt_style=prompt_style, copy=False, stats_key=None, tile_size=tile_size,
            highlight=highlight,
        )
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, IMAGE_SHAPE, np.uint8),
                "direction": spaces.Discrete(4),
                "mission": spaces.Text(max_length=MISSION_BYTES, charset=MISSION_CHARSET),
            }
        )
        self.action_space = spaces.Discrete(len(ACTION_NAMES))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode (``seed``: minigrid's seed of it); return (obs, info)."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"BidirEnv.reset takes no options, got {sorted(options)}")
        obs, _ = self.vec.reset(seed=seed)
        return self._obs(obs), {}

    def step(
        self, action: Any
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Take one action (an int in ``range(7)``).

        Returns (obs, reward, terminated, truncated, info).
        """
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            if not (isinstance(action, np.ndarray) and action.shape == ()
                    and action.dtype.kind in "iu"):
                raise TypeError(f"action must be an int, got {type(action).__name__}")
        a = int(action)
        if not 0 <= a < len(ACTION_NAMES):
            raise ValueError(f"action {a} is out of range [0, {len(ACTION_NAMES)})")
        obs, rew, term, trunc, _ = self.vec.step(np.array([a], np.int64))
        terminated, truncated = bool(term[0]), bool(trunc[0])
        reward = 0.0
        if rew[0] > 0:  # minigrid's reward 1 - 0.9 * steps / max_steps in float64
            length = int(self.vec._buf["episode_length"][0])
            # The C++ buffer holds it in float32; max_steps is the integer it implies
            # (float32's error moves it by far less than 0.5 for any max_steps < 10**5).
            max_steps = round(0.9 * length / (1.0 - float(rew[0])))
            reward = 1.0 - 0.9 * (length / max_steps)
        info: dict[str, Any] = {}
        if terminated or truncated:
            info["is_success"] = bool(rew[0] > 0)
        return self._obs(obs), reward, terminated, truncated, info

    def _obs(self, obs: dict[str, np.ndarray]) -> dict[str, Any]:
        return {
            "image": obs["image"][0].copy(),
            "direction": int(obs["direction"][0]),
            "mission": self.vec.missions()[0],
        }

    def render(self) -> np.ndarray | None:
        """With ``render_mode="rgb_array"`` the frame of the current state, uint8
        (H * tile_size, W * tile_size, 3), pixel for pixel minigrid's ``render()``; None
        without a render mode."""
        if self.render_mode is None:
            return None
        return self.vec.render_frames()[0]

    # Beyond Gymnasium: the C++ env's extras for this one env.
    def expert_action(self) -> int:
        """The oracle planner's optimal next action."""
        return int(self.vec.expert_actions()[0])

    def description(self) -> list[str]:
        """The BabyAI-Text sentences describing the current view."""
        return self.vec.descriptions()[0]

    def prompt(self) -> str:
        """The teacher prompt of the current state."""
        return self.vec.prompts()[0]

    def __repr__(self) -> str:
        return f"BidirEnv({self.task_id!r})"


def _make_vec_entry(num_envs: int = 1, **kwargs: Any) -> BidirVecEnv:
    from bidir_core.vector_env import make_vec

    return make_vec(num_envs=num_envs, **kwargs)


def register_envs() -> None:
    """Register ``bidir_core/<task>`` for every task of ``list_tasks()`` (idempotent)."""
    for task in list_tasks():
        env_id = f"{NAMESPACE}/{task}"
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="bidir_core.gym_env:BidirEnv",
            vector_entry_point="bidir_core.gym_env:_make_vec_entry",
            kwargs={"task_id": task},
            disable_env_checker=False,
        )
