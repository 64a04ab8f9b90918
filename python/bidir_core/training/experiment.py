"""``bidir experiment``: the paper's comparison of training modes over seeds and budgets.

``bidir experiment paper`` trains every (mode, seed) pair as its own ``bidir train`` run
(a subprocess, ``--jobs`` at a time) for max(budgets) iterations of
``steps_per_iteration`` frames (256: one Lamorel iteration), then reports, for every mode
and budget, the mean over seeds and its 95% Student-t confidence interval. An experiment
folder:

| path | what |
|---|---|
| ``experiment.json`` | the settings (task, iterations, frames per iteration, train flags) |
| ``runs/<mode>-s<seed>/`` | one ``bidir train`` run folder per mode and seed |
| ``logs/<mode>-s<seed>.log`` | the output of that run's ``bidir train`` |
| ``results.md``, ``results.json`` | the table: success, return, frames, wall time per budget; the json also keeps every run's learning curve (thinned) |
| ``success_vs_frames.png``, ``success_vs_time.png`` | rolling success, mean over seeds +- CI |
| ``teacher_agreement.png`` | the teacher's oracle agreement on the probe states (teacher modes) |
| ``eval.json`` | the fresh-episode evaluation of every final student (a cache) |

Success and return at a budget are the run's *rolling* values at that iteration (mean
over the last ``rolling_window`` training episodes, 100 by default): the training
curves' values, available for every mode. Students are also evaluated afresh (as
``bidir eval`` does, sampled actions) at the final budget. Running the command again with the same ``--out``
resumes: finished runs are skipped, unfinished ones continue with ``bidir train
--resume``. ``bidir experiment merge A B ... --out DIR`` makes one table and figures from
several experiments' results.json (say, a mode run later, elsewhere), without their run
folders.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bidir_core.student.ppo import PPOConfig
from bidir_core.training.checkpoint import CheckpointError, load_checkpoint
from bidir_core.training.commands import _add_fields, _config_from_args
from bidir_core.training.metrics import read_metrics
from bidir_core.training.modes import available_modes
from bidir_core.training.modes import TEACHER_MODES, TeacherModeConfig
from bidir_core.training.trainer import DEFAULT_TASK, TrainConfig

__all__ = [
    "PAPER_BUDGETS",
    "PAPER_MODES",
    "ExperimentConfig",
    "add_experiment_commands",
    "mean_ci",
    "merge_summaries",
    "plot_results",
    "run_experiment",
    "summarize",
    "t_quantile",
    "write_results",
]

PAPER_BUDGETS = (40, 2100)
PAPER_MODES = ("ppo", "teach", "bidir", "glam")
# Modes whose run trains a student network that `bidir eval` can play.
STUDENT_MODES = ("ppo", *TEACHER_MODES)
# TrainConfig fields the experiment sets itself (the others pass through to `bidir train`).
_OWN_FIELDS = ("task", "seed", "total_frames", "steps_per_iteration")
# Settings that fix what each run computes: they must match to resume an experiment.
_RUN_KEYS = ("task", "iterations", "steps_per_iteration", "train_args")


# -- statistics ---------------------------------------------------------------------------
def _t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t with df degrees of freedom (Simpson on the density)."""
    if x < 0:
        return 1.0 - _t_cdf(-x, df)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    n = 4000  # even; the density is smooth, so this is accurate to ~1e-12 for x <= 100
    h = x / n
    total = 0.0
    for i in range(n + 1):
        t = i * h
        f = math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))
        total += f if i in (0, n) else (4 * f if i % 2 else 2 * f)
    return 0.5 + total * h / 3


