"""Training: the rollout collector, the trainer with its modes, checkpoints and evaluation."""

from bidir_core.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from bidir_core.training.collector import Episodes, HintSource, RolloutCollector
from bidir_core.training.evaluate import evaluate
from bidir_core.training.metrics import read_metrics
from bidir_core.training.modes import ModeHooks, available_modes, register_mode
from bidir_core.training.trainer import TrainConfig, Trainer

__all__ = [
    "CheckpointError",
    "Episodes",
    "HintSource",
    "ModeHooks",
    "RolloutCollector",
    "TrainConfig",
    "Trainer",
    "available_modes",
    "evaluate",
    "load_checkpoint",
    "read_metrics",
    "register_mode",
    "save_checkpoint",
]
