"""`bidir experiment paper`: statistics, result files, end to end, resume, bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch
from bidir_core.cli import main
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.experiment import (
    ExperimentConfig,
    mean_ci,
    plot_results,
    summarize,
    t_quantile,
    write_results,
)

TASK = "BabyAI-GoToRedBallNoDists-v0"
# Tiny runs: iterations of 64 frames over 8 envs.
TINY = ["--steps-per-iteration", "64", "--num-envs", "8", "--eval-episodes", "10"]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


# Student t quantiles t_{0.975, df} from a printed table.
@pytest.mark.parametrize(
    "df,expected", [(1, 12.7062047), (2, 4.3026527), (4, 2.7764451), (30, 2.0422725)]
)
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)


def test_mean_ci_by_hand():
    # mean 0.7; sample sd 0.2; sem 0.2 / sqrt(3); half-width t_{0.975,2} * sem.
    stat = mean_ci([0.5, 0.7, 0.9])
    assert stat["n"] == 3
    assert stat["mean"] == pytest.approx(0.7)
    assert stat["ci"] == pytest.approx(4.3026527 * 0.2 / math.sqrt(3), abs=1e-6)
    # Missing values (no episode ended yet) are left out, not counted as zeros.
    assert mean_ci([0.2, None, float("nan"), 0.4]) == pytest.approx(
        {"mean": 0.3, "ci": 12.7062047 * 0.1, "n": 2}, abs=1e-6
    )
    assert mean_ci([0.5]) == {"mean": 0.5, "ci": None, "n": 1}
    assert mean_ci([None]) == {"mean": None, "ci": None, "n": 0}


def _row(it, success, ret, time_s, **extra):
    return {"iteration": it, "frames": it * 64, "rolling_success": success,
            "rolling_return": ret, "time_s": time_s, **extra}  # fmt: skip


def test_results_of_a_fake_experiment(tmp_path):
    cfg = ExperimentConfig(
        out=tmp_path, task=TASK, modes=("ppo", "teach"), seeds=2, budgets=(3, 2),
        steps_per_iteration=64,
    ).validate()  # fmt: skip
    assert cfg.budgets == (2, 3) and cfg.iterations == 3
    runs = {
        "ppo-s0": [_row(1, None, None, 1.0), _row(2, 0.2, 0.1, 2.0), _row(3, 0.5, 0.3, 3.0)],
        "ppo-s1": [_row(1, 0.0, 0.0, 1.5), _row(2, 0.4, 0.3, 3.0), _row(3, 0.7, 0.5, 4.5)],
        "teach-s0": [
            _row(1, 0.5, 0.4, 2.0, probe_agreement=0.6, probe_agreement_determined=0.9),
            _row(2, 0.6, 0.5, 4.0, probe_agreement=None),
            _row(3, 0.9, 0.8, 6.0, probe_agreement=0.7, probe_agreement_determined=0.95),
        ],
        # This seed stopped after iteration 2: it counts at budget 2 only.
        "teach-s1": [
            _row(1, 0.5, 0.4, 2.0, probe_agreement=0.8),
            _row(2, 0.8, 0.7, 4.0, probe_agreement=None),
        ],
    }
    for name, rows in runs.items():
        (tmp_path / "runs" / name).mkdir(parents=True)
        with open(tmp_path / "runs" / name / "metrics.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)

    summary = summarize(cfg)
    write_results(cfg, summary)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(summary))
    by = {(r["mode"], r["iterations"]): r for r in saved["results"]}
    assert set(by) == {("ppo", 2), ("ppo", 3), ("teach", 2), ("teach", 3)}

    ppo2 = by["ppo", 2]
    assert ppo2["frames"] == 128 and ppo2["seeds"] == 2
    # success 0.2 and 0.4: mean 0.3, sd 0.1414, sem 0.1, t_{0.975,1} = 12.706
    assert ppo2["success"] == pytest.approx({"mean": 0.3, "ci": 1.27062047, "n": 2})
    assert ppo2["return"] == pytest.approx({"mean": 0.2, "ci": 1.27062047, "n": 2})
    assert ppo2["time_s"] == pytest.approx({"mean": 2.5, "ci": 6.35310235, "n": 2})
    assert "probe_agreement" not in ppo2
    # Probe agreement is measured on some iterations only: the latest at or before the budget.
    assert by["teach", 2]["probe_agreement"] == pytest.approx(
        {"mean": 0.7, "ci": 1.27062047, "n": 2}
    )
    teach3 = by["teach", 3]
    assert teach3["seeds"] == 1
    assert teach3["success"] == {"mean": 0.9, "ci": None, "n": 1}
    assert teach3["probe_agreement"] == {"mean": 0.7, "ci": None, "n": 1}
    assert teach3["probe_agreement_determined"] == {"mean": 0.95, "ci": None, "n": 1}
    assert by["teach", 2]["probe_agreement_determined"] == {"mean": 0.9, "ci": None, "n": 1}

    md = (tmp_path / "results.md").read_text()
    assert "last 100 training episodes" in md and "95% Student-t" in md
    assert "| ppo | 2 | 128 | 2 | 0.300 ± 1.271 | 0.200 ± 1.271 | 2.5 ± 6.4 | — | — |" in md
    assert "| teach | 3 | 192 | 1 | 0.900 | 0.800 | 6.0 | 0.700 | 0.950 |" in md
    assert "0.900 (n=1) |" in md  # budget 2: one of the two seeds measured it

    paths = plot_results(cfg)
    assert sorted(p.name for p in paths) == [
        "success_vs_frames.png", "success_vs_time.png", "teacher_agreement.png"
    ]  # fmt: skip
    assert all(p.stat().st_size > 1000 for p in paths)


def test_tiny_experiment_end_to_end_and_rerun_skips_finished_runs(tmp_path, capsys):
    out = tmp_path / "exp"
    argv = ["experiment", "paper", "--modes", "ppo,teach", "--seeds", "2", "--budgets", "2,1",
            "--out", str(out), "--jobs", "2", "--learning-rate", "0.002", "--no-anneal-lr",
            "--probe-every", "1", *TINY]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in ("ppo-s0", "ppo-s1", "teach-s0", "teach-s1"):
        config = json.loads((out / "runs" / name / "config.json").read_text())
        mode, seed = name.split("-s")
        assert (config["mode"], config["seed"], config["task"]) == (mode, int(seed), TASK)
        assert config["total_frames"] == 128 and config["steps_per_iteration"] == 64
        assert config["num_envs"] == 8 and config["teacher"]["probe_every"] == 1
        assert config["ppo"]["learning_rate"] == 0.002 and config["ppo"]["anneal_lr"] is False
        assert [r["iteration"] for r in read_metrics(out / "runs" / name)] == [1, 2]
        assert f"{name} finished" in printed
    for f in ("results.md", "results.json", "success_vs_frames.png", "success_vs_time.png",
              "teacher_agreement.png"):  # fmt: skip
        assert (out / f).is_file(), f
    results = json.loads((out / "results.json").read_text())
    assert [(r["mode"], r["iterations"], r["frames"], r["seeds"]) for r in results["results"]] == [
        ("ppo", 1, 64, 2), ("ppo", 2, 128, 2), ("teach", 1, 64, 2), ("teach", 2, 128, 2)
    ]  # fmt: skip
    teach = [r for r in results["results"] if r["mode"] == "teach"]
    assert all(0 <= r["probe_agreement"]["mean"] <= 1 for r in teach)
    assert set(results["evaluation"]) == {"ppo", "teach"}
    assert results["evaluation"]["ppo"]["seeds"] == 2
    assert "| mode | iterations | frames | seeds | success (rolling)" in printed

    # Running it again trains nothing: every run is skipped, its files left as they were.
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/checkpoint.pt")}
    assert len(stamps) == 4
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("finished already (2 iterations), skipped") == 4
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/checkpoint.pt")} == stamps

    # Other run settings in the same folder are refused.
    assert main([*argv[:7], "1,3", *argv[8:]]) == 2
    assert "holds an experiment with other run settings" in capsys.readouterr().err


def test_unfinished_runs_are_resumed_and_broken_ones_restarted(tmp_path, capsys):
    out = tmp_path / "exp"
    # ppo-s0 was interrupted after its first iteration (of 3) ...
    config = TrainConfig(task=TASK, mode="ppo", seed=0, num_envs=8, steps_per_iteration=64,
                         total_frames=192)  # fmt: skip
    with Trainer(config, out / "runs" / "ppo-s0", progress=False) as trainer:
        assert trainer.train(stop_after_iteration=1)["status"] == "stopped"
    # ... and ppo-s1 was killed before it wrote a checkpoint.
    (out / "runs" / "ppo-s1").mkdir(parents=True)
    (out / "runs" / "ppo-s1" / "config.json").write_text("{}")

    argv = ["experiment", "paper", "--modes", "ppo", "--seeds", "2", "--budgets", "3",
            "--out", str(out), *TINY]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ppo-s0: resuming at iteration 1 of 3" in printed
    assert "ppo-s1: no usable checkpoint" in printed
    assert "--resume" in (out / "logs" / "ppo-s0.log").read_text()
    for name in ("ppo-s0", "ppo-s1"):
        assert [r["iteration"] for r in read_metrics(out / "runs" / name)] == [1, 2, 3]
    assert json.loads((out / "results.json").read_text())["results"][0]["seeds"] == 2


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--modes", "ppo,nope"], "unknown training mode 'nope'"),
        (["--modes", "ppo,ppo"], "lists a mode twice"),
        (["--budgets", "10,x"], "--budgets must be comma-separated positive integers"),
        (["--budgets", "0,40"], "--budgets must be comma-separated positive integers"),
        (["--seeds", "0"], "--seeds must be an int >= 1"),
        (["--jobs", "0"], "--jobs must be an int >= 1"),
        (["--task", "BabyAI-GoToRedBal-v0"], "did you mean"),
        (["--learning-rate", "-1"], "ppo.learning_rate must be a positive number"),
        (["--num-envs", "7"], "multiple of num_envs"),
    ],
)
def test_bad_flags_are_clear_errors(extra, message, tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["experiment", "paper", "--modes", "ppo", "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_second_runner_on_the_same_folder_is_refused(tmp_path, capsys):
    import fcntl

    out = tmp_path / "exp"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running experiment holds it
        argv = ["experiment", "paper", "--modes", "ppo", "--seeds", "1", "--budgets", "1",
                "--out", str(out), *TINY]  # fmt: skip
        assert main(argv) == 2
    assert "another `bidir experiment` is running" in capsys.readouterr().err
    assert not (out / "runs").exists()
