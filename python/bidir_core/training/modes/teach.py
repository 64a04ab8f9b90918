"""The ``teach`` mode: a frozen teacher guides the student (the one-directional baseline).

Teacher -> student, each switchable (``TeacherModeConfig``): the hint as an input of the
student's network (``hint_input``), the guidance loss beta_k * CE(piT, piS) with beta
annealed to 0 (``guidance_coef``), and guided exploration, where the executed action is
drawn from (1 - eps_k) piS + eps_k piT (``explore_eps``; by default the only one on, and
constant). The hints come through ``TeacherHints`` and the asynchronous service.

Every teacher call of the loop goes through a ``TeacherGuard``: a teacher that raises,
hangs or answers NaN costs that step's teacher metrics or update, never the run.
"""

from __future__ import annotations

import time

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bidir_core.feedback import FeedbackTable
from bidir_core.student.ppo import ExtraLoss
from bidir_core.teacher.corrected import CorrectedTeacher
from bidir_core.teacher.guard import TeacherGuard
from bidir_core.teacher.probe import OracleProbe
from bidir_core.training.modes.base import ModeHooks, StartContext, UpdateContext, register_mode
from bidir_core.training.modes.config import TeacherModeConfig, linear_decay
from bidir_core.training.modes.hints import TeacherHints

if TYPE_CHECKING:
    from bidir_core.teacher.policy import Teacher

__all__ = ["TeachMode", "guidance_loss"]


def guidance_loss(beta: float) -> ExtraLoss:
    """beta * mean over hinted rows of CE(piT, piS) = -sum_a piT(a) log piS(a)."""

    def loss(mb: dict[str, torch.Tensor], logits: torch.Tensor, values: torch.Tensor):
        valid = mb["hint_valid"].float()
        logp = torch.log_softmax(logits, dim=-1)
        ce_rows = -(mb["hints"] * logp).sum(-1)
        count = valid.sum().clamp_min(1.0)
        ce = (ce_rows * valid).sum() / count
        return beta * ce, {"guidance_ce": ce.detach()}

    return loss


