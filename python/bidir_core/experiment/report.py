"""The results as tables: results.md (markdown) and results.json."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bidir_core.experiment.results import STUDENT_KEYS

__all__ = ["results_table", "write_results"]

# The teacher-agreement columns of the results table: (metric, column title).
AGREEMENT_COLUMNS = (
    ("probe_agreement", "teacher probe agreement"),
    ("probe_agreement_determined", "... where the prompt determines the oracle"),
)


def _fmt(stat: dict[str, Any] | None, digits: int = 3, seeds: int | None = None) -> str:
    """The cell text: mean ± ci; n/a without values; (n=k) when only k seeds had one."""
    if stat is None or stat["mean"] is None:
        return "n/a"
    text = f"{stat['mean']:.{digits}f}"
    text += f" ± {stat['ci']:.{digits}f}" if stat["ci"] is not None else ""
    return text + (f" (n={stat['n']})" if seeds is not None and stat["n"] < seeds else "")


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


def _write(path: Path, text: str) -> None:
    """Write text to path atomically (a temporary file, then os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
