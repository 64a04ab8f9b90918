"""The teacher modes: teach and bidir end to end, and feedback correcting a wrong teacher."""

from __future__ import annotations

import types

import bidir_core
import numpy as np
import pytest
from run_helpers import update_ctx
import torch
from bidir_core.rollout import RolloutBuffer
from bidir_core.student.ppo import PPOConfig
from bidir_core.teacher.learner import TeacherPPOConfig
from bidir_core.teacher.learner import TeacherPPO
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig
from bidir_core.training.modes.bidir import BidirMode
from teacher_models import wrong_state

TASK = "BabyAI-GoToRedBallNoDists-v0"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def mode_for(feedback: str, num_envs: int = 4, num_steps: int = 8, **teacher) -> BidirMode:
    """A bidir mode of ``num_envs`` x ``num_steps`` rollouts on GoToRedBallNoDists; the
    teacher options default to TD feedback at every step, teacher lr 1e-3."""
    options = {"feedback_source": "td", "query_every": 1, "teacher_lr": 1e-3, **teacher}
    config = types.SimpleNamespace(
        teacher=TeacherModeConfig(feedback=feedback, **options),
        num_envs=num_envs,
        num_steps=num_steps,
        steps_per_iteration=num_envs * num_steps,
        total_iterations=3,
        task=TASK,
        ppo=PPOConfig(),
        seed=0,
    )
    return BidirMode(config)


@pytest.mark.parametrize("feedback", ["parametric", "table", "both"])
def test_feedback_moves_a_wrong_teacher_towards_the_right_action(feedback: str) -> None:
    prompt = wrong_state()
    mode = mode_for(feedback)
    try:
        before = np.exp(mode.policy.action_logprobs([prompt])[0])
        assert before[0] > before[1]  # the teacher is wrong here
        T, N = 8, 4
        buf = RolloutBuffer(T, N)
        # Every step queries the teacher in that state; the student tried both turns and
        # its critic saw "right" pay off (+1) and "left" cost (-1); episodes end each step.
        buf.actions[:] = np.where(np.arange(N) % 2 == 0, 1, 0)[None, :]
        buf.rewards[:] = np.where(buf.actions == 1, 1.0, -1.0)
        buf.terminated[:] = True
        buf.logprobs[:] = np.log(0.5)
        hints = mode.hints
        hints.queries[:] = True
        hints.hashes[:] = bidir_core._core.hash_prompts([prompt])[0]
        hints.prompts = {i: prompt for i in range(T * N)}
        hints.oracle[:] = 1
        for iteration in range(1, 4):
            stats = mode.after_update(update_ctx(iteration, buf))
        after = np.exp(mode.policy.action_logprobs([prompt])[0])
        assert after[1] > before[1] + 0.05, (before, after)
        assert after[0] < before[0]
        assert stats["feedback_positive"] == pytest.approx(0.5)
        assert stats["teacher_version"] == 3  # one published update per iteration
        assert 0.0 <= stats["probe_agreement"] <= 1.0
    finally:
        mode.close()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"feedback": "sometimes"}, ValueError, "feedback"),
        ({"query_every": 0}, ValueError, "query_every"),
        ({"explore_eps": 1.5}, ValueError, "explore_eps"),
        ({"feedback_source": "oracle"}, ValueError, "feedback_source"),
        ({"lookahead_update": "greedy"}, ValueError, "lookahead_update"),
        ({"target_temperature": 0.0}, ValueError, "target_temperature"),
        ({"lookahead_horizon": 0}, ValueError, "lookahead_horizon"),
        ({"lookahead_grounded": 1}, TypeError, "lookahead_grounded"),
        ({"teacher_anneal_lr": "yes"}, TypeError, "teacher_anneal_lr"),
    ],
)
def test_teacher_mode_config_rejects_bad_values(options, error, match) -> None:
    with pytest.raises(error, match=match):
        TeacherModeConfig(**options).validate()


def test_teacher_mode_config_rejects_unknown_options() -> None:
    with pytest.raises(ValueError, match="unknown teacher option"):
        TeacherModeConfig.from_dict({"nmae": "tiny"})


