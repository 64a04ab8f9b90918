"""``bidir experiment paper --backend ray``: each (mode, seed) run is a Ray task.

The task runs the same ``python -m bidir_core train`` as the local pool, on whichever node
has its resources (``--run-cpus``; ``--run-gpus`` for the modes with a teacher), writing the
run folder and log into the experiment folder: the cluster's nodes must all see that folder
(the same path on a shared filesystem; on one machine it always is). So the result files,
the planning and the resuming are those of the local pool. Ctrl-C reaches a run through
a stop file next to its log, which its task polls and passes on as SIGTERM (a Ray worker
blocks SIGINT, and so do the processes it starts). A run with ``--teacher-backend
ray`` puts its teacher replicas on the same cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from bidir_core.experiment.config import ExperimentConfig
from bidir_core.ray_cluster import connect, import_ray
from bidir_core.training.modes import TEACHER_MODES

__all__ = ["RayLauncher", "train_run"]

_TEACHER_MODES = (*TEACHER_MODES, "glam")  # the modes whose run holds an LM


def _stop_file(log_path: str) -> Path:
    return Path(log_path).with_suffix(".stop")


def train_run(argv: list[str], log_path: str, out: str, ray_address: str) -> tuple[int, str | None]:
    """(exit code, why it failed when the log cannot say) of ``bidir train argv``, run here
    with its output appended to log_path. Each line the driver appends to the run's stop
    file (next to its log) is one Ctrl-C for the run."""
    if not (Path(out) / "experiment.json").is_file():
        return 2, (
            f"the experiment folder {out} is not visible on node {os.uname().nodename}: every "
            "node of the cluster must see it at the same path (a shared filesystem)"
        )
    stop = _stop_file(log_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1", RAY_ADDRESS=ray_address)
    with open(log_path, "a") as f:
        f.write(f"$ bidir {' '.join(argv)}  # on {os.uname().nodename}\n")
        f.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bidir_core", *argv],
            stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    sent = 0
    while True:
        try:
            return proc.wait(0.5), None
        except subprocess.TimeoutExpired:
            pass
        try:
            asked = len(stop.read_text().splitlines())
        except OSError:
            continue
        for _ in range(asked - sent):
            # SIGTERM, which `bidir train` takes as Ctrl-C: Ray workers block SIGINT, and
            # the run inherits that mask. The first checkpoints and stops, a second aborts.
            proc.send_signal(signal.SIGTERM)
        sent = max(sent, asked)


class RayLauncher:
    """Starts each run as a Ray task on the cluster of ``cfg.address`` (None: RAY_ADDRESS,
    a local ``ray start``, or a new local cluster); the cluster decides how many run at once."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        self._ray = ray = import_ray()
        self._owns_ray = connect(cfg.address)
        self._out = str(Path(cfg.out).resolve())
        self._address = ray.get_runtime_context().gcs_address
        self._task = ray.remote(train_run)
        self._cpus, self._gpus = cfg.run_cpus, cfg.run_gpus
        self.capacity: float = float("inf")
        self._stops: dict[Any, Path] = {}

    def start(self, mode: str, argv: list[str], log_path: Path) -> Any:
        """Submit one run as a task (1 attempt: a failed run is retried by rerunning)."""
        gpus = self._gpus if mode in _TEACHER_MODES else 0
        task = self._task.options(num_cpus=self._cpus, num_gpus=gpus, max_retries=0)
        # the task runs in another folder, maybe on another node: paths are made absolute
        argv = [str(Path(a).resolve()) if prev in ("--run-dir", "--resume") else a
                for prev, a in zip(["", *argv], argv)]  # fmt: skip
        log_path = Path(log_path).resolve()
        _stop_file(str(log_path)).unlink(missing_ok=True)
        ref = task.remote(argv, str(log_path), self._out, self._address)
        self._stops[ref] = _stop_file(str(log_path))
        return ref

    def poll(self, ref: Any) -> tuple[int, str | None] | None:
        """(exit code, why) once the task ended, else None."""
        ray = self._ray
        ready, _ = ray.wait([ref], timeout=0)
        if not ready:
            return None
        self._stops.pop(ref).unlink(missing_ok=True)
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as err:
            return 1, f"the Ray task failed: {type(err).__name__}: {str(err).splitlines()[0]}"

    def interrupt(self, ref: Any) -> None:
        """Ctrl-C for one run, through its stop file in the shared experiment folder (the
        task passes it on; the run checkpoints and stops, or aborts the second time)."""
        with open(self._stops[ref], "a") as f:
            f.write("stop\n")

    def close(self) -> None:
        """Shut Ray down if this launcher started it."""
        if self._owns_ray:
            self._ray.shutdown()
            self._owns_ray = False
