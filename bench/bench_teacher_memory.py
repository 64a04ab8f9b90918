"""Peak memory and time of one teacher update step, whole minibatch vs micro-batches.

glam's update on ``--prompts`` GLAM prompts of GoToRedBallNoDists (oracle-with-epsilon
states): ``--teacher`` (default ``smollm2-135m``) in bfloat16 with LoRA adapters and GLAM's
value head, one minibatch, one epoch. Each setting runs in its own Python process, so its
peak resident memory (``ru_maxrss``) is its own. Usage::

    python bench/bench_teacher_memory.py                  # micro_batch none vs 16
    python bench/bench_teacher_memory.py --micro none,4,16 --prompts 64
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(teacher: str, prompts_n: int, micro: int | None, dtype: str) -> dict[str, float]:
    """One update in this process: its seconds, and the peak RSS before and after (GB)."""
    import numpy as np
    import torch

    from bidir_core.teacher import load_teacher
    from bidir_core.teacher.learner import TeacherPPO, TeacherPPOConfig
    from bidir_core.teacher.samples import oracle_samples

    torch.set_num_threads(1)
    prompts, _ = oracle_samples("BabyAI-GoToRedBallNoDists-v0", prompts_n, seed=3,
                                prompt_style="glam")
    model = load_teacher(teacher, dtype=dtype, batch_size=64)
    learner = TeacherPPO(model, TeacherPPOConfig(
        lora=True, value_head=True, minibatch_size=prompts_n, update_epochs=1,
        micro_batch=micro))
    logp, values = learner.evaluate(prompts)
    n = len(prompts)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    start = time.perf_counter()
    learner.update(prompts, np.zeros(n, np.int64), np.ones(n, np.float32), logp[:, 0],
                   returns=np.ones(n, np.float32), old_values=values)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return {"seconds": seconds, "before_gb": before, "peak_gb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="smollm2-135m")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--micro", default="none,16", help="comma-separated micro_batch values")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        micro = None if args.child == "none" else int(args.child)
        print(json.dumps(measure(args.teacher, args.prompts, micro, args.dtype)))
        return
    print("| micro_batch | update (s) | peak RSS (GB) | of which the update (GB) |\n|---|---:|---:|---:|")
    for micro in args.micro.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--teacher", args.teacher, "--prompts", str(args.prompts),
             "--dtype", args.dtype, "--child", micro],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(f"| {micro} | {r['seconds']:.1f} | {r['peak_gb']:.2f} | "
              f"{r['peak_gb'] - r['before_gb']:.2f} |", flush=True)
    print(f"\n{args.teacher} ({args.dtype}, LoRA, value head), {args.prompts} GLAM prompts, "
          "one update step, one torch thread")


if __name__ == "__main__":
    main()
