"""Teacher answers per second seen by a rollout loop: synchronous queries vs the service.

Both loops drive the same 64 envs (same task, seed and behaviour policy) with the same
teacher object, one after the other in one process:

* **sync** (the GLAM/Lamorel pattern): every step builds the 64 prompts in Python from
  ``env.missions()`` and ``env.descriptions()``, scores all of them with
  ``teacher.action_logprobs`` and waits for the answer before acting.
* **async** (``bidir_core.teacher.service.TeacherService``): every step hashes the 64
  prompts in C++ (``env.prompt_hashes``), submits them (cache hits resolve at once, misses
  go to the background worker in batches, prompt text built in C++ only for misses),
  reads the latest hints and acts without waiting.

Each step of both loops also runs a small student network (an MLP on the image and the
hint, 64 envs) so the loop does the work a rollout does; its output is not used to act.
Actions come from the oracle planner, replaced by a uniformly random action with
probability ``--epsilon`` (1.0: a random policy).

An *answer* is a teacher distribution for an env's current state, available to the
rollout at that step: the sync loop gets 64 per step; the async loop counts envs whose
hint is valid and has age 0 (a cache hit at submit). Hints of older states (age > 0) are
reported separately as coverage, not counted as answers.

Usage::

    python bench/bench_teacher.py                          # tiny and smollm2-135m
    python bench/bench_teacher.py --teachers tiny --seconds 20 --markdown
    python bench/bench_teacher.py --teachers tiny-untrained  # no checkpoint needed
    python bench/bench_teacher.py --teachers tiny --task BabyAI-GoToLocal-v0  # many states

Torch runs on ``--threads`` threads (default 1): on a small shared machine two OpenMP
threads next to the rollout thread oversubscribe the cores and make timings erratic.

``tiny-untrained`` is the tiny teacher's architecture (LlamaConfig, word-level BabyAI
tokenizer) with random weights: the same cost per prompt, for when no checkpoint exists.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import torch

import bidir_core
from bidir_core.teacher.service import TeacherService

from bidir_core.vector_env import DEFAULT_TASK


def make_teacher(name: str):
    """Load a teacher by name; ``tiny-untrained`` is built here with random weights."""
    if name == "tiny-untrained":
        from transformers import LlamaForCausalLM

        from bidir_core.teacher.pretrain import PretrainConfig, tiny_config
        from bidir_core.teacher.policy import Teacher
        from bidir_core.teacher.vocab import babyai_tokenizer

        tok = babyai_tokenizer()
        torch.manual_seed(0)
        model = LlamaForCausalLM(tiny_config(len(tok), PretrainConfig()))
        return Teacher(model, tok, name="tiny-untrained")
    from bidir_core.teacher import load_teacher

    return load_teacher(name)


class Student(torch.nn.Module):
    """A stand-in for the PPO student's forward pass: MLP on (image, hint) -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(7 * 7 * 3 + 7, 64), torch.nn.Tanh(), torch.nn.Linear(64, 7)
        )

    @torch.no_grad()
    def forward(self, image: np.ndarray, hint: np.ndarray) -> torch.Tensor:
        x = torch.cat(
            (
                torch.from_numpy(image.reshape(len(image), -1).astype(np.float32)),
                torch.from_numpy(hint),
            ),
            1,
        )
        return self.net(x)


class Behaviour:
    """Oracle actions, each replaced by a random one with probability epsilon."""

    def __init__(self, epsilon: float, n: int, seed: int) -> None:
        self.epsilon, self.n = epsilon, n
        self.rng = np.random.default_rng(seed)

    def __call__(self, env) -> np.ndarray:
        actions = env.expert_actions() if self.epsilon < 1.0 else np.zeros(self.n, np.int64)
        explore = self.rng.random(self.n) < self.epsilon
        actions[explore] = self.rng.integers(0, 7, int(explore.sum()))
        return actions


def python_prompts(env) -> list[str]:
    """GLAM-style: the prompts built in Python from the env's text, every step."""
    return [
        f"Goal of the agent: {m}\nObservation: {', '.join(d)}\nAction:"
        for m, d in zip(env.missions(), env.descriptions())
    ]


def teacher_probs(teacher, prompts: list[str]) -> np.ndarray:
    logp = teacher.action_logprobs(prompts)
    probs = np.zeros((len(prompts), 7), np.float32)
    probs[:, : logp.shape[1]] = np.exp(logp)
    return probs


def run_sync(teacher, args) -> dict:
    env = bidir_core.make_vec(args.task, args.num_envs, seed=args.seed)
    obs, _ = env.reset()
    student = Student()
    behave = Behaviour(args.epsilon, args.num_envs, args.seed)
    teacher_probs(teacher, python_prompts(env))  # warm-up, not timed
    steps = answers = 0
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds and steps >= args.min_sync_steps:
            break
        probs = teacher_probs(teacher, python_prompts(env))
        student(obs["image"], probs)
        obs, *_ = env.step(behave(env))
        steps += 1
        answers += args.num_envs
    return {"seconds": elapsed, "steps": steps, "answers": answers, "coverage": 1.0}


