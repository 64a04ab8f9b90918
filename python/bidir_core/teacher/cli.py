"""The ``bidir teacher`` commands: ``pretrain`` the tiny teacher, measure ``accuracy``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from bidir_core.vector_env import DEFAULT_TASK


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from bidir_core.teacher.loading import cache_dir
    from bidir_core.teacher.pretrain import PretrainConfig, pretrain_tiny

    _quiet_transformers()
    defaults = PretrainConfig()
    cfg = PretrainConfig(
        tasks=tuple(args.tasks.split(",")) if args.tasks else defaults.tasks,
        states_per_task=args.states_per_task,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
    )
    out = args.out or str(cache_dir() / "teachers" / "tiny")
    metrics = pretrain_tiny(out, cfg, log=print)
    print(json.dumps({k: v for k, v in metrics.items() if k != "config"}))
    return 0


def _cmd_accuracy(args: argparse.Namespace) -> int:
    import torch

    from bidir_core.teacher.evaluate import oracle_agreement
    from bidir_core.teacher.loading import TeacherNotFoundError, load_teacher, resolve_device

    _quiet_transformers()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        teacher = load_teacher(
            args.teacher, batch_size=args.batch_size, temperature=args.temperature,
            device=resolve_device(args.device),
        )
    except (TeacherNotFoundError, ValueError) as err:
        print(f"bidir: error: {err}", file=sys.stderr)
        return 2
    load_s = time.perf_counter() - start
    from bidir_core.training.modes import TeacherModeConfig

    prompt = TeacherModeConfig(name=args.teacher, teacher_prompt=args.prompt).prompt_style
    result = oracle_agreement(teacher, args.task, args.states, seed=args.seed,
                              epsilon=args.epsilon, prompt_style=prompt)
    n = int(result["states"])
    print(
        f"teacher {args.teacher} on {args.task}: {n} oracle-with-epsilon states "
        f"(epsilon {args.epsilon}, seed {args.seed})"
    )
    print(
        f"  agreement with the oracle {result['agreement']:.3f}  "
        f"(always the most frequent oracle action: {result['majority']:.3f}, "
        f"uniform: {1 / len(teacher.actions):.3f})"
    )
    print(
        f"  mean πT(oracle action) {result['expert_prob']:.3f}, "
        f"mean entropy {result['entropy']:.3f} nats"
    )
    print(
        f"  scoring {result['prompts_per_s']:.1f} prompts/s "
        f"(batch {args.batch_size}, {args.threads} thread(s)); load {load_s:.1f}s"
    )
    if args.json:
        print(json.dumps({"teacher": args.teacher, "task": args.task, **result}))
    return 0


def add_teacher_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``teacher pretrain`` and ``teacher accuracy`` on the ``bidir`` parser."""
    from bidir_core.teacher.pretrain import PretrainConfig

    defaults = PretrainConfig()
    teacher = subparsers.add_parser("teacher", help="pretrain and evaluate LLM teachers")
    sub = teacher.add_subparsers(dest="teacher_command", required=True)

    p = sub.add_parser(
        "pretrain",
        help="train the embedded tiny teacher on planner-labelled BabyAI-Text (about a minute)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="output directory (default $BIDIR_CACHE/teachers/tiny; the shipped checkpoint "
        "is python/bidir_core/teacher/data/tiny)",
    )
    p.add_argument(
        "--tasks",
        default=None,
        help=f"comma-separated tasks of the training text (default {','.join(defaults.tasks)})",
    )
    p.add_argument("--states-per-task", type=int, default=defaults.states_per_task)
    p.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help="torch threads (the result is bit-reproducible at a fixed count)",
    )
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser(
        "accuracy", help="zero-shot agreement of a teacher with the oracle planner's action"
    )
    p.add_argument("--teacher", default="tiny", help="tiny, smollm2-135m, or a model path/id")
    p.add_argument("--task", default=DEFAULT_TASK, help="task id (see `bidir tasks`)")
    p.add_argument("--states", type=int, default=1000, help="states to score")
    p.add_argument("--seed", type=int, default=12345, help="seed of the evaluation envs")
    p.add_argument("--epsilon", type=float, default=0.25, help="random-action rate of rollouts")
    p.add_argument("--prompt", choices=("auto", "short", "glam"), default="auto",
                   help="prompt style (auto: short for tiny, glam otherwise)")
    p.add_argument("--batch-size", type=int, default=32, help="prompts per forward pass")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature of πT")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda if available)")
    p.add_argument("--json", action="store_true", help="also print the result as JSON")
    p.set_defaults(func=_cmd_accuracy)