@pytest.mark.parametrize("mode", ["teach", "bidir"])
@pytest.mark.slow
def test_mode_runs_end_to_end_and_resumes_teacher_and_student(tmp_path, mode: str) -> None:
    from bidir_core.training import TrainConfig, Trainer, read_metrics

    run = tmp_path / "run"
    config = TrainConfig(
        mode=mode,
        num_envs=8,
        steps_per_iteration=64,
        total_frames=64 * 4,
        checkpoint_every=2,
        teacher=TeacherModeConfig(probe_states=32, explore_eps=0.3, guidance_coef=0.5),
    )
    with Trainer(config, run, progress=False, tensorboard=False) as trainer:
        summary = trainer.train(stop_after_iteration=2)
        assert summary["status"] == "stopped"
        student = {k: v.clone() for k, v in trainer.net.state_dict().items()}
        mode_state = trainer.mode.state_dict()
        teacher = {k: v.clone() for k, v in trainer.mode.teacher.model.state_dict().items()}
    rows = read_metrics(run)
    assert [int(r["iteration"]) for r in rows] == [1, 2]
    for key in ("teacher_agreement", "teacher_entropy", "probe_agreement", "cache_hit_rate"):
        assert np.isfinite(float(rows[0][key])), key
    assert float(rows[0]["explore_eps"]) == pytest.approx(0.3)
    assert np.isfinite(float(rows[0]["guidance_ce"]))
    if mode == "bidir":
        assert np.isfinite(float(rows[1]["feedback_mean"]))
        assert float(rows[1]["teacher_version"]) == 2

    with Trainer.resume(run, progress=False, tensorboard=False) as resumed:
        for k, v in resumed.net.state_dict().items():
            torch.testing.assert_close(v, student[k])
        for k, v in resumed.mode.teacher.model.state_dict().items():
            torch.testing.assert_close(v, teacher[k])
        again = resumed.mode.state_dict()
        np.testing.assert_array_equal(again["hints"]["since"], mode_state["hints"]["since"])
        np.testing.assert_array_equal(again["table"]["values"], mode_state["table"]["values"])
        if mode == "bidir":
            assert again["feedback"] == mode_state["feedback"]
            assert again["published_version"] == 2
            opt = resumed.mode.learner.optimizer.state_dict()["state"]
            assert opt and all(torch.equal(
                opt[i]["exp_avg"], mode_state["teacher_optimizer"]["state"][i]["exp_avg"]
            ) for i in opt)
        assert resumed.train()["status"] == "finished"
    assert [int(r["iteration"]) for r in read_metrics(run)] == [1, 2, 3, 4]


@pytest.mark.parametrize("baseline", ["running", "prompt"])
@pytest.mark.slow
def test_prompt_baseline_stops_mass_escaping_to_untaken_actions(baseline: str) -> None:
    """A critic biased state by state: every action taken in state A looks bad (-1), every
    action in state B good (+1). Centred on the running mean, the teacher pushes all of A's
    taken actions down and A's mass escapes to actions nobody took; centred per prompt,
    nothing in A is preferred over anything else, so A is left as it was."""
    prompt_a = wrong_state()
    env = bidir_core.make_vec(TASK, 8, seed=3)
    env.reset(seed=3)
    prompt_b = env.prompts([0])[0]
    assert prompt_b != prompt_a
    config = types.SimpleNamespace(
        teacher=TeacherModeConfig(feedback="parametric", feedback_source="td", query_every=1, teacher_lr=1e-3,
                                  feedback_baseline=baseline),
        num_envs=4, num_steps=8, steps_per_iteration=32, total_iterations=3, task=TASK,
        ppo=PPOConfig(), seed=0,
    )
    mode = BidirMode(config)
    try:
        before = np.exp(mode.policy.action_logprobs([prompt_a])[0])
        T, N = 8, 4
        buf = RolloutBuffer(T, N)
        in_a = np.arange(N) < 2  # envs 0, 1 in state A, envs 2, 3 in state B
        buf.actions[:] = np.where(np.arange(N) % 2 == 0, 0, 2)[None, :]  # left / forward
        buf.rewards[:] = np.where(in_a, -1.0, 1.0)[None, :]
        buf.terminated[:] = True
        buf.logprobs[:] = np.log(0.5)
        hints = mode.hints
        hints.queries[:] = True
        codes = bidir_core._core.hash_prompts([prompt_a, prompt_b])
        hints.hashes[:] = np.where(in_a, codes[0], codes[1])[None, :]
        hints.prompts = {t * N + n: prompt_a if in_a[n] else prompt_b
                         for t in range(T) for n in range(N)}
        for iteration in range(1, 4):
            mode.after_update(update_ctx(iteration, buf))
        after = np.exp(mode.policy.action_logprobs([prompt_a])[0])
        untaken = [1, 3, 4, 5]
        if baseline == "prompt":
            np.testing.assert_allclose(after, before, atol=1e-5)
        else:
            assert after[untaken].sum() > before[untaken].sum() + 0.05, (before, after)
    finally:
        mode.close()


