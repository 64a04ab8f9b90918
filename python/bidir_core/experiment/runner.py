"""Training an experiment's runs: ``bidir train`` processes, here or on Ray, resumable.

A launcher starts runs and reports their ends: ``LocalLauncher`` (``--jobs`` processes on
this machine) or ``experiment.ray_backend.RayLauncher`` (one Ray task per run).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

from bidir_core.experiment.config import RUN_KEYS, ExperimentConfig
from bidir_core.training.checkpoint import CheckpointError, load_checkpoint
from bidir_core.training.metrics import read_metrics
from bidir_core.training.run_folder import CHECKPOINT, CONFIG, PREVIOUS_CHECKPOINT

__all__ = ["LocalLauncher", "load_run_checkpoint", "run_experiment", "run_state"]


def load_run_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The state a run resumes from: checkpoint.pt, else checkpoint.prev.pt, as
    ``Trainer.resume`` falls back, but read only (CheckpointError when neither is usable)."""
    run_dir = Path(run_dir)
    try:
        return load_checkpoint(run_dir / CHECKPOINT)
    except CheckpointError as err:
        previous = run_dir / PREVIOUS_CHECKPOINT
        if not previous.is_file():
            raise
        try:
            return load_checkpoint(previous)
        except CheckpointError as prev_err:
            raise CheckpointError(f"{err}; {previous.name} is unusable too: {prev_err}") from err


def run_state(run_dir: Path, iterations: int) -> tuple[str, int]:
    """("finished" | "partial" | "new" | "damaged", checkpointed iteration) of a run folder.

    "new": no usable checkpoint and no checkpoint.prev.pt (trained again from scratch);
    "damaged": no usable checkpoint but a checkpoint.prev.pt, so the folder is kept.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        return "new", 0
    try:
        iteration = int(load_run_checkpoint(run_dir)["iteration"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return ("damaged" if (run_dir / PREVIOUS_CHECKPOINT).is_file() else "new"), 0
    return ("finished" if iteration >= iterations else "partial"), iteration


def _check_same_experiment(cfg: ExperimentConfig) -> None:
    path = Path(cfg.out) / "experiment.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    new = cfg.to_dict()
    diff = [k for k in RUN_KEYS if old.get(k) != new[k]]
    if diff:
        what = "; ".join(f"{k}: {old.get(k)!r} there, {new[k]!r} now" for k in diff)
        raise ValueError(
            f"{cfg.out} holds an experiment with other run settings ({what}); "
            "use another --out or the same settings"
        )


def _last_line(log_path: Path) -> str:
    lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def run_experiment(cfg: ExperimentConfig, log: Callable[[str], None] = print) -> str:
    """Train every run that is not finished yet; returns "finished", "interrupted" or "failed".

    Each run is ``python -m bidir_core train`` in its own process and session; Ctrl-C (or
    SIGTERM) here is passed on to the runs once (they checkpoint), a second one aborts them.
    """
    cfg.validate()
    out = Path(cfg.out)
    _check_same_experiment(cfg)
    out.mkdir(parents=True, exist_ok=True)
    with _experiment_lock(out), _sigterm_as_ctrl_c():
        return _run_all(cfg, log)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _experiment_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on an experiment folder: two runners must not train its runs."""
    import fcntl

    with open(out / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                f"another `bidir experiment` is running in {out}; wait for it or stop it first"
            ) from None
        yield


def _plan(
    cfg: ExperimentConfig, log: Callable[[str], None]
) -> tuple[list[tuple[str, list[str], Path]], list[str]]:
    """The runs to train, as (name, ``bidir train`` argv, log file), and the damaged ones."""
    out = Path(cfg.out)
    todo: list[tuple[str, list[str], Path]] = []
    damaged: list[str] = []
    for mode, seed, name in cfg.run_names():
        run_dir = cfg.run_dir(name)
        state, iteration = run_state(run_dir, cfg.iterations)
        if state == "finished":
            log(f"{name}: finished already ({iteration} iterations), skipped")
            continue
        if state == "damaged":
            damaged.append(name)
            log(
                f"{name} FAILED: neither {CHECKPOINT} nor {PREVIOUS_CHECKPOINT} in {run_dir} "
                "can be read; the folder is left as it is (move it away to train the run again)"
            )
            continue
        if state == "partial":
            log(f"{name}: resuming at iteration {iteration} of {cfg.iterations}")
            argv = ["train", "--resume", str(run_dir), "--quiet"]
        else:
            if run_dir.exists():
                log(f"{name}: no usable checkpoint in {run_dir}, starting it again")
                shutil.rmtree(run_dir)
            argv = cfg.train_argv(mode, seed, run_dir)
        todo.append((name, argv, out / "logs" / f"{name}.log"))
    return todo, damaged


