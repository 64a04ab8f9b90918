"""Per-iteration metrics to CSV, JSONL and TensorBoard, and the learning-curve plot."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["WALL_TIME_COLUMNS", "MetricsLogger", "plot_success", "read_metrics"]

# Columns that depend on the machine's speed, not on the computation.
WALL_TIME_COLUMNS = (
    "time_s", "fps", "time_rollout", "time_student_update", "time_mode", "time_probe",
    "time_lookahead", "time_teacher_update", "time_update_wait",
)  # fmt: skip
"""Columns measured in wall time (they differ between otherwise identical runs)."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _parse_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """(line number, row) of every good line of a metrics.jsonl and (line number, why) of
    every damaged one (cut, NUL bytes, not a row)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if b"\0" in line:
            bad.append((number, "NUL bytes"))
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            bad.append((number, f"not JSON: {err}"))
            continue
        if not isinstance(row, dict) or isinstance(row.get("iteration"), bool) or not isinstance(
            row.get("iteration"), int
        ):
            bad.append((number, "not a metrics row (no integer 'iteration')"))
            continue
        rows.append((number, row))
    return rows, bad


def _check_damage(
    path: Path, bad: list[tuple[int, str]], last_kept: int, note: str = ""
) -> None:
    """Damaged lines after the last row kept are a torn tail (a crash while appending):
    ignored. One before it is damage inside the history: ValueError naming the file."""
    for number, why in bad:
        if number < last_kept:
            raise ValueError(
                f"{path} is damaged at line {number} ({why}), before line {last_kept} which "
                f"holds a later row{note}; repair or remove that line"
            )


def read_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of ``metrics.jsonl`` in run_dir (None where a value was NaN).

    A torn tail (a cut last line or NUL bytes left by a crash) is skipped; damage before a
    good row is a ValueError naming the file and line.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows, bad = _parse_jsonl(path)
    _check_damage(path, bad, rows[-1][0] if rows else 0)
    return [row for _, row in rows]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


class MetricsLogger:
    """Appends one row per iteration to metrics.csv, metrics.jsonl and TensorBoard.

    With ``resume_iteration`` the files are first cut back to the rows of iterations
    <= resume_iteration (the ones the checkpoint includes), and TensorBoard events of
    later steps are purged, so a resumed run's history equals an uninterrupted one. Rows
    past the checkpoint may be torn (a cut line, NUL bytes after a crash): they are cut
    away too; damage among the kept rows is a ValueError naming the file. metrics.csv is
    rewritten from metrics.jsonl, so a torn CSV tail is repaired as well.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        columns: Sequence[str],
        resume_iteration: int | None = None,
        tensorboard: bool = True,
    ) -> None:
        """Open the files in run_dir; columns fixes the CSV header."""
        self.run_dir: Path = Path(run_dir)
        self.columns: list[str] = list(columns)
        self.csv_path: Path = self.run_dir / "metrics.csv"
        self.jsonl_path: Path = self.run_dir / "metrics.jsonl"
        rows: list[dict[str, Any]] = []
        if resume_iteration is not None and self.jsonl_path.exists():
            parsed, bad = _parse_jsonl(self.jsonl_path)
            kept = [(n, r) for n, r in parsed if r["iteration"] <= resume_iteration]
            _check_damage(
                self.jsonl_path, bad, kept[-1][0] if kept else 0,
                f" of the checkpointed iterations (<= {resume_iteration})",
            )
            rows = [r for _, r in kept]
        jsonl = "".join(json.dumps(r) + "\n" for r in rows)
        out = io.StringIO()
        writer = csv.DictWriter(out, self.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
        _write_atomic(self.jsonl_path, jsonl)
        _write_atomic(self.csv_path, out.getvalue())
        self._csv_file = open(self.csv_path, "a", newline="")
        self._csv = csv.DictWriter(self._csv_file, self.columns, extrasaction="ignore")
        self._jsonl_file = open(self.jsonl_path, "a")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # The step axis is frames, as CleanRL's and SB3's: a resume purges what follows
            # the checkpointed row.
            purge = None if resume_iteration is None else (rows[-1]["frames"] + 1 if rows else 0)
            self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=purge)

    def record_config(self, config: dict[str, Any]) -> None:
        """The run's hyper-parameters as TensorBoard text (a table of flattened keys)."""
        if self._tb is None:
            return

        def flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
            out = []
            for k, v in d.items():
                out += flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]
            return out

        table = "|option|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in flat(config))
        self._tb.add_text("hyperparameters", table, 0)

    def log(self, row: dict[str, Any]) -> None:
        """Write one iteration's row (must contain ``iteration`` and ``frames``)."""
        row = {k: _clean(v) for k, v in row.items()}
        self._csv.writerow({k: "" if row.get(k) is None else row[k] for k in self.columns})
        self._jsonl_file.write(json.dumps(row) + "\n")
        if self._tb is not None:
            step = row["frames"]
            for k, v in row.items():
                if k not in ("frames",) and isinstance(v, (int, float)) and v is not None:
                    self._tb.add_scalar(f"train/{k}", v, step)

    def flush(self, fsync: bool = False) -> None:
        """Push buffered rows to disk (called before each checkpoint, with ``fsync`` so
        that the rows a checkpoint covers survive a power cut as the checkpoint does)."""
        for f in (self._csv_file, self._jsonl_file):
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        """Flush and close every file (all of them even if one fails; then its error is
        raised)."""
        error: BaseException | None = None
        closers = [self._csv_file.close, self._jsonl_file.close]
        if self._tb is not None:
            closers.append(self._tb.close)
        for close in closers:
            try:
                close()
            except Exception as err:  # e.g. a full disk while flushing
                error = error or err
        if error is not None:
            raise error