class _OracleTeacher:
    """Answers the oracle's action of the probe states it was built from (one-hot)."""

    def __init__(self, prompts: list[str], oracle: np.ndarray, flip: np.ndarray) -> None:
        # "toggle" (5), which the oracle never answers on this task, where flip is set.
        self.answer = {}
        for prompt, action, wrong in zip(prompts, oracle.tolist(), flip.tolist()):
            self.answer[prompt] = 5 if wrong else action

    def action_logprobs(self, prompts: list[str]) -> np.ndarray:
        out = np.full((len(prompts), 6), -20.0, np.float32)
        out[np.arange(len(prompts)), [self.answer[p] for p in prompts]] = 0.0
        return out


def test_probe_separates_states_whose_prompt_determines_the_oracle_action() -> None:
    from bidir_core.teacher.probe import OracleProbe

    probe = OracleProbe(TASK, 128, seed=0)
    # Where the red ball is out of view the oracle's turn depends on what the prompt does
    # not show: some such prompts carry several oracle actions and are not determined.
    visible = np.array(["red ball" in p.split("Observation:")[1] for p in probe.prompts])
    assert 0.0 < probe.determined.mean() < 1.0
    assert probe.determined[visible].all() and not probe.determined[~visible].all()
    assert not (probe.oracle == 5).any()
    # A teacher wrong exactly on the undetermined states: determined agreement 1.
    teacher = _OracleTeacher(probe.prompts, probe.oracle, ~probe.determined)
    stats = probe(teacher)
    assert stats["probe_agreement_determined"] == 1.0
    assert stats["probe_agreement"] == pytest.approx(probe.determined.mean())
    # Wrong on one determined prompt: its states alone lower the determined agreement.
    prompts = np.array(probe.prompts)
    one = prompts[np.flatnonzero(probe.determined)[0]]
    stats = probe(_OracleTeacher(probe.prompts, probe.oracle, ~probe.determined | (prompts == one)))
    expected = 1.0 - (prompts == one).sum() / probe.determined.sum()
    assert stats["probe_agreement_determined"] == pytest.approx(expected)


def test_linear_decay_anneals_or_stays_constant() -> None:
    from bidir_core.training.modes.config import linear_decay

    assert [linear_decay(0.5, f, 100) for f in (0, 50, 100, 200)] == [0.5, 0.25, 0.0, 0.0]
    assert linear_decay(0.25, 10**9, 0) == 0.25  # 0 frames: never annealed
    TeacherModeConfig(explore_frames=0, guidance_frames=0).validate()
    with pytest.raises(ValueError, match="explore_frames"):
        TeacherModeConfig(explore_frames=-1).validate()


class _DirectionCritic(torch.nn.Module):
    """A stand-in student whose value is its observation's direction (0..3)."""

    num_actions = 7

    def forward(self, image, direction, mission, hint, hint_valid):
        return torch.zeros(len(direction), 7), direction.float()


class _ForwardStudent(_DirectionCritic):
    """A stand-in student that always goes forward; its value is its direction."""

    def forward(self, image, direction, mission, hint, hint_valid):
        logits = torch.zeros(len(direction), 7)
        logits[:, 2] = 1.0
        return logits, direction.float()


@pytest.mark.parametrize("task, horizon", [(TASK, 2), (TASK, 5), (TASK, 30),
                                           ("BabyAI-PutNextLocal-v0", 5)])
