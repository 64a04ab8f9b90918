"""A teacher that fails never stops training: each fault injected in teach, bidir and glam.

Faults: the teacher raises, hangs for a while, hangs forever, or answers NaN. Each run must
finish every iteration, count the failures (``teacher_failures``) and never report a
number computed from NaN scores.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch
from bidir_core.student.ppo import PPOConfig
from bidir_core.teacher.guard import TeacherGuard, finite_rows
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig

TASK = "BabyAI-GoToRedBallNoDists-v0"
ITERATIONS = 3
TIMEOUT = 0.3


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def release():
    """An event that frees the 'forever' hangs when the test ends (so no thread lingers)."""
    event = threading.Event()
    yield event
    event.set()


def config(mode: str) -> TrainConfig:
    return TrainConfig(
        mode=mode, task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * ITERATIONS,
        checkpoint_every=10, seed=1,
        teacher=TeacherModeConfig(probe_states=8, probe_every=1, call_timeout=TIMEOUT,
                                  lookahead_horizon=2),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip


def faulty(fault: str, release: threading.Event, real):
    """A stand-in for the teacher method ``real`` that fails the way ``fault`` says."""

    def call(*args, **kwargs):
        if fault == "raise":
            raise RuntimeError("injected teacher failure")
        if fault == "hang":
            time.sleep(4 * TIMEOUT)
            return real(*args, **kwargs)
        if fault == "forever":
            release.wait()
            raise RuntimeError("released")
        out = real(*args, **kwargs)  # "nan"
        if isinstance(out, tuple):  # glam's evaluate: (log piT, values)
            return np.full_like(out[0], np.nan), out[1]
        return np.full_like(out, np.nan)

    return call


def inject(trainer: Trainer, fault: str, release: threading.Event) -> None:
    """Every teacher call of the mode's loop fails (the service's, the probe's, the update's)."""
    mode = trainer.mode
    teacher = mode.teacher
    teacher.action_logprobs = faulty(fault, release, teacher.action_logprobs)
    learner = getattr(mode, "learner", None)
    if learner is not None:
        if fault != "nan":
            learner.update = faulty(fault, release, learner.update)
        if hasattr(learner, "evaluate") and trainer.config.mode == "glam":
            learner.evaluate = faulty(fault, release, learner.evaluate)


def run_with_watchdog(trainer: Trainer, limit: float) -> tuple[dict, float]:
    """trainer.train() in a thread; fails the test if it does not return within limit s."""
    box: dict = {}

    def target():
        box["summary"] = trainer.train()

    start = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"training stalled for more than {limit} s"
    return box["summary"], time.monotonic() - start


@pytest.mark.parametrize("mode", ["teach", "bidir", "glam"])
@pytest.mark.parametrize("fault", ["raise", "hang", "forever", "nan"])
@pytest.mark.slow
def test_a_failing_teacher_never_stops_training(tmp_path, mode, fault, release):
    with Trainer(config(mode), tmp_path / "run", progress=False, tensorboard=False) as trainer:
        inject(trainer, fault, release)
        summary, seconds = run_with_watchdog(trainer, limit=60.0)
        assert summary["status"] == "finished" and summary["iterations"] == ITERATIONS
        rows = read_metrics(trainer.run_dir)
        assert len(rows) == ITERATIONS
        assert sum(r["teacher_failures"] for r in rows) >= ITERATIONS
        for row in rows:  # no agreement number was made from failed or NaN scores
            for key in ("probe_agreement", "probe_agreement_determined", "teacher_agreement"):
                assert row.get(key) is None, (key, row)
        if mode != "glam":
            assert all(r["hint_valid_fraction"] == 0.0 for r in rows)
        if fault == "hang":  # the loop waited at most a timeout per call, never the hang
            assert seconds < 45.0


def test_guard_returns_results_and_counts_failures():
    guard = TeacherGuard(timeout=0.2)
    try:
        assert guard.call("ok", lambda x: x + 1, 1) == (True, 2)
        assert guard.call("raise", lambda: 1 / 0) == (False, None)
        gate = threading.Event()
        assert guard.call("hang", gate.wait) == (False, None)
        assert guard.call("ok", lambda: 3) == (False, None)  # busy: the hung call still runs
        gate.set()
        time.sleep(0.05)
        assert guard.call("ok", lambda: 3) == (True, 3)  # it returned: served again
        assert guard.metrics() == {"teacher_failures": 3.0}
        assert guard.metrics() == {"teacher_failures": 0.0}  # reset
    finally:
        guard.close()


def test_guard_rejects_bad_timeouts():
    for bad in (0, -1.0, math.nan):
        with pytest.raises(ValueError, match="timeout"):
            TeacherGuard(timeout=bad)


def test_finite_rows_allows_masked_actions_only():
    scores = np.array([[0.0, -np.inf], [np.nan, 0.0], [np.inf, 0.0], [-np.inf, -np.inf]])
    assert finite_rows(scores).tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match="batch, actions"):
        finite_rows(np.zeros(3))
