"""The teacher settings shared by the ``teach``, ``bidir`` and ``glam`` modes.

Why each default is what it is (the runs that chose it) is in ``docs/decisions.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FEEDBACK_BASELINES",
    "FEEDBACK_KINDS",
    "FEEDBACK_SOURCES",
    "LOOKAHEAD_UPDATES",
    "TEACHER_BACKENDS",
    "TEACHER_LORA",
    "TEACHER_MODES",
    "TEACHER_PROMPTS",
    "TeacherModeConfig",
    "linear_decay",
    "lora_ppo_fields",
]

FEEDBACK_KINDS = ("parametric", "table", "both")
FEEDBACK_BASELINES = ("running", "prompt")
FEEDBACK_SOURCES = ("td", "lookahead", "qhead")
LOOKAHEAD_UPDATES = ("target", "sample")
TEACHER_BACKENDS = ("auto", "thread", "process", "ray")
TEACHER_LORA = ("auto", "on", "off")
TEACHER_PROMPTS = ("auto", "short", "glam")
TEACHER_MODES = ("teach", "bidir")
"""The modes in which a teacher guides a student (glam has a teacher but no student)."""


def linear_decay(start: float, frames: int, total: int) -> float:
    """start at frame 0, falling linearly to 0 at ``total`` frames (total 0: always start)."""
    if total == 0:
        return start
    return start * max(0.0, 1.0 - frames / total)


def lora_ppo_fields(lora: dict[str, int] | None) -> dict[str, Any]:
    """The teacher learner's PPOConfig fields for ``TeacherModeConfig.lora``."""
    if lora is None:
        return {"lora": False}
    return {"lora": True, "lora_r": lora["r"], "lora_alpha": lora["alpha"]}