class TeachMode(ModeHooks):
    """``teach``: a frozen teacher guides the student (hint input, CE guidance, exploration)."""

    name = "teach"
    updates_teacher = False
    metric_names: tuple[str, ...] = (
        "probe_agreement", "probe_agreement_determined", "probe_expert_prob", "teacher_agreement",
        "teacher_entropy", "guidance_coef", "explore_eps", "guidance_ce",
        "cache_hit_rate", "hint_valid_fraction", "hint_age_mean", "teacher_queries",
        "teacher_queries_scored", "teacher_failures", "time_probe",
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        from bidir_core import _core
        from bidir_core.teacher import load_teacher
        from bidir_core.teacher.service import TeacherService

        self.config = config
        tc: TeacherModeConfig = config.teacher.validate()
        self.tc = tc
        device, dtype = tc.torch_device, tc.dtype
        self.teacher: Teacher = load_teacher(
            tc.name, temperature=tc.temperature, batch_size=tc.max_batch, device=device,
            dtype=dtype,
        )
        self.table: FeedbackTable = FeedbackTable(
            num_actions=len(self.teacher.actions), rate=tc.table_rate
        )
        self.policy: CorrectedTeacher = CorrectedTeacher(self.teacher, self.table, tc.table_alpha)
        backend = None
        if tc.backend == "ray":
            from bidir_core.teacher.backends import replica_factory
            from bidir_core.teacher.backends.ray_actors import RayTeacherBackend

            resources = tc.ray_resources
            backend = RayTeacherBackend(
                self.policy,
                replica_factory(tc.name, temperature=tc.temperature, batch_size=tc.max_batch,
                                lora=self.lora_settings(), dtype=dtype,
                                device="cuda" if resources.get("GPU", 0) > 0 else "cpu"),
                num_actions=_core.NUM_ACTIONS, replicas=tc.teacher_replicas,
                resources=resources, max_batch=tc.max_batch, postprocess=self.policy.corrected,
            )
        elif tc.uses_process:
            from bidir_core.teacher.backends import ProcessTeacherBackend, replica_factory

            backend = ProcessTeacherBackend(
                self.policy,
                replica_factory(tc.name, temperature=tc.temperature, batch_size=tc.max_batch,
                                lora=self.lora_settings(), device=device,
                                dtype=dtype),
                num_actions=_core.NUM_ACTIONS, max_batch=tc.max_batch,
                postprocess=self.policy.corrected,
            )
        self.replicated: bool = backend is not None
        """Whether a replica of the LM (process or Ray backend) answers the hints."""
        self.service: TeacherService = TeacherService(
            self.policy, config.num_envs, num_actions=_core.NUM_ACTIONS, max_batch=tc.max_batch,
            max_staleness=tc.max_staleness, timeout=tc.call_timeout_s,
            join_timeout=min(10.0, tc.call_timeout_s), backend=backend,
        )
        self.hints: TeacherHints = TeacherHints(
            self.service, config.num_envs, config.num_steps, tc.query_every,
            keep_prompts=True, wait=tc.hint_wait_s,
        )
        self.guard: TeacherGuard = TeacherGuard(tc.call_timeout_s)
        self.oracle_probe: OracleProbe = OracleProbe(
            config.task, tc.probe_states, config.seed, tc.prompt_style
        )
        self._sim_steps = self.oracle_probe.sim_steps
        self.frames: int = 0

    def lora_settings(self) -> dict[str, Any] | None:
        """The LoRA adapters the teacher learns through (None: ``teach`` never changes it)."""
        return None

    def probe(self) -> dict[str, float]:
        """The teacher's agreement with the oracle on the fixed probe states (guarded)."""
        return self.oracle_probe.guarded(self.guard, self.policy.action_logprobs)

    def sim_steps(self) -> int:
        return self._sim_steps

    # -- hooks ---------------------------------------------------------------------------
    def start(self, ctx: StartContext) -> None:
        self.hints.buffer = ctx.buffer
        self.frames = ctx.frames
        self.hints.explore_eps = linear_decay(self.tc.explore_eps, self.frames, self.tc.explore_frames)

    def prompt_style(self) -> str:
        return self.tc.prompt_style

    def hint_source(self) -> TeacherHints:
        return self.hints

    def extra_loss(self) -> ExtraLoss | None:
        beta = linear_decay(self.tc.guidance_coef, self.frames, self.tc.guidance_frames)
        return guidance_loss(beta) if beta > 0 else None

    def after_update(self, ctx: UpdateContext) -> dict[str, float]:
        idx, prompts = self.hints.query_prompts()
        out: dict[str, float] = {
            "guidance_coef": linear_decay(self.tc.guidance_coef, self.frames, self.tc.guidance_frames),
            "explore_eps": self.hints.explore_eps,
            "teacher_queries": float(idx.size),
        }
        last = self.config.total_iterations
        if OracleProbe.due(ctx.iteration, self.tc.probe_every, last):
            t0 = time.perf_counter()
            out.update(self.probe())  # the teacher this rollout used, before its update
            out["time_probe"] = time.perf_counter() - t0
        if idx.size:
            logp, good = self.query_logprobs(idx, prompts)
            out["teacher_queries_scored"] = float(good.mean()) if good.size else 0.0
            if good.any():
                idx, logp = idx[good], np.asarray(logp)[good]
                prompts = [p for p, g in zip(prompts, good.tolist()) if g]
                oracle = self.hints.oracle.ravel()[idx]
                out["teacher_agreement"] = float((logp.argmax(1) == oracle).mean())
                p = np.exp(logp)
                out["teacher_entropy"] = float(-(p * np.where(p > 0, logp, 0.0)).sum(1).mean())
                out.update(self.teacher_update(ctx, idx, prompts, logp))
        service = self.service.metrics(reset=True)
        for key in ("cache_hit_rate", "hint_valid_fraction", "hint_age_mean"):
            out[key] = service[key]
        out.update(self.guard.metrics(reset=True))
        self.frames = ctx.frames + self.config.steps_per_iteration
        self.hints.explore_eps = linear_decay(self.tc.explore_eps, self.frames, self.tc.explore_frames)
        return out

    def query_logprobs(self, idx: np.ndarray, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """log piT (B, A) of the rollout's queries and which rows hold one (B,) bool.

        ``teach`` reuses the answers the service served during the rollout (no second
        scoring): queries the LM had not answered yet are left out of the metrics."""
        probs, versions = self.service.served(self.hints.hashes.ravel()[idx])
        good = versions >= 0
        with np.errstate(divide="ignore"):
            logp = np.log(probs[:, : len(self.teacher.actions)])
        return logp, good

    def teacher_update(self, ctx: UpdateContext, idx: np.ndarray, prompts: list[str],
                       logp: np.ndarray) -> dict[str, float]:
        """``teach`` leaves the teacher as it is."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"hints": self.hints.state_dict(), "table": self.table.state(),
                "sim_steps": self._sim_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.hints.load_state_dict(state["hints"])
        self.table.load_state(state["table"])
        self._sim_steps = int(state.get("sim_steps", self._sim_steps))

    def close(self) -> None:
        self.service.close()
        self.guard.close()


register_mode("teach", TeachMode)
