"""The teacher is off the critical path: the rollout never waits for it, and teach's metrics
reuse the hints it served (no second scoring)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from bidir_core.student.ppo import PPOConfig
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig

TASK = "BabyAI-GoToRedBallNoDists-v0"


@pytest.mark.parametrize("mode", ["teach", "bidir"])
def test_a_blocked_teacher_does_not_slow_an_iteration(tmp_path, mode):
    """bidir with ``score_unanswered`` off (the default for LMs) updates the teacher from
    the answers served; it never scores the others synchronously."""
    torch.set_num_threads(1)
    cfg = TrainConfig(
        mode=mode, task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * 3, seed=0,
        teacher=TeacherModeConfig(probe_states=8, probe_every=10, backend="thread", hint_wait=0.0,
                                  score_unanswered=False),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    gate, first, patched, done = (threading.Event() for _ in range(4))
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:

        def run():  # the service is owned by one thread: both iterations run in this one
            trainer.train(stop_after_iteration=1)
            first.set()
            patched.wait(60)
            trainer.train(stop_after_iteration=2)
            done.set()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert first.wait(120), "the first iteration did not finish"
        teacher = trainer.mode.teacher
        real = teacher.action_logprobs

        def blocked(prompts):
            gate.wait()
            return real(prompts)

        teacher.action_logprobs = blocked
        patched.set()
        try:
            # iteration 2 finishes while every LM call blocks: the rollout acts on the
            # hints it has, and the metrics come from the answers already served
            assert done.wait(60), "a teach iteration waited for the teacher"
        finally:
            gate.set()
            worker.join(60)
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 2
    assert rows[1]["teacher_failures"] == 0  # no synchronous teacher call was even tried
    assert rows[1]["hint_valid_fraction"] > 0 and rows[1]["hint_age_mean"] > 0  # old, aged hints
    assert 0 < rows[1]["teacher_queries_scored"] <= 1
    assert rows[1]["teacher_agreement"] is not None


def test_a_hint_never_outlives_its_episode(tmp_path):
    """With a teacher that answers only its first batch, no env acts on a hint about a
    prompt it asked in an episode that has ended (it would be about another grid); a cache
    hit on a prompt of the current episode is a hint about the current state."""
    torch.set_num_threads(1)
    cfg = TrainConfig(
        mode="teach", task=TASK, num_envs=4, steps_per_iteration=64 * 4, total_frames=64 * 4,
        seed=0, student_eval_every=0, video_episodes=0,
        teacher=TeacherModeConfig(probe_states=8, backend="thread", hint_wait=0.0,
                                  explore_eps=0.0),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        mode = trainer.mode
        policy = mode.policy  # what the service's worker calls (outside its lock)
        real, gate, calls = policy.action_logprobs, threading.Event(), []

        def first_batch_only(prompts):  # the service answers once; the probe is not held
            if "guard" not in threading.current_thread().name:
                calls.append(len(prompts))
                if len(calls) > 1:
                    gate.wait(60)
            return real(prompts)

        policy.action_logprobs = first_batch_only
        served = []  # per step: (valid, the prompt hash each env's hint answers)
        fill = mode.hints.fill_hints

        def recorded(t, env, lo, hints, valid):
            fill(t, env, lo, hints, valid)
            served.append((valid.copy(), mode.service._envs.hash.copy()))

        mode.hints.fill_hints = recorded
        buf = trainer.collector.buffer
        try:
            trainer.train()
        finally:
            gate.set()
        asked = mode.hints.hashes  # query_every 1: every step asks for its own prompt
        done = buf.terminated | buf.truncated
        assert done.any()  # some episode ended within the 64 steps
        for n in range(cfg.num_envs):
            start = 0
            for t, (valid, answers) in enumerate(served):
                if t > 0 and done[t - 1, n]:
                    start = t
                if valid[n]:  # the hint answers a prompt of this episode
                    assert answers[n] in set(asked[start : t + 1, n].tolist()), (n, t)
        assert (~np.stack([v for v, _ in served])).any()  # the LM did leave envs without hints


def test_served_answers_need_the_owner_thread_and_uint64_hashes():
    from bidir_core.teacher import load_teacher
    from bidir_core.teacher.service import TeacherService

    with TeacherService(load_teacher("tiny"), 2) as service:
        with pytest.raises(TypeError, match="uint64"):
            service.served([1, 2])


def test_score_unanswered_auto_scores_for_tiny_only():
    assert TeacherModeConfig().validate().score_unanswered_resolved
    assert not TeacherModeConfig(name="smollm2-135m").validate().score_unanswered_resolved
    assert TeacherModeConfig(name="smollm2-135m", score_unanswered=True).score_unanswered_resolved


def test_hint_wait_auto_waits_for_tiny_only():
    assert TeacherModeConfig().validate().hint_wait_s == 0.2  # tiny answers in milliseconds
    assert TeacherModeConfig(name="smollm2-135m").validate().hint_wait_s == 0.0
    assert TeacherModeConfig(hint_wait=0.0).validate().hint_wait_s == 0.0
    with pytest.raises(ValueError, match="hint_wait"):
        TeacherModeConfig(hint_wait=-1.0).validate()


def test_call_timeout_auto_gives_an_lm_ten_minutes():
    assert TeacherModeConfig().validate().call_timeout_s == 60.0
    assert TeacherModeConfig(name="smollm2-135m").validate().call_timeout_s == 600.0
    assert TeacherModeConfig(name="smollm2-135m", call_timeout=5.0).call_timeout_s == 5.0
    with pytest.raises(ValueError, match="call_timeout"):
        TeacherModeConfig(call_timeout=0.0).validate()


def test_micro_batch_auto_bounds_an_lms_update_only():
    assert TeacherModeConfig().validate().micro_batch is None
    assert TeacherModeConfig(name="smollm2-135m").validate().micro_batch == 16
    assert TeacherModeConfig(teacher_micro_batch=4).validate().micro_batch == 4
    with pytest.raises(ValueError, match="teacher_micro_batch"):
        TeacherModeConfig(teacher_micro_batch=0).validate()


def test_the_lm_update_runs_while_the_next_rollout_goes_on(tmp_path):
    """update_async: iteration t's teacher update overlaps rollout t + 1, is published at
    the next update (before the probe), and a checkpoint waits for it."""
    import time

    torch.set_num_threads(1)
    cfg = TrainConfig(
        mode="bidir", task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * 3, seed=0,
        teacher=TeacherModeConfig(probe_states=8, probe_every=10, backend="thread",
                                  update_async=True, lookahead_grounded=False,
                                  lookahead_horizon=2),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    spans: list[tuple[str, float, float]] = []
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        mode, collector = trainer.mode, trainer.collector
        real_step, real_collect = mode._lm_step, collector.collect

        def slow_step(*args):
            t0 = time.perf_counter()
            time.sleep(0.5)
            out = real_step(*args)
            spans.append(("update", t0, time.perf_counter()))
            return out

        def timed_collect():
            t0 = time.perf_counter()
            out = real_collect()
            spans.append(("rollout", t0, time.perf_counter()))
            return out

        mode._lm_step, collector.collect = slow_step, timed_collect
        trainer.train(stop_after_iteration=2)
        assert mode._pending is None  # the checkpoint at the stop waited for update 2
        version = mode.teacher.version
    rollouts = [s for s in spans if s[0] == "rollout"]
    updates = [s for s in spans if s[0] == "update"]
    assert len(rollouts) == 2 and len(updates) == 2 and version > 0
    assert rollouts[1][1] < updates[0][2]  # rollout 2 began before update 1 ended
    rows = read_metrics(tmp_path / "run")
    assert "teacher_version" not in rows[0] or rows[0]["teacher_version"] is None
    assert rows[1]["teacher_version"] == 1 and rows[1]["time_update_wait"] >= 0