def test_lookahead_horizon_follows_the_students_greedy_policy(task, horizon) -> None:
    """Q(s, a) = the discounted rewards of a and then the student's greedy actions for
    horizon - 1 steps, plus gamma^H V of where that ends (nothing once the episode ends),
    against a one-env reference restoring get_state dicts; 8 states in chunks of 3 (the
    last one partial); on an instruction-tree level too."""
    from bidir_core.student.network import MissionTokenizer
    from bidir_core.feedback.lookahead import CriticLookahead

    gamma = 0.9
    env = bidir_core.make_vec(task, 8, seed=5)
    env.reset(seed=5)
    for _ in range(3):  # some states nearer the goal, some episodes further on
        env.step(env.expert_actions())
    states = [env.get_state(i) for i in range(8)]  # the reference restores the dicts
    snapshots = [env.snapshot(i) for i in range(8)]
    look = CriticLookahead(task, 6, gamma, horizon=horizon, chunk=3)
    ref_env = bidir_core.make_vec(task, 1, autoreset_mode="SameStep")
    ref_env.reset(seed=0)
    ended = 0
    try:
        q = look(snapshots, _ForwardStudent(), MissionTokenizer())
        for i, state in enumerate(states):
            for a in range(6):
                ref_env.set_state(0, state)
                total, discount, action, earned = 0.0, 1.0, a, False
                for step in range(horizon):
                    obs, reward, terminated, truncated, _ = ref_env.step(np.array([action]))
                    total += discount * float(reward[0])
                    earned |= bool(reward[0] != 0)
                    discount *= gamma
                    if terminated[0] or truncated[0]:
                        ended += 1
                        break
                    if step == horizon - 1:
                        total += discount * float(obs["direction"][0])
                    action = 2
                assert q[i, a] == pytest.approx(total, abs=1e-9), (i, a)
                assert look.rewarded[i, a] == earned, (i, a)
        if horizon == 30:
            assert ended > 0  # some rollouts reach the goal or the wall-bound time limit
            assert look.rewarded.any()
    finally:
        look.close()
        ref_env.close()


def test_critic_lookahead_is_reward_plus_discounted_value_of_each_successor() -> None:
    from bidir_core.student.network import MissionTokenizer
    from bidir_core.feedback.lookahead import CriticLookahead

    env = bidir_core.make_vec(TASK, 8, seed=3)
    env.reset(seed=3)
    look = CriticLookahead(TASK, 6, gamma=0.5)
    try:
        states = [env.get_state(i) for i in range(8)]
        q = look([env.snapshot(i) for i in range(8)], _DirectionCritic(), MissionTokenizer())
        assert q.shape == (8, 6)
        for i, state in enumerate(states):
            d = state["agent_dir"]
            # Turns change the direction; the other actions keep it (nothing to pick up
            # or toggle in front here), and no episode ends on one step from these starts.
            assert q[i, 0] == pytest.approx(0.5 * ((d - 1) % 4))
            assert q[i, 1] == pytest.approx(0.5 * ((d + 1) % 4))
            assert q[i, 4] == pytest.approx(0.5 * d)
        # An env one action from its goal: that action earns the reward and ends the
        # episode (no bootstrap); the lookahead leaves the saved state untouched.
        for _ in range(40):
            near = np.flatnonzero(env._core.plan_lengths() == 1)
            if near.size:
                break
            env.step(env.expert_actions())
        i = int(near[0])
        best = int(env.expert_actions()[i])
        state = env.get_state(i)
        q = look([env.snapshot(i)], _DirectionCritic(), MissionTokenizer())[0]
        assert 0.0 < q[best] <= 1.0 and q[best] == pytest.approx(1 - 0.9 * (state["step_count"] + 1) / state["max_steps"])
        assert env.get_state(i)["agent_dir"] == state["agent_dir"]
    finally:
        look.close()


def _lookahead_mode(update: str, grounded: bool = True) -> BidirMode:
    return mode_for(
        "parametric", feedback_source="lookahead", query_every=TeacherModeConfig.query_every,
        lookahead_update=update, lookahead_grounded=grounded,
    )


class _StubLookahead:
    """Fixed Q values in every state; ``rewarded`` says whether the rollouts earned reward."""

    def __init__(self, q: list[float], rewarded: bool = True) -> None:
        self.q, self.reward = np.asarray(q), rewarded

    def __call__(self, states, net, tokenizer) -> np.ndarray:
        self.rewarded = np.full((len(states), len(self.q)), self.reward)
        self.last_steps = len(states) * len(self.q)
        return np.tile(self.q, (len(states), 1))