def run_async(teacher, args, backend=None) -> dict:
    """The never-waiting rollout loop against the service (on ``backend``, default its
    own thread) for args.seconds."""
    env = bidir_core.make_vec(args.task, args.num_envs, seed=args.seed)
    obs, _ = env.reset()
    student = Student()
    behave = Behaviour(args.epsilon, args.num_envs, args.seed)
    hashes = np.zeros(args.num_envs, np.uint64)
    steps = answers = covered = 0
    with TeacherService(
        teacher,
        args.num_envs,
        max_batch=args.max_batch,
        max_wait=args.max_wait,
        timeout=args.timeout,
        backend=backend,
    ) as svc:
        start = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - start
            if elapsed >= args.seconds:
                break
            svc.submit(env.prompt_hashes(out=hashes), env.prompts)
            hints = svc.hints()
            answers += int((hints.valid & (hints.age == 0)).sum())
            covered += int(hints.valid.sum())
            student(obs["image"], hints.probs)
            obs, *_ = env.step(behave(env))
            svc.tick()
            steps += 1
        m = svc.metrics()
    return {
        "seconds": elapsed,
        "steps": steps,
        "answers": answers,
        "coverage": covered / max(steps * args.num_envs, 1),
        "metrics": m,
    }


def fmt(x: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:.1f}"


def add_loop_args(p: argparse.ArgumentParser, threads_help: str) -> None:
    """The options of the rollout loop and the service it queries."""
    p.add_argument("--task", default=DEFAULT_TASK)
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--seconds", type=float, default=30.0, help="wall time of each loop")
    p.add_argument("--epsilon", type=float, default=0.5, help="random-action probability")
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--max-wait", type=float, default=0.005)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help=threads_help)
    p.add_argument("--markdown", action="store_true")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--teachers", nargs="+", default=["tiny", "smollm2-135m"])
    p.add_argument("--min-sync-steps", type=int, default=3)
    add_loop_args(p, threads_help="torch threads (0: torch default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"# {args.task}, {args.num_envs} envs, epsilon {args.epsilon}, "
        f"{args.seconds:.0f} s per loop; "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Python {platform.python_version()}",
        flush=True,
    )
    rows = []
    for name in args.teachers:
        try:
            t0 = time.perf_counter()
            teacher = make_teacher(name)
            print(f"# {name}: loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        except Exception as exc:  # report a missing model and go on with the others
            print(f"# {name}: not available ({type(exc).__name__}: {exc})", flush=True)
            continue
        sync = run_sync(teacher, args)
        print(f"# {name}: sync done ({sync['steps']} steps)", flush=True)
        asyn = run_async(teacher, args)
        rows.append((name, sync, asyn))
        m = asyn["metrics"]
        print(
            f"# {name}: async {asyn['steps']} steps; model prompts {m['model_queries']:.0f} "
            f"answered {m['answered']:.0f} in {m['batches']:.0f} batches "
            f"(mean {m['batch_size_mean']:.1f}), latency mean {m['latency_mean_s'] * 1e3:.0f} ms "
            f"p95 {m['latency_p95_s'] * 1e3:.0f} ms, cache hit rate {m['cache_hit_rate']:.3f}, "
            f"joined {m['joined']:.0f}, cancelled {m['cancelled']:.0f}, "
            f"failed {m['failed']:.0f}, cache entries {m['cache_entries']:.0f}",
            flush=True,
        )
    if not rows:
        print("no teacher could be loaded", file=sys.stderr)
        return 1
    head = (
        "| teacher | sync answers/s | async answers/s | async/sync | sync steps/s "
        "| async steps/s | async hint coverage | mean hint age (steps) | model prompts/s |"
    )
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    lines = [head, sep]
    for name, s, a in rows:
        sa = s["answers"] / s["seconds"]
        aa = a["answers"] / a["seconds"]
        m = a["metrics"]
        lines.append(
            f"| {name} | {fmt(sa)} | {fmt(aa)} | {aa / sa:.1f}x | {s['steps'] / s['seconds']:.2f} "
            f"| {fmt(a['steps'] / a['seconds'])} | {a['coverage']:.3f} "
            f"| {m['hint_age_mean']:.1f} | {m['answered'] / a['seconds']:.1f} |"
        )
    if args.markdown:
        print("\n".join(lines))
    else:
        for line in lines:
            if line is not sep:
                print("  ".join(c.strip() for c in line.strip("|").split("|")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
