"""An experiment's results: per mode and budget, the mean and CI over seeds, with curves."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from bidir_core.experiment.config import STUDENT_MODES, ExperimentConfig
from bidir_core.experiment.runner import run_state
from bidir_core.experiment.stats import mean_ci
from bidir_core.training.metrics import read_metrics
from bidir_core.training.config import TrainConfig
from bidir_core.training.run_folder import CHECKPOINT

__all__ = [
    "CURVE_KEYS",
    "STUDENT_KEYS",
    "evaluate_students",
    "merge_summaries",
    "read_summary",
    "summarize",
]

# The student-alone columns of the results table, in order.
STUDENT_KEYS = ("student_success", "student_success_greedy", "student_return")


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
SUMMARY_KEYS = {"task", "modes", "seeds", "budgets", "steps_per_iteration", "train_args",
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
    """Fresh-episode success and return of every finished run's final student, mean and CI
    per mode (modes without a student left out); cached in eval.json by run and checkpoint."""
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
            stamp = (cfg.run_dir(name) / CHECKPOINT).stat().st_mtime_ns
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




def read_summary(path: Path) -> dict[str, Any]:
    """The summary in an experiment's results.json (``path`` or the folder holding it)."""
    path = Path(path)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no results.json at {path}")
    try:
        summary = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"{path} is not JSON: {e}") from None
    if not isinstance(summary, dict) or not SUMMARY_KEYS <= set(summary):
        raise ValueError(f"{path} is not an experiment's results.json")
    return summary