def _run_lookahead_feedback(mode: BidirMode, prompt: str, iterations: int = 3,
                            rewarded: bool = True, every: list | None = None) -> dict:
    """Feed ``iterations`` rollouts of queries of ``prompt`` whose critic says "turn
    right" leads 0.3 higher than anything else; the student always turned left. Returns
    the last iteration's stats (and appends each iteration's to ``every``)."""
    real = mode.lookahead
    try:
        hints = mode.hints
        hints.queries[:] = True
        hints.hashes[:] = bidir_core._core.hash_prompts([prompt])[0]
        hints.prompts = {i: prompt for i in range(32)}
        hints.states = {i: {} for i in range(32)}
        mode.lookahead = _StubLookahead([0.5, 0.8, 0.5, 0.5, 0.5, 0.5], rewarded)
        buf = RolloutBuffer(8, 4)
        buf.actions[:] = 0
        for iteration in range(1, iterations + 1):
            stats = mode.after_update(update_ctx(iteration, buf))
            if every is not None:
                every.append(stats)
        return stats
    finally:
        mode.lookahead = real


@pytest.mark.parametrize("update", ["target", "sample"])
def test_lookahead_feedback_moves_a_wrong_teacher_towards_the_right_action(update) -> None:
    """With feedback_source="lookahead" the critic's Q of every suggestion reaches the
    teacher: where Q says "turn right" is best, the teacher's piT(right) rises, although
    no rollout action was ever "turn right" (the TD feedback could not see that)."""
    prompt = wrong_state()
    mode = _lookahead_mode(update)
    try:
        before = np.exp(mode.policy.action_logprobs([prompt])[0])
        assert before[0] > before[1]
        stats = _run_lookahead_feedback(mode, prompt)
        after = np.exp(mode.policy.action_logprobs([prompt])[0])
        assert after[1] > before[1] + 0.05, (before, after)
        assert stats["teacher_version"] == 3
    finally:
        mode.close()


@pytest.mark.parametrize("grounded", [True, False])
def test_only_grounded_lookahead_feedback_reaches_the_teacher(grounded) -> None:
    """Where no suggestion's rollout earned a reward, the Q values are the critic's guesses
    at the horizon: with ``lookahead_grounded`` the teacher does not learn from them."""
    prompt = wrong_state()
    mode = _lookahead_mode("sample", grounded=grounded)
    try:
        before = np.exp(mode.policy.action_logprobs([prompt])[0])
        stats = _run_lookahead_feedback(mode, prompt, rewarded=False)
        after = np.exp(mode.policy.action_logprobs([prompt])[0])
        if grounded:
            np.testing.assert_array_equal(after, before)
            assert stats["feedback_grounded"] == 0.0 and mode.teacher.version == 0
            assert "teacher_version" not in stats
        else:
            assert after[1] > before[1] + 0.05
            assert stats["feedback_grounded"] == 1.0 and stats["teacher_version"] == 3
    finally:
        mode.close()


@pytest.mark.parametrize("anneal", [True, False])
def test_teacher_lr_anneals_over_the_run_when_asked(anneal) -> None:
    """With ``teacher_anneal_lr`` the teacher's step size falls linearly over the run's
    iterations (3 here), as the student's does; without it, it stays at ``teacher_lr``."""
    mode = mode_for("parametric", feedback_source="lookahead", teacher_anneal_lr=anneal)
    try:
        rows: list[dict] = []
        _run_lookahead_feedback(mode, wrong_state(), iterations=3, every=rows)
        rates = [row["teacher_lr"] for row in rows]  # the rate of iterations 1, 2, 3
        expected = [1e-3, 1e-3 * 2 / 3, 1e-3 / 3] if anneal else [1e-3] * 3
        np.testing.assert_allclose(rates, expected, rtol=1e-6)
    finally:
        mode.close()


