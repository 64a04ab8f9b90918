"""A teacher LM in float32 vs bfloat16 on the CPU: scoring speed, an update step's speed,
and whether the answers (agreement with the oracle) stay the same.

Both dtypes load the same model (``--teacher``, default ``smollm2-135m``) and score the
same oracle-with-epsilon states of GoToRedBallNoDists with GLAM's prompt, one after the
other in one process. The update is one forward and backward pass of the summed action
log-probs of ``--update-batch`` prompts (what the teacher's policy-gradient step costs,
without the optimiser). Usage::

    python bench/bench_teacher_dtype.py                     # smollm2-135m, 96 states
    python bench/bench_teacher_dtype.py --states 256 --threads 2
    python bench/bench_teacher_dtype.py --lora          # the base frozen, LoRA adapters on it
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bidir_core.teacher.learner import apply_lora
from bidir_core.teacher.loading import load_teacher
from bidir_core.teacher.samples import oracle_samples


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="smollm2-135m")
    ap.add_argument("--states", type=int, default=96)
    ap.add_argument("--update-batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--lora", action="store_true",
                    help="add LoRA adapters (r 8, float32) as the teacher modes train an LM")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prompts, oracle = oracle_samples("BabyAI-GoToRedBallNoDists-v0", args.states, seed=777,
                                     prompt_style="glam")
    results = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        teacher = load_teacher(args.teacher, dtype=dtype, batch_size=32)
        if args.lora:
            apply_lora(teacher, r=8, alpha=16)
        logp = teacher.action_logprobs(prompts)
        score_s = best_of(args.repeats, lambda: teacher.action_logprobs(prompts))
        batch = prompts[: args.update_batch]

        def update() -> None:
            teacher.model.zero_grad(set_to_none=True)
            teacher.action_logprobs_tensor(batch).float().sum().backward()

        update_s = best_of(args.repeats, update)
        results[name] = (logp, score_s, update_s)
        print(f"{name:9s} scoring {len(prompts) / score_s:6.2f} prompts/s, update step "
              f"{update_s:6.2f} s ({len(batch)} prompts), agreement "
              f"{float((logp.argmax(1) == oracle).mean()):.3f}", flush=True)
    (lp32, s32, u32), (lp16, s16, u16) = results["float32"], results["bfloat16"]
    same = float((lp32.argmax(1) == lp16.argmax(1)).mean())
    print(f"\nbfloat16 / float32: scoring {s32 / s16:.2f}x faster, update {u32 / u16:.2f}x "
          f"faster; same argmax on {same:.3f} of the states, max |d log p| "
          f"{float(np.abs(lp32 - lp16).max()):.3f} ({args.teacher}, {args.states} states, "
          f"{args.threads} thread(s){', LoRA' if args.lora else ''})")


if __name__ == "__main__":
    main()