class LocalLauncher:
    """Starts each run as a ``python -m bidir_core train`` process here, ``jobs`` at a time."""

    def __init__(self, jobs: int) -> None:
        self.capacity: float = jobs
        self._env = dict(os.environ, PYTHONUNBUFFERED="1")

    def start(self, mode: str, argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
        """Start one run, its output appended to log_path."""
        with open(log_path, "a") as f:  # the run writes to its own copy of f
            f.write(f"$ bidir {' '.join(argv)}\n")
            f.flush()
            return subprocess.Popen(
                [sys.executable, "-m", "bidir_core", *argv],
                stdout=f, stderr=subprocess.STDOUT, env=self._env, start_new_session=True,
            )  # fmt: skip

    def poll(self, proc: subprocess.Popen[bytes]) -> tuple[int, str | None] | None:
        """(exit code, why it failed when not from the log) once the run ended, else None."""
        code = proc.poll()
        return None if code is None else (code, None)

    def interrupt(self, proc: subprocess.Popen[bytes]) -> None:
        """Ctrl-C for one run (it checkpoints and stops)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    def close(self) -> None:
        """Nothing to release."""


def _launcher(cfg: ExperimentConfig) -> Any:
    if cfg.backend == "ray":
        from bidir_core.experiment.ray_backend import RayLauncher

        return RayLauncher(cfg)
    return LocalLauncher(cfg.jobs)


def _run_all(cfg: ExperimentConfig, log: Callable[[str], None]) -> str:
    out = Path(cfg.out)
    (out / "experiment.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    (out / "logs").mkdir(exist_ok=True)
    todo, failed = _plan(cfg, log)
    if not todo:
        return "failed" if failed else "finished"
    launcher = _launcher(cfg)
    try:
        return _run_todo(cfg, launcher, todo, failed, log)
    finally:
        launcher.close()


def _run_todo(cfg: ExperimentConfig, launcher: Any, todo: list[tuple[str, list[str], Path]],
              failed: list[str], log: Callable[[str], None]) -> str:
    running: dict[str, tuple[Any, float]] = {}
    interrupts = 0
    done = 0
    total = len(todo)
    while todo or running:
        try:
            while todo and len(running) < launcher.capacity and not interrupts:
                name, argv, log_path = todo.pop(0)
                running[name] = (launcher.start(name.rsplit("-s", 1)[0], argv, log_path),
                                 time.perf_counter())
            if interrupts:
                todo.clear()
            time.sleep(0.2)
            for name in list(running):
                handle, start = running[name]
                ended = launcher.poll(handle)
                if ended is None:
                    continue
                returncode, why = ended
                del running[name]
                done += 1
                rows = read_metrics(cfg.run_dir(name))
                last = rows[-1] if rows else {}
                rolling = last.get("rolling_success")
                what = (
                    f"{last.get('iteration', 0)} iterations, rolling success "
                    f"{'n/a' if rolling is None else f'{rolling:.3f}'}, "
                    f"{time.perf_counter() - start:.0f} s"
                )
                if returncode == 0:
                    log(f"[{done}/{total}] {name} finished: {what}")
                elif returncode == 130 or interrupts:
                    # (a run still starting up when Ctrl-C came may stop without a checkpoint)
                    log(f"[{done}/{total}] {name} interrupted (exit {returncode}): {what}")
                else:
                    log_path = Path(cfg.out) / "logs" / f"{name}.log"
                    failed.append(name)
                    log(
                        f"[{done}/{total}] {name} FAILED (exit {returncode}): "
                        f"{why or _last_line(log_path)} (see {log_path})"
                    )
        except KeyboardInterrupt:
            interrupts += 1
            log(
                "\nbidir: passing Ctrl-C to the running runs (they checkpoint; Ctrl-C again to abort)"
                if interrupts == 1
                else "\nbidir: aborting the running runs"
            )
            for handle, _ in running.values():
                launcher.interrupt(handle)
    if failed:
        return "failed"
    return "interrupted" if interrupts else "finished"
