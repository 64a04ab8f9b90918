"""The ``bidir experiment`` command line: ``paper`` (train and report) and ``merge``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bidir_core.experiment.config import (
    BACKENDS,
    OWN_FIELDS,
    PAPER_BUDGETS,
    PAPER_MODES,
    ExperimentConfig,
)
from bidir_core.experiment.plots import plot_results
from bidir_core.experiment.report import write_results
from bidir_core.experiment.results import (
    evaluate_students,
    merge_summaries,
    read_summary,
    summarize,
)
from bidir_core.experiment.runner import run_experiment
from bidir_core.student.ppo import PPOConfig
from bidir_core.training.commands import _add_fields, _config_from_args
from bidir_core.training.modes import TeacherModeConfig, available_modes
from bidir_core.training.config import DEFAULT_TASK, TrainConfig

__all__ = ["add_experiment_commands"]


def _parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """The comma-separated positive integers in text; ValueError naming ``what`` if not."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            f"{what} must be comma-separated positive integers, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be comma-separated positive integers, got {text!r}")
    return values


def _passthrough_argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The ``bidir train`` flags the user gave, rebuilt from the parsed values."""
    argv: list[str] = []
    for action in parser._actions:
        dest = action.dest
        if not dest.startswith(("cfg_", "ppo_", "teacher_")):
            continue
        value = getattr(args, dest)
        if value is None:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(flag if value else "--no-" + flag[2:])
        else:
            argv += [flag, str(value)]
    return argv


def _cmd_paper(args: argparse.Namespace) -> int:
    modes = (
        tuple(m.strip() for m in args.modes.split(",") if m.strip())
        if args.modes is not None
        else tuple(m for m in PAPER_MODES if m in available_modes())
    )
    budgets = _parse_int_list(args.budgets, "--budgets")
    task = args.cfg_task or DEFAULT_TASK
    out = args.out or Path("experiments") / f"paper-{task}"
    cfg = ExperimentConfig(
        out=out, task=task, modes=modes, seeds=args.seeds, budgets=budgets,
        steps_per_iteration=args.steps_per_iteration, jobs=args.jobs,
        eval_episodes=args.eval_episodes, train_args=tuple(_passthrough_argv(args._parser, args)),
        backend=args.backend, address=args.address, run_cpus=args.run_cpus,
        run_gpus=args.run_gpus,
    ).validate()  # fmt: skip
    # Validate every run's config before anything starts (bad train flags fail here).
    for mode in cfg.modes:
        ns = argparse.Namespace(**vars(args))
        ns.mode = mode
        ns.cfg_task = cfg.task
        ns.cfg_steps_per_iteration = cfg.steps_per_iteration
        ns.cfg_total_frames = cfg.iterations * cfg.steps_per_iteration
        _config_from_args(ns)
    print(
        f"experiment {cfg.out}: {cfg.task}, modes {', '.join(cfg.modes)} x {cfg.seeds} seeds, "
        f"{cfg.iterations} iterations of {cfg.steps_per_iteration} frames "
        f"({cfg.iterations * cfg.steps_per_iteration:,} frames) per run, "
        + (f"{cfg.jobs} at a time" if cfg.backend == "local" else "as Ray tasks")
    )
    status = run_experiment(cfg)
    evaluations = evaluate_students(cfg) if status == "finished" else {}
    summary = summarize(cfg, evaluations)
    table = write_results(cfg.out, summary)
    plots = plot_results(summary, cfg.out)
    print()
    print(table)
    print(f"\nwrote {cfg.out / 'results.md'}, results.json, {', '.join(p.name for p in plots)}")
    if status == "failed":
        print("bidir: error: some runs failed (see above); rerun to retry them", file=sys.stderr)
        return 1
    if status == "interrupted":
        print(f"continue with the same command (--out {cfg.out}); finished runs are skipped")
        return 130
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    summaries = [read_summary(path) for path in args.results]
    files = [str(path / "results.json" if path.is_dir() else path) for path in args.results]
    merged = merge_summaries(summaries, files)
    args.out.mkdir(parents=True, exist_ok=True)
    table = write_results(args.out, merged)
    plots = plot_results(merged, args.out)
    print(table)
    print(f"\nwrote {args.out / 'results.md'}, results.json, {', '.join(p.name for p in plots)}")
    without = [m for m in merged["modes"]
               if not any(c["mode"] == m for c in merged["curves"].values())]  # fmt: skip
    if without:
        print(f"no learning curves for {', '.join(without)} (their results.json predates them): "
              "left out of the figures")
    return 0


def add_experiment_commands(sub: Any) -> None:
    """Add the ``experiment`` subparser to the ``bidir`` subparsers ``sub``."""
    p = sub.add_parser(
        "experiment",
        help="run a multi-seed comparison of training modes and report it",
        description="Experiments made of many `bidir train` runs, with tables and plots.",
    )
    exp = p.add_subparsers(dest="experiment", required=True)
    p = exp.add_parser(
        "paper",
        help="the paper's comparison: every mode x seed, results at each budget",
        description="Train every (mode, seed) for max(--budgets) iterations, then write "
        "results.md/json (mean and 95% Student-t CI over seeds of the rolling success and "
        "return at each budget), success_vs_frames.png, success_vs_time.png and "
        "teacher_agreement.png. Rerunning with the same --out resumes.",
    )
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated training modes (default: those of ppo,teach,bidir,glam available)",
    )
    p.add_argument("--seeds", type=int, default=3, help="runs per mode, seeds 0..N-1 (default: 3)")
    p.add_argument(
        "--budgets",
        default=",".join(map(str, PAPER_BUDGETS)),
        help="comma-separated iterations at which to report; runs train for the largest "
        "(default: 40,2100, the paper's)",
    )
    p.add_argument(
        "--steps-per-iteration",
        type=int,
        default=256,
        help="frames per iteration, all envs together (default: 256, Lamorel's)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="experiment folder (default: experiments/paper-<task>); rerun to resume",
    )
    p.add_argument("--jobs", type=int, default=2,
                   help="runs trained at once with --backend local (default: 2)")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="where the runs train: local (--jobs processes here) or ray (one Ray "
                   "task per run, on the cluster of --address; default: local)")
    p.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="--backend ray: the Ray cluster to join (default: RAY_ADDRESS, a "
                   "`ray start` on this machine, else a new local cluster)")
    p.add_argument("--run-cpus", type=float, default=1.0,
                   help="--backend ray: CPUs each run asks for (default: 1)")
    p.add_argument("--run-gpus", type=float, default=0.0,
                   help="--backend ray: GPUs each run with a teacher asks for (default: 0)")
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=500,
        help="fresh episodes per final student for `bidir eval`-style evaluation (0: none; "
        "default: 500)",
    )
    p.add_argument(
        "--task",
        dest="cfg_task",
        default=None,
        metavar="TASK",
        help=f"task id (default: {DEFAULT_TASK})",
    )
    skip = OWN_FIELDS
    _add_fields(p.add_argument_group("train flags given to every run"), TrainConfig, "cfg_", skip)
    _add_fields(p.add_argument_group("PPO"), PPOConfig, "ppo_", skip)
    _add_fields(
        p.add_argument_group("teacher (modes teach, bidir and glam)"),
        TeacherModeConfig,
        "teacher_",
        skip,
    )
    p.set_defaults(func=_cmd_paper, _parser=p, mode=None)

    p = exp.add_parser(
        "merge",
        help="one table and figures from several experiments' results.json",
        description="Merge the results.json of several experiments on the same task (each "
        "mode is taken whole from the last file that has it) into one results.md/json and "
        "the figures; the run folders are not needed.",
    )
    p.add_argument("results", type=Path, nargs="+",
                   help="results.json files, or experiment folders holding one")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="folder to write the merged results to")
    p.set_defaults(func=_cmd_merge)
