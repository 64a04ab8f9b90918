"""The settings of an experiment (``experiment.json``) and the runs they make."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from bidir_core.ppo import AtLeast1, NonNegative, Positive

from bidir_core.training.modes import TEACHER_MODES, available_modes
from bidir_core.training.config import DEFAULT_TASK
from bidir_core.training.modes.config import AtLeast0
from bidir_core.validation import RULES, Field, check_fields

__all__ = ["BACKENDS", "PAPER_BUDGETS", "PAPER_MODES", "STUDENT_MODES", "ExperimentConfig"]

BACKENDS = ("local", "ray")  # the choices of ExperimentConfig.backend

PAPER_BUDGETS = (40, 2100)
PAPER_MODES = ("ppo", "teach", "bidir", "glam")
# Modes whose run trains a student network that `bidir eval` can play.
STUDENT_MODES = ("ppo", *TEACHER_MODES)
# TrainConfig fields the experiment sets itself (the others pass through to `bidir train`).
OWN_FIELDS = ("task", "seed", "total_frames", "steps_per_iteration")
# Settings that fix what each run computes: they must match to resume an experiment.
RUN_KEYS = ("task", "iterations", "steps_per_iteration", "train_args")


@dataclass
class ExperimentConfig:
    """The settings of one experiment (saved as experiment.json in its folder)."""

    __pydantic_config__ = RULES

    out: Path
    """The experiment folder."""
    task: str = DEFAULT_TASK
    """Task id (see ``bidir tasks``)."""
    modes: tuple[str, ...] = ("ppo", "teach", "bidir")
    """Training modes to compare."""
    seeds: AtLeast1 = 3
    """Runs per mode, with seeds 0 .. seeds-1."""
    budgets: tuple[AtLeast1, ...] = PAPER_BUDGETS
    """Iterations at which results are reported; every run trains for the largest."""
    steps_per_iteration: AtLeast1 = 256
    """Frames per iteration (PPO update), all envs together."""
    jobs: AtLeast1 = 2
    """Runs trained at the same time (each in its own process)."""
    eval_episodes: AtLeast0 = 500
    """Fresh episodes on which each final student is evaluated (0: no evaluation)."""
    train_args: tuple[str, ...] = ()
    """Extra ``bidir train`` flags given to every run (e.g. ``--teacher tiny``)."""
    backend: Literal["local", "ray"] = "local"
    """Where the runs train: local (``jobs`` processes here) or ray (a Ray task each)."""
    address: Annotated[str, Field(min_length=1)] | None = None
    """backend ray: the cluster to join (None: RAY_ADDRESS, a local ``ray start``, or a new one)."""
    run_cpus: Positive = 1.0
    """backend ray: CPUs each run's task asks for."""
    run_gpus: NonNegative = 0.0
    """backend ray: GPUs each run of a mode with a teacher asks for (the others ask for none)."""

    @property
    def iterations(self) -> int:
        """Iterations of every run."""
        return max(self.budgets)

    def run_names(self) -> list[tuple[str, int, str]]:
        """(mode, seed, run folder name) of every run, mode by mode."""
        return [(m, s, f"{m}-s{s}") for m in self.modes for s in range(self.seeds)]

    def run_dir(self, name: str) -> Path:
        """The run folder of run ``name``."""
        return Path(self.out) / "runs" / name

    def validate(self) -> ExperimentConfig:
        """Raise ValueError / TypeError naming the first bad setting; return self."""
        self.out = Path(self.out)
        self.modes, self.budgets = tuple(self.modes), tuple(self.budgets)
        self.train_args = tuple(self.train_args)
        check_fields(self, name=lambda field: "--" + field.replace("_", "-"))
        known = available_modes()
        if not self.modes:
            raise ValueError("--modes needs at least one mode")
        for mode in self.modes:
            if mode not in known:
                raise ValueError(f"unknown training mode {mode!r}; available: {', '.join(known)}")
        if len(set(self.modes)) != len(self.modes):
            raise ValueError(f"--modes lists a mode twice: {','.join(self.modes)}")
        if not self.budgets:
            raise ValueError("--budgets needs at least one budget")
        if self.address is not None and self.backend != "ray":
            raise ValueError("--address needs --backend ray")
        self.budgets = tuple(sorted(set(self.budgets)))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values."""
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        d["iterations"] = self.iterations
        for key in ("modes", "budgets", "train_args"):
            d[key] = list(d[key])
        return d

    def train_argv(self, mode: str, seed: int, run_dir: Path) -> list[str]:
        """The ``bidir train`` arguments of a new run."""
        return [
            "train", "--mode", mode, "--seed", str(seed), "--task", self.task,
            "--frames", str(self.iterations * self.steps_per_iteration),
            "--steps-per-iteration", str(self.steps_per_iteration),
            "--run-dir", str(run_dir), "--quiet", *self.train_args,
        ]  # fmt: skip
