"""A training run survives what happens to real runs: signals, a kill before the first
checkpoint, a damaged checkpoint or metrics tail, a second process, a full disk."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from bidir_core.cli import main
from bidir_core.training import CheckpointError, TrainConfig, Trainer, load_checkpoint
from bidir_core.training import checkpoint as checkpoint_module
from run_helpers import history

TINY = [
    "--mode", "ppo", "--num-envs", "8", "--steps-per-iteration", "64",
    "--student-eval-every", "0", "--quiet",
]  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def config(iterations: int = 4, **kwargs) -> TrainConfig:
    values = dict(
        mode="ppo", num_envs=8, steps_per_iteration=64, total_frames=64 * iterations,
        checkpoint_every=2, student_eval_every=0, seed=3,
    )  # fmt: skip
    values.update(kwargs)
    return TrainConfig(**values)


def full_history(tmp_path: Path, cfg: TrainConfig) -> list[dict]:
    with Trainer(cfg, tmp_path / "full", progress=False, tensorboard=False) as t:
        t.train()
    return history(tmp_path / "full")


def resume_to_end(run: Path) -> None:
    with Trainer.resume(run, progress=False, tensorboard=False) as t:
        assert t.train()["status"] == "finished"


# -- B: signals -----------------------------------------------------------------------------
def _default_signals() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored
    # SIGINT ignored: give the child the default disposition, as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(argv: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"), start_new_session=True,
        preexec_fn=_default_signals, **kwargs,
    )  # fmt: skip


def _wait_for_rows(run: Path, proc: subprocess.Popen, rows: int, timeout: float = 90) -> None:
    path = run / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended early ({proc.returncode}): {proc.communicate()[1]}")
        if path.exists() and path.read_text().count("\n") >= rows:
            return
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the run wrote no metrics in time")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
@pytest.mark.slow  # (each a subprocess of ~5 s; in-process in the fast tier: the next test)
def test_sigterm_and_sighup_checkpoint_and_exit_like_ctrl_c(tmp_path, signame):
    run = tmp_path / "run"
    proc = _popen([
        sys.executable, "-m", "bidir_core", "train", *TINY, "--run-dir", str(run),
        "--frames", str(64 * 100_000), "--checkpoint-every", "100000",
    ])  # fmt: skip
    _wait_for_rows(run, proc, 2)
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"{signame}: finishing this iteration and checkpointing" in err
    assert f"continue with: bidir train --resume {run}" in out
    state = load_checkpoint(run / "checkpoint.pt")
    rows = history(run)
    assert state["iteration"] >= 2 and [r["iteration"] for r in rows] == list(
        range(1, state["iteration"] + 1)
    )


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_while_training_checkpoints_and_exits_130_in_process(
    tmp_path, monkeypatch, capsys, signame
):
    """The test above in this process: the signal arrives during iteration 2."""
    real = Trainer._iterate

    def iterate(self):
        if self.iteration == 1:
            signal.raise_signal(getattr(signal, signame))
        return real(self)

    monkeypatch.setattr(Trainer, "_iterate", iterate)
    run = tmp_path / "run"
    argv = ["train", *TINY, "--run-dir", str(run), "--frames", str(64 * 1000),
            "--checkpoint-every", "1000"]  # fmt: skip
    assert main(argv) == 130
    out, err = capsys.readouterr()
    what = "Ctrl-C" if signame == "SIGINT" else signame
    assert f"{what}: finishing this iteration and checkpointing" in err
    assert "Traceback" not in err
    assert f"continue with: bidir train --resume {run}" in out
    assert load_checkpoint(run / "checkpoint.pt")["iteration"] == 2
    assert [r["iteration"] for r in history(run)] == [1, 2]


_SLOW_START = textwrap.dedent(
    """
    import sys, time
    import bidir_core.training.trainer as trainer
    real = trainer.RolloutCollector
    def slow(*args, **kwargs):
        print("STARTING", flush=True)
        time.sleep(60)
        return real(*args, **kwargs)
    trainer.RolloutCollector = slow
    from bidir_core.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.slow  # (a subprocess of ~4 s; in-process in the fast tier: the next test)
