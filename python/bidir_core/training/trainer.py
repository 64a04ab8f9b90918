"""The trainer: rollouts, PPO updates, metrics, checkpoints and resume, in one run folder.

One iteration is one PPO update over ``steps_per_iteration`` frames (256 by default, the
Lamorel setting): ``steps_per_iteration / num_envs`` steps of every env. The files of a
run folder: ``bidir_core.training.run_folder``.

A checkpoint is written at iteration 0 (as soon as the run folder exists), every
``checkpoint_every`` iterations and at the end; SIGINT, SIGTERM and SIGHUP finish the
iteration, checkpoint and stop (a second one aborts). Resuming (``Trainer.resume``)
restores everything a checkpoint holds and cuts the metrics back to the checkpointed
iteration, so an interrupted and resumed run writes the same history (wall-time columns
aside) as an uninterrupted one with the same seed. A damaged ``checkpoint.pt`` is moved
to ``checkpoint.corrupt.pt`` and the run resumes from ``checkpoint.prev.pt``.
"""

from __future__ import annotations

import collections
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bidir_core.student.network import ActorCritic, MissionTokenizer
from bidir_core.student.ppo import PPOLearner
from bidir_core.training.checkpoint import (
    CheckpointError,
    config_differences,
    load_newest_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from bidir_core.training.collector import RolloutCollector
from bidir_core.training.config import METRIC_COLUMNS, TrainConfig, build_network
from bidir_core.training.run_folder import (
    CHECKPOINT,
    CONFIG,
    CORRUPT_CHECKPOINT,
    PREVIOUS_CHECKPOINT,
    VIDEO,
    check_empty,
    new_run_folder,
    read_config,
)
from bidir_core.training.run_lock import RunDirLockedError, RunLock
from bidir_core.training.evaluate import evaluate_student, save_student_video
from bidir_core.training.metrics import MetricsLogger, plot_success, read_metrics
from bidir_core.training.modes import ModeHooks, StartContext, UpdateContext, make_mode
from bidir_core.training.progress import Progress, StopSignals

__all__ = ["METRIC_COLUMNS", "RunDirLockedError", "TrainConfig", "Trainer", "build_network"]


class Trainer:
    """Trains a student (in ``glam``, the teacher) in ``run_dir``; ``train()`` runs (or
    continues) to total_frames."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | os.PathLike[str],
        *,
        progress: bool = True,
        tensorboard: bool = True,
        _resume_state: dict[str, Any] | None = None,
        _lock: RunLock | None = None,
        _resume_path: Path | None = None,
    ) -> None:
        """Create a new run in run_dir (which must be absent or empty); see also resume()."""
        self.config: TrainConfig = config.validate()
        self.run_dir: Path = Path(run_dir)
        self.progress = progress
        self._lock = _lock
        self._resume_path = _resume_path or self.run_dir / CHECKPOINT
        if _resume_state is None:
            check_empty(self.run_dir)
        self._keep_previous = True  # checkpoint.pt is known whole: keep it when replaced
        try:
            self._build(config, tensorboard, _resume_state)
        except BaseException:  # (Ctrl-C during start-up included) free what was built
            for name in ("collector", "mode"):
                part = getattr(self, name, None)
                if part is not None:
                    try:
                        part.close()
                    except Exception:
                        pass
            if self._lock is not None:
                self._lock.release()
            raise

    def _build(
        self, config: TrainConfig, tensorboard: bool, _resume_state: dict[str, Any] | None
    ) -> None:
        torch.set_num_threads(config.torch_threads)
        net, tokenizer = build_network(config)
        self.net: ActorCritic = net
        self.tokenizer: MissionTokenizer = tokenizer
        self.mode: ModeHooks = make_mode(config.mode, config)
        self.learner: PPOLearner = PPOLearner(self.net, config.ppo, config.total_iterations)
        self.collector: RolloutCollector = RolloutCollector(
            config.task,
            config.num_envs,
            config.num_steps,
            config.seed,
            self.net,
            self.tokenizer,
            num_groups=config.env_groups,
            env_threads=config.env_threads,
            hint_source=self.mode.hint_source(),
            actor=self.mode.actor(),
            prompt_style=self.mode.prompt_style(),
        )
        self.iteration: int = 0
        self.frames: int = 0
        self.elapsed: float = 0.0  # wall seconds spent training, over all sessions
        self.recent: collections.deque[tuple[float, float]] = collections.deque(
            maxlen=config.rolling_window
        )
        if _resume_state is not None:
            self._load_state(_resume_state)
        self.mode.start(StartContext(buffer=self.collector.buffer, frames=self.frames))
        columns = METRIC_COLUMNS + tuple(self.mode.metric_names)
        if _resume_state is not None:
            self.metrics = MetricsLogger(
                self.run_dir, columns, resume_iteration=self.iteration, tensorboard=tensorboard
            )
            if self._resume_path.name != CHECKPOINT:  # resumed from checkpoint.prev.pt:
                # a damaged checkpoint.pt that could not be moved aside must not become
                # the fallback; then checkpoint.pt is whole again (for eval and experiment)
                self._keep_previous = not (self.run_dir / CHECKPOINT).exists()
                self.save_checkpoint()
            return
        # Everything was built: now the run folder may be made, locked, and given its
        # iteration-0 checkpoint (a failure, or Ctrl-C, in between removes what was written).
        with new_run_folder(self.run_dir) as lock:
            self._lock = lock
            try:
                (self.run_dir / CONFIG).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
                self.metrics: MetricsLogger = MetricsLogger(
                    self.run_dir, columns, tensorboard=tensorboard
                )
                self.metrics.record_config(config.to_dict())
                self.save_checkpoint()
            except BaseException:
                if hasattr(self, "metrics"):
                    try:
                        self.metrics.close()
                    except Exception:
                        pass
                self._lock = None  # (new_run_folder frees it)
                raise

    @classmethod
    def resume(
        cls, run_dir: str | os.PathLike[str], *, progress: bool = True, tensorboard: bool = True
    ) -> Trainer:
        """Continue the run in run_dir from its checkpoint (CheckpointError if unusable).

        The folder is locked first (RunDirLockedError if another Trainer holds it) and
        temporary files a killed run left are removed. A missing or damaged
        checkpoint.pt is replaced by checkpoint.prev.pt (the damaged file is moved to
        checkpoint.corrupt.pt, with a warning on stderr).
        """
        run_dir = Path(run_dir)
        config = read_config(run_dir)
        lock = RunLock(run_dir)
        try:
            remove_stale_temporaries(run_dir)
            state, path = load_newest_checkpoint(
                run_dir / CHECKPOINT, run_dir / PREVIOUS_CHECKPOINT, run_dir / CORRUPT_CHECKPOINT
            )
        except BaseException:
            lock.release()
            raise
        trainer = cls(
            config, run_dir, progress=progress, tensorboard=tensorboard, _resume_state=state,
            _lock=lock, _resume_path=path,
        )  # fmt: skip
        return trainer

    # -- state ---------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "format": 1,
            "config": self.config.to_dict(),
            "iteration": self.iteration,
            "frames": self.frames,
            "elapsed": self.elapsed,
            "model": self.net.state_dict(),
            "optimizer": self.learner.optimizer.state_dict(),
            "collector": self.collector.state_dict(),
            "recent": list(self.recent),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
            "mode": self.mode.state_dict(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        path = self._resume_path
        try:
            if state.get("format") != 1:
                raise CheckpointError(
                    f"checkpoint {path} has unknown format {state.get('format')!r}"
                )
            if state["config"] != self.config.to_dict():
                differ = ", ".join(config_differences(state["config"], self.config.to_dict()))
                raise CheckpointError(
                    f"checkpoint {path} was written by a different config.json ({differ}; an "
                    "option missing on one side comes from another bidir_core version)"
                )
            self.net.load_state_dict(state["model"])
            self.learner.optimizer.load_state_dict(state["optimizer"])
            self.collector.load_state_dict(state["collector"])
            self.iteration, self.frames = int(state["iteration"]), int(state["frames"])
            self.elapsed = float(state["elapsed"])
            self.recent.extend(tuple(x) for x in state["recent"])
            torch.set_rng_state(state["torch_rng"])
            np.random.set_state(state["numpy_rng"])
            self.mode.load_state_dict(state["mode"])
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(
                f"checkpoint {path} is incomplete or inconsistent: {err}"
            ) from err

    def save_checkpoint(self) -> None:
        """Write checkpoint.pt atomically (after flushing and fsyncing the metrics it
        covers), keeping the one it replaces as checkpoint.prev.pt. A write that fails
        raises CheckpointWriteError (an OSError) and leaves both files as they were."""
        self.metrics.flush(fsync=True)
        previous = self.run_dir / PREVIOUS_CHECKPOINT if self._keep_previous else None
        save_checkpoint(self._state(), self.run_dir / CHECKPOINT, previous=previous)
        self._keep_previous = True

    # -- training ------------------------------------------------------------------------
    def train(self, stop_after_iteration: int | None = None) -> dict[str, Any]:
        """Run iterations until total_frames (or stop_after_iteration, or Ctrl-C).

        The first Ctrl-C (SIGINT), SIGTERM or SIGHUP finishes the current iteration,
        writes a checkpoint and returns (status "interrupted", and ``signal``, its name); a
        second one aborts at once (KeyboardInterrupt). Returns a summary dict.
        """
        cfg = self.config
        total = cfg.total_iterations
        last = total if stop_after_iteration is None else min(total, stop_after_iteration)
        progress = Progress(cfg, self.progress, self.frames, self.log_interval)
        stop = StopSignals()
        status = "finished"
        try:
            with stop:
                while self.iteration < last:
                    progress.update(self._iterate())
                    if stop.requested:
                        status = "interrupted"
                        break
                    if self.iteration % cfg.checkpoint_every == 0 and self.iteration < last:
                        self.save_checkpoint()
            if self.iteration < total and status == "finished":
                status = "stopped"
            self.save_checkpoint()
        finally:
            progress.close()
        rows = read_metrics(self.run_dir)
        if status == "finished" and rows:
            plot_success(
                rows,
                self.run_dir / "success.png",
                f"{cfg.task} ({cfg.mode}, seed {cfg.seed})",
                cfg.rolling_window,
            )
        # glam trains the teacher (the collector's actor): there is no student to show.
        video = None
        if status == "finished" and cfg.video_episodes > 0 and self.collector.actor is None:
            video = str(save_student_video(self.net, self.tokenizer, cfg, self.run_dir / VIDEO))
        last_row = rows[-1] if rows else {}
        probes = [r["probe_agreement"] for r in rows if r.get("probe_agreement") is not None]
        students = [r for r in rows if r.get("student_success") is not None]
        return {
            "status": status,
            "iterations": self.iteration,
            "frames": self.frames,
            "sim_steps": last_row.get("sim_steps", 0),
            "time_s": self.elapsed,
            "rolling_success": last_row.get("rolling_success"),
            "student_success": students[-1]["student_success"] if students else None,
            "agreement_first": probes[0] if probes else None,
            "agreement_last": probes[-1] if probes else None,
            "run_dir": str(self.run_dir),
            "video": video,
            "signal": stop.name,
        }

    def _iterate(self) -> dict[str, Any]:
        """One iteration: rollout, GAE, the student's update, the mode's hook; returns the
        metrics row it logged."""
        cfg = self.config
        start = time.perf_counter()
        self.iteration += 1
        episodes = self.collector.collect()
        buf = self.collector.buffer
        buf.compute_gae(self.collector.next_values, cfg.ppo.gamma, cfg.ppo.gae_lambda)
        times = {"time_rollout": time.perf_counter() - start}
        stats: dict[str, Any] = {}
        if self.collector.actor is None:  # the student acted: it learns
            stats = self.learner.update(
                buf, self.collector.mission, self.iteration, cfg.seed, self.mode.extra_loss()
            )
        times["time_student_update"] = time.perf_counter() - start - times["time_rollout"]
        stats.update(self.mode.after_update(UpdateContext(
            iteration=self.iteration, frames=self.frames, rollout=buf,
            next_values=self.collector.next_values, student=self.net, tokenizer=self.tokenizer,
            missions=self.collector.mission,
        )))
        times["time_mode"] = (time.perf_counter() - start - times["time_rollout"]
                              - times["time_student_update"])
        stats.update(times)
        self.frames += cfg.steps_per_iteration
        for r, s in zip(episodes.returns.tolist(), episodes.successes.tolist()):
            self.recent.append((float(s), r))
        seconds = time.perf_counter() - start
        self.elapsed += seconds
        n = len(episodes)
        row: dict[str, Any] = {
            "iteration": self.iteration,
            "frames": self.frames,
            "sim_steps": self.mode.sim_steps(),
            "episodes": n,
            "success_rate": float(episodes.successes.mean()) if n else math.nan,
            "return_mean": float(episodes.returns.mean()) if n else math.nan,
            "length_mean": float(episodes.lengths.mean()) if n else math.nan,
            "rolling_success": float(np.mean([s for s, _ in self.recent]))
            if self.recent
            else math.nan,
            "rolling_return": float(np.mean([r for _, r in self.recent]))
            if self.recent
            else math.nan,
        }
        row.update(stats)
        row.pop("epochs", None)
        if self.collector.actor is None:  # (glam has no student)
            row.update(evaluate_student(self.net, self.tokenizer, cfg, self.iteration))
        row["time_s"] = self.elapsed
        row["fps"] = cfg.steps_per_iteration / seconds
        self.metrics.log(row)
        return row

    log_interval: float = 30.0
    """Seconds between the progress lines written when stderr is not a terminal."""

    def close(self) -> None:
        """Close the metrics files, the envs and the mode's resources, and unlock the run
        folder (everything is closed even if one step fails; its error is then raised)."""
        error: BaseException | None = None
        for close in (self.metrics.close, self.collector.close, self.mode.close):
            try:
                close()
            except Exception as err:
                error = error or err
        if self._lock is not None:
            self._lock.release()
        if error is not None:
            raise error

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