@functools.cache
def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t distribution with df >= 1 degrees of freedom."""
    if not 0.5 <= p < 1:
        raise ValueError(f"p must be in [0.5, 1), got {p}")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an int >= 1, got {df!r}")
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def mean_ci(values: Sequence[float | None], confidence: float = 0.95) -> dict[str, Any]:
    """Mean of the finite values and the half-width of its Student-t confidence interval.

    Returns ``{"mean", "ci", "n"}``; ci is None with fewer than two values (no spread to
    estimate), mean is None with none.
    """
    xs = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    n = len(xs)
    if n == 0:
        return {"mean": None, "ci": None, "n": 0}
    mean = float(xs.mean())
    if n < 2:
        return {"mean": mean, "ci": None, "n": 1}
    sem = float(xs.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci": t_quantile(0.5 + confidence / 2, n - 1) * sem, "n": n}


# -- configuration ------------------------------------------------------------------------
def _parse_int_list(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            f"{what} must be comma-separated positive integers, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be comma-separated positive integers, got {text!r}")
    return values


@dataclass
class ExperimentConfig:
    """The settings of one experiment (saved as experiment.json in its folder)."""

    out: Path
    """The experiment folder."""
    task: str = DEFAULT_TASK
    """Task id (see ``bidir tasks``)."""
    modes: tuple[str, ...] = ("ppo", "teach", "bidir")
    """Training modes to compare."""
    seeds: int = 3
    """Runs per mode, with seeds 0 .. seeds-1."""
    budgets: tuple[int, ...] = PAPER_BUDGETS
    """Iterations at which results are reported; every run trains for the largest."""
    steps_per_iteration: int = 256
    """Frames per iteration (PPO update), all envs together."""
    jobs: int = 2
    """Runs trained at the same time (each in its own process)."""
    eval_episodes: int = 500
    """Fresh episodes on which each final student is evaluated (0: no evaluation)."""
    train_args: tuple[str, ...] = ()
    """Extra ``bidir train`` flags given to every run (e.g. ``--teacher tiny``)."""

    @property
    def iterations(self) -> int:
        """Iterations of every run."""
        return max(self.budgets)

    def run_names(self) -> list[tuple[str, int, str]]:
        """(mode, seed, run folder name) of every run, mode by mode."""
        return [(m, s, f"{m}-s{s}") for m in self.modes for s in range(self.seeds)]

    def run_dir(self, name: str) -> Path:
        """The run folder of run ``name``."""
        return Path(self.out) / "runs" / name

    def validate(self) -> ExperimentConfig:
        """Raise ValueError / TypeError naming the first bad setting; return self."""
        known = available_modes()
        if not self.modes:
            raise ValueError("--modes needs at least one mode")
        for mode in self.modes:
            if mode not in known:
                raise ValueError(f"unknown training mode {mode!r}; available: {', '.join(known)}")
        if len(set(self.modes)) != len(self.modes):
            raise ValueError(f"--modes lists a mode twice: {','.join(self.modes)}")
        if not self.budgets:
            raise ValueError("--budgets needs at least one budget")
        for name, low in (
            ("seeds", 1),
            ("jobs", 1),
            ("steps_per_iteration", 1),
            ("eval_episodes", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be an int >= {low}, got {value!r}"
                )
        if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in self.budgets):
            raise ValueError(f"budgets must be positive integers, got {list(self.budgets)}")
        self.budgets = tuple(sorted(set(self.budgets)))
        self.modes = tuple(self.modes)
        self.train_args = tuple(self.train_args)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values."""
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        d["iterations"] = self.iterations
        for key in ("modes", "budgets", "train_args"):
            d[key] = list(d[key])
        return d

    def train_argv(self, mode: str, seed: int, run_dir: Path) -> list[str]:
        """The ``bidir train`` arguments of a new run."""
        return [
            "train", "--mode", mode, "--seed", str(seed), "--task", self.task,
            "--frames", str(self.iterations * self.steps_per_iteration),
            "--steps-per-iteration", str(self.steps_per_iteration),
            "--run-dir", str(run_dir), "--quiet", *self.train_args,
        ]  # fmt: skip


