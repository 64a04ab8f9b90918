"""Stable-Baselines3: the batched C++ envs as an SB3 ``VecEnv``.

>>> from stable_baselines3 import PPO
>>> from bidir_core.integrations.sb3 import make_sb3_vec
>>> env = make_sb3_vec("BabyAI-GoToRedBallNoDists-v0", 8, seed=0)
>>> model = PPO("MultiInputPolicy", env, n_steps=128).learn(10_000)  # doctest: +SKIP

SB3's conventions: ``step`` resets ended envs in the same step and puts their last
observation in ``infos[i]["terminal_observation"]``, with ``infos[i]["TimeLimit.truncated"]``
(the time limit cut the episode), ``infos[i]["is_success"]`` and ``infos[i]["episode"]``
(``r``, ``l``, ``t`` as SB3's Monitor writes them, so ``VecMonitor`` is not needed).
The image is float32 by default: SB3 would otherwise treat the uint8 7x7 image as a picture
for its NatureCNN, which needs at least 36x36 pixels; pass ``image_dtype=np.uint8`` with a
features extractor of your own to keep bytes.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from gymnasium import spaces

try:
    from stable_baselines3.common.vec_env.base_vec_env import (
        VecEnv,
        VecEnvIndices,
        VecEnvObs,
    )
except ImportError:  # pragma: no cover - depends on the install
    raise ImportError(
        "bidir_core.integrations.sb3 needs stable-baselines3: pip install 'bidir_core[sb3]'"
    ) from None

from bidir_core._typing import Unpack
from bidir_core.vector_env import MISSION_BYTES, BidirVecEnv, EnvOptions
from bidir_core.vector_env_buffers import IMAGE_SHAPE

__all__ = ["BidirSB3VecEnv", "make_sb3_vec"]


class BidirSB3VecEnv(VecEnv):
    """``num_envs`` C++ envs of ``task_id`` behind SB3's ``VecEnv`` API (see the module doc).

    ``seed``, ``num_threads`` and ``prompt_style`` are ``make_vec``'s (``EnvOptions``).
    ``self.env`` is the underlying ``BidirVecEnv`` (``expert_actions()``, ``missions()``,
    ...). Observations are dicts of ``image`` (N, 7, 7, 3) in ``image_dtype``, ``direction``
    int64 (N,) and ``mission`` uint8 (N, MISSION_BYTES).
    """

    env: BidirVecEnv
    render_mode: str | None

    def __init__(
        self,
        task_id: str,
        num_envs: int,
        *,
        image_dtype: type | np.dtype = np.float32,
        **options: Unpack[EnvOptions],
    ) -> None:
        dtype = np.dtype(image_dtype)
        if dtype not in (np.dtype(np.uint8), np.dtype(np.float32)):
            raise ValueError(f"image_dtype must be uint8 or float32, got {dtype}")
        self.env = BidirVecEnv(
            task_id, num_envs, autoreset_mode="SameStep", copy=True, stats_key="episode_stats",
            **options,
        )
        self._image_dtype = dtype
        self.render_mode = None
        observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, IMAGE_SHAPE, dtype),
                "direction": spaces.Discrete(4),
                "mission": spaces.Box(0, 255, (MISSION_BYTES,), np.uint8),
            }
        )
        super().__init__(num_envs, observation_space, self.env.single_action_space)
        self._actions: np.ndarray | None = None

    # -- SB3 VecEnv API -------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset every env, with the seeds of ``seed()`` if it was called; return obs."""
        seeds = self._seeds
        if any(s is not None for s in seeds):
            if any(s is None for s in seeds):
                raise ValueError(f"seed either all envs or none, got {seeds}")
            seed: Any = [int(s) for s in seeds]  # type: ignore[arg-type]
        else:
            seed = None
        if any(self._options):
            raise ValueError(f"reset options are not supported, got {self._options}")
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return self._convert(obs)

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions (one int per env) for ``step_wait``."""
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> tuple[VecEnvObs, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step every env; return (obs, rewards, dones, infos) with SB3's info keys."""
        if self._actions is None:
            raise RuntimeError("call step_async() before step_wait()")
        actions, self._actions = self._actions, None
        obs, rew, term, trunc, info = self.env.step(actions)
        dones = term | trunc
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if "_episode_stats" in info:
            ep, final = info["episode_stats"], self._convert(info["final_obs"])
            for i in np.flatnonzero(info["_episode_stats"]):
                infos[i] = {
                    "terminal_observation": {k: v[i] for k, v in final.items()},
                    "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                    "is_success": bool(ep["success"][i]),
                    "episode": {
                        "r": float(ep["r"][i]), "l": int(ep["l"][i]), "t": float(ep["t"][i]),
                    },
                }
        return self._convert(obs), rew, dones, infos

    def close(self) -> None:
        """Close the underlying env."""
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The underlying env's attribute, once per selected env (all envs share one)."""
        value = getattr(self.env, attr_name) if attr_name != "render_mode" else None
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the underlying env (shared by all envs)."""
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Call a method of the underlying env; per-env results are split by env."""
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        idx = list(self._get_indices(indices))
        if isinstance(result, (list, tuple, np.ndarray)) and len(result) == self.num_envs:
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """False for every env: the C++ envs carry no Gymnasium wrappers."""
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return [int(i) for i in indices]

    def _convert(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        image = obs["image"]
        if self._image_dtype != image.dtype:
            image = image.astype(self._image_dtype)
        return {"image": image, "direction": obs["direction"], "mission": obs["mission"]}


def make_sb3_vec(task_id: str, num_envs: int, **kwargs: Any) -> BidirSB3VecEnv:
    """Create a ``BidirSB3VecEnv`` (arguments as ``BidirSB3VecEnv``)."""
    return BidirSB3VecEnv(task_id, num_envs, **kwargs)
