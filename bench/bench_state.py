"""Copying env states for the lookahead judge: snapshot()/restore() in C++ vs get_state() dicts.

Per query the lookahead saves one env state and restores it into one scratch env per
candidate action (6). The dict path is what the judge did before: ``get_state`` (a dict of
numpy arrays and Python ints) once, ``set_state`` (parse and validate) six times. The C++
path is ``snapshot`` once and one batched ``restore`` per chunk of queries. Both restore the
same states into the same scratch envs, side by side in one process; the states are
checked to be equal afterwards.

    python bench/bench_state.py                  # 3 tasks, 64 queries x 6 actions
    python bench/bench_state.py --tasks BabyAI-BossLevel-v0 --queries 256 --markdown
"""

from __future__ import annotations

import argparse

import numpy as np

import bidir_core
from bench_envs import best_of  # bench/ is on sys.path when run as a script

DEFAULT_TASKS = ["BabyAI-GoToRedBallNoDists-v0", "BabyAI-GoToLocal-v0", "MiniGrid-DoorKey-8x8-v0",
                 "BabyAI-PutNextLocal-v0", "BabyAI-BossLevel-v0"]


def bench_task(task: str, queries: int, actions: int, repeats: int) -> dict[str, float]:
    """Seconds per query (save once, restore ``actions`` times) of both paths."""
    src = bidir_core.make_vec(task, queries, seed=0)
    src.reset()
    rng = np.random.default_rng(0)
    for _ in range(10):  # states inside episodes, not fresh resets
        src.step(rng.integers(0, 7, queries))
    dst = bidir_core.make_vec(task, queries * actions, seed=1, autoreset_mode="SameStep")
    dst.reset()
    scratch = np.arange(queries * actions, dtype=np.int64)

    def dicts() -> None:
        states = [src.get_state(i) for i in range(queries)]
        for q, state in enumerate(states):
            for a in range(actions):
                dst.set_state(q * actions + a, state)

    def snapshots() -> None:
        snaps = [src.snapshot(i) for i in range(queries)]
        dst.restore(scratch, [s for s in snaps for _ in range(actions)])

    t_dict = best_of(repeats, dicts)
    t_snap = best_of(repeats, snapshots)
    for j in (0, queries * actions - 1):  # both paths restore the same states
        a, b = dst.get_state(j), src.get_state(j // actions)
        assert a["agent_pos"] == b["agent_pos"] and a["rng"] == b["rng"]
        np.testing.assert_array_equal(a["grid"], b["grid"])
    src.close()
    dst.close()
    return {"dict": t_dict / queries, "snapshot": t_snap / queries}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    p.add_argument("--queries", type=int, default=64)
    p.add_argument("--actions", type=int, default=6)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    rows = [(t, bench_task(t, args.queries, args.actions, args.repeats)) for t in args.tasks]
    if args.markdown:
        print("| task | dict round trip (µs/query) | snapshot/restore (µs/query) | speed-up |")
        print("|---|---:|---:|---:|")
        for t, r in rows:
            print(f"| {t} | {r['dict'] * 1e6:.1f} | {r['snapshot'] * 1e6:.1f} "
                  f"| {r['dict'] / r['snapshot']:.1f}x |")
    else:
        for t, r in rows:
            print(f"{t:34s} dict {r['dict'] * 1e6:8.1f} us/query  snapshot "
                  f"{r['snapshot'] * 1e6:7.1f} us/query  {r['dict'] / r['snapshot']:5.1f}x")
    ratios = [r["dict"] / r["snapshot"] for _, r in rows]
    print(f"# speed-up over {len(rows)} tasks: geometric mean "
          f"{float(np.exp(np.mean(np.log(ratios)))):.1f}x, min {min(ratios):.1f}x")


if __name__ == "__main__":
    main()
