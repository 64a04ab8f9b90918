"""The teacher modes of the trainer (SPEC.md §4): ``teach`` and ``bidir``.

Both run the student's PPO loop with a teacher LM behind the asynchronous service:

* every ``query_every`` steps of an env (and at the first step of each episode) the env's
  prompt hash, computed in C++, is submitted to the ``TeacherService``; the student reads
  the latest hint of every env each step (never waiting for the LM);
* teacher -> student, each switchable: the hint as an input of the student's network
  (``hint_input``), the guidance loss beta_k * CE(piT, piS) with beta annealed to 0
  (``guidance_coef``), and guided exploration, where the executed action is drawn from
  (1 - eps_k) piS + eps_k piT (``explore_eps``; by default the only one on, and constant);
* ``bidir`` adds student -> teacher: after each student update the rollout's queries are
  judged by the student's critic, and the normalised feedback updates the teacher: a
  clipped policy-gradient step on the LM (``parametric``), the C++ per-(prompt, action)
  feedback table added to the teacher's logits (``table``), or both. The critic judges
  either the action taken (``feedback_source="td"``, SPEC.md §4, ``FeedbackAggregator``:
  the query's truncated importance ratio times the lambda-discounted TD errors of the
  steps its hint covered) or, by default, every suggestion by one step of lookahead from
  the query's saved state (``"lookahead"``, ``CriticLookahead``).

``teach`` keeps the teacher frozen: the one-directional baseline.

Why the defaults of the TD feedback path are what they are (seed 0, GoToRedBallNoDists,
tiny teacher, probe agreement 0.812 at the start, 25.6k-frame runs; details in the field
docstrings):

* the importance ratio weights the *normalised* advantage (``FeedbackAggregator``). With
  the ratio inside the normalisation, queries on actions the teacher never proposes got
  ``-mean/std`` as their advantage, and the teacher drifted onto "toggle"/"drop" whenever
  the critic's running mean went negative (probe agreement 0.81 -> 0.64);
* every step is a query (``query_every=1``): 4x the samples, each feedback the TD error of
  the one action it judges, and a faster student (teach: mean success 0.97 vs 0.85 over
  the first 25.6k frames);
* the advantage is centred per prompt (``feedback_baseline="prompt"``). The student's
  advantage of its own action is ~0 once its critic is good, and the critic is biased state
  by state; centred on one running mean, every action taken in a state the critic
  over-values is pushed down and the teacher's mass escapes to actions nobody takes: with
  ``teacher_lr=1e-4`` agreement went 0.81 -> 0.84 in one run and 0.83 -> 0.74 (36 of 256
  probe states answered "toggle") in its repeat; with 3e-5 it rose 0.81 -> 0.84 by 30k
  frames and fell to 0.78 by 51k (16 probe states answered "drop"). Centred per prompt
  (51.2k frames, lr 1e-4) nothing escapes: expert-action probability 0.76 -> 0.80 and
  stays, argmax agreement flat at 0.80 (0.93 where the goal is visible);
* ``teacher_lr=1e-4`` (3e-4 was unstable, 0.81 -> 0.65), no entropy bonus, the std floor
  ``feedback_eps``;
* the student learns from its reward and tries the teacher's suggestions: guided
  exploration with a constant eps = 0.25, no hint input, no guidance loss, and
  ``rho_max`` = 1 / eps. The critic judges the actions the student takes, so it can only
  correct a teacher suggestion the student tries, and only where the student knows
  better. With hint input and guidance the student copied the tiny teacher's wrong turn
  (left, where the ball is straight to the right), the critic found it fine, and bidir
  made the teacher surer of it (piT(left) 0.5 -> 0.99 there; determined agreement 0.91 ->
  0.90). With these settings the same run ends at 0.95, and the teacher turns right
  there; but in a longer run of the same seed the student itself settled on the three
  left turns and the TD feedback followed it (0.90 at 51.2k frames), which is why the
  default ``feedback_source`` is ``lookahead`` (0.91 -> 0.985 in 25.6k frames).

``probe_agreement`` also counts states the feedback cannot fix: a quarter of the probe
states do not show the goal, and there the oracle (which sees the whole grid) picks a
turn the prompt cannot determine; the teacher drifts towards the student's search habit
there (0.50 -> 0.33 agreement in that run). ``probe_agreement_determined`` leaves those
states out (``OracleProbe``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bidir_core import _core
from bidir_core.feedback import FeedbackAggregator, FeedbackTable
from bidir_core.rollout import RolloutBuffer
from bidir_core.student.ppo import ExtraLoss
from bidir_core.training.modes import ModeHooks, register_mode
from bidir_core.vector_env import BidirVecEnv

__all__ = ["TEACHER_MODES", "BidirMode", "CorrectedTeacher", "OracleProbe", "TeachMode", "TeacherHints", "TeacherModeConfig"]

FEEDBACK_KINDS = ("parametric", "table", "both")
FEEDBACK_BASELINES = ("running", "prompt")
FEEDBACK_SOURCES = ("td", "lookahead")
LOOKAHEAD_UPDATES = ("target", "sample")
TEACHER_MODES = ("teach", "bidir")


@dataclass
class TeacherModeConfig:
    """Settings of the ``teach`` and ``bidir`` modes (ignored by ``ppo``)."""

    name: str = "tiny"
    """Teacher: ``tiny``, ``smollm2-135m``, a local model folder or a cached HF model id."""
    query_every: int = 1
    """k: steps between an env's teacher queries (an episode's first step always asks).
    1 by default: every step is a query, so bidir gets 4x the feedback samples of k = 4 and
    each query's window is its own step (feedback = the TD error of the action taken,
    not a sum that also holds the TD errors of the k - 1 later, unqueried actions), and
    the student gets a fresh hint every step: in teach its mean success over the first
    25.6k frames is 0.97 with k = 1 vs 0.85 with k = 4 (seed 0). Costs ~4x teacher calls."""
    temperature: float = 1.0
    """Softmax temperature of piT over the action strings."""
    hint_input: bool = False
    """Feed the latest hint to the student's network (zeros when off). Off by default: a
    student that reads the hint (or imitates it, ``guidance_coef``) copies the teacher's
    mistakes, and its critic then only ever judges the teacher's choice. On
    GoToRedBallNoDists the tiny teacher turns left where the ball is straight to the
    right; with hint input and guidance the student learned the same three turns, its
    critic found them fine, and bidir drove piT(left) there from 0.5 to 0.99 (seed 0,
    25.6k frames). A student that learns from its reward finds the one right turn, and
    its feedback corrects the teacher (see ``rho_max``)."""
    guidance_coef: float = 0.0
    """beta_0 of the guidance loss beta_k * CE(piT, piS) (0: off; off by default for the
    reason given under ``hint_input``)."""
    guidance_frames: int = 50_000
    """Frames over which beta falls linearly to 0 (0: never annealed)."""
    explore_eps: float = 0.25
    """eps_0 of guided exploration: P(the executed action is drawn from piT) (0: off;
    ``glam`` ignores it, its teacher acts anyway). The
    default teacher -> student channel, and what lets the student's critic judge the
    teacher's own suggestions: the actions the student would not take are tried, and the
    TD errors that follow are their feedback."""
    explore_frames: int = 0
    """Frames over which eps falls linearly to 0 (0, the default: never annealed, so the
    teacher's suggestions keep being tried and judged)."""
    feedback: str = "parametric"
    """bidir: how feedback updates the teacher: parametric, table or both."""
    feedback_source: str = "lookahead"
    """bidir: what judges a teacher query. ``td`` (SPEC.md §4): the truncated importance
    ratio times the student's TD errors over the steps the hint covered, i.e. the critic's
    verdict on the action the student actually took. ``lookahead``: the student's verdict
    on every action the teacher could suggest, Q(s, a) from a copy of the env (saved with
    the query): the action, then the student's greedy policy for ``lookahead_horizon`` - 1
    steps, then its value; minus the mean over piT (see ``lookahead_update`` for how the
    teacher learns from it; the table learns from all actions). ``td`` can only correct
    the teacher where the student tries something else; ``lookahead`` also where student
    and teacher share a habit (needs ``hint_input`` off: the student is read without
    hints). Over 51.2k frames (GoToRedBallNoDists, tiny teacher, seeds 0, 1, 2) the
    teacher's agreement where the prompt determines the oracle went 0.91 -> 0.98, 0.89 ->
    0.93, 0.91 -> 0.97 with the default ``lookahead`` (0.94, 0.91, 0.97 without
    ``lookahead_grounded``); 0.91 -> 0.89, 0.89 -> 0.97, 0.91 -> 0.98 with its one-step
    version (horizon 1, not grounded); with ``td`` 0.90 -> 0.91 +- 0.05 on average (one
    seed's student and teacher settled on the three left turns)."""
    lookahead_update: str = "sample"
    """bidir with ``feedback_source="lookahead"``: how the LM learns from the scaled
    advantages z(a) of every action. ``sample``: the clipped policy gradient on one action
    per query sampled from piT (on-policy). ``target``: cross-entropy towards
    q(a) ~ piT(a) exp(z(a) / ``target_temperature``), the KL-regularised improvement of
    piT, whose gradient piT - q on the logits does not vanish where piT is sure of an
    action. ``sample`` stops learning where the teacher is sure (the one action it
    samples has advantage ~0 against its own mean), and that is what keeps it: over
    51.2k frames (3 seeds, ``lookahead_horizon`` 16) determined agreement rose to 0.94-0.97
    by 2.5k-7.5k frames and stayed near it (0.91 -> 0.94, 0.89 -> 0.91, 0.91 -> 0.97), while ``target`` followed every
    later turn of the student's judgement: 0.96-0.97 at 2.5k-5k frames, then 0.73-0.76,
    0.66-0.69 on two seeds (0.73, 0.88, 0.92 at the end with horizon 1)."""
    lookahead_horizon: int = 16
    """bidir with ``feedback_source="lookahead"``: steps H of each suggestion's lookahead:
    the suggested action, then H - 1 greedy actions of the student, then the student's
    value (1: r + gamma V_S(s') on the critic alone; see ``CriticLookahead``). Once the
    student has converged, one step more costs ~0.014 of return on GoToRedBallNoDists,
    about the critic's error: on the states whose prompt determines the oracle's action
    the lookahead's best action was the oracle's on 71% / 62% (two trained students)
    with H = 1, 82% / 64% with H = 4, 98% / 82% with H = 16 (no better with 64). Costs
    ~0.1 s per iteration at 16."""
    lookahead_grounded: bool = True
    """bidir with ``feedback_source="lookahead"``: the teacher learns only from the queries
    where the rollout of at least one suggestion earned a reward inside the horizon (the
    ``feedback_grounded`` metric is their fraction). Elsewhere every Q is the critic's
    guess at the horizon: on GoToLocal after 10k frames (student success ~0.5) the
    lookahead's best action was the oracle's on 91% of the states with a rewarded
    rollout and on 45% of the others, where the teacher itself was right on 47%. There
    (3 seeds, 40 iterations) the teacher's agreement went 0.59 -> 0.57 with the filter,
    0.59 -> 0.54 without; on GoToRedBallNoDists (200 iterations) its determined agreement
    0.90 -> 0.96 with it, 0.90 -> 0.94 without."""
    target_temperature: float = 1.0
    """eta of ``lookahead_update="target"``, in units of the scaled advantage z (z is
    clipped to +-``feedback_clip``): smaller moves piT further per update."""
    feedback_lambda: float = 0.95
    """lambda of the window sum of TD errors."""
    rho_max: float = 4.0
    """Truncation of the importance ratio piT(a|x) / mu(a|s). It weights the normalised
    advantage (a query on an action the teacher would not propose counts ~0). With
    guided exploration mu >= eps piT, so the ratio of a teacher suggestion is at most
    1 / eps: the default 4 = 1 / ``explore_eps`` keeps the suggestions the student only
    tries when exploring at full weight. With 1 they were weighted down 4x and the
    feedback did not move the teacher (probe agreement flat at 0.80 over 25.6k frames,
    seed 0; 0.81 -> 0.87 at 12.8k frames with 4, seed 1)."""
    feedback_clip: float = 3.0
    """Normalised feedback is clipped to [-clip, clip]."""
    feedback_eps: float = 0.1
    """Added to the running std before dividing (reward units): once the student has
    converged its TD errors are near-zero noise, which must not be blown up to unit scale."""
    feedback_baseline: str = "prompt"
    """What each query's advantage is centred on: ``running`` (the running mean of all
    queries' feedback, SPEC.md §4) or ``prompt`` (the mean feedback of this rollout's
    queries of the same prompt; a prompt queried once gets 0). The student's critic can
    be biased state by state (e.g. over-optimistic where the goal is out of view); with a
    global centre, every action the student takes in such a state looks bad, the teacher
    pushes them all down and its probability mass escapes to actions nobody takes
    ("toggle"). Centring per prompt keeps only the critic's preference between actions."""
    teacher_lr: float = 1e-4
    """AdamW learning rate of the teacher's parametric update (3e-5 barely moved the
    teacher; 3e-4 was unstable; the ``glam`` mode reads it too)."""
    teacher_anneal_lr: bool = False
    """bidir: anneal ``teacher_lr`` linearly to 0 over the run, as the student's is
    (``ppo.anneal_lr``) and glam's teacher's. Off by default: the teacher then keeps
    learning from the student's judgement at full rate after the student has converged."""
    teacher_epochs: int = 2
    """Passes over each rollout's queries in the teacher update."""
    teacher_entropy_coef: float = 0.0
    """Entropy bonus of the teacher update (0: none; a bonus flattens the pretrained
    teacher once the student's feedback grows small)."""
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
    """Oldest teacher version whose cached answers are served (versions behind; the
    version advances once per teacher update, i.e. once per iteration in bidir)."""
    hint_wait: float = 0.2
    """Seconds a query step waits for its answers (0: never wait, act on older hints)."""

    def validate(self) -> TeacherModeConfig:
        """Raise ValueError / TypeError naming the first bad field; return self."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("teacher.name must be a non-empty string")
        for name, low in (("query_every", 1), ("guidance_frames", 0), ("explore_frames", 0),
                          ("teacher_epochs", 1), ("max_batch", 1), ("max_staleness", 0),
                          ("probe_states", 1), ("probe_every", 1), ("lookahead_horizon", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"teacher.{name} must be an int, got {type(value).__name__}")
            if value < low:
                raise ValueError(f"teacher.{name} must be >= {low}, got {value}")
        for name, lo, hi in (("temperature", 0.0, math.inf), ("guidance_coef", 0.0, math.inf),
                             ("explore_eps", 0.0, 1.0), ("feedback_lambda", 0.0, 1.0),
                             ("rho_max", 0.0, math.inf), ("feedback_clip", 0.0, math.inf),
                             ("feedback_eps", 0.0, math.inf),
                             ("teacher_lr", 0.0, math.inf), ("table_alpha", 0.0, math.inf),
                             ("teacher_entropy_coef", 0.0, math.inf),
                             ("target_temperature", 0.0, math.inf),
                             ("table_rate", 0.0, 1.0), ("hint_wait", 0.0, 60.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"teacher.{name} must be a number, got {type(value).__name__}")
            strict = name in ("temperature", "rho_max", "feedback_clip", "feedback_eps", "teacher_lr",
                              "table_rate", "target_temperature")
            if not (lo <= value <= hi) or (strict and value == lo) or not math.isfinite(value):
                raise ValueError(f"teacher.{name} is out of range: {value}")
        for name in ("hint_input", "lookahead_grounded", "teacher_anneal_lr"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"teacher.{name} must be a bool")
        for name, choices in (("feedback_baseline", FEEDBACK_BASELINES), ("feedback", FEEDBACK_KINDS),
                              ("feedback_source", FEEDBACK_SOURCES),
                              ("lookahead_update", LOOKAHEAD_UPDATES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"teacher.{name} must be one of {', '.join(choices)}, "
                                 f"got {getattr(self, name)!r}")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TeacherModeConfig:
        """Build and validate from a dict (config.json's ``teacher``); unknown keys raise."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown teacher option(s) {sorted(unknown)}")
        return cls(**values).validate()


def linear_decay(start: float, frames: int, total: int) -> float:
    """start at frame 0, falling linearly to 0 at ``total`` frames (total 0: always start)."""
    if total == 0:
        return start
    return start * max(0.0, 1.0 - frames / total)


class CorrectedTeacher:
    """A teacher whose logits get ``alpha * table[hash(prompt)]`` added (non-parametric update).

    Presents the ``Teacher`` interface the service needs (``actions``, ``version``,
    ``action_logprobs``, ``lock``). ``version`` is advanced by ``publish()`` once per
    teacher update (LM optimizer steps and table update together), so the service's cache
    serves no answer older than ``max_staleness`` updates.
    """

    def __init__(self, teacher: Any, table: FeedbackTable, alpha: float) -> None:
        self.teacher = teacher
        self.table = table
        self.alpha = float(alpha)
        self.actions = teacher.actions
        self.lock = teacher.lock
        self.version = 0

    def publish(self) -> int:
        """Mark a teacher update (parameters, table or both); return the new version."""
        with self.lock:
            self.version += 1
            return self.version

    def correction(self, prompts: list[str]) -> np.ndarray:
        """alpha * table values (B, A) for the prompts (0 for unseen prompts)."""
        values = self.table.lookup(_core.hash_prompts(prompts))
        return self.alpha * values[:, : len(self.actions)]

    def action_logprobs(self, prompts: list[str]) -> np.ndarray:
        """log softmax(log piT + alpha * table) (B, A) float32."""
        with self.lock:
            base = self.teacher.action_logprobs(prompts)
            if len(self.table) == 0 or self.alpha == 0.0:
                return base
            logits = base.astype(np.float64) + self.correction(prompts)
            logits -= logits.max(axis=1, keepdims=True)
            logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return logits.astype(np.float32)


class OracleProbe:
    """Fixed oracle-labelled states of a task, on which a teacher's agreement is measured.

    ``probe_agreement``: argmax piT == the oracle's action; ``probe_expert_prob``: mean piT
    of the oracle's action; ``probe_agreement_determined``: the agreement on the probe
    states whose prompt determines the oracle's action. The oracle sees the whole grid, the
    prompt only what is in view: where the goal is out of sight, states with the same
    prompt get different oracle actions (which way the hidden goal lies), and no teacher
    of the prompt can agree with more than the most common of them. A probe state counts
    as determined when no state of a larger sample (``pool_factor`` x the probe, drawn the
    same way) has the same prompt and another oracle action.
    """

    pool_factor = 8

    def __init__(self, task: str, num_states: int, seed: int) -> None:
        from bidir_core.teacher import oracle_samples

        self.prompts, self.oracle = oracle_samples(task, num_states, seed=seed + 777)
        pool_prompts, pool_oracle = oracle_samples(
            task, self.pool_factor * num_states, seed=seed + 778
        )
        labels: dict[str, set[int]] = {}
        for prompt, action in zip(self.prompts + pool_prompts,
                                  np.concatenate([self.oracle, pool_oracle]).tolist()):
            labels.setdefault(prompt, set()).add(action)
        self.determined = np.array([len(labels[p]) == 1 for p in self.prompts])

    @staticmethod
    def due(iteration: int, every: int, last: int) -> bool:
        """Measure at the first and last iterations and every ``every`` in between."""
        return iteration == 1 or iteration % every == 0 or iteration == last

    def __call__(self, teacher: Any) -> dict[str, float]:
        """The agreement metrics of ``teacher`` (anything with ``action_logprobs``)."""
        logp = teacher.action_logprobs(self.prompts)
        ok = self.oracle < logp.shape[1]
        expert = np.zeros(len(self.oracle))
        expert[ok] = np.exp(logp[ok, self.oracle[ok]])
        agree = logp.argmax(1) == self.oracle
        return {
            "probe_agreement": float(agree.mean()),
            "probe_agreement_determined": (
                float(agree[self.determined].mean()) if self.determined.any() else math.nan
            ),
            "probe_expert_prob": float(expert.mean()),
        }


class TeacherHints:
    """The collector's hint source: queries the service, fills hints, records the queries.

    Per rollout it records, for every (step, env), whether a query was made (``queries``),
    its prompt hash and, where ``keep_prompts``, its text; and the oracle planner's action
    at the queried state (``oracle``), which scores the teacher's agreement.
    """

    def __init__(self, service: Any, num_envs: int, num_steps: int, query_every: int,
                 *, keep_prompts: bool, wait: float = 0.0) -> None:
        self.service = service
        self.wait = wait
        self.query_every = query_every
        self.keep_prompts = keep_prompts
        self.explore_eps = 0.0  # set by the mode before each rollout
        self.queries = np.zeros((num_steps, num_envs), np.bool_)
        self.hashes = np.zeros((num_steps, num_envs), np.uint64)
        self.oracle = np.zeros((num_steps, num_envs), np.int64)
        self.prompts: dict[int, str] = {}  # flat index t * N + n -> prompt text
        self.record_states = False  # keep each queried env's state (lookahead feedback)
        self.states: dict[int, dict[str, Any]] = {}  # flat index -> env.get_state()
        self._since = np.full(num_envs, query_every, np.int64)  # steps since the last query
        self.buffer: RolloutBuffer | None = None

    def fill_hints(self, t: int, env: BidirVecEnv, lo: int, hints: np.ndarray,
                   valid: np.ndarray) -> None:
        """Query where due for envs lo.. of ``env`` at step t; write their latest hints."""
        num_envs = self.queries.shape[1]
        hi = lo + env.num_envs
        if lo == 0:
            if t == 0:
                self.queries[:] = False
                self.prompts.clear()
                self.states.clear()
            else:
                self.service.tick()
        if t > 0 and self.buffer is not None:
            ended = self.buffer.terminated[t - 1, lo:hi] | self.buffer.truncated[t - 1, lo:hi]
            self._since[lo:hi][ended] = self.query_every
        due = np.flatnonzero(self._since[lo:hi] >= self.query_every)
        if due.size:
            hashes = env.prompt_hashes()
            ids = due + lo
            self.queries[t, ids] = True
            self.hashes[t, ids] = hashes[due]
            self.oracle[t, ids] = env.expert_actions()[due]
            if self.record_states:
                for i, flat in zip(due.tolist(), (t * num_envs + ids).tolist()):
                    self.states[flat] = env.get_state(i)
            if self.keep_prompts:
                texts = env.prompts(due)
                for i, text in zip(ids.tolist(), texts):
                    self.prompts[t * num_envs + i] = text
                self.service.submit(hashes[due], texts, env_ids=ids)
            else:
                self.service.submit(hashes[due], lambda sub: env.prompts(sub - lo), env_ids=ids)
            self._since[ids] = 0
        self._since[lo:hi] += 1
        h = self.service.hints()
        if due.size and self.wait > 0:
            deadline = time.monotonic() + self.wait
            while not (h.valid[ids] & (h.age[ids] == 0)).all() and time.monotonic() < deadline:
                time.sleep(0.0005)
                h = self.service.hints()
        hints[:] = h.probs[lo:hi]
        valid[:] = h.valid[lo:hi]

    def query_prompts(self) -> tuple[np.ndarray, list[str]]:
        """Flat (t * N + n) indices of this rollout's queries and their prompt texts."""
        idx = np.flatnonzero(self.queries)
        return idx, [self.prompts[i] for i in idx.tolist()]

    def state_dict(self) -> dict[str, Any]:
        """The per-env query clocks (the rest is rebuilt each rollout)."""
        return {"since": self._since.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the query clocks."""
        since = np.asarray(state["since"], np.int64)
        if since.shape != self._since.shape:
            raise ValueError(f"hint state has {since.shape} envs, expected {self._since.shape}")
        self._since[:] = since


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


def prompt_relative(advantages: np.ndarray, ratios: np.ndarray, hashes: np.ndarray, *,
                    scale: float, clip: float) -> np.ndarray:
    """ratios * clip((A - mean of A over the queries with the same prompt hash) / scale).

    The per-prompt (group) baseline of ``feedback_baseline="prompt"``: only differences
    between the actions taken in the same state reach the teacher; a prompt seen once
    gives 0. ``scale`` is the running std plus eps (float64 maths, float32 result).
    """
    adv = np.asarray(advantages, np.float64)
    _, group = np.unique(np.asarray(hashes), return_inverse=True)
    centre = np.bincount(group, adv) / np.bincount(group)
    z = np.clip((adv - centre[group]) / scale, -clip, clip)
    return (np.asarray(ratios, np.float64) * z).astype(np.float32)


def improvement_targets(logp: np.ndarray, z: np.ndarray, eta: float) -> np.ndarray:
    """softmax(logp + z / eta) per row, float64: piT reweighted by exp(z / eta), the
    maximiser of E_q[z] - eta KL(q || piT) (``lookahead_update="target"``)."""
    logits = np.asarray(logp, np.float64) + np.asarray(z, np.float64) / eta
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    return q / q.sum(axis=1, keepdims=True)


class TeachMode(ModeHooks):
    """``teach``: a frozen teacher guides the student (hint input, CE guidance, exploration)."""

    name = "teach"
    updates_teacher = False
    metric_names = (
        "probe_agreement", "probe_agreement_determined", "probe_expert_prob", "teacher_agreement",
        "teacher_entropy", "guidance_coef", "explore_eps", "guidance_ce",
        "cache_hit_rate", "hint_valid_fraction", "hint_age_mean", "teacher_queries",
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        from bidir_core.teacher import load_teacher
        from bidir_core.teacher.service import TeacherService

        self.config = config
        tc: TeacherModeConfig = config.teacher.validate()
        self.tc = tc
        self.teacher = load_teacher(tc.name, temperature=tc.temperature, batch_size=tc.max_batch)
        self.table = FeedbackTable(num_actions=len(self.teacher.actions), rate=tc.table_rate)
        self.policy = CorrectedTeacher(self.teacher, self.table, tc.table_alpha)
        self.service = TeacherService(
            self.policy, config.num_envs, num_actions=7, max_batch=tc.max_batch,
            max_staleness=tc.max_staleness,
        )
        self.hints = TeacherHints(
            self.service, config.num_envs, config.num_steps, tc.query_every,
            keep_prompts=True, wait=tc.hint_wait,
        )
        self.oracle_probe = OracleProbe(config.task, tc.probe_states, config.seed)
        self.frames = 0

    def probe(self) -> dict[str, float]:
        """The teacher's agreement with the oracle on the fixed probe states."""
        return self.oracle_probe(self.policy)

    # -- hooks ---------------------------------------------------------------------------
    def attach(self, trainer: Any) -> None:
        """Called by the trainer once its collector exists."""
        self.trainer = trainer
        self.hints.buffer = trainer.collector.buffer
        self.frames = trainer.frames
        self.hints.explore_eps = linear_decay(self.tc.explore_eps, self.frames, self.tc.explore_frames)

    def hint_source(self) -> TeacherHints:
        return self.hints

    def extra_loss(self) -> ExtraLoss | None:
        beta = linear_decay(self.tc.guidance_coef, self.frames, self.tc.guidance_frames)
        return guidance_loss(beta) if beta > 0 else None

    def after_update(self, iteration: int, rollout: RolloutBuffer) -> dict[str, float]:
        idx, prompts = self.hints.query_prompts()
        out: dict[str, float] = {
            "guidance_coef": linear_decay(self.tc.guidance_coef, self.frames, self.tc.guidance_frames),
            "explore_eps": self.hints.explore_eps,
            "teacher_queries": float(idx.size),
        }
        last = self.config.total_iterations
        if OracleProbe.due(iteration, self.tc.probe_every, last):
            out.update(self.probe())  # the teacher this rollout used, before its update
        if idx.size:
            logp = self.policy.action_logprobs(prompts)
            oracle = self.hints.oracle.ravel()[idx]
            out["teacher_agreement"] = float((logp.argmax(1) == oracle).mean())
            out["teacher_entropy"] = float(-(np.exp(logp) * logp).sum(1).mean())
            out.update(self.teacher_update(rollout, idx, prompts, logp))
        service = self.service.metrics(reset=True)
        for key in ("cache_hit_rate", "hint_valid_fraction", "hint_age_mean"):
            out[key] = service[key]
        self.frames = self.trainer.frames + self.config.steps_per_iteration
        self.hints.explore_eps = linear_decay(self.tc.explore_eps, self.frames, self.tc.explore_frames)
        return out

    def teacher_update(self, rollout: RolloutBuffer, idx: np.ndarray, prompts: list[str],
                       logp: np.ndarray) -> dict[str, float]:
        """``teach`` leaves the teacher as it is."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"hints": self.hints.state_dict(), "table": self.table.state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.hints.load_state_dict(state["hints"])
        self.table.load_state(state["table"])

    def close(self) -> None:
        self.service.close()


class BidirMode(TeachMode):
    """``bidir``: ``teach`` plus the student's feedback updating the teacher."""

    name = "bidir"
    updates_teacher = True
    metric_names = TeachMode.metric_names + (
        "feedback_mean", "feedback_std", "feedback_positive", "feedback_window",
        "feedback_grounded", "teacher_policy_loss", "teacher_lr", "teacher_version",
        "table_entries",
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        from bidir_core.teacher.learner import PPOConfig as TeacherPPOConfig
        from bidir_core.teacher.learner import TeacherPPO

        tc = self.tc
        self.aggregator = FeedbackAggregator(
            gamma=config.ppo.gamma,
            lam=tc.feedback_lambda,
            rho_max=tc.rho_max,
            clip=tc.feedback_clip,
            eps=tc.feedback_eps,
        )
        self.learner = None
        if tc.feedback in ("parametric", "both"):
            self.learner = TeacherPPO(
                self.teacher,
                TeacherPPOConfig(
                    lr=tc.teacher_lr,
                    epochs=tc.teacher_epochs,
                    entropy_coef=tc.teacher_entropy_coef,
                    seed=config.seed,
                ),
            )
        self._teacher_lp = np.zeros((config.num_steps, config.num_envs), np.float32)
        self.lookahead = None
        if tc.feedback_source == "lookahead" and tc.hint_input:
            raise ValueError(
                "teacher.feedback_source='lookahead' reads the student's critic without hints: "
                "turn teacher.hint_input off, or use teacher.feedback_source='td'"
            )
        if tc.feedback_source == "lookahead":
            from bidir_core.training.lookahead import CriticLookahead

            self.hints.record_states = True
            self.lookahead = CriticLookahead(
                config.task, len(self.teacher.actions), config.ppo.gamma,
                horizon=tc.lookahead_horizon,
            )
            self._sampler = np.random.default_rng([config.seed, 1729])

    def after_update(self, iteration: int, rollout: RolloutBuffer) -> dict[str, float]:
        if self.learner is not None and self.tc.teacher_anneal_lr:
            self.learner.scale_lr(linear_decay(1.0, iteration - 1, self.config.total_iterations))
        out = super().after_update(iteration, rollout)
        if self.learner is not None:
            out["teacher_lr"] = float(self.learner.optimizer.param_groups[0]["lr"])
        return out

    def teacher_update(self, rollout: RolloutBuffer, idx: np.ndarray, prompts: list[str],
                       logp: np.ndarray) -> dict[str, float]:
        if self.lookahead is not None:
            return self._lookahead_update(idx, prompts, logp)
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
            next_values=self.trainer.collector.next_values, queries=self.hints.queries,
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

    def _lookahead_update(self, idx: np.ndarray, prompts: list[str],
                          logp: np.ndarray) -> dict[str, float]:
        """``feedback_source="lookahead"``: the critic's Q of every suggestion (see
        ``CriticLookahead``), centred on its mean under piT, scaled by its std plus
        ``feedback_eps`` and clipped to z; the LM learns from one suggestion per query
        sampled from piT (``lookahead_update="sample"``, on-policy, no importance ratio)
        or from all of them towards piT exp(z / eta) (``"target"``); the table learns
        from all of them.

        With ``"sample"``, a teacher sure of an action samples only that action, whose
        advantage against its own mean is 0, so the LM stops learning there. With the
        one-step critic (``lookahead_horizon`` 1) that kept mistakes: in a 51.2k-frame
        run (seed 0) the teacher settled on "turn left" with piT = 1.0 where the critic's
        Q preferred "turn right" in 43 of 44 such states (determined agreement 0.91 ->
        0.94 -> 0.89); with the 16-step lookahead the judgement is right far more often
        and what the teacher settles on is mostly right. Drawing the action uniformly
        instead (the expected step sum_a A(a) grad log piT) was worse: every action
        better than the teacher's mean rose, no-ops included (0.91 -> 0.83 and 0.89 ->
        0.76 over 25.6k frames)."""
        assert self.lookahead is not None
        states = [self.hints.states[i] for i in idx.tolist()]
        q = self.lookahead(states, self.trainer.net, self.trainer.tokenizer)
        grounded = {"feedback_grounded": 1.0}
        if self.tc.lookahead_grounded:
            keep = self.lookahead.rewarded.any(axis=1)
            grounded["feedback_grounded"] = float(keep.mean())
            if not keep.any():  # nothing the student achieved judges these suggestions
                return grounded
            idx, q, logp = idx[keep], q[keep], logp[keep]
            prompts = [p for p, ok in zip(prompts, keep.tolist()) if ok]
        p = np.exp(logp.astype(np.float64))
        p /= p.sum(axis=1, keepdims=True)
        adv = q - (p * q).sum(axis=1, keepdims=True)
        scale = float(adv.std()) + self.tc.feedback_eps
        z = np.clip(adv / scale, -self.tc.feedback_clip, self.tc.feedback_clip)
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
            **grounded,
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
        if self.learner is not None:
            rows = np.arange(len(prompts))
            # the LM's own log-probs (``logp`` holds the table's correction when it has one)
            base = self.teacher.action_logprobs(prompts) if len(self.table) else logp
            if target_z is not None:
                res = self.learner.fit_targets(
                    prompts, improvement_targets(base, target_z, self.tc.target_temperature)
                )
            else:
                res = self.learner.update(prompts, actions, advantages, base[rows, actions])
            out["teacher_policy_loss"] = float(res.get("policy_loss", math.nan))
        if self.tc.feedback in ("table", "both"):
            self.table.update(*table_rows)
        self.policy.publish()
        out["teacher_version"] = float(self.policy.version)
        out["table_entries"] = float(len(self.table))
        return out

    def close(self) -> None:
        super().close()
        if self.lookahead is not None:
            self.lookahead.close()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["feedback"] = self.aggregator.state_dict()
        state["published_version"] = self.policy.version
        state["teacher_version"] = self.teacher.version
        if self.learner is not None:
            state["teacher_model"] = self.teacher.model.state_dict()
            state["teacher_optimizer"] = self.learner.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.aggregator.load_state_dict(state["feedback"])
        self.policy.version = int(state["published_version"])
        with self.teacher.lock:
            if self.learner is not None:
                self.teacher.model.load_state_dict(state["teacher_model"])
                self.learner.optimizer.load_state_dict(state["teacher_optimizer"])
            self.teacher.version = int(state["teacher_version"])


register_mode("teach", TeachMode)
register_mode("bidir", BidirMode)
