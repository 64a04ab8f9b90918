"""Teacher scoring throughput: shared prefix and prompt run once vs re-running the prompt.

Four ways to score the 6 candidate actions of each prompt with the same causal LM, on
the same oracle-with-epsilon GoToRedBallNoDists prompts (``--prompt-style``, GLAM's by
default), one after the other in one process (prompts/s, best of ``--repeats``):

* **prefix** (``Teacher.action_scores``, the default): the token prefix the batch shares
  (GLAM's header and goal) runs once, and its cache is kept while the weights do not
  change; then as kv-expanded on the rest of each prompt.
* **kv-expanded** (``Teacher(share_prefix=False)``): the batch of left-padded prompts runs
  once; its key/value cache is repeated 6 times and only the action tokens are fed.
* **flat**: the usual batched approach without prefix sharing: all prompt+action texts
  (6 per prompt) padded into one batch and run in full.
* **naive** (``Teacher.action_scores(naive=True)``): one unpadded forward per
  (prompt, action) pair, as in a per-step query loop.

It also checks the four agree (max |difference| of the scores).

Usage::

    python bench/bench_teacher_scoring.py                       # tiny and smollm2-135m
    python bench/bench_teacher_scoring.py --teachers tiny --prompts 512 --threads 2
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def flat_scores(teacher, prompts):
    """Scores from one padded batch of all prompt+action sequences (no prefix sharing)."""
    from bidir_core.teacher.scoring import prompt_token_ids

    out = []
    for start in range(0, len(prompts), teacher.batch_size):
        pids = prompt_token_ids(teacher.tokenizer, prompts[start : start + teacher.batch_size])
        seqs = [(p, a) for p in pids for a in teacher._action_ids]
        width = max(len(p) + len(a) for p, a in seqs)
        ids = torch.zeros((len(seqs), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (p, a) in enumerate(seqs):
            ids[i, : len(p) + len(a)] = torch.tensor(p + a)
            mask[i, : len(p) + len(a)] = 1
        with torch.inference_mode():
            logits = teacher.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
        scores = torch.zeros(len(seqs))
        for i, (p, a) in enumerate(seqs):
            pos = torch.arange(len(p) - 1, len(p) + len(a) - 1)
            scores[i] = logp[i, pos, torch.tensor(a)].sum()
        out.append(scores.view(len(pids), len(teacher._action_ids)))
    return torch.cat(out)


def best_rate(fn, n, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return n / best, result


def main() -> None:
    from bidir_core.teacher.loading import load_teacher
    from bidir_core.teacher.samples import oracle_samples
    from transformers.utils import logging as hf_logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", default="tiny,smollm2-135m")
    parser.add_argument("--task", default="BabyAI-GoToRedBallNoDists-v0")
    parser.add_argument("--prompts", type=int, default=0, help="0: 512 for tiny, 32 otherwise")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--prompt-style", default="glam", choices=["glam", "short"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    rows = []
    for name in args.teachers.split(","):
        teacher = load_teacher(name, batch_size=args.batch_size)
        n = args.prompts or (512 if name == "tiny" else 32)
        prompts, _ = oracle_samples(args.task, n, seed=4242, prompt_style=args.prompt_style)
        pre, s_pre = best_rate(partial(teacher.action_scores, prompts), n, args.repeats)
        teacher.share_prefix = False
        kv, s_kv = best_rate(partial(teacher.action_scores, prompts), n, args.repeats)
        flat, s_flat = best_rate(partial(flat_scores, teacher, prompts), n, args.repeats)
        naive, s_naive = best_rate(
            partial(teacher.action_scores, prompts, naive=True), n, max(1, args.repeats // 3)
        )
        diff = max((s - s_naive).abs().max().item() for s in (s_pre, s_kv, s_flat))
        rows.append((name, n, pre, kv, flat, naive, diff))

    print(
        f"\nteacher scoring, {args.task}, {args.prompt_style} prompts, 6 actions, "
        f"batch {args.batch_size}, "
        f"{args.threads} thread(s), prompts/s (best of {args.repeats})\n"
    )
    print(
        "| teacher | prompts | prefix | kv-expanded | flat batch | naive | prefix/kv "
        "| kv/flat | prefix/naive | max diff |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, pre, kv, flat, naive, diff in rows:
        print(
            f"| {name} | {n} | {pre:,.1f} | {kv:,.1f} | {flat:,.1f} | {naive:,.1f} "
            f"| {pre / kv:.2f}x | {kv / flat:.2f}x | {pre / naive:.1f}x | {diff:.1e} |"
        )


if __name__ == "__main__":
    main()
