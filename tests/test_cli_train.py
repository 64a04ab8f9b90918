"""`bidir train` and `bidir eval`: they run, resume, and reject bad input clearly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from bidir_core.cli import main
from bidir_core.training import read_metrics

SMALL = ["--num-envs", "8", "--steps-per-iteration", "64", "--checkpoint-every", "2"]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.mark.slow
def test_train_resume_and_eval(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--mode",
                "ppo",
                "--run-dir",
                str(run),
                "--frames",
                "192",
                "--quiet",
                "--learning-rate",
                "0.002",
                "--no-anneal-lr",
                *SMALL,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "finished: 3 iterations, 192 frames" in out
    config = json.loads((run / "config.json").read_text())
    assert config["ppo"]["learning_rate"] == 0.002 and config["ppo"]["anneal_lr"] is False
    assert config["total_frames"] == 192 and config["num_envs"] == 8

    # Resuming a finished run does nothing more and keeps its history.
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert len(read_metrics(run)) == 3

    assert "the final student plays in" in out
    gif = run / "student.gif"  # the default run's video, next to success.png
    assert (run / "success.png").is_file() and gif.stat().st_size > 1000
    assert gif.read_bytes()[:6] == b"GIF89a"

    assert main(["eval", str(run), "--episodes", "20"]) == 0
    out = capsys.readouterr().out
    assert "over 20 episodes" in out and "sampled actions" in out
    video = tmp_path / "eval.gif"
    assert main(["eval", str(run), "--episodes", "4", "--video", str(video),
                 "--video-episodes", "1"]) == 0
    assert f"video of 1 episodes: {video}" in capsys.readouterr().out
    assert video.read_bytes()[:6] == b"GIF89a"
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        pass
    else:
        mp4 = tmp_path / "eval.mp4"
        assert main(["eval", str(run), "--episodes", "4", "--video", str(mp4), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["video"] == str(mp4)
        assert mp4.read_bytes()[4:8] == b"ftyp" and mp4.stat().st_size > 1000
    assert main(["eval", str(run), "--episodes", "20", "--greedy", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 20 and result["policy"] == "greedy"
    assert 0.0 <= result["success_rate"] <= 1.0


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--task", "BabyAI-GoToRedBal-v0"], "did you mean"),
        (["train", "--steps-per-iteration", "100"], "multiple of num_envs"),
        (["train", "--learning-rate", "-1"], "ppo.learning_rate must be > 0"),
        (["eval", "no-such-run"], "not a run directory"),
        (["eval", "no-such-run", "--episodes", "0"], "--episodes must be >= 1"),
        (["eval", "no-such-run", "--video", "out.avi"], "a video must end in .gif or .mp4"),
        (["eval", "no-such-run", "--video", "no-dir/out.gif"], "does not exist"),
        (["eval", "no-such-run", "--video", "o.gif", "--video-episodes", "0"],
         "--video-episodes must be >= 1"),
    ],
)
def test_bad_values_are_clear_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--num-envs", "x"], "invalid int value"),
        (["train", "--mode", "sarsa"], "invalid choice: 'sarsa'"),
        (["train", "--frobnicate"], "unrecognized arguments"),
        (["eval"], "the following arguments are required: run_dir"),
    ],
)
def test_bad_flags_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", [["train"], ["eval"], ["experiment", "paper"]])
def test_help_shows_every_option_with_its_default(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    if command != ["eval"]:  # the options built from the config docstrings ("%" included)
        assert "--lookahead-grounded" in out and "(default: True)" in out
        assert "where some suggestion's rollout earned reward" in " ".join(out.split())


def test_a_percent_sign_in_an_option_docstring_reaches_help_intact():
    import argparse
    import dataclasses

    from bidir_core.training.commands import _add_fields
    from bidir_core.validation import RULES

    @dataclasses.dataclass
    class Options:
        __pydantic_config__ = RULES
        share: float = 0.5
        """Share of the states, e.g. 91% of them."""

    parser = argparse.ArgumentParser()
    _add_fields(parser.add_argument_group("g"), Options, "x_")
    assert "91% of them" in " ".join(parser.format_help().split())


def test_every_option_parses_to_its_fields_type():
    """An int option that may be None (auto) reads as an int: a float would be refused."""
    import dataclasses
    import typing

    from bidir_core.cli import build_parser
    from bidir_core.training.commands import _config_from_args

    args = build_parser().parse_args(
        ["train", "--teacher-micro-batch", "4", "--hint-wait", "0.5", "--lora-r", "4"]
    )
    cfg, given = _config_from_args(args)
    assert cfg.teacher.teacher_micro_batch == 4 and type(cfg.teacher.teacher_micro_batch) is int
    assert cfg.teacher.hint_wait == 0.5 and cfg.teacher.lora_r == 4
    assert {"teacher_teacher_micro_batch", "teacher_hint_wait"} <= set(given)
    hints = typing.get_type_hints(type(cfg.teacher))
    optional_ints = [f.name for f in dataclasses.fields(cfg.teacher) if hints[f.name] == (int | None)]
    assert "teacher_micro_batch" in optional_ints


@pytest.mark.slow
def test_resume_rejects_config_flags_and_broken_runs(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--frames", "64", "--quiet", *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--seed", "3"]) == 2
    assert "drop --seed" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(run), "--frames", "64"]) == 2
    assert "not empty; use --resume" in capsys.readouterr().err
    for ckpt in (run / "checkpoint.pt", run / "checkpoint.prev.pt"):  # no intact fallback
        ckpt.write_bytes(ckpt.read_bytes()[:-100])
    assert main(["train", "--resume", str(run)]) == 2
    assert "corrupted or truncated" in capsys.readouterr().err
    assert main(["eval", str(run)]) == 2
    assert "corrupted or truncated" in capsys.readouterr().err


@pytest.mark.slow
def test_console_entry_point_reports_unknown_task():
    proc = subprocess.run(
        [sys.executable, "-m", "bidir_core", "train", "--task", "CartPole-v1", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown task id 'CartPole-v1'" in proc.stderr


@pytest.mark.slow
def test_a_teach_run_ends_with_the_student_alone_and_the_teachers_agreement(tmp_path, capsys):
    from bidir_core.cli import main

    code = main(["train", "--mode", "teach", "--frames", "256", "--num-envs", "4",
                 "--steps-per-iteration", "128", "--probe-states", "8", "--student-eval-every",
                 "1", "--student-eval-episodes", "4", "--run-dir", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "(behaviour policy)" in out and "student alone " in out
    assert "teacher agreement with the oracle " in out and " -> " in out


@pytest.mark.slow
def test_a_config_file_sets_options_and_flags_override_it(tmp_path, capsys):
    from bidir_core.cli import main

    toml = tmp_path / "run.toml"
    toml.write_text('mode = "ppo"\nnum_envs = 4\nsteps_per_iteration = 32\ntotal_frames = 64\n'
                    'seed = 5\n[ppo]\nupdate_epochs = 1\n')
    assert main(["train", "--config", str(toml), "--seed", "7", "--quiet",
                 "--run-dir", str(tmp_path / "a")]) == 0
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (saved["mode"], saved["num_envs"], saved["seed"], saved["ppo"]["update_epochs"]) == (
        "ppo", 4, 7, 1)
    # a run's own config.json starts the same run again
    assert main(["train", "--config", str(tmp_path / "a" / "config.json"), "--quiet",
                 "--run-dir", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text()) == saved
    capsys.readouterr()
    bad = tmp_path / "bad.toml"
    bad.write_text("num_envs = [\n")
    assert main(["train", "--config", str(bad), "--run-dir", str(tmp_path / "c")]) == 2
    assert "bad.toml is not valid toml" in capsys.readouterr().err
    (tmp_path / "typo.json").write_text('{"num_env": 4}')
    assert main(["train", "--config", str(tmp_path / "typo.json"),
                 "--run-dir", str(tmp_path / "d")]) == 2
    assert "num_env" in capsys.readouterr().err
