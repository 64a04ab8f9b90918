"""Frames per second of the real training loop with a real LM teacher, side by side.

Every variant trains the same task, seed and student for the same frames, one after the
other in one process, with the same teacher (``--teacher``, default ``smollm2-135m``):

* ``teach``: the frozen teacher guides the student; its LM runs in a child process
  (``--backend process``) and the rollout never waits for it (``hint_wait`` 0).
* ``teach-sync``: the same loop querying synchronously: the LM in a thread of the
  trainer's process and every query step waiting for its fresh answer (``hint_wait``
  60 s), the pattern of a loop that asks the LM at each step.
* ``bidir``: ``teach`` plus the student's feedback updating the teacher (LoRA).
* ``glam``: the library's GLAM baseline: the LM acts and learns by PPO (one batched
  forward per step, the prompt's key/value cache shared by the action strings).
* ``V+bf16`` for V above: the same with the LM's weights in bfloat16 (``teacher.dtype``).
* ``glam-pairs``: GLAM as Lamorel computes it: the same trainer, glam mode and PPO update,
  but every prompt of every step (no de-duplication) scored one fp32 HF forward per
  prompt+action pair, in acting and in the update (with gradients; the value head reads
  the last prompt token of the first pair's forward).
* ``glam-loop``: the acting half of ``glam-pairs`` written as a plain loop: each step every
  env's prompt+action pairs are scored one HF forward per pair in fp32 and the env acts on
  the result; no PPO update at all, so its frames/s is an upper bound for a GLAM loop.

Reports frames/s (training wall time, start-up excluded) and ratios. Usage::

    python bench/bench_trainer_lm.py                      # smollm2-135m, 128 frames each
    python bench/bench_trainer_lm.py --frames 256 --markdown
    python bench/bench_trainer_lm.py --teacher tiny --variants teach,teach-sync
    python bench/bench_trainer_lm.py --variants bidir,bidir+bf16,glam,glam+bf16,glam-loop
    python bench/bench_trainer_lm.py --frames 64 --variants glam,glam+bf16,glam-pairs,glam-loop
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bidir_core import make_vec
from bidir_core.student.ppo import PPOConfig
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig

TASK = "BabyAI-GoToRedBallNoDists-v0"
VARIANTS = ("teach", "teach-sync", "bidir", "glam", "glam-pairs", "glam-loop")
TIME_PARTS = ("time_rollout", "time_student_update", "time_mode", "time_lookahead",
              "time_teacher_update", "time_probe")


def pair_scores(teacher, unique, *, naive=False, return_hidden=False):
    """``Teacher._unique_scores`` as Lamorel scores: one forward per (prompt, action) pair,
    gradients flowing when enabled; the hidden state of the last prompt token of each
    prompt's first pair for the value head."""
    from bidir_core.teacher.scoring import prompt_token_ids

    rows, hidden = [], []
    for p in prompt_token_ids(teacher.tokenizer, unique):
        row = []
        for j, a in enumerate(teacher._action_ids):
            want = return_hidden and j == 0
            out = teacher.model(input_ids=torch.tensor([p + a]), use_cache=False,
                                output_hidden_states=want)
            logp = torch.log_softmax(out.logits[0, len(p) - 1 : len(p) - 1 + len(a)].float(), -1)
            row.append(logp.gather(-1, torch.tensor(a).unsqueeze(-1)).sum())
            if want:
                hidden.append(out.hidden_states[-1][0, len(p) - 1])
        rows.append(torch.stack(row))
    return torch.stack(rows), (torch.stack(hidden) if return_hidden else None)


@contextlib.contextmanager
def lamorel_scoring():
    """Patch the teacher to score every prompt (no de-duplication) pair by pair."""
    from unittest import mock

    from bidir_core.teacher import policy

    def every_prompt(prompts):
        return list(prompts), torch.arange(len(prompts))

    with mock.patch.object(policy.Teacher, "_unique_scores", pair_scores), \
            mock.patch.object(policy.scoring, "unique_prompts", every_prompt):
        yield


