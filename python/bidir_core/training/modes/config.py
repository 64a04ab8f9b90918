"""The teacher settings shared by the ``teach``, ``bidir`` and ``glam`` modes.

Why each default is what it is (the runs that chose it) is in ``docs/decisions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from bidir_core.ppo import AtLeast1, NonNegative, Positive, Unit
from bidir_core.validation import RULES, Field, check_fields, check_known_keys

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

FeedbackKind = Literal["parametric", "table", "both"]
FeedbackBaseline = Literal["running", "prompt"]
FeedbackSource = Literal["td", "lookahead", "qhead"]
LookaheadUpdate = Literal["target", "sample"]
TeacherBackend = Literal["auto", "thread", "process", "ray"]
TeacherLora = Literal["auto", "on", "off"]
TeacherPrompt = Literal["auto", "short", "glam"]
TeacherDtype = Literal["auto", "float32", "bfloat16"]
AtLeast0 = Annotated[int, Field(ge=0)]
FEEDBACK_KINDS: tuple[str, ...] = get_args(FeedbackKind)
FEEDBACK_BASELINES: tuple[str, ...] = get_args(FeedbackBaseline)
FEEDBACK_SOURCES: tuple[str, ...] = get_args(FeedbackSource)
LOOKAHEAD_UPDATES: tuple[str, ...] = get_args(LookaheadUpdate)
TEACHER_BACKENDS: tuple[str, ...] = get_args(TeacherBackend)
TEACHER_LORA: tuple[str, ...] = get_args(TeacherLora)
TEACHER_PROMPTS: tuple[str, ...] = get_args(TeacherPrompt)
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

    __pydantic_config__ = RULES

    name: Annotated[str, Field(min_length=1)] = "tiny"
    """Teacher: ``tiny``, ``smollm2-135m``, a local model folder or a cached HF model id."""
    query_every: AtLeast1 = 1
    """k: steps between an env's teacher queries (an episode's first step always asks)."""
    teacher_dtype: TeacherDtype = "auto"
    """Weights of the teacher LM: float32, bfloat16 (LoRA adapters stay float32) or auto (bfloat16 for an LM with LoRA on a CPU with bfloat16 instructions or a GPU, else float32)."""
    device: str = "auto"
    """Where the teacher LM runs: cpu, cuda, cuda:N or auto (cuda when torch sees a GPU); the student stays on the CPU."""
    teacher_prompt: TeacherPrompt = "auto"
    """Teacher prompt: glam (GLAM's, with the episode's last 3 observations), short (one observation) or auto (short for tiny, glam otherwise)."""
    temperature: Positive = 1.0
    """Softmax temperature of piT over the action strings."""
    hint_input: bool = False
    """Feed the latest hint to the student's network (zeros when off)."""
    guidance_coef: NonNegative = 0.0
    """beta_0 of the guidance loss beta_k * CE(piT, piS) (0: off)."""
    guidance_frames: AtLeast0 = 50_000
    """Frames over which beta falls linearly to 0 (0: never annealed)."""
    explore_eps: Unit = 0.25
    """eps_0 of guided exploration: P(the executed action is drawn from piT) (0: off)."""
    explore_frames: AtLeast0 = 0
    """Frames over which eps falls linearly to 0 (0: never annealed)."""
    feedback: FeedbackKind = "parametric"
    """bidir: how feedback updates the teacher: parametric, table or both."""
    feedback_source: FeedbackSource = "lookahead"
    """bidir: what judges a query: td (the critic on the action taken), lookahead (every suggestion, by rollouts in scratch envs) or qhead (every suggestion, by an action-value head trained on real transitions)."""
    lookahead_update: LookaheadUpdate = "sample"
    """bidir lookahead: the LM learns from one sampled suggestion (sample) or towards piT exp(z / eta) (target)."""
    lookahead_horizon: AtLeast1 = 16
    """bidir lookahead: the suggestion, H - 1 greedy student steps, then the student's value."""
    lookahead_grounded: bool = True
    """bidir lookahead: learn only from queries where some suggestion's rollout earned reward."""
    target_temperature: Positive = 1.0
    """eta of lookahead_update=target, in units of the scaled advantage z."""
    feedback_lambda: Unit = 0.95
    """lambda of the window sum of TD errors (feedback_source=td)."""
    rho_max: Positive = 4.0
    """Truncation of the importance ratio piT(a|x) / mu(a|s) (feedback_source=td)."""
    feedback_clip: Positive = 3.0
    """Normalised feedback is clipped to [-clip, clip]."""
    feedback_eps: Positive = 0.1
    """Added to the feedback's std before dividing (reward units)."""
    feedback_baseline: FeedbackBaseline = "prompt"
    """What a query's TD feedback is centred on: running (all queries) or prompt (same prompt)."""
    teacher_lr: Positive = 1e-4
    """AdamW learning rate of the teacher's update (bidir and glam)."""
    teacher_anneal_lr: bool = False
    """bidir: anneal teacher_lr linearly to 0 over the run, as the student's is."""
    teacher_lora: TeacherLora = "auto"
    """Fine-tune the LM through LoRA adapters: on, off (all weights) or auto (on unless tiny)."""
    lora_r: AtLeast1 = 8
    """Rank of the LoRA adapters."""
    lora_alpha: AtLeast1 = 16
    """Scaling alpha of the LoRA adapters."""
    teacher_epochs: AtLeast1 = 2
    """Passes over each rollout's queries in the teacher update."""
    teacher_micro_batch: AtLeast1 | None = None
    """Distinct prompts per forward and backward pass of a teacher update step (same step, bounded memory); None: auto, the whole minibatch for tiny and 16 for LMs."""
    teacher_entropy_coef: NonNegative = 0.0
    """Entropy bonus of the teacher update (0: none)."""
    table_alpha: NonNegative = 1.0
    """Weight of the feedback table in the teacher's logits."""
    table_rate: Annotated[float, Field(gt=0, le=1)] = 0.2
    """Moving-average rate of the feedback table."""
    probe_states: AtLeast1 = 256
    """Fixed oracle-labelled states on which the teacher's agreement is measured."""
    probe_every: AtLeast1 = 10
    """Iterations between measurements on the probe states (also the first and last)."""
    max_batch: AtLeast1 = 64
    """Most prompts per teacher call in the service."""
    max_staleness: AtLeast0 = 1
    """Oldest teacher version whose cached answers are served (versions behind the newest)."""
    hint_wait: Annotated[float, Field(ge=0, le=60)] | None = None
    """Seconds a query step may wait for its fresh answers (0: never, act on the freshest hint); None: auto, 0.2 for tiny and 0 for LMs."""
    backend: TeacherBackend = "auto"
    """Where the service's LM answers hints: thread, process (a replica in a child process), ray (replicas as Ray actors, on the cluster of RAY_ADDRESS or a local one) or auto (process unless tiny)."""
    teacher_replicas: AtLeast1 = 1
    """backend ray: replicas of the LM, one Ray actor each; prompts are routed by their hash."""
    teacher_resources: str = "{}"
    """backend ray: the Ray resources of each replica as JSON, e.g. '{"GPU": 1}' (default 1 CPU; a GPU puts the replica's LM on cuda)."""
    score_unanswered: bool | None = None
    """bidir: score the queries the LM had not answered by the update, synchronously (True), or leave them out of the teacher's update (False); None: auto, True for tiny and False for LMs."""
    update_async: bool | None = None
    """bidir: the LM's update runs in the background while the next rollout goes on, and its weights are published when it finishes (at most one in flight); None: auto, off for tiny and on for LMs."""
    call_timeout: Annotated[float, Field(gt=0, le=86_400)] | None = None
    """Seconds a teacher call of the training loop may take before it is skipped (and counted); None: auto, 60 for tiny and 600 for LMs."""

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
    def score_unanswered_resolved(self) -> bool:
        """``score_unanswered`` resolved: tiny scores a few hundred prompts in milliseconds;
        an LM scoring them synchronously would be back on the training loop's critical path."""
        if self.score_unanswered is not None:
            return bool(self.score_unanswered)
        return self.name == "tiny"

    @property
    def update_async_resolved(self) -> bool:
        """``update_async`` resolved: tiny's update takes milliseconds; an LM's takes longer
        than a rollout, so it overlaps the next one."""
        if self.update_async is not None:
            return bool(self.update_async)
        return self.name != "tiny"

    @property
    def micro_batch(self) -> int | None:
        """``teacher_micro_batch`` resolved: tiny's graphs are small; an LM's graph over a
        minibatch of 64 GLAM prompts held about 10 GB (smollm2 in glam)."""
        if self.teacher_micro_batch is not None:
            return int(self.teacher_micro_batch)
        return None if self.name == "tiny" else 16

    @property
    def call_timeout_s(self) -> float:
        """``call_timeout`` resolved: tiny answers any call within a second; an LM on a CPU
        can take a minute to score a probe's 256 prompts, which is slow, not hung."""
        if self.call_timeout is not None:
            return float(self.call_timeout)
        return 60.0 if self.name == "tiny" else 600.0

    @property
    def torch_device(self) -> str:
        """``device`` resolved (auto: cuda when available); ValueError for an unusable GPU."""
        from bidir_core.teacher.loading import resolve_device

        return resolve_device(self.device)

    @property
    def dtype(self) -> str:
        """``teacher_dtype`` resolved: bfloat16 scores and updates LoRA faster at the same
        agreement where the hardware has bfloat16 instructions; tiny and fully fine-tuned
        weights (whose small steps bfloat16 would round away) stay float32."""
        if self.teacher_dtype != "auto":
            return self.teacher_dtype
        if self.name == "tiny" or self.lora is None:
            return "float32"
        from bidir_core.teacher.loading import fast_bfloat16

        return "bfloat16" if fast_bfloat16(self.torch_device) else "float32"

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
        check_fields(self, "teacher.")
        from bidir_core.teacher.loading import is_device_name

        if not is_device_name(self.device):
            raise ValueError(f"teacher.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
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
        check_known_keys(cls, values, "teacher")
        return cls(**values).validate()
