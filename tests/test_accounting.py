"""Honest accounting: simulator steps outside the rollout, and the student's own success."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from bidir_core.student.ppo import PPOConfig
from bidir_core.teacher import samples
from bidir_core.training.metrics import WALL_TIME_COLUMNS
from bidir_core.training import TrainConfig, Trainer, evaluate, read_metrics
from bidir_core.training.modes import TeacherModeConfig

TASK = "BabyAI-GoToRedBallNoDists-v0"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class _CountingEnv:
    """Wraps a BidirVecEnv and counts env steps (calls x envs)."""

    steps = 0

    def __init__(self, env):
        self._env = env

    def step(self, actions):
        _CountingEnv.steps += self._env.num_envs
        return self._env.step(actions)

    def __getattr__(self, name):
        return getattr(self._env, name)


def small(mode: str, iterations: int = 2, **teacher) -> TrainConfig:
    return TrainConfig(
        mode=mode, task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * iterations,
        seed=2, student_eval_every=1, student_eval_episodes=8,
        teacher=TeacherModeConfig(probe_states=8, **teacher),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip


@pytest.mark.slow
def test_sim_steps_count_every_lookahead_and_probe_step(tmp_path, monkeypatch):
    real_make_vec = samples.make_vec
    monkeypatch.setattr(samples, "make_vec", lambda *a, **k: _CountingEnv(real_make_vec(*a, **k)))
    _CountingEnv.steps = 0
    cfg = small("bidir", lookahead_horizon=1, query_every=1)
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        probe_steps = _CountingEnv.steps
        assert probe_steps > 0 and trainer.mode.sim_steps() == probe_steps
        trainer.train()
    rows = read_metrics(tmp_path / "run")
    # horizon 1: each query (one per env and step) takes each of the 6 suggestions once
    per_iteration = 6 * cfg.steps_per_iteration
    assert [r["sim_steps"] for r in rows] == [probe_steps + per_iteration * (i + 1)
                                              for i in range(len(rows))]


@pytest.mark.slow
def test_sim_steps_are_zero_without_a_teacher(tmp_path):
    with Trainer(small("ppo"), tmp_path / "run", progress=False, tensorboard=False) as trainer:
        trainer.train()
    assert [r["sim_steps"] for r in read_metrics(tmp_path / "run")] == [0, 0]


@pytest.mark.slow
def test_the_student_alone_is_evaluated_on_fresh_episodes(tmp_path):
    cfg = small("teach", iterations=2)
    cfg.student_eval_every = 2
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        trainer.train()
    rows = read_metrics(tmp_path / "run")
    assert rows[0].get("student_success") is None  # not due at iteration 1
    last = rows[-1]
    for key in ("student_success", "student_return", "student_success_greedy",
                "student_return_greedy"):
        assert last[key] is not None and math.isfinite(last[key])
    # the same number as `bidir eval` of the final checkpoint on the same episodes
    again = evaluate(tmp_path / "run", episodes=8)
    assert again["success_rate"] == pytest.approx(last["student_success"])
    assert again["return_mean"] == pytest.approx(last["student_return"])
    greedy = evaluate(tmp_path / "run", episodes=8, greedy=True)
    assert greedy["success_rate"] == pytest.approx(last["student_success_greedy"])


@pytest.mark.slow
def test_evaluating_the_student_does_not_change_training(tmp_path):
    """Evaluations touch no RNG of training: the metrics match a run without them."""
    histories = []
    for every in (0, 1):
        cfg = small("ppo", iterations=3)
        cfg.student_eval_every = every
        run = tmp_path / f"every{every}"
        with Trainer(cfg, run, progress=False, tensorboard=False) as trainer:
            trainer.train()
        histories.append([{k: v for k, v in r.items()
                           if not k.startswith("student_") and k not in WALL_TIME_COLUMNS}
                          for r in read_metrics(run)])  # fmt: skip
    assert histories[0] == histories[1]


def test_student_eval_options_are_validated():
    with pytest.raises(ValueError, match="student_eval_every"):
        TrainConfig(student_eval_every=-1).validate()
    with pytest.raises(ValueError, match="student_eval_episodes"):
        TrainConfig(student_eval_episodes=0).validate()
    assert np.isfinite(TrainConfig().student_eval_episodes)
