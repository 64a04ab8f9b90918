"""The ``bidir`` mode: ``teach`` plus the student's feedback updating the teacher.

After each student update the rollout's queries are judged by the student, and the
normalised feedback updates the teacher: a clipped policy-gradient step on the LM
(``parametric``), the C++ per-(prompt, action) feedback table added to the teacher's
logits (``table``), or both. The student judges either the action taken
(``feedback_source="td"``: the query's truncated importance ratio times the
lambda-discounted TD errors of the steps its hint covered, ``FeedbackAggregator``) or, by
default, every suggestion by lookahead from the query's saved state (``"lookahead"``,
``CriticLookahead``; its env steps are counted in ``sim_steps``). Why the defaults are
what they are: ``docs/decisions.md``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from bidir_core.feedback import (
    FeedbackAggregator,
    improvement_targets,
    prompt_relative,
    suggestion_advantages,
)
from bidir_core.teacher.guard import finite_rows
from bidir_core.training.modes.base import UpdateContext, register_mode
from bidir_core.training.modes.config import linear_decay, lora_ppo_fields
from bidir_core.training.modes.teach import TeachMode

if TYPE_CHECKING:
    from bidir_core.feedback.action_value import ActionValueCritic
    from bidir_core.feedback.lookahead import CriticLookahead
    from bidir_core.teacher.learner import TeacherPPO

__all__ = ["BidirMode"]


class BidirMode(TeachMode):
    """``bidir``: ``teach`` plus the student's feedback updating the teacher."""

    name = "bidir"
    updates_teacher = True
    metric_names: tuple[str, ...] = TeachMode.metric_names + (
        "feedback_mean", "feedback_std", "feedback_positive", "feedback_window",
        "feedback_grounded", "teacher_policy_loss", "teacher_lr", "teacher_version",
        "table_entries", "qhead_loss", "time_lookahead", "time_teacher_update",
        "time_update_wait",
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        from bidir_core.teacher.learner import TeacherPPO, TeacherPPOConfig

        tc = self.tc
        self.aggregator: FeedbackAggregator = FeedbackAggregator(
            gamma=config.ppo.gamma,
            lam=tc.feedback_lambda,
            rho_max=tc.rho_max,
            clip=tc.feedback_clip,
            eps=tc.feedback_eps,
        )
        self.learner: TeacherPPO | None = None
        self._pending: Any = None  # the LM update in flight (update_async)
        if tc.feedback in ("parametric", "both"):
            self.learner = TeacherPPO(
                self.teacher,
                TeacherPPOConfig(
                    learning_rate=tc.teacher_lr,
                    **lora_ppo_fields(tc.lora),
                    update_epochs=tc.teacher_epochs,
                    micro_batch=tc.micro_batch,
                    ent_coef=tc.teacher_entropy_coef,
                    seed=config.seed,
                ),
            )
        if self.learner is not None and self.replicated:
            # a replica gets the weights of published versions, never an update in flight's
            self.policy.keep_published_weights()
        self._teacher_lp = np.zeros((config.num_steps, config.num_envs), np.float32)
        self.lookahead: CriticLookahead | None = None
        if tc.feedback_source == "lookahead" and tc.hint_input:
            raise ValueError(
                "teacher.feedback_source='lookahead' reads the student's critic without hints: "
                "turn teacher.hint_input off, or use teacher.feedback_source='td'"
            )
        if tc.feedback_source == "lookahead":
            from bidir_core.feedback.lookahead import CriticLookahead

            self.hints.record_states = True
            self.lookahead = CriticLookahead(
                config.task, len(self.teacher.actions), config.ppo.gamma,
                horizon=tc.lookahead_horizon,
            )
            self._sampler = np.random.default_rng([config.seed, 1729])
        self.qcritic: ActionValueCritic | None = None
        if tc.feedback_source == "qhead":
            from bidir_core.feedback.action_value import ActionValueCritic
            from bidir_core.student.network import MissionTokenizer

            self.qcritic = ActionValueCritic(
                MissionTokenizer(config.max_mission_tokens).vocab_size, config.hidden,
                len(self.teacher.actions), seed=config.seed + 31337,
            )
            self._sampler = np.random.default_rng([config.seed, 1729])

    def query_logprobs(self, idx: np.ndarray, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """log piT (B, A) of every query, the update's old log-probs, and which rows are
        usable: the answers the service served during the rollout, and for the queries
        it had not answered yet one guarded synchronous scoring (``score_unanswered``)."""
        logp, good = super().query_logprobs(idx, prompts)
        if not self.tc.score_unanswered_resolved:
            return logp, good
        missing = np.flatnonzero(~good)
        if missing.size:
            ok, scored = self.guard.call("score queries", self.policy.action_logprobs,
                                         [prompts[i] for i in missing.tolist()])
            if ok:
                fine = finite_rows(scored)
                self.guard.count("score queries: non-finite rows", int((~fine).sum()))
                logp[missing[fine]] = np.asarray(scored)[fine]
                good[missing[fine]] = True
        return logp, good

    def lora_settings(self) -> dict[str, int] | None:
        return self.tc.lora if self.tc.feedback in ("parametric", "both") else None

    def after_update(self, ctx: UpdateContext) -> dict[str, float]:
        # the previous iteration's update (update_async) is published before the probe
        # measures the teacher and before this rollout's feedback updates it again
        pending = self.finish_update()
        if self.learner is not None and self.tc.teacher_anneal_lr:
            self.learner.scale_lr(linear_decay(1.0, ctx.iteration - 1, self.config.total_iterations))
        out = {**pending, **super().after_update(ctx)}
        if self.learner is not None:
            out["teacher_lr"] = float(self.learner.optimizer.param_groups[0]["lr"])
        return out

    def teacher_update(self, ctx: UpdateContext, idx: np.ndarray, prompts: list[str],
                       logp: np.ndarray) -> dict[str, float]:
        if self.lookahead is not None:
            return self._lookahead_update(ctx, idx, prompts, logp)
        if self.qcritic is not None:
            return self._qhead_update(ctx, idx, prompts, logp)
        rollout = ctx.rollout
        actions = rollout.actions.ravel()[idx]
        # The teacher scores only its own candidates (not "done"): other actions have
        # piT = 0, so their feedback is weighted 0 and they are left out of its update.
        scored = actions < logp.shape[1]
        rows = np.arange(idx.size)
        teacher_lp = np.full(idx.size, -np.inf, np.float32)
        teacher_lp[scored] = logp[rows[scored], actions[scored]]
        self._teacher_lp.ravel()[idx] = teacher_lp
        fb = self.aggregator(
            rewards=rollout.rewards, values=rollout.values, terminated=rollout.terminated,
            truncated=rollout.truncated, final_values=rollout.final_values,
            next_values=ctx.next_values, queries=self.hints.queries,
            teacher_logprobs=self._teacher_lp, behaviour_logprobs=rollout.logprobs,
        )
        if self.tc.feedback_baseline == "prompt":
            advantages = prompt_relative(
                fb.advantages.ravel()[idx], fb.ratios.ravel()[idx], self.hints.hashes.ravel()[idx],
                scale=math.sqrt(self.aggregator.stats.var) + self.aggregator.eps,
                clip=self.aggregator.clip,
            )[scored]
        else:
            advantages = fb.normalized.ravel()[idx][scored]
        prompts = [p for p, ok in zip(prompts, scored.tolist()) if ok]
        actions, logp = actions[scored], logp[scored]
        stats = fb.stats()
        out = {
            "feedback_mean": stats.get("feedback/raw_mean", math.nan),
            "feedback_std": stats.get("feedback/raw_std", math.nan),
            "feedback_positive": stats.get("feedback/positive_fraction", math.nan),
            "feedback_window": stats.get("feedback/window_mean", math.nan),
        }
        if not prompts:
            return out
        hashes = self.hints.hashes.ravel()[idx][scored]
        table_rows = (hashes, actions, advantages.astype(np.float32))
        return self._update_teacher(out, prompts, actions, advantages, logp, table_rows)

    def _lookahead_update(self, ctx: UpdateContext, idx: np.ndarray, prompts: list[str],
                          logp: np.ndarray) -> dict[str, float]:
        """``feedback_source="lookahead"``: the student's Q of every suggestion from short
        rollouts in scratch envs (``CriticLookahead``, counted in ``sim_steps``); with
        ``lookahead_grounded`` only queries where some rollout was rewarded teach."""
        assert self.lookahead is not None
        states = [self.hints.states[i] for i in idx.tolist()]
        t0 = time.perf_counter()
        q = self.lookahead(states, ctx.student, ctx.tokenizer)
        self._sim_steps += self.lookahead.last_steps
        grounded = {"feedback_grounded": 1.0, "time_lookahead": time.perf_counter() - t0}
        if self.tc.lookahead_grounded:
            keep = self.lookahead.rewarded.any(axis=1)
            grounded["feedback_grounded"] = float(keep.mean())
            if not keep.any():  # nothing the student achieved judges these suggestions
                return grounded
            idx, q, logp = idx[keep], q[keep], logp[keep]
            prompts = [p for p, ok in zip(prompts, keep.tolist()) if ok]
        return self._suggestion_update(grounded, idx, prompts, logp, q)

    def _qhead_update(self, ctx: UpdateContext, idx: np.ndarray, prompts: list[str],
                      logp: np.ndarray) -> dict[str, float]:
        """``feedback_source="qhead"``: Q of every suggestion from the student's
        action-value head, fitted to this rollout's returns first (no simulator steps)."""
        assert self.qcritic is not None and ctx.missions is not None
        t0 = time.perf_counter()
        loss = self.qcritic.fit(ctx.rollout, ctx.missions)
        q = self.qcritic(ctx.rollout, ctx.missions, idx)
        out = {"qhead_loss": loss, "time_lookahead": time.perf_counter() - t0}
        return self._suggestion_update(out, idx, prompts, logp, q)

    def _suggestion_update(self, out: dict[str, float], idx: np.ndarray, prompts: list[str],
                           logp: np.ndarray, q: np.ndarray) -> dict[str, float]:
        """The teacher's update from Q (B, A) of every suggestion: centred on its mean under
        piT, scaled by its std plus ``feedback_eps`` and clipped to z; the LM learns from
        one suggestion per query sampled from piT (``lookahead_update="sample"``) or from
        all of them towards piT exp(z / eta) (``"target"``); the table learns from all of
        them (why: ``docs/decisions.md``)."""
        p, adv, z = suggestion_advantages(q, logp, eps=self.tc.feedback_eps,
                                          clip=self.tc.feedback_clip)
        rows = np.arange(len(idx))
        if self.tc.lookahead_update == "target":
            actions = p.argmax(axis=1)  # feedback statistics: the teacher's own pick
        else:
            cumulative = p.cumsum(axis=1)
            draws = self._sampler.random(len(idx))[:, None]
            actions = np.minimum((cumulative < draws).sum(axis=1), p.shape[1] - 1)
        chosen = adv[rows, actions]
        out = {
            "feedback_mean": float(chosen.mean()),
            "feedback_std": float(chosen.std()),
            "feedback_positive": float((chosen > 0).mean()),
            "feedback_window": 1.0,
            **out,
        }
        k = p.shape[1]
        table_rows = (np.repeat(self.hints.hashes.ravel()[idx], k),
                      np.tile(np.arange(k), len(idx)), z.ravel().astype(np.float32))  # fmt: skip
        advantages = z[rows, actions].astype(np.float32)
        target_z = z if self.tc.lookahead_update == "target" else None
        return self._update_teacher(out, prompts, actions, advantages, logp, table_rows,
                                    target_z=target_z)

    def _update_teacher(self, out: dict[str, float], prompts: list[str], actions: np.ndarray,
                        advantages: np.ndarray, logp: np.ndarray,
                        table_rows: tuple[np.ndarray, np.ndarray, np.ndarray], *,
                        target_z: np.ndarray | None = None) -> dict[str, float]:
        """Apply one rollout's feedback: the LM's clipped policy-gradient step on (prompt,
        action, advantage) with old log-probs from ``logp`` (B, A) (``parametric``) or, with
        ``target_z`` (B, A), its cross-entropy step towards piT exp(z / eta); the table's
        update on ``table_rows`` = (hashes, actions, feedback) (``table``); then publish the
        new teacher version; adds their metrics to ``out`` and returns it."""
        if self.tc.feedback in ("table", "both"):
            self.table.update(*table_rows)
        if self.learner is None:
            out.update(self._published(None))
            return out
        t0 = time.perf_counter()
        call = self.guard.start("teacher update", self._lm_step, prompts, actions, advantages,
                                logp, target_z)
        if self.tc.update_async_resolved:
            self._pending = call  # published by finish_update, before the next probe
        else:
            out.update(self._published(call))
        out["time_teacher_update"] = time.perf_counter() - t0
        return out

    def _published(self, call: Any) -> dict[str, float]:
        """Wait for a started LM update (None: none), publish the new teacher (LM and
        table); its metrics."""
        out: dict[str, float] = {}
        if call is not None:
            ok, res = self.guard.finish(call)
            if ok:
                out["teacher_policy_loss"] = float(res.get("policy_loss", math.nan))
        self.policy.publish()
        out["teacher_version"] = float(self.policy.version)
        out["table_entries"] = float(len(self.table))
        return out

    def finish_update(self) -> dict[str, float]:
        """Wait for the LM update in flight (``update_async``) and publish it; its metrics
        and ``time_update_wait``, the seconds the loop waited ({} when none is in flight)."""
        call, self._pending = self._pending, None
        if call is None:
            return {}
        t0 = time.perf_counter()
        out = self._published(call)
        out["time_update_wait"] = time.perf_counter() - t0
        return out

    def _lm_step(self, prompts: list[str], actions: np.ndarray, advantages: np.ndarray,
                 logp: np.ndarray, target_z: np.ndarray | None) -> dict[str, float]:
        rows = np.arange(len(prompts))
        # the LM's own log-probs (``logp`` holds the table's correction when it has one)
        base = self.teacher.action_logprobs(prompts) if len(self.table) else logp
        if not finite_rows(base).all():
            raise ValueError("the teacher's log-probs of the queries are not finite")
        if target_z is not None:
            return self.learner.fit_targets(
                prompts, improvement_targets(base, target_z, self.tc.target_temperature)
            )
        return self.learner.update(prompts, actions, advantages, base[rows, actions])

    def close(self) -> None:
        self.finish_update()
        super().close()
        if self.lookahead is not None:
            self.lookahead.close()

    def state_dict(self) -> dict[str, Any]:
        self.finish_update()  # a checkpoint holds the teacher after every update it was given
        state = super().state_dict()
        state["feedback"] = self.aggregator.state_dict()
        if self.qcritic is not None:
            state["qhead"] = self.qcritic.state_dict()
            state["sampler"] = self._sampler.bit_generator.state
        state["published_version"] = self.policy.version
        state["teacher_version"] = self.teacher.version
        if self.learner is not None:
            state["teacher_model"] = self.teacher.model.state_dict()
            state["teacher_optimizer"] = self.learner.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.aggregator.load_state_dict(state["feedback"])
        if self.qcritic is not None:
            self.qcritic.load_state_dict(state["qhead"])
            self._sampler.bit_generator.state = state["sampler"]
        self.policy.version = int(state["published_version"])
        with self.teacher.lock:
            if self.learner is not None:
                self.teacher.model.load_state_dict(state["teacher_model"])
                self.learner.optimizer.load_state_dict(state["teacher_optimizer"])
            self.teacher.version = int(state["teacher_version"])
            if self.policy.published is not None:
                self.policy.keep_published_weights()


register_mode("bidir", BidirMode)
