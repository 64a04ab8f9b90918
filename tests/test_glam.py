"""The glam mode: the teacher acts and learns by PPO with its own value head, no student."""

from __future__ import annotations

import types

import bidir_core
import numpy as np
import pytest
import torch
from bidir_core.cli import main
from bidir_core.rollout import RolloutBuffer
from bidir_core.student.ppo import PPOConfig
from bidir_core.training import TrainConfig, Trainer, evaluate, read_metrics
from bidir_core.training.modes.glam import GlamMode
from bidir_core.training.modes import TeacherModeConfig
from run_helpers import history, update_ctx
from teacher_models import wrong_state

TASK = "BabyAI-GoToRedBallNoDists-v0"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def small_config(**kwargs) -> TrainConfig:
    values = {
        "mode": "glam",
        "task": TASK,
        "num_envs": 8,
        "steps_per_iteration": 64,
        "total_frames": 64 * 4,
        "checkpoint_every": 2,
        "seed": 3,
        "teacher": TeacherModeConfig(probe_states=32, probe_every=2, teacher_lr=1e-4),
        "ppo": PPOConfig(update_epochs=2, num_minibatches=2),
    }
    values.update(kwargs)
    return TrainConfig(**values)


def clone(state: dict) -> dict:
    """A deep copy of a (nested) state dict's tensors and arrays."""
    out = {}
    for k, v in state.items():
        if isinstance(v, dict):
            out[k] = clone(v)
        elif isinstance(v, torch.Tensor):
            out[k] = v.clone()
        else:
            out[k] = v
    return out


def assert_same(a, b, where: str = "") -> None:
    """Nested dicts of tensors / values are equal."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_glam_runs_end_to_end_and_resumes_exactly(tmp_path) -> None:
    config = small_config()
    with Trainer(config, tmp_path / "full", progress=False, tensorboard=False) as trainer:
        student_before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
        teacher_before = {k: v.clone() for k, v in trainer.mode.teacher.model.state_dict().items()}
        assert trainer.train()["status"] == "finished"
        # The teacher acted: only its candidates were drawn, never "done" (id 6).
        assert trainer.collector.buffer.actions.max() < len(trainer.mode.teacher.actions)
        # No student is trained; the teacher is.
        for k, v in trainer.net.state_dict().items():
            torch.testing.assert_close(v, student_before[k])
        changed = [
            k for k, v in trainer.mode.teacher.model.state_dict().items()
            if not torch.equal(v, teacher_before[k])
        ]  # fmt: skip
        assert changed
    rows = read_metrics(tmp_path / "full")
    assert [r["iteration"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["frames"] == 256
    for row in rows:
        for key in (
            "success_rate",
            "return_mean",
            "rolling_success",
            "fps",
            "value_loss",
            "policy_loss",
            "entropy",
            "teacher_agreement",
            "teacher_entropy",
        ):
            assert row[key] is not None and np.isfinite(row[key]), (row["iteration"], key)
        assert 0.0 <= row["teacher_agreement"] <= 1.0
    # probes on the first iteration, every probe_every and the last
    assert [r.get("probe_agreement") is not None for r in rows] == [True, True, False, True]
    # 2 epochs x 2 minibatches of teacher optimizer steps per iteration
    assert [r["teacher_version"] for r in rows] == [4.0, 8.0, 12.0, 16.0]

    # Interrupted after 2 iterations and resumed: the teacher, its value head, optimiser
    # and RNGs come back, and the run continues exactly as the uninterrupted one.
    with Trainer(config, tmp_path / "resumed", progress=False, tensorboard=False) as trainer:
        assert trainer.train(stop_after_iteration=2)["status"] == "stopped"
        saved = clone(trainer.mode.learner.state_dict())
    assert saved["value_head"] and saved["optimizer"]["state"]
    with Trainer.resume(tmp_path / "resumed", progress=False, tensorboard=False) as resumed:
        assert resumed.iteration == 2
        assert_same(resumed.mode.learner.state_dict(), saved)
        assert resumed.mode.teacher.version == 8
        assert resumed.train()["status"] == "finished"
    assert history(tmp_path / "resumed") == history(tmp_path / "full")


def test_bootstrap_values_come_from_the_observation_prompts() -> None:
    """V of an observation rebuilt from its image and mission (how a truncated episode's
    final observation is valued) is V of the env's own prompt, carried objects included."""
    mode = GlamMode(small_config().validate())
    actor = mode.actor()
    env = bidir_core.make_vec("MiniGrid-DoorKey-5x5-v0", 8, seed=11)
    obs, _ = env.reset(seed=11)
    rng = np.random.default_rng(0)
    carried = 0
    for step in range(60):
        if step % 20 == 19:
            prompts = env.prompts()
            carried += sum("You carry" in p for p in prompts)
            expected = mode.learner.evaluate(prompts)[1]
            got = actor.values(np.array(obs["image"]), np.array(obs["mission"]))
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
            logp, values = actor.act(0, env, 0)
            np.testing.assert_allclose(values.numpy(), expected, rtol=1e-5, atol=1e-6)
            assert torch.isinf(logp[:, 6]).all() and (logp[:, 6] < 0).all()  # never "done"
            torch.testing.assert_close(logp[:, :6].exp().sum(1), torch.ones(8))
        obs, *_ = env.step(rng.integers(0, 6, 8))
    assert carried > 0