def test_ctrl_c_during_start_up_exits_130_with_one_line(tmp_path, signame):
    run = tmp_path / "run"
    proc = _popen([sys.executable, "-c", _SLOW_START, "train", *TINY, "--run-dir", str(run)])
    assert proc.stdout.readline().strip() == "STARTING"
    proc.send_signal(getattr(signal, signame))
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["bidir: interrupted during start-up; no run was started"]
    assert not run.exists()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_exits_130_with_one_line_in_process(
    tmp_path, monkeypatch, capsys, signame
):
    """The test above in this process: the signal arrives while the envs are built."""
    import bidir_core.training.trainer as trainer

    def interrupted(*args, **kwargs):
        signal.raise_signal(getattr(signal, signame))
        raise AssertionError("the signal did not interrupt the start-up")

    monkeypatch.setattr(trainer, "RolloutCollector", interrupted)
    run = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run)]) == 130
    assert capsys.readouterr().err.strip().splitlines() == [
        "bidir: interrupted during start-up; no run was started"
    ]
    assert not run.exists()


def test_a_second_signal_aborts_with_one_line_and_the_checkpoint_kept(tmp_path, monkeypatch, capsys):
    def aborted(self, stop_after_iteration=None):
        self._iterate()
        raise KeyboardInterrupt  # what the handler raises on a second signal

    monkeypatch.setattr(Trainer, "train", aborted)
    run = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run), "--frames", "128"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        f"bidir: aborted; continue from the last checkpoint with: bidir train --resume {run}"
    ]
    assert load_checkpoint(run / "checkpoint.pt")["iteration"] == 0
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0  # unlocked, resumable


# -- C: checkpoints -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_checkpoint_at_iteration_0_lets_a_run_killed_early_resume(tmp_path):
    cfg = config(3)
    full = full_history(tmp_path, cfg)
    run = tmp_path / "early"
    with Trainer(cfg, run, progress=False, tensorboard=False):
        pass  # killed after start-up, before its first iteration
    assert load_checkpoint(run / "checkpoint.pt")["iteration"] == 0
    resume_to_end(run)
    assert history(run) == full


def _stopped_at(tmp_path: Path, cfg: TrainConfig, iteration: int) -> Path:
    run = tmp_path / "run"
    with Trainer(cfg, run, progress=False, tensorboard=False) as t:
        assert t.train(stop_after_iteration=iteration)["status"] == "stopped"
    return run


@pytest.mark.parametrize("damage", ["truncated", "flipped", "missing"])
@pytest.mark.slow
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys, damage):
    cfg = config(6)
    full = full_history(tmp_path, cfg)
    run = _stopped_at(tmp_path, cfg, 4)  # checkpoints at 0, 2 and 4
    assert load_checkpoint(run / "checkpoint.prev.pt")["iteration"] == 2
    path = run / "checkpoint.pt"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "flipped":
        data[-7] ^= 0x40
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    capsys.readouterr()
    with Trainer.resume(run, progress=False, tensorboard=False) as t:
        assert t.iteration == 2
        assert load_checkpoint(path)["iteration"] == 2  # checkpoint.pt is whole again
        t.train()
    err = capsys.readouterr().err
    assert "resuming from the previous checkpoint checkpoint.prev.pt (iteration 2)" in err
    if damage != "missing":
        assert "moved it to checkpoint.corrupt.pt" in err
        assert (run / "checkpoint.corrupt.pt").is_file()
    assert history(run) == full


def test_both_checkpoints_damaged_is_a_clear_error(tmp_path):
    run = _stopped_at(tmp_path, config(6), 4)
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        (run / name).write_bytes((run / name).read_bytes()[:-5])
    with pytest.raises(CheckpointError, match="previous checkpoint is unusable too"):
        Trainer.resume(run, progress=False, tensorboard=False)
    assert not (run / "checkpoint.corrupt.pt").exists()  # nothing moved when nothing helps


def test_stale_temporary_files_are_removed_on_resume(tmp_path):
    run = _stopped_at(tmp_path, config(4), 2)
    stale = [run / ".checkpoint.pt.tmp-999999", run / ".metrics.jsonl.tmp-999999"]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    with Trainer.resume(run, progress=False, tensorboard=False):
        pass
    assert not any(p.exists() for p in stale)


# -- D: torn metrics tails ------------------------------------------------------------------
def _crashed_after(tmp_path: Path, cfg: TrainConfig, checkpointed: int, extra: int) -> Path:
    """A run whose process died after iteration checkpointed + extra (no checkpoint since)."""
    run = tmp_path / "crashed"
    with Trainer(cfg, run, progress=False, tensorboard=False) as t:
        t.train(stop_after_iteration=checkpointed)
        for _ in range(extra):
            t._iterate()
        t.metrics.flush()
    return run


