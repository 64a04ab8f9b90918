"""The process teacher backend: a replica in a child process, weights synced, deaths survived."""

from __future__ import annotations

import os
import signal
import time

import bidir_core
import numpy as np
import pytest
import torch
from bidir_core.student.ppo import PPOConfig
from bidir_core.teacher import load_teacher
from bidir_core.teacher.backends import ProcessTeacherBackend, replica_factory
from bidir_core.teacher.samples import oracle_samples
from bidir_core.teacher.service import TeacherService
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig
from teacher_models import wait_for_hints

TASK = "BabyAI-GoToRedBallNoDists-v0"

SLOW = pytest.mark.slow  # a test that starts a Python process with torch


def _broken_factory():
    raise RuntimeError("no such model")


@pytest.fixture
def served():
    teacher = load_teacher("tiny", batch_size=64)
    backend = ProcessTeacherBackend(
        teacher, replica_factory("tiny", temperature=1.0, batch_size=64), num_actions=7,
        max_restarts=1,
    )
    prompts, _ = oracle_samples(TASK, 8, seed=4)
    service = TeacherService(teacher, len(prompts), backend=backend, timeout=60.0)
    yield teacher, backend, service, prompts
    service.close()


@SLOW
def test_the_child_answers_as_the_teacher_and_follows_its_updates(served):
    teacher, backend, service, prompts = served
    h = wait_for_hints(service, prompts)
    assert h.valid.all()
    np.testing.assert_allclose(h.probs[:, :6], np.exp(teacher.action_logprobs(prompts)), atol=1e-5)
    with teacher.lock, torch.no_grad():  # an "update" of the parent's weights
        for p in teacher.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        teacher.bump_version()
    h = wait_for_hints(service, prompts)
    assert h.valid.all() and (h.version == teacher.version).all()
    np.testing.assert_allclose(h.probs[:, :6], np.exp(teacher.action_logprobs(prompts)), atol=1e-5)


@SLOW
def test_a_dead_child_is_restarted_then_reported(served):
    teacher, backend, service, prompts = served
    assert wait_for_hints(service, prompts).valid.all()
    first = backend.pid
    os.kill(first, signal.SIGKILL)
    with teacher.lock:
        teacher.bump_version()  # new misses: they reach the dead child, then the new one
    h = wait_for_hints(service, prompts)
    assert backend.restarts == 1 and backend.pid != first
    assert h.valid.all()  # guidance is back
    os.kill(backend.pid, signal.SIGKILL)  # beyond max_restarts: reported, never raised
    with teacher.lock:
        teacher.bump_version()
    deadline = time.monotonic() + 30
    while not backend.crashed and time.monotonic() < deadline:
        service.submit(bidir_core._core.hash_prompts(prompts), prompts)
        time.sleep(0.05)
    assert backend.crashed and not backend.alive
    assert not service.hints().valid.any()


@SLOW
def test_a_factory_that_fails_is_a_clear_error():
    teacher = load_teacher("tiny")
    with pytest.raises(RuntimeError, match="could not build the teacher: RuntimeError: no such model"):
        ProcessTeacherBackend(teacher, _broken_factory, num_actions=7)


@SLOW
def test_teach_with_the_process_backend_survives_its_child_dying(tmp_path):
    cfg = TrainConfig(
        mode="teach", task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * 4, seed=0,
        teacher=TeacherModeConfig(probe_states=8, backend="process", call_timeout=30.0),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        backend = trainer.mode.service._backend
        assert isinstance(backend, ProcessTeacherBackend)
        trainer.train(stop_after_iteration=2)
        os.kill(backend.pid, signal.SIGKILL)
        summary = trainer.train()
    assert summary["status"] == "finished" and summary["iterations"] == 4
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 4 and max(r["hint_valid_fraction"] for r in rows) > 0


def test_a_replica_is_sent_published_weights_never_an_update_in_flight():
    """versioned_state (what the process and Ray backends send) reads the weights of the
    last publish while the LM's optimizer steps of the next update change them."""
    from bidir_core._core import FeedbackTable
    from bidir_core.teacher.backends.process import trainable_state, versioned_state
    from bidir_core.teacher.corrected import CorrectedTeacher

    policy = CorrectedTeacher(load_teacher("tiny"), FeedbackTable(num_actions=6), 1.0)
    policy.keep_published_weights()
    before = trainable_state(policy.teacher)
    with torch.no_grad():  # an update in flight: its steps move the weights
        for p in policy.teacher.model.parameters():
            p.add_(0.1)
        policy.teacher.bump_version()
    version, state = versioned_state(policy, timeout=-1)
    assert version == 0 and all(np.array_equal(state[k], before[k]) for k in before)
    policy.publish()  # the update is done: its weights are the new version's
    version, state = versioned_state(policy, timeout=-1)
    after = trainable_state(policy.teacher)
    assert version == 1 and all(np.array_equal(state[k], after[k]) for k in after)
    assert not any(np.array_equal(state[k], before[k]) for k in before)
