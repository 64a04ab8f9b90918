"""The ``bidir`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from bidir_core.experiment import add_experiment_commands
from bidir_core.teacher.cli import add_teacher_commands
from bidir_core.training.commands import add_training_commands
from bidir_core.vector_env import ACTION_NAMES, DEFAULT_TASK, list_tasks, make_vec



def _cmd_tasks(args: argparse.Namespace) -> int:
    for task in list_tasks():
        print(task)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Roll out the oracle planner (mixed with random actions) and report what happened."""
    env = make_vec(args.task, args.num_envs, seed=args.seed, num_threads=args.threads,
                   copy=False, stats_key="episode")
    rng = np.random.default_rng(args.seed)
    obs, _ = env.reset()
    print(f"task {args.task}: {args.num_envs} envs, seed {args.seed}")
    print(f"env 0 mission: {env.missions()[0]!r}")
    for sentence in env.descriptions()[0]:
        print(f"  {sentence}")
    print(f"  oracle says: {ACTION_NAMES[int(env.expert_actions()[0])]}")
    episodes = successes = 0
    returns = []
    start = time.perf_counter()
    for _ in range(args.steps):
        expert = env.expert_actions()
        random = rng.integers(0, len(ACTION_NAMES), args.num_envs)
        actions = np.where(rng.random(args.num_envs) < args.epsilon, random, expert)
        _, _, _, _, info = env.step(actions)
        if "_episode" in info:
            done = info["_episode"]
            episodes += int(done.sum())
            successes += int(info["episode"]["success"][done].sum())
            returns.extend(info["episode"]["r"][done].tolist())
    elapsed = time.perf_counter() - start
    frames = args.steps * args.num_envs
    print(
        f"{frames} frames in {elapsed:.2f}s ({frames / elapsed:,.0f} frames/s incl. planning); "
        f"{episodes} episodes, success {successes / max(episodes, 1):.3f}, "
        f"mean return {np.mean(returns) if returns else 0.0:.3f} "
        f"(oracle with {args.epsilon:.0%} random actions)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bidir``."""
    parser = argparse.ArgumentParser(prog="bidir", description=__doc__)
    from bidir_core import __version__

    parser.add_argument("--version", action="version", version=f"bidir_core {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tasks", help="list the available tasks")
    p.set_defaults(func=_cmd_tasks)
    p = sub.add_parser("demo", help="roll out the oracle planner in batched envs")
    p.add_argument("--task", default=DEFAULT_TASK, help="task id (see `bidir tasks`)")
    p.add_argument("--num-envs", type=int, default=64, help="number of environments")
    p.add_argument("--threads", type=int, default=1, help="C++ threads stepping the envs")
    p.add_argument("--steps", type=int, default=500, help="batched steps to run")
    p.add_argument("--seed", type=int, default=0, help="seed of env 0 (env i gets seed + i)")
    p.add_argument("--epsilon", type=float, default=0.2, help="probability of a random action")
    p.set_defaults(func=_cmd_demo)
    add_teacher_commands(sub)
    add_training_commands(sub)
    add_experiment_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bidir`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        # FileNotFoundError covers TeacherNotFoundError: a missing model says how to get one.
        print(f"bidir: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a read-only folder, ...: one line, no traceback
        print(f"bidir: error: {_os_error(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bidir: interrupted", file=sys.stderr)
        return 130


def _os_error(err: OSError) -> str:
    """An OSError as one line: what failed and on which file."""
    what = err.strerror or str(err) or type(err).__name__
    if err.filename is not None and str(err.filename) not in what:
        what += f": {err.filename}"
        if err.filename2 is not None:
            what += f" -> {err.filename2}"
    return what


if __name__ == "__main__":
    sys.exit(main())
