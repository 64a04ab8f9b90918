"""What defines a training run: ``TrainConfig`` (saved as config.json), the metric
columns every run logs, and the student network a config builds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch

from bidir_core.ppo import AtLeast1
from bidir_core.student.network import ActorCritic, MissionTokenizer
from bidir_core.student.ppo import PPOConfig
from bidir_core.training.modes import TEACHER_MODES, TeacherModeConfig, available_modes
from bidir_core.training.modes.config import AtLeast0
from bidir_core.validation import RULES, Field, check_fields, check_known_keys
from bidir_core._checks import check_task
from bidir_core.vector_env import DEFAULT_TASK

__all__ = ["DEFAULT_TASK", "METRIC_COLUMNS", "TrainConfig", "build_network"]


METRIC_COLUMNS = (
    "iteration",
    "frames",
    "sim_steps",
    "episodes",
    "success_rate",
    "return_mean",
    "length_mean",
    "rolling_success",
    "rolling_return",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clipfrac",
    "explained_variance",
    "learning_rate",
    "student_success",
    "student_return",
    "student_success_greedy",
    "student_return_greedy",
    "time_rollout",
    "time_student_update",
    "time_mode",
    "time_s",
    "fps",
)


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as config.json in the run folder)."""

    __pydantic_config__ = RULES

    task: str = DEFAULT_TASK
    """Task id (see ``bidir tasks``)."""
    mode: str = "bidir"
    """Training mode: ppo, teach, bidir or glam (see ``training.modes``)."""
    seed: AtLeast0 = 0
    """Seed of the network, the action sampling and env 0 (env i gets seed + i)."""
    num_envs: AtLeast1 = 16
    """Environments stepped in parallel."""
    steps_per_iteration: AtLeast1 = 256
    """Frames per PPO update, all envs together (a multiple of num_envs)."""
    total_frames: AtLeast1 = 25_600
    """Frames to train for (rounded up to whole iterations)."""
    checkpoint_every: AtLeast1 = 25
    """Iterations between checkpoints (one is also written at the end)."""
    rolling_window: AtLeast1 = 100
    """Episodes in the rolling success rate and return (of the behaviour policy)."""
    student_eval_every: AtLeast0 = 10
    """Iterations between evaluations of the student alone on fresh episodes (and the last; 0: never)."""
    student_eval_episodes: AtLeast1 = 128
    """Fresh episodes per evaluation of the student alone (sampled and greedy actions each)."""
    video_episodes: AtLeast0 = 3
    """Episodes of the final student saved as student.gif next to success.png (0: none)."""
    env_groups: Annotated[int, Field(ge=1, le=2)] = 1
    """2: step one half of the envs in a thread while the network infers on the other."""
    env_threads: AtLeast1 = 1
    """C++ threads per env group."""
    torch_threads: AtLeast1 = 1
    """torch intra-op threads."""
    max_mission_tokens: AtLeast1 = 24
    """Longest mission in words."""
    hidden: AtLeast1 = 64
    """Width of the student's MLP."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """PPO hyper-parameters."""
    teacher: TeacherModeConfig = field(default_factory=TeacherModeConfig)
    """The teacher and its guidance/feedback settings (modes teach, bidir and glam)."""

    @property
    def num_steps(self) -> int:
        """Steps of each env per iteration."""
        return self.steps_per_iteration // self.num_envs

    @property
    def total_iterations(self) -> int:
        """Iterations of the run."""
        return -(-self.total_frames // self.steps_per_iteration)

    def validate(self) -> TrainConfig:
        """Raise ValueError / TypeError naming the first bad field; return self."""
        if isinstance(self.teacher, dict):
            self.teacher = TeacherModeConfig.from_dict(self.teacher)
        check_fields(self)
        check_task(self.task)
        if self.mode not in available_modes():
            raise ValueError(
                f"unknown training mode {self.mode!r}; available: {', '.join(available_modes())}"
            )
        if self.num_envs < self.env_groups:
            raise ValueError(
                f"num_envs ({self.num_envs}) must be >= env_groups ({self.env_groups})"
            )
        if self.steps_per_iteration % self.num_envs:
            raise ValueError(
                f"steps_per_iteration ({self.steps_per_iteration}) must be a multiple of "
                f"num_envs ({self.num_envs})"
            )
        if self.ppo.num_minibatches > self.steps_per_iteration:
            raise ValueError(
                f"ppo.num_minibatches ({self.ppo.num_minibatches}) must be <= "
                f"steps_per_iteration ({self.steps_per_iteration})"
            )
        self.ppo.validate()
        self.teacher.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build and validate from a dict such as config.json; unknown keys raise."""
        values = dict(values)
        check_known_keys(cls, values, "training")
        ppo = PPOConfig.from_dict(values.pop("ppo", {}))
        teacher = TeacherModeConfig.from_dict(values.pop("teacher", {}))
        return cls(**values, ppo=ppo, teacher=teacher).validate()


def build_network(config: TrainConfig) -> tuple[ActorCritic, MissionTokenizer]:
    """The student network and mission tokenizer of a run (initialised from config.seed)."""
    tokenizer = MissionTokenizer(config.max_mission_tokens)
    torch.manual_seed(config.seed)
    use_hints = config.mode in TEACHER_MODES and config.teacher.hint_input
    net = ActorCritic(vocab_size=tokenizer.vocab_size, hidden=config.hidden, use_hints=use_hints)
    return net, tokenizer
