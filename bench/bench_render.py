"""Rendered frames/s: bidir_core's batched C++ render vs minigrid's env.render(), one run.

Both peers play the same episodes (same seeds, the same pre-generated random actions, and
the next-step autoreset of the vector env mirrored on the minigrid side), and after every
step each renders every env's full frame (rgb_array, --tile-size, the view highlighted):

* ours:     ``env.render_frames()`` of ``bidir_core.make_vec(task, N, num_threads=T)``, one
            call for the N frames (a new (N, H, W, 3) uint8 array each time, as minigrid
            allocates each frame); "ours out=" fills one preallocated array instead;
* minigrid: ``env.render()`` of each of N ``gymnasium.make(task, render_mode="rgb_array")``.

Only the render calls are timed (the steps are not); the first --warmup steps (which fill
both tile caches) are not counted. Every frame of ours is compared with minigrid's and the
number of differing frames is printed (it must be 0).
Usage: python bench/bench_render.py [--tasks ID ...] [--num-envs 16] [--steps 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers the reference ids)
import numpy as np

import bidir_core
from bench_envs import cpu_model, version

DEFAULT_TASKS = ["BabyAI-GoToRedBallNoDists-v0", "MiniGrid-DoorKey-8x8-v0", "BabyAI-BossLevel-v0"]


def bench_task(task: str, n: int, steps: int, warmup: int, threads: int, tile_size: int,
               seed: int) -> dict:
    env = bidir_core.make_vec(task, n, num_threads=threads, tile_size=tile_size)
    refs = [gym.make(task, render_mode="rgb_array", tile_size=tile_size).unwrapped
            for _ in range(n)]
    env.reset(seed=seed)
    for i, ref in enumerate(refs):
        ref.reset(seed=seed + i)
    actions = np.random.default_rng(seed).integers(0, 7, size=(warmup + steps, n))
    pending = [False] * n
    t_ours = t_ref = 0.0
    frames = mismatches = 0
    t_out = 0.0
    buffer = env.render_frames()
    for t in range(warmup + steps):
        start = time.perf_counter()
        ours = env.render_frames()
        mid = time.perf_counter()
        theirs = [ref.render() for ref in refs]
        end = time.perf_counter()
        env.render_frames(out=buffer)
        t_out_call = time.perf_counter() - end
        mismatches += sum(not np.array_equal(ours[i], theirs[i]) for i in range(n))
        mismatches += sum(not np.array_equal(buffer[i], theirs[i]) for i in range(n))
        if t >= warmup:
            t_ours += mid - start
            t_ref += end - mid
            t_out += t_out_call
            frames += n
        env.step(actions[t])
        for i, ref in enumerate(refs):
            if pending[i]:
                ref.reset()
                pending[i] = False
            else:
                _, _, term, trunc, _ = ref.step(int(actions[t, i]))
                pending[i] = term or trunc
    env.close()
    return {
        "task": task,
        "frame": f"{ours.shape[2]}x{ours.shape[1]}",
        "ours": frames / t_ours,
        "ours_out": frames / t_out,
        "minigrid": frames / t_ref,
        "mismatches": mismatches,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--steps", type=int, default=40, help="timed steps (frames: N per step)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tile-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(f"{cpu_model()}; bidir_core {version('bidir_core')}, minigrid {version('minigrid')}, "
          f"numpy {np.__version__}; {args.num_envs} envs, {args.threads} thread(s), "
          f"tile size {args.tile_size}, {args.steps} timed steps")
    print("| task | frame | ours frames/s | ours out= frames/s | minigrid frames/s | "
          "ours / minigrid | ours out= / minigrid | frames differing |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for task in args.tasks:
        r = bench_task(task, args.num_envs, args.steps, args.warmup, args.threads,
                       args.tile_size, args.seed)
        print(f"| {r['task']} | {r['frame']} | {r['ours']:,.0f} | {r['ours_out']:,.0f} | "
              f"{r['minigrid']:,.0f} | {r['ours'] / r['minigrid']:,.1f}x | "
              f"{r['ours_out'] / r['minigrid']:,.1f}x | {r['mismatches']} |", flush=True)


if __name__ == "__main__":
    main()