def plot_success(
    rows: list[dict[str, Any]], path: str | os.PathLike[str], title: str, window: int = 100
) -> None:
    """Save a PNG of the run against frames: the student's success (per iteration, rolling,
    and the student alone where evaluated) and, in the teacher modes, a second panel with
    the teacher's agreement with the oracle on the probe states (and its mean probability
    of the oracle's action)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(key: str) -> list[tuple[int, float]]:
        return [(r["frames"], r[key]) for r in rows if r.get(key) is not None]

    probes = series("probe_agreement")
    fig, axes = plt.subplots(1, 2 if probes else 1, figsize=(12 if probes else 7, 4),
                             squeeze=False)
    ax = axes[0, 0]
    per_iter, rolling, alone = series("success_rate"), series("rolling_success"), series(
        "student_success"
    )
    if per_iter:
        ax.plot(*zip(*per_iter), color="tab:blue", alpha=0.3, lw=1, label="per iteration")
    if rolling:
        ax.plot(*zip(*rolling), color="tab:blue", lw=2, label=f"rolling (last {window} episodes)")
    if alone:
        ax.plot(*zip(*alone), "o-", color="tab:green", ms=4, lw=1,
                label="student alone (fresh episodes)")
    ax.set_ylabel("success rate")
    ax.set_title("student")
    if per_iter or rolling or alone:
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "no episode has ended yet", ha="center", transform=ax.transAxes)
    if probes:
        ax = axes[0, 1]
        ax.plot(*zip(*probes), "o-", color="tab:red", ms=4, lw=2, label="all probe states")
        determined = series("probe_agreement_determined")
        if determined:
            ax.plot(*zip(*determined), "s--", color="tab:orange", ms=3, lw=1,
                    label="states whose prompt determines it")
        expert = series("probe_expert_prob")
        if expert:
            ax.plot(*zip(*expert), "^:", color="tab:purple", ms=3, lw=1,
                    label="mean probability of the oracle action")
        ax.set_ylabel("agreement with the oracle")
        ax.set_title("teacher on the probe states (argmax = oracle action)")
        ax.legend(loc="lower right")
    for ax in axes[0]:
        ax.set_xlabel("frames")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
