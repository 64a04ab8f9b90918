"""bidir_core: batched C++ grid worlds exact to minigrid, with BabyAI-Text and an oracle."""

from bidir_core._core import describe_images, hash_prompts
from bidir_core.vector_env import (
    ACTION_NAMES,
    MISSION_BYTES,
    BidirVecEnv,
    list_tasks,
    make_vec,
)

__all__ = [
    "ACTION_NAMES",
    "MISSION_BYTES",
    "BidirVecEnv",
    "describe_images",
    "hash_prompts",
    "list_tasks",
    "make_vec",
]
__version__ = "0.1.0"