@pytest.mark.slow
def test_ppo_update_raises_pi_t_of_rewarded_actions_and_fits_the_value() -> None:
    prompt = wrong_state()
    T, N = 8, 4
    config = types.SimpleNamespace(
        teacher=TeacherModeConfig(probe_states=8, teacher_lr=1e-3),
        ppo=PPOConfig(anneal_lr=False),
        task=TASK, seed=0, num_envs=N, num_steps=T, steps_per_iteration=T * N,
        total_iterations=3,
    )  # fmt: skip
    mode = GlamMode(config)
    actor = mode.actor()
    before = np.exp(mode.teacher.action_logprobs([prompt])[0])
    assert before[0] > before[1]  # the teacher is wrong here
    value_before = float(mode.learner.evaluate([prompt])[1][0])
    # The teacher tried both turns in that state: "turn right" ended the episode with
    # reward 1, "turn left" with 0; every step is a one-step episode.
    for iteration in range(1, 4):
        logp, values = mode.learner.evaluate([prompt] * (T * N))
        buf = RolloutBuffer(T, N)
        buf.actions[:] = np.where(np.arange(N) % 2 == 0, 1, 0)[None, :]
        buf.rewards[:] = (buf.actions == 1).astype(np.float32)
        buf.terminated[:] = True
        buf.values[:] = values.reshape(T, N)
        buf.logprobs[:] = logp[np.arange(T * N), buf.actions.ravel()].reshape(T, N)
        buf.compute_gae(np.zeros(N, np.float32), 0.99, 0.95)
        actor.prompts[:] = [prompt] * (T * N)
        actor.logp[:] = logp.reshape(T, N, -1)
        actor.oracle[:] = 1
        stats = mode.after_update(update_ctx(iteration, buf))
        assert np.isfinite(stats["value_loss"]) and np.isfinite(stats["policy_loss"])
        assert stats["teacher_agreement"] == float(iteration > 1 and logp[0].argmax() == 1)
    after = np.exp(mode.teacher.action_logprobs([prompt])[0])
    assert after[1] > before[1] + 0.1, (before, after)
    assert after[0] < before[0]
    # The value head moves towards the state's mean return, 0.5.
    value_after = float(mode.learner.evaluate([prompt])[1][0])
    assert abs(value_after - 0.5) < abs(value_before - 0.5) - 0.05, (value_before, value_after)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ppo": PPOConfig(target_kl=0.02)}, "target_kl"),
        ({"teacher": TeacherModeConfig(teacher_lr=0.0)}, "teacher_lr"),
    ],
)
def test_bad_glam_config_is_a_clear_error(tmp_path, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        Trainer(small_config(**kwargs), tmp_path / "run", progress=False, tensorboard=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_offers_glam_and_eval_refuses_a_glam_run(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    argv = ["train", "--mode", "glam", "--run-dir", str(run), "--frames", "64", "--quiet",
            "--num-envs", "8", "--steps-per-iteration", "64", "--probe-states", "16"]  # fmt: skip
    assert main(argv) == 0
    assert "finished: 1 iterations, 64 frames" in capsys.readouterr().out
    with pytest.raises(ValueError, match="glam run"):
        evaluate(run, episodes=10)
    assert main(["eval", str(run)]) == 2
    assert "glam run" in capsys.readouterr().err
    other = tmp_path / "other"
    assert main([*argv[:3], "--run-dir", str(other), "--teacher", str(tmp_path / "no-model")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not other.exists()
    with pytest.raises(SystemExit):
        main(["train", "--mode", "glma"])
    assert "invalid choice: 'glma'" in capsys.readouterr().err
