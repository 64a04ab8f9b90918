"""bidir_core: batched C++ grid worlds exact to minigrid, with BabyAI-Text and an oracle."""

from bidir_core._core import describe_images, hash_prompts
from bidir_core.vector_env import (
    ACTION_NAMES,
    MISSION_BYTES,
    BidirVecEnv,
    list_tasks,
    make_vec,
)
from bidir_core.gym_env import BidirEnv, register_envs

register_envs()  # gymnasium.make("bidir_core/<task>") and gymnasium.make_vec(...)

__all__ = [
    "ACTION_NAMES",
    "MISSION_BYTES",
    "BidirEnv",
    "BidirVecEnv",
    "describe_images",
    "hash_prompts",
    "list_tasks",
    "make_vec",
    "register_envs",
]
__version__ = "0.1.0"
