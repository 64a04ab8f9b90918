"""The ``glam`` mode: the teacher LM is the policy, fine-tuned by PPO alone.

The paper's baseline, GLAM (Carta et al., "Grounding Large Language Models in Interactive
Environments with Online Reinforcement Learning", 2023) as in Lamorel's PPO example: no
student is trained. Each step of a rollout the N envs' Lamorel prompts are built in C++
(``env.prompts()``), one LM batch gives log πT over the teacher's action strings and
V(x) from GLAM's value head (Linear–Sigmoid–Linear–Sigmoid–Linear on the LM's last
hidden state), and the actions are drawn from πT ("done", which no teacher scores, is
never drawn). Episodes cut by the time limit bootstrap from V of their final observation,
whose prompt is rebuilt from its image (``describe_images``) and mission. GAE runs in C++
(``RolloutBuffer.compute_gae``) and ``TeacherPPO.update`` fine-tunes the LM and the head.

The rollout goes through the trainer's collector (the mode's ``actor()`` replaces the
student there), so frames, episode metrics, checkpoints and resume are the other modes'.

Settings: the model and its learning rate come from ``teacher`` (``name``,
``temperature``, ``teacher_lr``, ``max_batch``, ``probe_states``, ``probe_every``); the
PPO hyper-parameters of its update from ``ppo`` (``gamma``, ``gae_lambda``,
``update_epochs``, ``num_minibatches``, ``clip_coef``, ``clip_vloss``, ``norm_adv``,
``ent_coef``, ``vf_coef``, ``max_grad_norm``, ``anneal_lr``), as they would train the
student. ``ppo.learning_rate`` is the student's and unused; the value head learns at
``TeacherPPO``'s ``head_lr``. Metrics: the trainer's columns (the update's losses are the
teacher's) plus the teacher's agreement with the oracle planner on fixed probe states and
on the rollout's states, and its entropy.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bidir_core import _core
from bidir_core.ppo import shared_ppo_fields
from bidir_core.teacher.guard import TeacherGuard, finite_rows
from bidir_core.teacher.probe import OracleProbe
from bidir_core.training.modes.base import ModeHooks, UpdateContext, register_mode
from bidir_core.training.modes.config import TeacherModeConfig, linear_decay, lora_ppo_fields
from bidir_core.vector_env import BidirVecEnv

if TYPE_CHECKING:
    from bidir_core.teacher.policy import Teacher

__all__ = ["GlamMode", "TeacherActor"]


def mission_strings(missions: np.ndarray) -> list[str]:
    """Decode zero-padded UTF-8 mission rows (n, MISSION_BYTES)."""
    return [bytes(row).rstrip(b"\0").decode("utf-8") for row in missions]


class TeacherActor:
    """The collector's ``Actor``: πT and the value head of a ``TeacherPPO``, batched per step.

    Records what the update and the metrics need: every step's prompt (flat index
    t * N + n, the rollout's order), log πT and the oracle planner's action. A step whose
    teacher call fails (``guard``) acts uniformly at random and is marked in ``failed``;
    the update leaves such steps out.
    """

    def __init__(self, learner: Any, num_envs: int, num_steps: int, guard: TeacherGuard,
                 prompt_style: str = "short") -> None:
        self.learner = learner
        self.prompt_style = prompt_style
        self.guard = guard
        self.num_envs = num_envs
        num_scored = len(learner.teacher.actions)
        if num_scored > _core.NUM_ACTIONS:
            raise ValueError(
                f"the teacher scores {num_scored} actions, the envs have {_core.NUM_ACTIONS}"
            )
        self.prompts: list[str] = [""] * (num_steps * num_envs)
        self.logp: np.ndarray = np.zeros((num_steps, num_envs, num_scored), np.float32)
        self.oracle: np.ndarray = np.zeros((num_steps, num_envs), np.int64)
        self.failed: np.ndarray = np.zeros((num_steps, num_envs), np.bool_)

    def act(self, t: int, env: BidirVecEnv, env_offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        """log πT (n, 7) (-inf for actions the teacher does not score) and V (n,)."""
        lo, n = env_offset, env.num_envs
        prompts = env.prompts()
        start = t * self.num_envs + lo
        self.prompts[start : start + n] = prompts
        self.oracle[t, lo : lo + n] = env.expert_actions()
        if t == 0 and lo == 0:
            self.failed[:] = False
        ok, out = self.guard.call("act", self.learner.evaluate, prompts)
        if ok:
            logp, values = out
            good = finite_rows(logp) & np.isfinite(values)
            if not good.all():
                self.guard.count("act: non-finite rows", int((~good).sum()))
                logp, values = np.array(logp), np.array(values)
        else:
            logp, values = np.zeros((n, self.logp.shape[-1]), np.float32), np.zeros(n, np.float32)
            good = np.zeros(n, np.bool_)
        if not good.all():
            logp[~good] = -math.log(logp.shape[1])  # uniform over the scored actions
            values[~good] = 0.0
        self.failed[t, lo : lo + n] = ~good
        self.logp[t, lo : lo + n] = logp
        full = torch.full((n, _core.NUM_ACTIONS), -math.inf)
        full[:, : logp.shape[1]] = torch.from_numpy(logp)
        return full, torch.from_numpy(values)

    def values(self, images: np.ndarray, missions: np.ndarray) -> np.ndarray:
        """V of observations, from the prompts of their images and missions (a glam prompt
        of the observation alone: its episode's history is not at hand)."""
        from bidir_core.teacher.prompt import make_prompts

        sentences = _core.describe_images(np.ascontiguousarray(images))
        goals = mission_strings(missions)
        if self.prompt_style == "glam":
            prompts = [_core.glam_prompt(m, [s], []) for m, s in zip(goals, sentences)]
        else:
            prompts = make_prompts(goals, sentences)
        ok, out = self.guard.call("value", self.learner.evaluate, prompts)
        if not ok or not np.isfinite(out[1]).all():
            if ok:
                self.guard.count("value: non-finite")
            return np.zeros(len(prompts), np.float32)  # bootstrap from 0 when the teacher fails
        return out[1]


def explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    """1 - Var(returns - values) / Var(returns) (NaN when the returns are constant)."""
    var = float(np.var(returns))
    return math.nan if var == 0 else 1.0 - float(np.var(returns - values)) / var


class GlamMode(ModeHooks):
    """``glam``: the teacher acts and learns by PPO with its own value head; no student."""

    name = "glam"
    metric_names: tuple[str, ...] = (
        "probe_agreement", "probe_agreement_determined", "probe_expert_prob", "teacher_agreement",
        "teacher_entropy", "teacher_version", "teacher_failures", "time_probe",
        "time_teacher_update",
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        from bidir_core.teacher import actions_for_task, load_teacher
        from bidir_core.teacher.learner import TeacherPPO, TeacherPPOConfig

        tc: TeacherModeConfig = config.teacher.validate()
        ppo = config.ppo
        if ppo.target_kl is not None:
            raise ValueError("ppo.target_kl is not supported by the glam mode (set it to None)")
        self.config = config
        self.tc = tc
        self.teacher: Teacher = load_teacher(
            tc.name,
            actions=actions_for_task(config.task),
            temperature=tc.temperature,
            batch_size=tc.max_batch,
            device=tc.torch_device,
            dtype=tc.dtype,
        )
        self.learner: TeacherPPO = TeacherPPO(
            self.teacher,
            TeacherPPOConfig(
                **{**shared_ppo_fields(ppo), "learning_rate": tc.teacher_lr},
                **lora_ppo_fields(tc.lora),
                minibatch_size=-(-config.steps_per_iteration // ppo.num_minibatches),
                micro_batch=tc.micro_batch,
                value_head=True,
                seed=config.seed,
            ),
        )
        self.guard: TeacherGuard = TeacherGuard(tc.call_timeout_s)
        self._actor = TeacherActor(self.learner, config.num_envs, config.num_steps, self.guard,
                                   tc.prompt_style)
        self.oracle_probe: OracleProbe = OracleProbe(
            config.task, tc.probe_states, config.seed, tc.prompt_style
        )

    def probe(self) -> dict[str, float]:
        """The teacher's agreement with the oracle on the fixed probe states (guarded)."""
        return self.oracle_probe.guarded(self.guard, self.teacher.action_logprobs)

    def sim_steps(self) -> int:
        return self.oracle_probe.sim_steps

    # -- hooks ---------------------------------------------------------------------------
    def prompt_style(self) -> str:
        return self.tc.prompt_style

    def actor(self) -> TeacherActor:
        return self._actor

    def after_update(self, ctx: UpdateContext) -> dict[str, float]:
        """PPO on the teacher over the rollout (GAE already computed); its metrics.

        Steps whose teacher call failed are left out of the update; a failed update is
        skipped (the teacher stays as it was) and counted in ``teacher_failures``."""
        rollout, iteration = ctx.rollout, ctx.iteration
        out: dict[str, float] = {}
        last = self.config.total_iterations
        if OracleProbe.due(iteration, self.tc.probe_every, last):
            t0 = time.perf_counter()
            out.update(self.probe())  # the teacher this rollout used, before its update
            out["time_probe"] = time.perf_counter() - t0
        good = ~self._actor.failed.ravel()
        logp = self._actor.logp.reshape(-1, self._actor.logp.shape[-1])[good]
        if good.any():
            out["teacher_agreement"] = float((logp.argmax(1) == self._actor.oracle.ravel()[good]).mean())
            out["teacher_entropy"] = float(-(np.exp(logp) * logp).sum(1).mean())
        frac = linear_decay(1.0, iteration - 1, last) if self.config.ppo.anneal_lr else 1.0
        self.learner.scale_lr(frac)
        rows = np.flatnonzero(good)
        ok, res = False, None
        if rows.size:
            t0 = time.perf_counter()
            ok, res = self.guard.call(
                "teacher update",
                self.learner.update,
                [self._actor.prompts[i] for i in rows.tolist()],
                rollout.actions.ravel()[rows],
                rollout.advantages.ravel()[rows],
                rollout.logprobs.ravel()[rows],
                returns=rollout.returns.ravel()[rows],
                old_values=rollout.values.ravel()[rows],
            )
            out["time_teacher_update"] = time.perf_counter() - t0
        if ok:
            out.update(
                policy_loss=res["policy_loss"],
                value_loss=res["value_loss"],
                entropy=res["entropy"],
                approx_kl=res["approx_kl"],
                clipfrac=res["clipfrac"],
                teacher_version=res["version"],
            )
        out.update(
            explained_variance=explained_variance(rollout.values.ravel(), rollout.returns.ravel()),
            learning_rate=self.learner.optimizer.param_groups[0]["lr"],
        )
        out.update(self.guard.metrics(reset=True))
        return out

    def close(self) -> None:
        self.guard.close()

    def state_dict(self) -> dict[str, Any]:
        return {"learner": self.learner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.learner.load_state_dict(state["learner"])


register_mode("glam", GlamMode)
