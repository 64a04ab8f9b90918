"""The trainer: it learns, resumes exactly, rejects broken checkpoints, and evaluates."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from bidir_core.student import PPOConfig
from bidir_core.training import (
    CheckpointError,
    TrainConfig,
    Trainer,
    evaluate,
    load_checkpoint,
    read_metrics,
)
from bidir_core.training.trainer import METRIC_COLUMNS
from run_helpers import history


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def small_config(**kwargs) -> TrainConfig:
    values = {
        "task": "BabyAI-GoToRedBallNoDists-v0",
        "num_envs": 8,
        "steps_per_iteration": 64,
        "total_frames": 64 * 12,
        "checkpoint_every": 3,
        "rolling_window": 20,
        "seed": 7,
        "mode": "ppo",
    }
    values.update(kwargs)
    return TrainConfig(**values)


def test_ppo_learns_empty_5x5(tmp_path):
    config = TrainConfig(
        mode="ppo",
        task="MiniGrid-Empty-5x5-v0",
        num_envs=8,
        steps_per_iteration=128,
        total_frames=8192,
        seed=0,
        ppo=PPOConfig(learning_rate=1e-3),
    )
    with Trainer(config, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        summary = trainer.train()
    assert summary["status"] == "finished" and summary["frames"] == 8192
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 64 and rows[-1]["iteration"] == 64
    # A random walk reaches the goal (100 steps allowed) but slowly: return well below 0.8.
    first = [r["return_mean"] for r in rows[:3] if r["return_mean"] is not None]
    assert first and max(first) < 0.8
    # The shortest path takes 5 steps: return 1 - 0.9 * 5 / 100 = 0.955.
    result = evaluate(tmp_path / "run", episodes=200, greedy=True)
    assert result["success_rate"] == 1.0
    assert result["return_mean"] >= 0.94
    assert (tmp_path / "run" / "success.png").stat().st_size > 0


def test_run_directory_contents(tmp_path):
    run = tmp_path / "run"
    with Trainer(small_config(total_frames=64 * 4), run, progress=False) as trainer:
        trainer.train()
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "BabyAI-GoToRedBallNoDists-v0" and config["ppo"]["clip_coef"] == 0.2
    assert TrainConfig.from_dict(config) == small_config(total_frames=64 * 4)
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == list(METRIC_COLUMNS)
    assert len((run / "metrics.csv").read_text().splitlines()) == 5
    rows = read_metrics(run)
    assert [r["frames"] for r in rows] == [64, 128, 192, 256]
    assert list((run / "tb").glob("events.out.tfevents.*"))
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["iteration"] == 4 and state["frames"] == 256
    with pytest.raises(ValueError, match="not empty"):
        Trainer(small_config(), run, progress=False)


@pytest.mark.parametrize("env_groups", [1, 2])
@pytest.mark.slow
def test_interrupted_and_resumed_run_has_the_same_history(tmp_path, env_groups):
    config = small_config(env_groups=env_groups)
    with Trainer(config, tmp_path / "full", progress=False, tensorboard=False) as trainer:
        trainer.train()
    full = history(tmp_path / "full")
    assert len(full) == 12

    # Stopped cleanly after iteration 5 (as Ctrl-C does), then resumed.
    with Trainer(config, tmp_path / "stopped", progress=False, tensorboard=False) as trainer:
        assert trainer.train(stop_after_iteration=5)["status"] == "stopped"
    assert len(history(tmp_path / "stopped")) == 5
    with Trainer.resume(tmp_path / "stopped", progress=False, tensorboard=False) as trainer:
        assert trainer.iteration == 5
        assert trainer.train()["status"] == "finished"
    assert history(tmp_path / "stopped") == full

    # Crashed after iteration 8 with the last checkpoint at 6: iterations 7 and 8 are redone.
    with Trainer(config, tmp_path / "crashed", progress=False, tensorboard=False) as trainer:
        trainer.train(stop_after_iteration=6)
        trainer._iterate()
        trainer._iterate()
        trainer.metrics.flush()
    assert len(history(tmp_path / "crashed")) == 8
    with Trainer.resume(tmp_path / "crashed", progress=False, tensorboard=False) as trainer:
        assert trainer.iteration == 6
        trainer.train()
    assert history(tmp_path / "crashed") == full


def test_different_seeds_give_different_histories(tmp_path):
    for seed in (1, 2):
        with Trainer(
            small_config(seed=seed, total_frames=64 * 3, student_eval_every=0, video_episodes=0),
            tmp_path / f"s{seed}",
            progress=False,
            tensorboard=False,
        ) as trainer:
            trainer.train()
    assert history(tmp_path / "s1") != history(tmp_path / "s2")


@pytest.fixture(scope="module")
def _trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "run"
    torch.set_num_threads(1)
    with Trainer(small_config(total_frames=64 * 2), run, progress=False, tensorboard=False) as t:
        t.train()
    return run


@pytest.fixture
def finished_run(_trained_run, tmp_path):
    """A copy of one finished 2-iteration run (trained once per module), for a test to damage."""
    run = tmp_path / "run"
    shutil.copytree(_trained_run, run)
    return run


def test_truncated_checkpoint_is_a_clear_error(finished_run):
    # (with an intact checkpoint.prev.pt the run resumes from it: test_run_robustness.py)
    path = finished_run / "checkpoint.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    prev = finished_run / "checkpoint.prev.pt"
    prev.write_bytes(prev.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        Trainer.resume(finished_run, progress=False)
    path.write_bytes(data[:30])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_corrupted_checkpoint_is_a_clear_error(finished_run):
    path = finished_run / "checkpoint.pt"
    for p in (path, finished_run / "checkpoint.prev.pt"):
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        Trainer.resume(finished_run, progress=False)
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        evaluate(finished_run, 10)
    path.write_bytes(b"PK\x03\x04 not ours")
    with pytest.raises(CheckpointError, match="not a bidir_core checkpoint"):
        load_checkpoint(path)
    path.unlink()
    (finished_run / "checkpoint.prev.pt").unlink()
    (finished_run / "checkpoint.corrupt.pt").unlink(missing_ok=True)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Trainer.resume(finished_run, progress=False)


def test_checkpoint_of_another_config_is_rejected(finished_run):
    config = json.loads((finished_run / "config.json").read_text())
    config["num_envs"] = 4
    (finished_run / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="different config.json") as err:
        Trainer.resume(finished_run, progress=False)
    assert "num_envs: 8 in the checkpoint, 4 now" in str(err.value)


def test_evaluate_counts_episodes_and_is_reproducible(finished_run):
    a = evaluate(finished_run, episodes=37, num_envs=8)
    b = evaluate(finished_run, episodes=37, num_envs=8)
    assert a == b
    assert a["episodes"] == 37 and a["policy"] == "sampled"
    assert 0.0 <= a["success_rate"] <= 1.0
    assert evaluate(finished_run, episodes=37, greedy=True)["policy"] == "greedy"
    with pytest.raises(ValueError, match="episodes"):
        evaluate(finished_run, episodes=0)
    with pytest.raises(ValueError, match="not a run directory"):
        evaluate(finished_run / "nope", episodes=5)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"task": "BabyAI-GoToRedBal-v0"}, ValueError, "did you mean"),
        ({"mode": "sarsa"}, ValueError, "unknown training mode 'sarsa'; available: ppo"),
        ({"steps_per_iteration": 100}, ValueError, "multiple of num_envs"),
        ({"num_envs": 0}, ValueError, "num_envs must be >= 1"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"env_groups": 3}, ValueError, "env_groups"),
    ],
)
def test_bad_config_is_rejected(kwargs, exc, match, tmp_path):
    with pytest.raises(exc, match=match):
        Trainer(small_config(**kwargs), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_run_writes_progress_lines_where_stderr_is_not_a_terminal(tmp_path, capsys):
    cfg = TrainConfig(mode="ppo", num_envs=4, steps_per_iteration=128, total_frames=128 * 3,
                      student_eval_every=0)
    with Trainer(cfg, tmp_path / "run", progress=True, tensorboard=False) as trainer:
        trainer.log_interval = 3600.0  # only the first and last iterations are due
        trainer.train()
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("ppo it ")]
    assert len(lines) == 2 and lines[0].startswith("ppo it 1/3 frames 128/384 fps ")
    assert lines[1].startswith("ppo it 3/3 frames 384/384") and "success(behaviour)" in lines[1]


def test_tensorboard_steps_are_frames_and_the_config_is_recorded(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(mode="ppo", num_envs=4, steps_per_iteration=32, total_frames=64,
                      student_eval_every=0)
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=True) as trainer:
        trainer.train()
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/iteration")] == [32, 64]
    assert "hyperparameters/text_summary" in events.Tags()["tensors"]