@pytest.mark.parametrize(
    "tail", [b'{"iteration": 5, "frames": 3', b"\0" * 300, b"\n\0\0\0\n{\"iter"]
)
@pytest.mark.slow
def test_a_torn_metrics_tail_past_the_checkpoint_is_cut_on_resume(tmp_path, tail):
    cfg = config(6)
    full = full_history(tmp_path, cfg)
    run = _crashed_after(tmp_path, cfg, 2, 2)
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(tail)
    with open(run / "metrics.csv", "ab") as f:
        f.write(b"5,320,0,1,0.5,0.3" + tail)
    resume_to_end(run)
    assert history(run) == full
    csv_lines = (run / "metrics.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(full) and "\0" not in "".join(csv_lines)


def test_damage_inside_the_checkpointed_metrics_is_an_error_naming_the_file(tmp_path, capsys):
    run = _crashed_after(tmp_path, config(6), 2, 1)
    path = run / "metrics.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[0] = b"\0" * len(lines[0])
    path.write_bytes(b"\n".join(lines))
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{path} is damaged at line 1 (NUL bytes)" in err and len(err.splitlines()) == 1


# -- E: one process per run folder ---------------------------------------------------------
@pytest.mark.slow
def test_a_second_resume_of_a_running_run_is_refused(tmp_path, capsys):
    run = _stopped_at(tmp_path, config(4), 2)
    before = (run / "metrics.jsonl").read_bytes()
    with Trainer.resume(run, progress=False, tensorboard=False) as running:
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"bidir: error: run directory {run} is in use by another bidir train")
        assert len(err.splitlines()) == 1 and f"(pid {os.getpid()})" in err
        assert (run / "metrics.jsonl").read_bytes() == before
        assert running.train()["status"] == "finished"
    resume_to_end(run)  # the lock went with the first trainer


# -- F: full disk, read-only folder ---------------------------------------------------------
class _FailingFile:
    """A file whose second write fails with err (the disk filled up while writing)."""

    def __init__(self, f, err: OSError) -> None:
        self._f, self._err, self._writes = f, err, 0

    def write(self, data):
        self._writes += 1
        if self._writes > 1:
            raise self._err
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
@pytest.mark.slow
def test_a_full_disk_is_a_one_line_error_and_keeps_the_checkpoint(tmp_path, monkeypatch, capsys, code):
    run = tmp_path / "run"
    argv = ["train", *TINY, "--run-dir", str(run), "--frames", "256", "--checkpoint-every", "2"]
    calls = []

    def failing_open(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        calls.append(path)
        if len(calls) == 2:  # the checkpoint of iteration 2 (the first is iteration 0's)
            return _FailingFile(f, OSError(code, os.strerror(code)))
        return f

    monkeypatch.setattr(checkpoint_module, "open", failing_open, raising=False)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"bidir: error: could not write the checkpoint {run / 'checkpoint.pt'}: "
        f"{os.strerror(code)}; the checkpoint on disk is left as it was"
    ]
    assert load_checkpoint(run / "checkpoint.pt")["iteration"] == 0
    assert not list(run.glob(".*.tmp-*"))
    monkeypatch.undo()  # space again: the run resumes from iteration 0
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert len(history(run)) == 4


def _read_only_folders_work(tmp_path: Path) -> bool:
    """False where chmod does not stop this process (root with CAP_DAC_OVERRIDE)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").write_text("")
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)
    return False


def test_a_read_only_run_folder_is_a_one_line_error(tmp_path, capsys):
    if not _read_only_folders_work(tmp_path):
        pytest.skip("this process writes into read-only folders (root): see the ENOSPC test")
    run = _stopped_at(tmp_path, config(4), 2)
    checkpoint = (run / "checkpoint.pt").read_bytes()
    run.chmod(0o555)
    try:
        assert main(["train", "--resume", str(run), "--quiet"]) == 1
    finally:
        run.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("bidir: error: ") and len(err.splitlines()) == 1
    assert "Permission denied" in err
    assert (run / "checkpoint.pt").read_bytes() == checkpoint


def test_cli_reports_os_errors_in_one_line(tmp_path, capsys, monkeypatch):
    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", no_space)
    run = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run), "--frames", "64"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"bidir: error: {os.strerror(errno.ENOSPC)}: {run / 'config.json'}"
    ]
    assert not run.exists()  # a run that could not start leaves nothing behind
