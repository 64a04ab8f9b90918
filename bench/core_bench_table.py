"""Turn core_bench's Google Benchmark JSON into the markdown tables of bench/README.md.

Usage: python bench/core_bench_table.py bench/results/core_bench.json

Reads the median aggregate of each benchmark when the run had repetitions, else its single
run. Standard library only.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def rate(x: float) -> str:
    """A per-second rate with a k/M/G suffix."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.2f}{suffix}"
    return f"{x:.1f}"


def duration(ns: float) -> str:
    """A duration given in nanoseconds, in ns, us or ms."""
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.0f} ns"


_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# What one item of each benchmark's items_per_second is (bench/core_bench.cc).
UNITS = {
    "EnvPrompt": "prompts",
    "EnvPromptHash": "prompts",
    "VecEnv.Prompt": "prompts",
    "VecEnv.PromptHashes": "prompts",
    "ComputeGae": "transitions",
    "AggregateFeedback": "transitions",
    "MlpPpoGradients": "samples",
    "PpoMinibatchStep": "samples",
    "ClippedAdamStep": "parameters",
}


def load(path: str) -> tuple[dict, list[dict]]:
    """(context, one entry per benchmark): the median aggregate, or the plain run."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs: dict[str, dict] = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            raise SystemExit(f"{b['name']}: {b.get('error_message', 'error')}")
        key = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                runs[key] = b
        else:
            runs.setdefault(key, b)
    if not runs:
        raise SystemExit(f"{path}: no benchmark results")
    return data.get("context", {}), list(runs.values())


def parse_name(run_name: str) -> tuple[str, str, dict[str, str]]:
    """('Step', 'BabyAI-GoTo-v0', {'threads': '1'}) from 'Step/BabyAI-GoTo-v0/threads:1/real_time'."""
    parts = [p for p in run_name.split("/") if p not in ("real_time", "process_time")]
    family, rest = parts[0], parts[1:]
    args = dict(p.split(":", 1) for p in rest if ":" in p)
    label = "/".join(p for p in rest if ":" not in p)
    return family, label, args


def per_call_ns(b: dict) -> float:
    """Time of one iteration: wall time for real-time benchmarks, else CPU time."""
    key = "real_time" if b.get("run_name", b["name"]).endswith("/real_time") else "cpu_time"
    return float(b[key]) * _NS[b.get("time_unit", "ns")]


def tables(context: dict, runs: list[dict]) -> str:
    """The markdown: steps per task and thread count, per-task text/planner rates, the rest."""
    by_family: dict[str, list[tuple[str, dict[str, str], dict]]] = defaultdict(list)
    for b in runs:
        family, label, args = parse_name(b.get("run_name", b["name"]))
        by_family[family].append((label, args, b))
    out = [
        f"core_bench on {context.get('host_name', '?')}: {context.get('num_cpus', '?')} CPUs, "
        f"{context.get('library_build_type', '?')} Google Benchmark, "
        f"num_envs {context.get('num_envs', '?')}, load average "
        f"{', '.join(f'{x:.1f}' for x in context.get('load_avg', [])) or '?'}, "
        f"{context.get('date', '')}",
        "",
    ]

    steps: dict[str, dict[str, float]] = defaultdict(dict)
    per_cpu: dict[str, float] = {}  # env-steps per CPU second (all threads), 1 thread
    for label, args, b in by_family.pop("Step", []):
        t = args.get("threads", "1")
        steps[label][t] = float(b["items_per_second"])
        if t == "1" and float(b["cpu_time"]) > 0:
            per_cpu[label] = float(b["items_per_second"]) * float(b["real_time"]) / float(b["cpu_time"])
    threads = sorted({t for row in steps.values() for t in row}, key=int)
    per_task = {k: by_family.pop(k, []) for k in ("DescribeView", "ExpertAction")}
    tasks = list(dict.fromkeys(list(steps) + [lab for v in per_task.values() for lab, _, _ in v]))
    if tasks:
        head = [f"env steps/s, {t} thread{'s' if t != '1' else ''}" for t in threads]
        ratio = len(threads) > 1
        out.append(
            "| task | " + " | ".join(head)
            + (f" | {threads[-1]}/{threads[0]} threads" if ratio else "")
            + " | env steps per CPU s, 1 thread | DescribeView views/s | ExpertAction plans/s |"
        )
        out.append("|---|" + "---:|" * (len(head) + ratio + 3))
        text = {lab: float(b["items_per_second"]) for lab, _, b in per_task["DescribeView"]}
        plans = {lab: float(b["items_per_second"]) for lab, _, b in per_task["ExpertAction"]}
        for task in tasks:
            row = steps.get(task, {})
            cells = [rate(row[t]) if t in row else "-" for t in threads]
            if ratio:
                lo, hi = row.get(threads[0]), row.get(threads[-1])
                cells.append(f"{hi / lo:.2f}x" if lo and hi else "-")
            cells.append(rate(per_cpu[task]) if task in per_cpu else "-")
            cells.append(rate(text[task]) if task in text else "-")
            cells.append(rate(plans[task]) if task in plans else "-")
            out.append(f"| {task} | " + " | ".join(cells) + " |")
        out.append("")

    if by_family:
        out.append("| benchmark | arguments | time per call | items/s | item |")
        out.append("|---|---|---:|---:|---|")
        for family, entries in by_family.items():
            for label, args, b in entries:
                name = family + (f"/{label}" if label else "")
                argtext = ", ".join(f"{k} {v}" for k, v in args.items())
                ips = b.get("items_per_second")
                out.append(
                    f"| {name} | {argtext} | {duration(per_call_ns(b))} | "
                    f"{rate(float(ips)) if ips else '-'} | {UNITS.get(family, '')} |"
                )
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    context, runs = load(argv[1])
    print(tables(context, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