@dataclass
class TeacherModeConfig:
    """Settings of the teacher modes (``teach``, ``bidir``, ``glam``; ignored by ``ppo``)."""

    name: str = "tiny"
    """Teacher: ``tiny``, ``smollm2-135m``, a local model folder or a cached HF model id."""
    query_every: int = 1
    """k: steps between an env's teacher queries (an episode's first step always asks)."""
    device: str = "auto"
    """Where the teacher LM runs: cpu, cuda, cuda:N or auto (cuda when torch sees a GPU); the student stays on the CPU."""
    teacher_prompt: str = "auto"
    """Teacher prompt: glam (GLAM's, with the episode's last 3 observations), short (one observation) or auto (short for tiny, glam otherwise)."""
    temperature: float = 1.0
    """Softmax temperature of piT over the action strings."""
    hint_input: bool = False
    """Feed the latest hint to the student's network (zeros when off)."""
    guidance_coef: float = 0.0
    """beta_0 of the guidance loss beta_k * CE(piT, piS) (0: off)."""
    guidance_frames: int = 50_000
    """Frames over which beta falls linearly to 0 (0: never annealed)."""
    explore_eps: float = 0.25
    """eps_0 of guided exploration: P(the executed action is drawn from piT) (0: off)."""
    explore_frames: int = 0
    """Frames over which eps falls linearly to 0 (0: never annealed)."""
    feedback: str = "parametric"
    """bidir: how feedback updates the teacher: parametric, table or both."""
    feedback_source: str = "lookahead"
    """bidir: what judges a query: td (the critic on the action taken), lookahead (every suggestion, by rollouts in scratch envs) or qhead (every suggestion, by an action-value head trained on real transitions)."""
    lookahead_update: str = "sample"
    """bidir lookahead: the LM learns from one sampled suggestion (sample) or towards piT exp(z / eta) (target)."""
    lookahead_horizon: int = 16
    """bidir lookahead: the suggestion, H - 1 greedy student steps, then the student's value."""
    lookahead_grounded: bool = True
    """bidir lookahead: learn only from queries where some suggestion's rollout earned reward."""
    target_temperature: float = 1.0
    """eta of lookahead_update=target, in units of the scaled advantage z."""
    feedback_lambda: float = 0.95
    """lambda of the window sum of TD errors (feedback_source=td)."""
    rho_max: float = 4.0
    """Truncation of the importance ratio piT(a|x) / mu(a|s) (feedback_source=td)."""
    feedback_clip: float = 3.0
    """Normalised feedback is clipped to [-clip, clip]."""
    feedback_eps: float = 0.1
    """Added to the feedback's std before dividing (reward units)."""
    feedback_baseline: str = "prompt"
    """What a query's TD feedback is centred on: running (all queries) or prompt (same prompt)."""
    teacher_lr: float = 1e-4
    """AdamW learning rate of the teacher's update (bidir and glam)."""
    teacher_anneal_lr: bool = False
    """bidir: anneal teacher_lr linearly to 0 over the run, as the student's is."""
    teacher_lora: str = "auto"
    """Fine-tune the LM through LoRA adapters: on, off (all weights) or auto (on unless tiny)."""
    lora_r: int = 8
    """Rank of the LoRA adapters."""
    lora_alpha: int = 16
    """Scaling alpha of the LoRA adapters."""
    teacher_epochs: int = 2
    """Passes over each rollout's queries in the teacher update."""
    teacher_entropy_coef: float = 0.0
    """Entropy bonus of the teacher update (0: none)."""
    table_alpha: float = 1.0
    """Weight of the feedback table in the teacher's logits."""
    table_rate: float = 0.2
    """Moving-average rate of the feedback table."""
    probe_states: int = 256
    """Fixed oracle-labelled states on which the teacher's agreement is measured."""
    probe_every: int = 10
    """Iterations between measurements on the probe states (also the first and last)."""
    max_batch: int = 64
    """Most prompts per teacher call in the service."""
    max_staleness: int = 1
    """Oldest teacher version whose cached answers are served (versions behind the newest)."""
    hint_wait: float | None = None
    """Seconds a query step may wait for its fresh answers (0: never, act on the freshest hint); None: auto, 0.2 for tiny and 0 for LMs."""
    backend: str = "auto"
    """Where the service's LM answers hints: thread, process (a replica in a child process), ray (replicas as Ray actors, on the cluster of RAY_ADDRESS or a local one) or auto (process unless tiny)."""
    teacher_replicas: int = 1
    """backend ray: replicas of the LM, one Ray actor each; prompts are routed by their hash."""
    teacher_resources: str = "{}"
    """backend ray: the Ray resources of each replica as JSON, e.g. '{"GPU": 1}' (default 1 CPU; a GPU puts the replica's LM on cuda)."""
    call_timeout: float = 60.0
    """Seconds a teacher call of the training loop may take before it is skipped (and counted)."""

    @property
    def uses_process(self) -> bool:
        """Whether the service runs the LM in a child process (``backend``)."""
        return self.backend == "process" or (self.backend == "auto" and self.name != "tiny")

    @property
    def ray_resources(self) -> dict[str, float]:
        """``teacher_resources`` parsed (ValueError if it is not a JSON object of amounts)."""
        from bidir_core.ray_cluster import parse_resources

        return parse_resources(self.teacher_resources)

    @property
    def hint_wait_s(self) -> float:
        """``hint_wait`` resolved: tiny answers within milliseconds, so its rollout waits
        for fresh hints (a hint of an older state misleads); an LM is never waited for."""
        if self.hint_wait is not None:
            return float(self.hint_wait)
        return 0.2 if self.name == "tiny" else 0.0

    @property
    def torch_device(self) -> str:
        """``device`` resolved (auto: cuda when available); ValueError for an unusable GPU."""
        from bidir_core.teacher.loading import resolve_device

        return resolve_device(self.device)

    @property
    def prompt_style(self) -> str:
        """The prompt style the envs build for this teacher (``teacher_prompt`` resolved)."""
        if self.teacher_prompt != "auto":
            return self.teacher_prompt
        return "short" if self.name == "tiny" else "glam"

    @property
    def lora(self) -> dict[str, int] | None:
        """The LoRA adapters the LM learns through (apply_lora's arguments), or None."""
        on = self.teacher_lora == "on" or (self.teacher_lora == "auto" and self.name != "tiny")
        return {"r": self.lora_r, "alpha": self.lora_alpha} if on else None

    def validate(self) -> TeacherModeConfig:
        """Raise ValueError / TypeError naming the first bad field; return self."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("teacher.name must be a non-empty string")
        for name, low in (("query_every", 1), ("guidance_frames", 0), ("explore_frames", 0),
                          ("teacher_epochs", 1), ("max_batch", 1), ("max_staleness", 0),
                          ("probe_states", 1), ("probe_every", 1), ("lookahead_horizon", 1),
                          ("lora_r", 1), ("lora_alpha", 1), ("teacher_replicas", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"teacher.{name} must be an int, got {type(value).__name__}")
            if value < low:
                raise ValueError(f"teacher.{name} must be >= {low}, got {value}")
        strict = ("temperature", "rho_max", "feedback_clip", "feedback_eps", "teacher_lr",
                  "table_rate", "target_temperature", "call_timeout")
        for name, lo, hi in (("temperature", 0.0, math.inf), ("guidance_coef", 0.0, math.inf),
                             ("explore_eps", 0.0, 1.0), ("feedback_lambda", 0.0, 1.0),
                             ("rho_max", 0.0, math.inf), ("feedback_clip", 0.0, math.inf),
                             ("feedback_eps", 0.0, math.inf),
                             ("teacher_lr", 0.0, math.inf), ("table_alpha", 0.0, math.inf),
                             ("teacher_entropy_coef", 0.0, math.inf),
                             ("target_temperature", 0.0, math.inf),
                             ("table_rate", 0.0, 1.0), ("hint_wait", 0.0, 60.0),
                             ("call_timeout", 0.0, 86_400.0)):
            value = getattr(self, name)
            if name == "hint_wait" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"teacher.{name} must be a number, got {type(value).__name__}")
            if not (lo <= value <= hi) or (name in strict and value == lo) or not math.isfinite(value):
                raise ValueError(f"teacher.{name} is out of range: {value}")
        from bidir_core.teacher.loading import is_device_name

        if not is_device_name(self.device):
            raise ValueError(f"teacher.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        for name in ("hint_input", "lookahead_grounded", "teacher_anneal_lr"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"teacher.{name} must be a bool")
        for name, choices in (("feedback_baseline", FEEDBACK_BASELINES), ("feedback", FEEDBACK_KINDS),
                              ("feedback_source", FEEDBACK_SOURCES),
                              ("lookahead_update", LOOKAHEAD_UPDATES),
                              ("backend", TEACHER_BACKENDS), ("teacher_lora", TEACHER_LORA),
                              ("teacher_prompt", TEACHER_PROMPTS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"teacher.{name} must be one of {', '.join(choices)}, "
                                 f"got {getattr(self, name)!r}")
        try:
            resources = self.ray_resources
        except (TypeError, ValueError) as err:
            raise ValueError(f"teacher.teacher_resources: {err}") from None
        if self.backend != "ray" and (self.teacher_replicas != 1 or resources):
            raise ValueError("teacher.teacher_replicas and teacher.teacher_resources need "
                             "teacher.backend ray")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TeacherModeConfig:
        """Build and validate from a dict (config.json's ``teacher``); unknown keys raise."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown teacher option(s) {sorted(unknown)}")
        return cls(**values).validate()
