"""`bidir experiment paper`: statistics, result files, end to end, resume, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from bidir_core.cli import main
from bidir_core.experiment import (
    ExperimentConfig,
    mean_ci,
    merge_summaries,
    plot_results,
    run_experiment,
    run_state,
    summarize,
    t_quantile,
    write_results,
)
from bidir_core.experiment import runner
from bidir_core.training import TrainConfig, Trainer, read_metrics, save_checkpoint
from scipy import stats

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


@pytest.mark.parametrize("n", [2, 3, 5, 31])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_mean_ci_is_scipys_student_t_interval(n, confidence):
    xs = np.random.default_rng(n).random(n)
    stat = mean_ci(xs.tolist(), confidence)
    lo, hi = stats.t.interval(confidence, n - 1, loc=xs.mean(), scale=stats.sem(xs))
    assert stat["n"] == n and stat["mean"] == pytest.approx(xs.mean(), rel=1e-12)
    assert stat["ci"] == pytest.approx((hi - lo) / 2, rel=1e-12)
    assert t_quantile(0.5 + confidence / 2, n - 1) == stats.t.ppf(0.5 + confidence / 2, n - 1)


@pytest.mark.parametrize("p,df", [(0.4, 3), (1.0, 3), (0.975, 0), (0.975, 2.0), (0.975, True)])
def test_t_quantile_refuses_bad_arguments(p, df):
    with pytest.raises(ValueError, match="must be"):
        t_quantile(p, df)


def _run_folder(run_dir, newest=None, previous=None):
    """A run folder with config.json and checkpoints: an iteration, "bad" (corrupt), None."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text("{}")
    for name, what in (("checkpoint.pt", newest), ("checkpoint.prev.pt", previous)):
        if what == "bad":
            (run_dir / name).write_bytes(b"BIDIR-CHECKPOINT 1\n" + b"0" * 64 + b"\ntorn")
        elif what is not None:
            save_checkpoint({"iteration": what}, run_dir / name)


@pytest.mark.parametrize(
    "newest,previous,state",
    [
        (3, None, ("finished", 3)),
        (2, 1, ("partial", 2)),
        ("bad", 1, ("partial", 1)),  # resumed from checkpoint.prev.pt
        (None, 1, ("partial", 1)),  # (the trainer moved a damaged checkpoint.pt aside)
        ("bad", "bad", ("damaged", 0)),  # kept: not trained again from scratch
        ("bad", None, ("new", 0)),
        (None, None, ("new", 0)),
    ],
)
def test_run_state_falls_back_to_the_previous_checkpoint(tmp_path, newest, previous, state):
    _run_folder(tmp_path / "run", newest, previous)
    assert run_state(tmp_path / "run", 3) == state


def test_runs_with_a_previous_checkpoint_are_never_deleted(tmp_path, monkeypatch):
    started = []

    class FakeRun:  # a `bidir train` that exits at once
        returncode = 0

        def __init__(self, argv, **kwargs):
            started.append(argv[4:])  # after python -m bidir_core train

        def poll(self):
            return 0

    monkeypatch.setattr(runner.subprocess, "Popen", FakeRun)
    cfg = ExperimentConfig(out=tmp_path, task=TASK, modes=("ppo",), seeds=4, budgets=(3,),
                           eval_episodes=0)  # fmt: skip
    for seed, (newest, previous) in enumerate([(3, 2), ("bad", 1), ("bad", "bad"), ("bad", None)]):
        _run_folder(cfg.run_dir(f"ppo-s{seed}"), newest, previous)
    logged = []
    assert run_experiment(cfg, logged.append) == "failed"  # ppo-s2 cannot go on
    assert ["--resume", str(cfg.run_dir("ppo-s1")), "--quiet"] in started
    new = [argv[:4] for argv in started if argv[0] == "--mode"]
    assert new == [["--mode", "ppo", "--seed", "3"]]
    assert len(started) == 2
    assert any("ppo-s2 FAILED: neither checkpoint.pt nor checkpoint.prev.pt" in m for m in logged)
    kept = {p.name for p in cfg.run_dir("ppo-s2").iterdir()}
    assert kept == {"checkpoint.pt", "checkpoint.prev.pt", "config.json"}
    assert not cfg.run_dir("ppo-s3").exists()  # no previous checkpoint: started again


