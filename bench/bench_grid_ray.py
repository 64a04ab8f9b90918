"""Wall time of one experiment grid: ``--backend ray`` (one Ray task per run) vs ``--jobs 2``.

Both run the same 4-run grid (modes ppo and teach with the tiny teacher, 2 seeds) with
``bidir experiment paper`` in a fresh folder each, one after the other; the Ray one starts
its own local cluster (its start-up is in its time). The clock covers the whole command.

Usage::

    python bench/bench_grid_ray.py --iterations 8 --markdown
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def run(extra: list[str], out: str, args) -> float:
    cmd = [sys.executable, "-m", "bidir_core", "experiment", "paper", "--modes", args.modes,
           "--seeds", str(args.seeds), "--budgets", str(args.iterations), "--out", out,
           "--eval-episodes", "0", "--num-envs", "8", "--steps-per-iteration", "256", *extra]  # fmt: skip
    env = dict(os.environ, RAY_AUTH_MODE="disabled",
               RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES=str(100 * 2**20))  # fmt: skip
    env.pop("RAY_ADDRESS", None)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modes", default="ppo,teach")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    runs = len(args.modes.split(",")) * args.seeds
    with tempfile.TemporaryDirectory() as tmp:
        local = run(["--jobs", "2"], os.path.join(tmp, "local"), args)
        print(f"# --jobs 2: {local:.1f} s", flush=True)
        on_ray = run(["--backend", "ray"], os.path.join(tmp, "ray"), args)
        print(f"# --backend ray: {on_ray:.1f} s", flush=True)
    lines = [f"| grid ({runs} runs x {args.iterations} iterations of 256 frames) | wall s | vs --jobs 2 |",
             "|---|---:|---:|",
             f"| `--jobs 2` (local pool) | {local:.1f} | 1.00x |",
             f"| `--backend ray` (local cluster, 2 CPUs) | {on_ray:.1f} | {on_ray / local:.2f}x |"]  # fmt: skip
    print("\n".join(lines) if args.markdown else "\n".join(ln.replace("|", " ") for ln in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