def train_fps(variant: str, args: argparse.Namespace, root: Path) -> float:
    """Frames/s of ``Trainer.train`` for one variant (wall time of training only)."""
    dtype = "bfloat16" if variant.endswith("+bf16") else "float32"
    base = variant.removesuffix("+bf16")
    mode = base.split("-")[0]
    teacher = TeacherModeConfig(
        name=args.teacher, probe_states=8, probe_every=10_000,
        backend="thread" if base == "teach-sync" else args.backend,
        hint_wait=60.0 if base == "teach-sync" else 0.0, teacher_dtype=dtype,
        call_timeout=3600.0,  # measure the work, never skip a slow call
    )  # fmt: skip
    cfg = TrainConfig(
        mode=mode, task=TASK, seed=args.seed, num_envs=args.num_envs,
        steps_per_iteration=args.frames // 2, total_frames=args.frames,
        student_eval_every=0, teacher=teacher,
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    patch = lamorel_scoring() if base == "glam-pairs" else contextlib.nullcontext()
    with patch, Trainer(cfg, root / variant, progress=False, tensorboard=False) as trainer:
        trainer.train()
    rows = read_metrics(root / variant)
    scored = [r["teacher_queries_scored"] for r in rows if r.get("teacher_queries_scored") is not None]
    if scored:
        print(f"{variant:12s} queries answered in time (in the teacher's update for bidir): "
              f"{np.mean(scored):.2f}", flush=True)
    parts = {k: sum(float(r.get(k) or 0.0) for r in rows) for k in TIME_PARTS}
    print(f"{variant:12s} seconds: " + ", ".join(
        f"{k[5:]} {v:.1f}" for k, v in parts.items() if v), flush=True)
    return rows[-1]["frames"] / rows[-1]["time_s"]


def glam_loop_fps(args: argparse.Namespace) -> float:
    """Frames/s of the plain GLAM-style loop: one fp32 HF forward per prompt+action pair."""
    from bidir_core.teacher.loading import load_teacher
    from bidir_core.teacher.scoring import naive_action_scores

    teacher = load_teacher(args.teacher)
    model = teacher.model.float().eval()
    tok = teacher.tokenizer
    action_ids = teacher._action_ids
    env = make_vec(TASK, args.num_envs, seed=args.seed, prompt_style="glam")
    env.reset()
    rng = np.random.default_rng(args.seed)
    steps = args.frames // args.num_envs
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(steps):
            scores = []
            for prompt in env.prompts():
                ids = tok(prompt, add_special_tokens=False)["input_ids"]
                scores.append(naive_action_scores(model, [ids], action_ids)[0])
            logp = torch.log_softmax(torch.stack(scores), dim=-1).numpy()
            p = np.exp(logp)
            actions = np.array([rng.choice(len(r), p=r / r.sum()) for r in p], np.int64)
            env.step(actions)
    return steps * args.num_envs / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="smollm2-135m")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--frames", type=int, default=128, help="frames per variant (2 iterations)")
    ap.add_argument("--num-envs", type=int, default=4)
    ap.add_argument("--backend", default="process", help="teacher backend of teach/bidir/glam")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    variants = args.variants.split(",")
    fps: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in variants:
            if v.removesuffix("+bf16") not in VARIANTS or v == "glam-loop+bf16":
                raise SystemExit(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")
            fps[v] = glam_loop_fps(args) if v == "glam-loop" else train_fps(v, args, Path(tmp))
            print(f"{v:12s} {fps[v]:8.2f} frames/s", flush=True)
    print(f"\n{args.teacher}, {args.frames} frames per variant, {args.num_envs} envs, "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s)")
    ratios = [("teach / teach-sync", "teach", "teach-sync"), ("bidir / glam", "bidir", "glam"),
              ("glam / glam-pairs", "glam", "glam-pairs"),
              ("glam / glam-loop", "glam", "glam-loop"),
              ("glam+bf16 / glam-pairs", "glam+bf16", "glam-pairs"),
              ("bidir+bf16 / glam+bf16", "bidir+bf16", "glam+bf16"),
              ("glam+bf16 / glam-loop", "glam+bf16", "glam-loop")]
    if args.markdown:
        print("\n| variant | frames/s |\n|---|---:|")
        for v, f in fps.items():
            print(f"| {v} | {f:.2f} |")
        print("\n| ratio | value |\n|---|---:|")
    for name, a, b in ratios:
        if a in fps and b in fps:
            print(f"| {name} | {fps[a] / fps[b]:.1f}x |" if args.markdown
                  else f"{name}: {fps[a] / fps[b]:.1f}x")


if __name__ == "__main__":
    main()
