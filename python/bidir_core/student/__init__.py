"""The RL student: an actor-critic network and its PPO update."""

from bidir_core.student.network import BABYAI_WORDS, NUM_ACTIONS, ActorCritic, MissionTokenizer
from bidir_core.student.ppo import PPOConfig, PPOLearner, ppo_loss

__all__ = [
    "BABYAI_WORDS",
    "NUM_ACTIONS",
    "ActorCritic",
    "MissionTokenizer",
    "PPOConfig",
    "PPOLearner",
    "ppo_loss",
]
