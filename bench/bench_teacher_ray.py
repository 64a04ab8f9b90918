"""Teacher answers per second seen by a rollout loop: the in-process service vs Ray replicas.

One rollout loop (``bench_teacher.py``'s async loop: 64 envs, the oracle with random actions,
a small student network per step, never waiting for the teacher) runs for ``--seconds``
against each teacher backend in turn, in one process:

* **in-process**: ``TeacherService``'s default thread backend (the model shares the
  rollout's interpreter and cores);
* **ray-K**: ``RayTeacherBackend`` with K replicas on a local Ray cluster, one actor
  (one process, ``--threads`` torch threads) each; prompts routed by hash.

*Teacher answers/s* are the model's answers that reached the rollout (the service's
``answered``: scored prompts, each a new hint for the envs that asked); *current-state
hints/s* count, as ``bench_teacher.py`` does, envs whose hint is for their current state
(valid, age 0) when read, which with an LM come mostly from the cache.

Usage::

    python bench/bench_teacher_ray.py --teacher smollm2-135m --seconds 30 --markdown
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_teacher import add_loop_args, fmt, run_async  # noqa: E402
from bidir_core.teacher import load_teacher  # noqa: E402
from bidir_core.teacher.backends import replica_factory  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--teacher", default="smollm2-135m")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    add_loop_args(p, threads_help="torch threads, here and per replica")
    args = p.parse_args(argv)
    import ray

    from bidir_core.teacher.backends.ray_actors import RayTeacherBackend

    torch.set_num_threads(args.threads)
    teacher = load_teacher(args.teacher, batch_size=args.max_batch)
    print(f"# {args.teacher}, {args.task}, {args.num_envs} envs, {args.seconds:.0f} s per loop, "
          f"{args.threads} torch thread(s) per model; {os.cpu_count()} cores; torch "
          f"{torch.__version__}, ray {ray.__version__}, Python {platform.python_version()}",
          flush=True)  # fmt: skip
    ray.init(num_cpus=max(args.replicas), object_store_memory=200 * 2**20,
             include_dashboard=False, log_to_driver=False)  # fmt: skip
    rows = [("in-process", run_async(teacher, args))]
    print("# in-process done", flush=True)
    for k in args.replicas:
        t0 = time.perf_counter()
        backend = RayTeacherBackend(
            teacher, replica_factory(args.teacher, temperature=1.0, batch_size=args.max_batch),
            num_actions=7, replicas=k, resources={"CPU": args.threads},
            max_batch=args.max_batch, max_wait=args.max_wait,
        )  # fmt: skip
        print(f"# ray-{k}: replicas up in {time.perf_counter() - t0:.1f} s", flush=True)
        rows.append((f"ray-{k}", run_async(teacher, args, backend)))
    ray.shutdown()
    def rate(r):  # teacher answers that reached the rollout, per second
        return r["metrics"]["answered"] / r["seconds"]

    base = rate(rows[0][1])
    lines = ["| backend | teacher answers/s | vs in-process | current-state hints/s "
             "| rollout steps/s | cache hit rate | batches | batch mean | latency p50 (ms) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in rows:
        m = r["metrics"]
        lines.append(
            f"| {name} | {rate(r):.2f} | {rate(r) / base if base else float('nan'):.2f}x "
            f"| {fmt(r['answers'] / r['seconds'])} | {fmt(r['steps'] / r['seconds'])} "
            f"| {m['cache_hit_rate']:.3f} | {m['batches']:.0f} | {m['batch_size_mean']:.1f} "
            f"| {m['latency_p50_s'] * 1e3:.0f} |"
        )
    print("\n".join(lines) if args.markdown else "\n".join(ln.replace("|", " ") for ln in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