# -- running ------------------------------------------------------------------------------
def run_state(run_dir: Path, iterations: int) -> tuple[str, int]:
    """("finished" | "partial" | "new", checkpointed iteration) of a run folder.

    "new" also covers a folder left without a usable checkpoint (killed before its first
    one): it is trained again from scratch.
    """
    if not (run_dir / "config.json").is_file() or not (run_dir / "checkpoint.pt").is_file():
        return "new", 0
    try:
        iteration = int(load_checkpoint(run_dir / "checkpoint.pt")["iteration"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return "new", 0
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
    diff = [k for k in _RUN_KEYS if old.get(k) != new[k]]
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

    Each run is ``python -m bidir_core train`` in its own process and session, so Ctrl-C
    reaches this process only, which passes one Ctrl-C on to every running run (they
    finish their iteration and checkpoint); a second Ctrl-C aborts them. SIGTERM counts
    as Ctrl-C, so no run is left training on its own.
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


def _run_all(cfg: ExperimentConfig, log: Callable[[str], None]) -> str:
    out = Path(cfg.out)
    (out / "experiment.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    (out / "logs").mkdir(exist_ok=True)

    todo: list[tuple[str, list[str], Path]] = []
    for mode, seed, name in cfg.run_names():
        run_dir = cfg.run_dir(name)
        state, iteration = run_state(run_dir, cfg.iterations)
        if state == "finished":
            log(f"{name}: finished already ({iteration} iterations), skipped")
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

    running: dict[str, tuple[subprocess.Popen, float]] = {}
    failed: list[str] = []
    interrupts = 0
    done = 0
    total = len(todo)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    while todo or running:
        try:
            while todo and len(running) < cfg.jobs and not interrupts:
                name, argv, log_path = todo.pop(0)
                with open(log_path, "a") as f:  # the run writes to its own copy of f
                    f.write(f"$ bidir {' '.join(argv)}\n")
                    f.flush()
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "bidir_core", *argv],
                        stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                    )  # fmt: skip
                running[name] = (proc, time.perf_counter())
            if interrupts:
                todo.clear()
            time.sleep(0.2)
            for name in list(running):
                proc, start = running[name]
                if proc.poll() is None:
                    continue
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
                if proc.returncode == 0:
                    log(f"[{done}/{total}] {name} finished: {what}")
                elif proc.returncode == 130 or interrupts:
                    # (a run still starting up when Ctrl-C came may stop without a checkpoint)
                    log(f"[{done}/{total}] {name} interrupted (exit {proc.returncode}): {what}")
                else:
                    log_path = Path(cfg.out) / "logs" / f"{name}.log"
                    failed.append(name)
                    log(
                        f"[{done}/{total}] {name} FAILED (exit {proc.returncode}): "
                        f"{_last_line(log_path)} (see {log_path})"
                    )
        except KeyboardInterrupt:
            interrupts += 1
            log(
                "\nbidir: passing Ctrl-C to the running runs (they checkpoint; Ctrl-C again to abort)"
                if interrupts == 1
                else "\nbidir: aborting the running runs"
            )
            for proc, _ in running.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
    if failed:
        return "failed"
    return "interrupted" if interrupts else "finished"


# -- results ------------------------------------------------------------------------------
def _at(rows: list[dict[str, Any]], iteration: int, key: str, *, latest: bool = False) -> Any:
    """rows' value of key at iteration (with latest: at the last row <= iteration with one)."""
    best = None
    for r in rows:
        if r["iteration"] == iteration:
            return r.get(key) if not latest or r.get(key) is not None else best
        if latest and r["iteration"] < iteration and r.get(key) is not None:
            best = r[key]
    return None if not latest else best


def _rolling_window(cfg: ExperimentConfig) -> int:
    """The runs' rolling window (episodes), from a run's config.json or the default."""
    for _, _, name in cfg.run_names():
        path = cfg.run_dir(name) / "config.json"
        if path.is_file():
            return int(json.loads(path.read_text()).get("rolling_window", 100))
    return TrainConfig().rolling_window


# The learning curves results.json keeps, so that its figures can be drawn again (and
# experiments merged) without the run folders: these metrics at about CURVE_POINTS
# iterations per run, plus every budget, every probe measurement and the last iteration.
CURVE_KEYS = ("rolling_success", "time_s", "probe_agreement", "probe_agreement_determined",
              "sim_steps", "student_success")
CURVE_POINTS = 500
# What every results.json holds (``merge`` reads these).
_SUMMARY_KEYS = {"task", "modes", "seeds", "budgets", "steps_per_iteration", "train_args",
                 "rolling_window", "results"}  # fmt: skip


def _curve(rows: list[dict[str, Any]], every: int, budgets: Sequence[int]) -> dict[str, list]:
    """A run's metrics rows thinned to a curve: {"iteration": [...], key: [...]}."""

    def value(v: Any) -> float | None:
        return None if v is None or not math.isfinite(v) else round(float(v), 5)

    kept = [
        r for i, r in enumerate(rows)
        if r["iteration"] % every == 0 or r["iteration"] == 1 or r["iteration"] in budgets
        or i == len(rows) - 1 or r.get("probe_agreement") is not None
        or r.get("student_success") is not None
    ]  # fmt: skip
    curve: dict[str, list] = {"iteration": [int(r["iteration"]) for r in kept]}
    for key in CURVE_KEYS:
        curve[key] = [value(r.get(key)) for r in kept]
    return curve


def summarize(cfg: ExperimentConfig, evaluations: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results of an experiment folder: per mode and budget, mean and 95% CI over seeds;
    with each run's learning curve (``CURVE_KEYS``, thinned)."""
    results = []
    runs_out = {}
    curves = {}
    every = max(1, cfg.iterations // CURVE_POINTS)
    for mode in cfg.modes:
        runs = {
            name: read_metrics(cfg.run_dir(name)) for m, _, name in cfg.run_names() if m == mode
        }
        for name, rows in runs.items():
            last = rows[-1] if rows else {}
            runs_out[name] = {
                "mode": mode,
                "iterations": last.get("iteration", 0),
                "frames": last.get("frames", 0),
                "time_s": last.get("time_s"),
                "rolling_success": last.get("rolling_success"),
            }
            if rows:
                curves[name] = {"mode": mode, **_curve(rows, every, cfg.budgets)}
        for budget in cfg.budgets:
            reached = {n: rows for n, rows in runs.items() if _at(rows, budget, "frames")}
            entry: dict[str, Any] = {
                "mode": mode,
                "iterations": budget,
                "frames": budget * cfg.steps_per_iteration,
                "seeds": len(reached),
                "success": mean_ci([_at(r, budget, "rolling_success") for r in reached.values()]),
                "return": mean_ci([_at(r, budget, "rolling_return") for r in reached.values()]),
                "time_s": mean_ci([_at(r, budget, "time_s") for r in reached.values()]),
                "sim_steps": mean_ci([_at(r, budget, "sim_steps") for r in reached.values()]),
            }
            for key in STUDENT_KEYS:  # the student alone, at its last evaluation <= budget
                values = [_at(r, budget, key, latest=True) for r in reached.values()]
                if any(a is not None for a in values):
                    entry[key] = mean_ci(values)
            for key in ("probe_agreement", "probe_agreement_determined"):
                values = [_at(r, budget, key, latest=True) for r in reached.values()]
                if any(a is not None for a in values):
                    entry[key] = mean_ci(values)
            results.append(entry)
    summary: dict[str, Any] = {
        "task": cfg.task,
        "modes": list(cfg.modes),
        "seeds": cfg.seeds,
        "budgets": list(cfg.budgets),
        "steps_per_iteration": cfg.steps_per_iteration,
        "train_args": list(cfg.train_args),
        "confidence": 0.95,
        "rolling_window": _rolling_window(cfg),
        "note": (
            "student_* are the student alone (no teacher) on fresh episodes at its last "
            "evaluation <= the budget; success and return are the behaviour policy's (in "
            "teach and bidir it acts from the teacher with probability explore_eps) rolling "
            "values at that iteration (mean over its last rolling_window training episodes); "
            "sim_steps are env steps outside the rollout (lookahead, probe); mean over seeds +- "
            "half-width of the 95% Student-t confidence interval; time_s is training wall "
            "time (the runs shared the CPU with --jobs other runs)"
        ),
        "results": results,
        "runs": runs_out,
        "curves": curves,
    }
    if evaluations:
        summary["evaluation"] = evaluations
    return summary


def evaluate_students(cfg: ExperimentConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fresh-episode success of every finished run's final student, mean and CI per mode.

    Modes without a student (``glam``: the teacher acts) are left out. Results are cached
    in ``eval.json``, keyed by run, episodes and checkpoint.
    """
    from bidir_core.training.evaluate import evaluate

    if cfg.eval_episodes < 1:
        return {}
    cache_path = Path(cfg.out) / "eval.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    per_mode: dict[str, Any] = {}
    for mode in cfg.modes:
        if mode not in STUDENT_MODES:
            continue
        runs = []
        for m, _, name in cfg.run_names():
            if m != mode:
                continue
            if run_state(cfg.run_dir(name), cfg.iterations)[0] != "finished":
                continue
            stamp = (cfg.run_dir(name) / "checkpoint.pt").stat().st_mtime_ns
            hit = cache.get(name)
            if not hit or (hit["episodes"], hit.get("checkpoint_mtime_ns")) != (
                cfg.eval_episodes,
                stamp,
            ):
                log(f"{name}: evaluating the final student on {cfg.eval_episodes} episodes")
                hit = dict(evaluate(cfg.run_dir(name), cfg.eval_episodes))
                hit["checkpoint_mtime_ns"] = stamp
                cache[name] = hit
            runs.append(hit)
        if runs:
            per_mode[mode] = {
                "iterations": cfg.iterations,
                "episodes_per_seed": cfg.eval_episodes,
                "seeds": len(runs),
                "success": mean_ci([r["success_rate"] for r in runs]),
                "return": mean_ci([r["return_mean"] for r in runs]),
            }
    cache_path.write_text(json.dumps(cache, indent=2) + "\n")
    return per_mode


def _fmt(stat: dict[str, Any] | None, digits: int = 3, seeds: int | None = None) -> str:
    """The cell text: mean ± ci; n/a without values; (n=k) when only k seeds had one."""
    if stat is None or stat["mean"] is None:
        return "n/a"
    text = f"{stat['mean']:.{digits}f}"
    text += f" ± {stat['ci']:.{digits}f}" if stat["ci"] is not None else ""
    return text + (f" (n={stat['n']})" if seeds is not None and stat["n"] < seeds else "")


# The student-alone columns of the results table, in order.
STUDENT_KEYS = ("student_success", "student_success_greedy", "student_return")

# The teacher-agreement columns of the results table: (metric, column title).
AGREEMENT_COLUMNS = (
    ("probe_agreement", "teacher probe agreement"),
    ("probe_agreement_determined", "... where the prompt determines the oracle"),
)


def results_table(summary: dict[str, Any]) -> str:
    """The results as a markdown table (and the evaluation table, if any)."""
    agreements = [(key, label) for key, label in AGREEMENT_COLUMNS
                  if any(key in r for r in summary["results"])]  # fmt: skip
    head = ["mode", "iterations", "frames", "sim steps", "seeds",
            "student alone: success (sampled)", "(greedy)", "return (sampled)",
            "behaviour policy: success (rolling)", "return (rolling)",
            "wall time (s)"] + [label for _, label in agreements]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(summary["results"], key=lambda r: r["iterations"]):  # stable: mode order
        n = r["seeds"]
        sim = r.get("sim_steps")
        cells = [r["mode"], str(r["iterations"]), f"{r['frames']:,}",
                 f"{sim['mean']:,.0f}" if sim and sim["mean"] is not None else "—", str(n)]
        cells += [_fmt(r[key], 3, n) if key in r else "—" for key in STUDENT_KEYS]
        cells += [_fmt(r["success"], 3, n), _fmt(r["return"], 3, n), _fmt(r["time_s"], 1, n)]  # fmt: skip
        for key, _ in agreements:
            cells.append(_fmt(r[key], 3, n) if key in r else "—")
        lines.append("| " + " | ".join(cells) + " |")
    evaluation = summary.get("evaluation")
    if evaluation:
        lines += ["", "| mode | iterations | seeds | episodes per seed | success (eval) | return (eval) |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for mode, e in evaluation.items():
            lines.append(
                f"| {mode} | {e['iterations']} | {e['seeds']} | {e['episodes_per_seed']} | "
                f"{_fmt(e['success'])} | {_fmt(e['return'])} |"
            )
    return "\n".join(lines)


def write_results(out: Path, summary: dict[str, Any]) -> str:
    """Write results.md and results.json into the folder ``out``; return the table."""
    out = Path(out)
    table = results_table(summary)
    args = " ".join(summary["train_args"]) or "(none)"
    sources = summary.get("sources")
    if sources:  # merged (see ``merge_summaries``)
        made = "Merged from:\n\n" + "".join(
            f"* {src['file']}: modes {', '.join(src['modes'])}; {src['seeds']} seeds; "
            f"extra train flags: {' '.join(src['train_args']) or '(none)'}\n"
            for src in sources
        )
    else:
        made = (
            f"Modes {', '.join(summary['modes'])}; {summary['seeds']} seeds each; "
            f"{summary['steps_per_iteration']} frames per iteration; extra train flags: {args}.\n"
        )
    md = (
        f"# Experiment: {summary['task']}\n\n{made}\n"
        f"*Student alone* is the student with no teacher on fresh episodes, at its last "
        f"evaluation at or before the budget (sampled and greedy actions; glam has no "
        f"student: its teacher acts). The *behaviour policy* columns are each run's "
        f"**rolling** success and return at that iteration (mean over its last "
        f"{summary['rolling_window']} training episodes); in teach and bidir that policy "
        f"acts from the teacher with probability explore_eps. *Sim steps* are env steps "
        f"taken outside the rollout (the lookahead's scratch envs, the probe's sampling), "
        f"interaction that frames do not count. Cells are "
        f"the mean over seeds ± the half-width of the 95% Student-t confidence interval. "
        f"Wall time is training time per run; runs shared the CPU with other runs.\n\n"
        f"{table}\n"
    )
    if summary.get("evaluation"):
        md += (
            "\nThe second table evaluates each final student afresh, as `bidir eval` does "
            "(sampled actions, episodes from fresh seeds); modes without a student (glam, "
            "where the teacher acts) are not in it.\n"
        )
    _write(out / "results.md", md)
    _write(out / "results.json", json.dumps(summary, indent=2) + "\n")
    return table


def merge_summaries(summaries: Sequence[dict[str, Any]], files: Sequence[str]) -> dict[str, Any]:
    """One summary of several experiments' ``results.json`` (``files`` names them): each
    mode comes whole (table rows, runs, curves, evaluation) from the last summary that
    lists it. They must share the task, frames per iteration and rolling window."""
    if not summaries or len(summaries) != len(files):
        raise ValueError("merge needs one or more summaries, each with its file name")
    first = summaries[0]
    for key in ("task", "steps_per_iteration", "rolling_window"):
        values = {json.dumps(s.get(key)) for s in summaries}
        if len(values) > 1:
            raise ValueError(
                f"cannot merge experiments with different {key}: "
                + ", ".join(f"{f}: {s.get(key)!r}" for s, f in zip(summaries, files))
            )
    source: dict[str, int] = {}  # mode -> index of the summary it comes from
    for i, summary in enumerate(summaries):
        for mode in summary["modes"]:
            source[mode] = i
    modes = list(source)
    merged: dict[str, Any] = {
        key: first[key] for key in ("task", "steps_per_iteration", "confidence", "rolling_window")
    }
    used = sorted(set(source.values()))

    def of_mode(part: str) -> dict[str, Any]:
        """The named entries of ``part`` ("runs", "curves") of every mode's own summary."""
        return {
            name: entry
            for m in modes
            for name, entry in summaries[source[m]].get(part, {}).items()
            if entry["mode"] == m
        }

    merged.update(
        modes=modes,
        seeds=max(summaries[i]["seeds"] for i in used),
        budgets=sorted({b for i in used for b in summaries[i]["budgets"]}),
        train_args=[],
        note=first.get("note", ""),
        results=[r for m in modes for r in summaries[source[m]]["results"] if r["mode"] == m],
        runs=of_mode("runs"),
        curves=of_mode("curves"),
        sources=[
            {
                "file": str(files[i]),
                "modes": [m for m in modes if source[m] == i],
                "seeds": summaries[i]["seeds"],
                "train_args": list(summaries[i]["train_args"]),
            }
            for i in used
        ],
    )
    evaluation = {
        m: summaries[source[m]]["evaluation"][m]
        for m in modes
        if m in summaries[source[m]].get("evaluation", {})
    }
    if evaluation:
        merged["evaluation"] = evaluation
    return merged


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def plot_results(summary: dict[str, Any], out: Path) -> list[Path]:
    """Draw success vs frames / wall time and teacher agreement vs frames from the
    summary's curves into ``out``; return the paths. Modes without curves (results.json
    written before it kept them) are left out of the figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    n_it = max(summary["budgets"])
    frames = np.arange(1, n_it + 1) * summary["steps_per_iteration"]
    per_mode = {}
    for mode in summary["modes"]:
        runs = [c for c in summary.get("curves", {}).values() if c["mode"] == mode]
        if not runs:
            continue
        per_mode[mode] = {}
        for key in CURVE_KEYS:
            data = np.full((len(runs), n_it), np.nan)
            for i, curve in enumerate(runs):
                for it, v in zip(curve["iteration"], curve.get(key, ())):
                    if 1 <= it <= n_it and v is not None:
                        data[i, it - 1] = v
            per_mode[mode][key] = data

    def band(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean, ci = np.full(data.shape[1], np.nan), np.full(data.shape[1], np.nan)
        for j in range(data.shape[1]):
            stat = mean_ci(data[:, j].tolist())
            if stat["mean"] is not None:
                mean[j] = stat["mean"]
                ci[j] = stat["ci"] if stat["ci"] is not None else 0.0
        return mean, mean - ci, mean + ci

    paths = []
    title = f"{summary['task']} ({summary['seeds']} seeds, mean ± 95% CI)"
    colors = {mode: f"C{i}" for i, mode in enumerate(summary["modes"])}  # same in every figure
    for name, xlabel in (("success_vs_frames", "frames"), ("success_vs_time", "wall time (s)")):
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, curves in per_mode.items():
            mean, lo, hi = band(curves["rolling_success"])
            if name == "success_vs_frames":
                x = frames
            else:  # each iteration at the seeds' mean wall time
                x = np.array([np.nan if np.isnan(c).all() else np.nanmean(c)
                              for c in curves["time_s"].T])  # fmt: skip
            ok = ~np.isnan(mean) & ~np.isnan(x) & (x > 0)
            ax.plot(x[ok], mean[ok], lw=2, color=colors[mode], label=mode)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.2)
        if name == "success_vs_frames":
            for b in summary["budgets"]:
                ax.axvline(b * summary["steps_per_iteration"], color="gray", ls=":", lw=1)
        elif ax.lines and any(len(line.get_xdata()) for line in ax.lines):
            ax.set_xscale("log")  # the modes' speeds differ by orders of magnitude
        ax.set_xlabel(xlabel if name == "success_vs_frames" else f"{xlabel}, mean over seeds")
        ax.set_ylabel(f"rolling success rate (last {summary['rolling_window']} episodes)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=100)
        plt.close(fig)
        paths.append(out / f"{name}.png")

    with_student = {m: c for m, c in per_mode.items() if not np.isnan(c["student_success"]).all()}
    if with_student:  # the student alone against frames, and against frames + sim steps
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, counted in zip(axes, ("frames", "frames + sim steps")):
            for mode, curves in with_student.items():
                mean, lo, hi = band(curves["student_success"])
                x = frames.astype(float)
                if counted != "frames":
                    sim = np.array([np.nan if np.isnan(c).all() else np.nanmean(c)
                                    for c in curves["sim_steps"].T])  # fmt: skip
                    x = x + sim
                ok = ~np.isnan(mean) & ~np.isnan(x)
                ax.plot(x[ok], mean[ok], lw=2, marker="o", ms=3, color=colors[mode], label=mode)
                ax.fill_between(x[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.2)
            ax.set_xlabel(f"env steps: {counted}")
            if counted != "frames":
                ax.set_xscale("log")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("success of the student alone (fresh episodes)")
        axes[0].set_ylim(-0.02, 1.02)
        axes[1].legend(loc="lower right")
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out / "student_success.png", dpi=100)
        plt.close(fig)
        paths.append(out / "student_success.png")

    with_teacher = {m: c for m, c in per_mode.items() if not np.isnan(c["probe_agreement"]).all()}
    if with_teacher:
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, curves in with_teacher.items():
            for key, style, label in (
                ("probe_agreement_determined", "-", f"{mode}: prompt determines the oracle"),
                ("probe_agreement", ":", f"{mode}: all probe states"),
            ):
                mean, lo, hi = band(curves[key])
                ok = ~np.isnan(mean)
                if not ok.any():
                    continue
                ax.plot(frames[ok], mean[ok], lw=2, ls=style, marker="o", ms=3,
                        color=colors[mode], label=label)  # fmt: skip
                ax.fill_between(frames[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.15)
        ax.set_xlabel("frames")
        ax.set_ylabel("teacher agreement with the oracle")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(out / "teacher_agreement.png", dpi=100)
        plt.close(fig)
        paths.append(out / "teacher_agreement.png")
    return paths


# -- command line -------------------------------------------------------------------------
def _passthrough_argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The ``bidir train`` flags the user gave, rebuilt from the parsed values."""
    argv: list[str] = []
    for action in parser._actions:
        dest = action.dest
        if not dest.startswith(("cfg_", "ppo_", "teacher_")):
            continue
        value = getattr(args, dest)
        if value is None:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(flag if value else "--no-" + flag[2:])
        else:
            argv += [flag, str(value)]
    return argv


def _cmd_paper(args: argparse.Namespace) -> int:
    modes = (
        tuple(m.strip() for m in args.modes.split(",") if m.strip())
        if args.modes is not None
        else tuple(m for m in PAPER_MODES if m in available_modes())
    )
    budgets = _parse_int_list(args.budgets, "--budgets")
    task = args.cfg_task or DEFAULT_TASK
    out = args.out or Path("experiments") / f"paper-{task}"
    cfg = ExperimentConfig(
        out=out, task=task, modes=modes, seeds=args.seeds, budgets=budgets,
        steps_per_iteration=args.steps_per_iteration, jobs=args.jobs,
        eval_episodes=args.eval_episodes, train_args=tuple(_passthrough_argv(args._parser, args)),
    ).validate()  # fmt: skip
    # Validate every run's config before anything starts (bad train flags fail here).
    for mode in cfg.modes:
        ns = argparse.Namespace(**vars(args))
        ns.mode = mode
        ns.cfg_task = cfg.task
        ns.cfg_steps_per_iteration = cfg.steps_per_iteration
        ns.cfg_total_frames = cfg.iterations * cfg.steps_per_iteration
        _config_from_args(ns)
    print(
        f"experiment {cfg.out}: {cfg.task}, modes {', '.join(cfg.modes)} x {cfg.seeds} seeds, "
        f"{cfg.iterations} iterations of {cfg.steps_per_iteration} frames "
        f"({cfg.iterations * cfg.steps_per_iteration:,} frames) per run, {cfg.jobs} at a time"
    )
    status = run_experiment(cfg)
    evaluations = evaluate_students(cfg) if status == "finished" else {}
    summary = summarize(cfg, evaluations)
    table = write_results(cfg.out, summary)
    plots = plot_results(summary, cfg.out)
    print()
    print(table)
    print(f"\nwrote {cfg.out / 'results.md'}, results.json, {', '.join(p.name for p in plots)}")
    if status == "failed":
        print("bidir: error: some runs failed (see above); rerun to retry them", file=sys.stderr)
        return 1
    if status == "interrupted":
        print(f"continue with the same command (--out {cfg.out}); finished runs are skipped")
        return 130
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    summaries, files = [], []
    for path in args.results:
        path = path / "results.json" if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"no results.json at {path}")
        try:
            summary = json.loads(path.read_text())
        except ValueError as e:
            raise ValueError(f"{path} is not JSON: {e}") from None
        if not isinstance(summary, dict) or not _SUMMARY_KEYS <= set(summary):
            raise ValueError(f"{path} is not an experiment's results.json")
        summaries.append(summary)
        files.append(str(path))
    merged = merge_summaries(summaries, files)
    args.out.mkdir(parents=True, exist_ok=True)
    table = write_results(args.out, merged)
    plots = plot_results(merged, args.out)
    print(table)
    print(f"\nwrote {args.out / 'results.md'}, results.json, {', '.join(p.name for p in plots)}")
    without = [m for m in merged["modes"] if not any(c["mode"] == m for c in merged["curves"].values())]
    if without:
        print(f"no learning curves for {', '.join(without)} (their results.json predates them): "
              "left out of the figures")
    return 0


def add_experiment_commands(sub: Any) -> None:
    """Add the ``experiment`` subparser to the ``bidir`` subparsers ``sub``."""
    p = sub.add_parser(
        "experiment",
        help="run a multi-seed comparison of training modes and report it",
        description="Experiments made of many `bidir train` runs, with tables and plots.",
    )
    exp = p.add_subparsers(dest="experiment", required=True)
    p = exp.add_parser(
        "paper",
        help="the paper's comparison: every mode x seed, results at each budget",
        description="Train every (mode, seed) for max(--budgets) iterations, then write "
        "results.md/json (mean and 95% Student-t CI over seeds of the rolling success and "
        "return at each budget), success_vs_frames.png, success_vs_time.png and "
        "teacher_agreement.png. Rerunning with the same --out resumes.",
    )
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated training modes (default: those of ppo,teach,bidir,glam available)",
    )
    p.add_argument("--seeds", type=int, default=3, help="runs per mode, seeds 0..N-1 (default: 3)")
    p.add_argument(
        "--budgets",
        default=",".join(map(str, PAPER_BUDGETS)),
        help="comma-separated iterations at which to report; runs train for the largest "
        "(default: 40,2100, the paper's)",
    )
    p.add_argument(
        "--steps-per-iteration",
        type=int,
        default=256,
        help="frames per iteration, all envs together (default: 256, Lamorel's)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="experiment folder (default: experiments/paper-<task>); rerun to resume",
    )
    p.add_argument("--jobs", type=int, default=2, help="runs trained at once (default: 2)")
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=500,
        help="fresh episodes per final student for `bidir eval`-style evaluation (0: none; "
        "default: 500)",
    )
    p.add_argument(
        "--task",
        dest="cfg_task",
        default=None,
        metavar="TASK",
        help=f"task id (default: {DEFAULT_TASK})",
    )
    skip = _OWN_FIELDS
    _add_fields(p.add_argument_group("train flags given to every run"), TrainConfig, "cfg_", skip)
    _add_fields(p.add_argument_group("PPO"), PPOConfig, "ppo_", skip)
    _add_fields(
        p.add_argument_group("teacher (modes teach, bidir and glam)"),
        TeacherModeConfig,
        "teacher_",
        skip,
    )
    p.set_defaults(func=_cmd_paper, _parser=p, mode=None)

    p = exp.add_parser(
        "merge",
        help="one table and figures from several experiments' results.json",
        description="Merge the results.json of several experiments on the same task (each "
        "mode is taken whole from the last file that has it) into one results.md/json and "
        "the figures; the run folders are not needed.",
    )
    p.add_argument("results", type=Path, nargs="+",
                   help="results.json files, or experiment folders holding one")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="folder to write the merged results to")
    p.set_defaults(func=_cmd_merge)
