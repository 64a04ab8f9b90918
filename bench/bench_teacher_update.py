"""The teacher's PPO update (``TeacherPPO.update``): one LM row per sample vs per prompt.

A rollout repeats prompts: in GoToRedBallNoDists 256 queries (16 envs x 16 steps) hold
about 100 distinct prompts. Three ways to run the same update (2 epochs of 4 minibatches,
the ``bidir`` default) on the same prompts, one after the other in one process, each from
the same fresh teacher (seconds per update, best of ``--repeats``):

* **per sample**: random minibatches, the LM runs once per sample (the update before
  prompts were deduplicated);
* **distinct per minibatch**: random minibatches, the LM runs once per distinct prompt
  of each minibatch (``PPOConfig(group_prompts=False)``);
* **grouped** (the default): minibatches made of whole prompts, so the LM runs once per
  distinct prompt of the rollout per epoch.

The prompts come from 16 envs stepping the oracle's action with probability 0.75 (a
uniform one otherwise), like a rollout of a half-trained student.

Usage::

    python bench/bench_teacher_update.py
    python bench/bench_teacher_update.py --states 512 --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import time
from unittest import mock

import numpy as np
import torch


def run(args: argparse.Namespace) -> tuple[int, list[dict]]:
    from bidir_core.teacher import learner, load_teacher, oracle_samples, scoring

    prompts, _ = oracle_samples(args.task, args.states, seed=args.seed, num_envs=16)
    rng = np.random.default_rng(args.seed)
    actions = rng.integers(0, 6, len(prompts))
    advantages = rng.normal(size=len(prompts)).astype(np.float32)
    variants = [
        ("per sample", False, True),
        ("distinct per minibatch", False, False),
        ("grouped (default)", True, False),
    ]
    rows = []
    for name, group, per_sample in variants:
        teacher = load_teacher("tiny")
        old = teacher.action_logprobs(prompts)[np.arange(len(prompts)), actions]
        ppo = learner.TeacherPPO(
            teacher, learner.TeacherPPOConfig(learning_rate=1e-4, update_epochs=2, group_prompts=group, seed=args.seed)
        )
        lm_rows = []
        real_scores = scoring.batched_action_scores

        def counted(model, ids, *a, **k):
            lm_rows.append(len(ids))
            return real_scores(model, ids, *a, **k)

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(scoring, "batched_action_scores", counted))
            if per_sample:
                stack.enter_context(mock.patch.object(scoring, "unique_prompts", _one_row_each))
            best = float("inf")
            for _ in range(args.repeats):
                lm_rows.clear()
                start = time.perf_counter()
                ppo.update(prompts, actions, advantages, old)
                best = min(best, time.perf_counter() - start)
        rows.append({"variant": name, "seconds": best, "lm_rows": sum(lm_rows)})
    return len(set(prompts)), rows


def _one_row_each(prompts):
    """``unique_prompts`` without the deduplication: every sample is its own row."""
    return list(prompts), torch.arange(len(prompts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="BabyAI-GoToRedBallNoDists-v0")
    p.add_argument("--states", type=int, default=256, help="samples per update (default 256)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    distinct, rows = run(args)
    print(f"{args.task}: {args.states} samples, {distinct} distinct prompts, "
          f"{args.threads} thread(s), best of {args.repeats}\n")
    print("| update | LM prompt rows | seconds | speed-up |")
    print("|---|---:|---:|---:|")
    base = rows[0]["seconds"]
    for r in rows:
        print(f"| {r['variant']} | {r['lm_rows']} | {r['seconds']:.3f} | {base / r['seconds']:.2f}x |")


if __name__ == "__main__":
    main()
