"""Env steps/s and BabyAI-Text descriptions/s: bidir_core vs envpool vs minigrid, one run.

All peers run in this process on the same machine with the same task, env count and thread
count, stepping with pre-generated uniformly random actions (0..6) and automatic resets:

* ours:     bidir_core.make_vec(task, N, num_threads=T, copy=False), int64 actions (the
            zero-copy views); "ours copy" is the default copy=True (fresh arrays per step,
            Gymnasium's semantics, like envpool's);
* envpool:  envpool.make(task, env_type="gymnasium", num_envs=N, num_threads=T,
            batch_size=N), synchronous, actions in its own dtype (int32);
* minigrid: a Python loop over N gymnasium.make(task) envs, reset when an episode ends
            (fewer env-steps, see --minigrid-steps: it is slow).

Descriptions: ours is env.descriptions() on the N-env batch (C++ DescribeView plus the
conversion to Python lists of str), called after each of --desc-batches steps; the peer
is the pure-Python reference describe(image) of tests/babyai_text_reference.py applied to
the same observations (their outputs are compared, and a mismatch is reported).

Every figure is the best of --repeats timed repeats after a warm-up; in suite mode the
peers take turns in every repeat (so that load from other processes hits them alike).
Usage: python bench/bench_envs.py [--task ID] [--num-envs 64] [--threads 1] [--markdown]

Suite mode (--suite babyai): env steps/s of the three on every BabyAI id bidir_core has
(no text row), one table with the ratio vs envpool; use smaller --steps/--minigrid-steps.
--clock cpu times CPU seconds instead of wall seconds (for a machine shared with other jobs).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

REFERENCE_PATH = Path(__file__).resolve().parent.parent / "tests" / "babyai_text_reference.py"


# -- machine info -------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception as e:  # noqa: BLE001 - report any import failure as "missing"
        return f"missing ({type(e).__name__})"
    return str(getattr(mod, "__version__", "?"))


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Minimum wall time of fn() over repeats calls."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# -- env steps ----------------------------------------------------------------------------
# Each setup_* builds one peer and returns (run, env_steps_per_run, close); run() is one
# timed repeat (reset, then the pre-generated actions) after its own warm-up run.
Peer = tuple[Callable[[], None], int, Callable[[], None]]


def setup_ours(task: str, n: int, threads: int, actions: np.ndarray, copy: bool = False) -> Peer:
    import bidir_core

    env = bidir_core.make_vec(task, n, num_threads=threads, copy=copy)
    actions = np.ascontiguousarray(actions, dtype=np.int64)
    step = env.step

    def run() -> None:
        env.reset(seed=0)
        for a in actions:
            step(a)

    run()  # warm-up
    return run, actions.size, env.close


def setup_envpool(task: str, n: int, threads: int, actions: np.ndarray) -> Peer:
    import envpool

    env = envpool.make(
        task, env_type="gymnasium", num_envs=n, num_threads=threads, batch_size=n, seed=0
    )
    dtype = env.spec.action_array_spec["action"].dtype  # int32 for the grid worlds
    actions = np.ascontiguousarray(actions, dtype=dtype)
    step = env.step

    def run() -> None:
        env.reset()
        for a in actions:
            step(a)

    run()  # warm-up
    return run, actions.size, env.close


def setup_minigrid(task: str, n: int, total_steps: int) -> Peer:
    import gymnasium as gym
    import minigrid  # noqa: F401 - registers the MiniGrid/BabyAI ids

    envs = [gym.make(task) for _ in range(n)]
    rounds = max(1, total_steps // n)
    actions = np.random.default_rng(1).integers(0, 7, (rounds, n)).tolist()

    def play(rows) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # "Sampling rejected: ..." prints
            _play(rows)

    def _play(rows) -> None:
        for i, e in enumerate(envs):
            e.reset(seed=i)
        for row in rows:
            for e, a in zip(envs, row):
                _, _, terminated, truncated, _ = e.step(a)
                if terminated or truncated:
                    e.reset()

    play(actions[: min(20, rounds)])  # warm-up: a few rounds

    def close() -> None:
        for e in envs:
            e.close()

    return (lambda: play(actions)), rounds * n, close


def interleaved(peers: dict[str, Peer], repeats: int, clock: str = "wall") -> dict[str, float]:
    """Steps/s of each peer: best of ``repeats`` timed runs, the peers taking turns in
    every repeat, so that load from other processes hits them alike. ``clock`` "cpu"
    times the process's CPU seconds instead of wall seconds (steady on a shared machine;
    every peer here steps on one busy thread). A peer whose run raises TimeoutError is
    left out of the result."""
    timer = time.process_time if clock == "cpu" else time.perf_counter
    best = {name: float("inf") for name in peers}
    for _ in range(repeats):
        for name, (run, _, _) in peers.items():
            if best[name] is None:
                continue
            t0 = timer()
            try:
                run()
            except TimeoutError:
                best[name] = None
                continue
            best[name] = min(best[name], timer() - t0)
    for _, _, close in peers.values():
        close()
    return {name: peers[name][1] / t for name, t in best.items() if t is not None}


def with_alarm(fn: Callable[[], Any], seconds: int) -> Callable[[], Any]:
    """fn, raising TimeoutError when a call takes over ``seconds`` (SIGALRM)."""
    import signal

    def _timeout(*_):
        raise TimeoutError

    def guarded() -> Any:
        old = signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(seconds)
        try:
            return fn()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)

    return guarded


def bench_ours(
    task: str, n: int, threads: int, actions: np.ndarray, repeats: int, copy: bool = False
) -> float:
    return interleaved({"ours": setup_ours(task, n, threads, actions, copy)}, repeats)["ours"]


def bench_envpool(task: str, n: int, threads: int, actions: np.ndarray, repeats: int) -> float:
    return interleaved({"envpool": setup_envpool(task, n, threads, actions)}, repeats)["envpool"]


def bench_minigrid(task: str, n: int, total_steps: int, repeats: int) -> float:
    return interleaved({"minigrid": setup_minigrid(task, n, total_steps)}, repeats)["minigrid"]


# -- descriptions -------------------------------------------------------------------------
def load_reference():
    if not REFERENCE_PATH.exists():
        return None
    spec = importlib.util.spec_from_file_location("babyai_text_reference", REFERENCE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module if hasattr(module, "describe") else None


def bench_descriptions(
    task: str, n: int, threads: int, actions: np.ndarray, batches: int, repeats: int, reference
) -> dict[str, Any]:
    """Descriptions per second, ours vs the reference, over the same stepped observations."""
    import bidir_core

    env = bidir_core.make_vec(task, n, num_threads=threads)
    batches = min(batches, len(actions))
    env.reset(seed=0)
    images = np.empty((batches, n, 7, 7, 3), np.uint8)
    ours_out = []
    for b in range(batches):  # record the observations and our output; also a warm-up
        obs, *_ = env.step(actions[b])
        images[b] = obs["image"]
        ours_out.append(env.descriptions())
    mean_sentences = sum(len(s) for batch in ours_out for s in batch) / (batches * n)

    def run_ours() -> float:
        env.reset(seed=0)
        spent = 0.0
        for b in range(batches):
            env.step(actions[b])
            t0 = time.perf_counter()
            env.descriptions()
            spent += time.perf_counter() - t0
        return spent

    ours_s = min(run_ours() for _ in range(repeats))
    env.close()
    result: dict[str, Any] = {
        "count": batches * n,
        "ours": batches * n / ours_s,
        "mean_sentences": mean_sentences,
        "reference": None,
        "mismatches": None,
    }
    if reference is None:
        return result

    describe = reference.describe
    flat = images.reshape(batches * n, 7, 7, 3)
    ref_n = min(len(flat), 8192)  # the reference is slow; time a prefix
    ref_out = [describe(img) for img in flat[:ref_n]]  # warm-up and correctness check
    ours_flat = [s for batch in ours_out for s in batch]
    result["mismatches"] = sum(1 for a, b in zip(ref_out, ours_flat[:ref_n]) if a != b)
    result["ref_count"] = ref_n

    def run_ref() -> None:
        for img in flat[:ref_n]:
            describe(img)

    result["reference"] = ref_n / best_of(repeats, run_ref)
    return result


# -- output -------------------------------------------------------------------------------
def fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.1f}x"


def print_table(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))


def run_suite(args, actions: np.ndarray) -> None:
    """Steps/s of ours, envpool and minigrid on every BabyAI id, one row per id."""
    import bidir_core

    n, t = args.num_envs, args.threads
    rows, ratios = [], []
    tasks = [x for x in bidir_core.list_tasks() if x.startswith("BabyAI") and x not in args.exclude]
    for task in sorted(tasks):
        peers = {"ours": setup_ours(task, n, t, actions)}
        if "envpool" not in args.skip:
            try:
                peers["envpool"] = setup_envpool(task, n, t, actions)
            except Exception:  # noqa: BLE001 - envpool lacks the id: "—"
                pass
        if "minigrid" not in args.skip:
            # minigrid can loop forever in RoomGrid.place_agent (crowded small rooms, e.g.
            # SynthS5R2): a level whose warm-up or a run takes over 120 s is reported as "—".
            try:
                run, count, close = with_alarm(
                    lambda: setup_minigrid(task, n, args.minigrid_steps), 120)()
                peers["minigrid"] = (with_alarm(run, 120), count, close)
            except TimeoutError:
                pass
        rates = interleaved(peers, args.repeats, args.clock)
        ours, ep, mg = rates["ours"], rates.get("envpool"), rates.get("minigrid")
        if ep:
            ratios.append(ours / ep)
        rows.append([task, fmt_rate(ours), fmt_rate(ep), fmt_rate(mg), fmt_ratio(ours, ep),
                     fmt_ratio(ours, mg)])
        print("# " + " | ".join(rows[-1]), file=sys.stderr, flush=True)
    print()
    print_table(["task", "ours steps/s", "envpool steps/s", "minigrid steps/s", "ours/envpool",
                 "ours/minigrid"], rows, args.markdown)
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"\n# ours/envpool over {len(ratios)} ids: geometric mean {geo:.2f}x, "
              f"min {min(ratios):.2f}x, max {max(ratios):.2f}x")
        print(f"# median {float(np.median(ratios)):.1f}x; "
              f"{sum(r >= 20 for r in ratios)} of {len(ratios)} ids at >= 20x")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="BabyAI-GoToRedBallNoDists-v0")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5000, help="batched steps for ours and envpool")
    p.add_argument("--minigrid-steps", type=int, default=20000, help="env-steps for minigrid")
    p.add_argument("--desc-batches", type=int, default=500, help="batches to describe")
    p.add_argument("--repeats", type=int, default=5, help="take the best of R repeats")
    p.add_argument("--skip", nargs="*", default=[], choices=["envpool", "minigrid", "text"])
    p.add_argument("--markdown", action="store_true", help="print markdown tables")
    p.add_argument("--suite", choices=["babyai"], help="every BabyAI id, steps/s only")
    p.add_argument("--exclude", nargs="*", default=[], help="suite: ids to leave out")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="suite: time wall seconds or the process's CPU seconds")
    args = p.parse_args(argv)
    n, t = args.num_envs, args.threads
    if n < 1 or t < 1 or args.steps < 1 or args.repeats < 1:
        p.error("--num-envs, --threads, --steps and --repeats must be >= 1")

    import bidir_core

    print(
        f"# {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}, bidir_core {version('bidir_core')}, "
        f"envpool {version('envpool')}, minigrid {version('minigrid')}, "
        f"gymnasium {version('gymnasium')}"
    )
    print(
        f"# task {args.task}, num_envs {n}, threads {t}, steps {args.steps} x {n} "
        f"(minigrid {args.minigrid_steps} env-steps), best of {args.repeats}"
        + (f", {args.clock} clock" if args.suite else "")
    )
    actions = np.random.default_rng(0).integers(0, 7, (args.steps, n), dtype=np.int64)
    if args.suite:
        run_suite(args, actions)
        return
    if args.task not in bidir_core.list_tasks():
        sys.exit(f"bidir_core has no task {args.task!r}")

    ours = bench_ours(args.task, n, t, actions, args.repeats)
    ours_copy = bench_ours(args.task, n, t, actions, args.repeats, copy=True)
    ep = mg = None
    notes = []
    if "envpool" not in args.skip:
        try:
            ep = bench_envpool(args.task, n, t, actions, args.repeats)
        except Exception as e:  # noqa: BLE001 - a missing peer is a note, not a failure
            notes.append(f"envpool skipped: {type(e).__name__}: {e}")
    if "minigrid" not in args.skip:
        try:
            mg = bench_minigrid(args.task, n, args.minigrid_steps, args.repeats)
        except Exception as e:  # noqa: BLE001
            notes.append(f"minigrid skipped: {type(e).__name__}: {e}")

    print()
    print_table(
        ["task", "N", "threads", "ours steps/s", "ours copy steps/s", "envpool steps/s",
         "minigrid steps/s", "ours/envpool", "ours copy/envpool", "ours/minigrid"],
        [[args.task, str(n), str(t), fmt_rate(ours), fmt_rate(ours_copy), fmt_rate(ep),
          fmt_rate(mg), fmt_ratio(ours, ep), fmt_ratio(ours_copy, ep), fmt_ratio(ours, mg)]],
        args.markdown,
    )

    if "text" not in args.skip:
        reference = load_reference()
        if reference is None:
            notes.append(f"reference describe() not found at {REFERENCE_PATH}: row skipped")
        d = bench_descriptions(
            args.task, n, t, actions, args.desc_batches, args.repeats, reference
        )
        print()
        print_table(
            ["BabyAI-Text", "views", "ours descr/s", "reference descr/s", "ours/reference"],
            [[args.task, str(d["count"]), fmt_rate(d["ours"]), fmt_rate(d["reference"]),
              fmt_ratio(d["ours"], d["reference"])]],
            args.markdown,
        )
        notes.append(f"mean sentences per view: {d['mean_sentences']:.2f}")
        if d["mismatches"] is not None:
            notes.append(
                f"reference timed on the first {d['ref_count']} views; "
                f"{d['mismatches']} of them differ from ours"
            )
    for note in notes:
        print(f"# {note}")


if __name__ == "__main__":
    main()