def test_target_update_corrects_a_teacher_sure_of_the_wrong_action() -> None:
    """A teacher with piT(left) ~ 1 where the critic prefers "right": the sampled policy
    gradient nearly always samples "left" (advantage ~0 against its own mean) and barely
    moves;
    the target update moves piT towards piT exp(z / eta) and turns right."""
    prompt = wrong_state()
    moved = {}
    for update in ("sample", "target"):
        mode = _lookahead_mode(update)
        try:
            sure = np.zeros((32, len(mode.teacher.actions)))
            sure[:, 0] = 1.0
            sharpen = TeacherPPO(mode.teacher, TeacherPPOConfig(learning_rate=3e-3, update_epochs=4))
            while np.exp(mode.policy.action_logprobs([prompt])[0, 0]) < 0.995:
                sharpen.fit_targets([prompt] * 32, sure)
            before = np.exp(mode.policy.action_logprobs([prompt])[0])
            assert before[0] > 0.995, before
            _run_lookahead_feedback(mode, prompt, iterations=6)
            moved[update] = np.exp(mode.policy.action_logprobs([prompt])[0])[1] - before[1]
        finally:
            mode.close()
    assert moved["sample"] < 0.1, moved  # it moves only on the rare draws of "right"
    assert moved["target"] > 0.5, moved


def test_improvement_targets_reweight_pi_t_by_exp_z_over_eta() -> None:
    from bidir_core.feedback import improvement_targets

    p = np.array([[0.7, 0.2, 0.1], [0.98, 0.01, 0.01]])
    z = np.array([[0.0, 1.0, -1.0], [-3.0, 3.0, 0.0]])
    for eta in (0.5, 1.0, 4.0):
        q = improvement_targets(np.log(p), z, eta)
        expected = p * np.exp(z / eta)
        np.testing.assert_allclose(q, expected / expected.sum(1, keepdims=True), rtol=1e-12)
    # a large eta keeps piT; a small one goes to the critic's best action
    np.testing.assert_allclose(improvement_targets(np.log(p), z, 1e9), p, rtol=1e-6)
    assert (improvement_targets(np.log(p), z, 1e-3).argmax(1) == [1, 1]).all()


def test_lookahead_needs_the_hint_input_off(tmp_path) -> None:
    from bidir_core.training import TrainConfig, Trainer

    config = TrainConfig(teacher=TeacherModeConfig(feedback_source="lookahead", hint_input=True))
    with pytest.raises(ValueError, match="hint_input"):
        Trainer(config, tmp_path / "run", progress=False, tensorboard=False)
    assert not (tmp_path / "run").exists()


def test_qhead_feedback_judges_every_suggestion_without_simulator_steps(tmp_path):
    """feedback_source='qhead': the teacher learns from an action-value head fitted to the
    student's own returns; no env is stepped outside the rollout (sim_steps stays at the
    probe's)."""
    from bidir_core.feedback.action_value import ActionValueCritic
    from bidir_core.rollout import RolloutBuffer

    cfg = TrainConfig(mode="bidir", task=TASK, num_envs=4, steps_per_iteration=64,
                      total_frames=64 * 3, seed=0,
                      teacher=TeacherModeConfig(feedback_source="qhead", probe_states=8),
                      ppo=PPOConfig(update_epochs=1, num_minibatches=2))  # fmt: skip
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        trainer.train()
        probe_steps = trainer.mode.oracle_probe.sim_steps
    rows = read_metrics(tmp_path / "run")
    assert [r["sim_steps"] for r in rows] == [probe_steps] * 3
    assert all(r["qhead_loss"] is not None and r["qhead_loss"] >= 0 for r in rows)
    assert rows[-1]["teacher_version"] >= 1  # the teacher was updated from the Q head
    # the critic fits its targets: Q(s, a_t) -> the returns of the actions taken
    buf = RolloutBuffer(8, 4)
    rng = np.random.default_rng(0)
    buf.image[:] = rng.integers(0, 6, buf.image.shape)
    buf.actions[:] = rng.integers(0, 6, (8, 4))
    buf.returns[:] = (buf.actions == 2).astype(np.float32)  # "go forward" is worth 1
    missions = torch.zeros((8, 4, 24), dtype=torch.int64)
    critic = ActionValueCritic(64, 32, 6, seed=0, epochs=60)
    assert critic.fit(buf, missions) < 0.02
    q = critic(buf, missions, np.arange(32))
    assert q.shape == (32, 6) and (q.argmax(1) == 2).mean() > 0.9