def _row(it, success, ret, time_s, **extra):
    return {"iteration": it, "frames": it * 64, "rolling_success": success,
            "rolling_return": ret, "time_s": time_s, **extra}  # fmt: skip


# Four runs of a fake experiment (modes ppo and teach, 2 seeds, 3 iterations of 64 frames).
FAKE_RUNS = {
    "ppo-s0": [_row(1, None, None, 1.0, sim_steps=0),
               _row(2, 0.2, 0.1, 2.0, sim_steps=0, student_success=0.2),
               _row(3, 0.5, 0.3, 3.0, sim_steps=0)],
    "ppo-s1": [_row(1, 0.0, 0.0, 1.5, sim_steps=0),
               _row(2, 0.4, 0.3, 3.0, sim_steps=0, student_success=0.4),
               _row(3, 0.7, 0.5, 4.5, sim_steps=0)],
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


def _fake_experiment(out):
    """Write FAKE_RUNS' metrics into out/runs/; return the runs."""
    for name, rows in FAKE_RUNS.items():
        (out / "runs" / name).mkdir(parents=True)
        with open(out / "runs" / name / "metrics.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return FAKE_RUNS


def test_results_of_a_fake_experiment(tmp_path):
    cfg = ExperimentConfig(
        out=tmp_path, task=TASK, modes=("ppo", "teach"), seeds=2, budgets=(3, 2),
        steps_per_iteration=64,
    ).validate()  # fmt: skip
    assert cfg.budgets == (2, 3) and cfg.iterations == 3
    runs = _fake_experiment(tmp_path)

    summary = summarize(cfg)
    write_results(tmp_path, summary)
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
    assert ("| ppo | 2 | 128 | 0 | 2 | 0.300 ± 1.271 | — | — | 0.300 ± 1.271 | 0.200 ± 1.271 "
            "| 2.5 ± 6.4 | — | — |") in md
    # the student's last evaluation <= the budget (none at 3: its one at 2)
    assert "| ppo | 3 | 192 | 0 | 2 | 0.300 ± 1.271 | — | — | 0.600 ± 1.271 |" in md
    assert "| teach | 3 | 192 | — | 1 | — | — | — | 0.900 | 0.800 | 6.0 | 0.700 | 0.950 |" in md
    assert "the student with no teacher on fresh episodes" in md
    assert "0.900 (n=1) |" in md  # budget 2: one of the two seeds measured it

    # The curves are kept, so the figures need the summary only (not the run folders).
    assert saved["curves"]["teach-s1"] == {
        "mode": "teach", "iteration": [1, 2], "rolling_success": [0.5, 0.8],
        "time_s": [2.0, 4.0], "probe_agreement": [0.8, None],
        "probe_agreement_determined": [None, None], "sim_steps": [None, None],
        "student_success": [None, None],
    }  # fmt: skip
    assert saved["curves"]["ppo-s0"]["rolling_success"] == [None, 0.2, 0.5]
    for name in runs:
        (tmp_path / "runs" / name / "metrics.jsonl").unlink()
    paths = plot_results(saved, tmp_path)
    assert sorted(p.name for p in paths) == [
        "student_success.png", "success_vs_frames.png", "success_vs_time.png",
        "teacher_agreement.png",
    ]  # fmt: skip
    assert all(p.stat().st_size > 1000 for p in paths)


GOLDEN = Path(__file__).parent / "data" / "experiment"


def _assert_same_json(got, expected):
    """got == expected, floats to 1e-9 (the t quantiles of scipy and of the old code)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected)
        for key in expected:
            _assert_same_json(got[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_same_json(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:
        assert got == expected


def test_the_report_of_a_fake_experiment_is_unchanged(tmp_path):
    # tests/data/experiment/ was written by the code before the experiment package.
    cfg = ExperimentConfig(out=tmp_path, task=TASK, modes=("ppo", "teach"), seeds=2,
                           budgets=(2, 3), steps_per_iteration=64).validate()  # fmt: skip
    _fake_experiment(tmp_path)
    evaluation = {
        "ppo": {"iterations": 3, "episodes_per_seed": 10, "seeds": 2,
                "success": mean_ci([0.6, 0.9]), "return": mean_ci([0.5, 0.75])},
        "teach": {"iterations": 3, "episodes_per_seed": 10, "seeds": 1,
                  "success": mean_ci([1.0]), "return": mean_ci([0.9])},
    }  # fmt: skip
    summary = summarize(cfg, evaluation)
    glam = dict(_summary(["glam"], seeds=2, budgets=(2, 3)), steps_per_iteration=64)
    merged = merge_summaries([summary, glam], ["a/results.json", "b/results.json"])
    for folder, made in (("single", summary), ("merged", merged)):
        (tmp_path / folder).mkdir()
        table = write_results(tmp_path / folder, made)
        md = (tmp_path / folder / "results.md").read_text()
        assert md == (GOLDEN / folder / "results.md").read_text()
        assert table in md
        _assert_same_json(json.loads((tmp_path / folder / "results.json").read_text()),
                          json.loads((GOLDEN / folder / "results.json").read_text()))  # fmt: skip


def test_long_runs_keep_thinned_curves_with_every_budget_and_probe(tmp_path):
    cfg = ExperimentConfig(out=tmp_path, task=TASK, modes=("teach",), seeds=1,
                           budgets=(7, 2100), steps_per_iteration=64).validate()  # fmt: skip
    rows = [_row(i, 0.5, 0.4, float(i), probe_agreement=0.8 if i % 10 == 1 else None)
            for i in range(1, 2101)]  # fmt: skip
    (tmp_path / "runs" / "teach-s0").mkdir(parents=True)
    with open(tmp_path / "runs" / "teach-s0" / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    kept = set(summarize(cfg)["curves"]["teach-s0"]["iteration"])
    assert {1, 7, 2100} <= kept  # the first, each budget, the last
    assert {i for i in range(1, 2101) if i % 10 == 1} <= kept  # every probe
    assert {i for i in range(4, 2101, 4)} <= kept  # every 2100 // 500 = 4th
    assert len(kept) < 800


def _summary(modes, seeds=3, budgets=(40,), curves=True, task=TASK, **extra):
    """A results.json-like summary: each mode's success is 0.1 * its position + 0.5."""
    results = [{"mode": m, "iterations": b, "frames": b * 256, "seeds": seeds,
                "success": {"mean": 0.5 + 0.1 * i, "ci": 0.01, "n": seeds},
                "return": {"mean": 0.4, "ci": 0.01, "n": seeds},
                "time_s": {"mean": 10.0, "ci": 1.0, "n": seeds}}
               for i, m in enumerate(modes) for b in budgets]  # fmt: skip
    summary = {
        "task": task, "modes": list(modes), "seeds": seeds, "budgets": list(budgets),
        "steps_per_iteration": 256, "train_args": [], "confidence": 0.95,
        "rolling_window": 100, "note": "", "results": results,
        "runs": {f"{m}-s{s}": {"mode": m} for m in modes for s in range(seeds)}, **extra,
    }  # fmt: skip
    if curves:
        summary["curves"] = {
            f"{m}-s{s}": {"mode": m, "iteration": [1, max(budgets)], "rolling_success": [0.1, 0.9],
                          "time_s": [1.0, 9.0], "probe_agreement": [None, None],
                          "probe_agreement_determined": [None, None]}
            for m in modes for s in range(seeds)
        }  # fmt: skip
    return summary


def test_merge_takes_each_mode_from_the_last_file_listing_it():
    old = _summary(["ppo", "glam"], budgets=(40, 2100), curves=False,
                   evaluation={"ppo": {"iterations": 2100}})  # fmt: skip
    new = _summary(["glam"], budgets=(40, 2100), train_args=["--teacher-lr", "0.001"])
    merged = merge_summaries([old, new], ["old.json", "new.json"])
    assert merged["modes"] == ["ppo", "glam"] and merged["budgets"] == [40, 2100]
    by = {(r["mode"], r["iterations"]): r["success"]["mean"] for r in merged["results"]}
    assert by == {("ppo", 40): 0.5, ("ppo", 2100): 0.5, ("glam", 40): 0.5, ("glam", 2100): 0.5}
    assert len(merged["results"]) == 4  # old's glam rows are gone (new's glam was at 0.6)
    assert set(merged["curves"]) == {"glam-s0", "glam-s1", "glam-s2"}
    assert merged["evaluation"] == {"ppo": {"iterations": 2100}}
    assert merged["sources"] == [
        {"file": "old.json", "modes": ["ppo"], "seeds": 3, "train_args": []},
        {"file": "new.json", "modes": ["glam"], "seeds": 3, "train_args": ["--teacher-lr", "0.001"]},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="different task"):
        merge_summaries([old, _summary(["bidir"], task="BabyAI-GoToLocal-v0")], ["a", "b"])


def test_merge_command_writes_the_table_and_figures(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(_summary(["ppo", "teach"], curves=False)))
    (tmp_path / "b.json").write_text(json.dumps(_summary(["glam"])))
    out = tmp_path / "merged"
    assert main(["experiment", "merge", str(tmp_path / "a"), str(tmp_path / "b.json"),
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "no learning curves for ppo, teach" in printed
    md = (out / "results.md").read_text()
    assert "Merged from:" in md and "b.json: modes glam; 3 seeds" in md
    assert "| glam | 40 | 10,240 | — | 3 | — | — | — | 0.500 ± 0.010 |" in md
    assert "| teach | 40 | 10,240 | — | 3 | — | — | — | 0.600 ± 0.010 |" in md
    assert json.loads((out / "results.json").read_text())["modes"] == ["ppo", "teach", "glam"]
    assert (out / "success_vs_frames.png").stat().st_size > 1000
    assert not (out / "teacher_agreement.png").exists()  # no mode has probe curves


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no results.json at"), ("{", "is not JSON"), ("[1, 2]", "is not an experiment's")],
)
def test_merge_refuses_what_is_not_a_results_file(tmp_path, capsys, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert main(["experiment", "merge", str(path), "--out", str(tmp_path / "m")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow  # ~30 s: four `bidir train` processes, twice
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
    assert "| mode | iterations | frames | sim steps | seeds | student alone: success (sampled)" in printed

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


@pytest.mark.slow
def test_unfinished_runs_are_resumed_and_broken_ones_restarted(tmp_path, capsys):
    out = tmp_path / "exp"
    # ppo-s0 and ppo-s2 were interrupted after their first iteration (of 3) ...
    for seed in (0, 2):
        config = TrainConfig(task=TASK, mode="ppo", seed=seed, num_envs=8,
                             steps_per_iteration=64, total_frames=192)  # fmt: skip
        with Trainer(config, out / "runs" / f"ppo-s{seed}", progress=False) as trainer:
            assert trainer.train(stop_after_iteration=1)["status"] == "stopped"
    # ... then ppo-s2's checkpoint.pt was torn (its checkpoint.prev.pt is iteration 0's) ...
    newest = out / "runs" / "ppo-s2" / "checkpoint.pt"
    newest.write_bytes(newest.read_bytes()[:-100])
    # ... and ppo-s1 was killed before it wrote a checkpoint.
    (out / "runs" / "ppo-s1").mkdir(parents=True)
    (out / "runs" / "ppo-s1" / "config.json").write_text("{}")

    argv = ["experiment", "paper", "--modes", "ppo", "--seeds", "3", "--budgets", "3",
            "--out", str(out), "--jobs", "3", *TINY]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ppo-s0: resuming at iteration 1 of 3" in printed
    assert "ppo-s1: no usable checkpoint" in printed
    assert "ppo-s2: resuming at iteration 0 of 3" in printed
    assert "--resume" in (out / "logs" / "ppo-s0.log").read_text()
    assert "resuming from the previous checkpoint" in (out / "logs" / "ppo-s2.log").read_text()
    for name in ("ppo-s0", "ppo-s1", "ppo-s2"):
        assert [r["iteration"] for r in read_metrics(out / "runs" / name)] == [1, 2, 3]
    assert json.loads((out / "results.json").read_text())["results"][0]["seeds"] == 3


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--modes", "ppo,nope"], "unknown training mode 'nope'"),
        (["--modes", "ppo,ppo"], "lists a mode twice"),
        (["--budgets", "10,x"], "--budgets must be comma-separated positive integers"),
        (["--budgets", "0,40"], "--budgets must be comma-separated positive integers"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--task", "BabyAI-GoToRedBal-v0"], "did you mean"),
        (["--learning-rate", "-1"], "ppo.learning_rate must be > 0"),
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
