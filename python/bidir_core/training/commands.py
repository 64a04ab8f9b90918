"""The ``bidir train`` and ``bidir eval`` subcommands (registered by ``bidir_core.cli``)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import threading
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bidir_core.student.ppo import PPOConfig
from bidir_core.training.modes import available_modes
from bidir_core.training.modes import TeacherModeConfig
from bidir_core.training.config import TrainConfig
from bidir_core.validation import field_help

__all__ = ["add_training_commands"]

# Flags that are not --field-name, by argparse dest (config prefix + field name). The
# teacher's backend is --teacher-backend, so that `bidir experiment paper --backend` can
# name the grid's.
_RENAMED = {"cfg_total_frames": "--frames", "teacher_name": "--teacher",
            "teacher_backend": "--teacher-backend", "ppo_backend": "--ppo-backend"}
_PREFIXES = ("cfg_", "ppo_", "teacher_")


def _flag(dest: str) -> str:
    """The command-line flag of an argparse dest."""
    if dest in _RENAMED:
        return _RENAMED[dest]
    name = next((dest[len(p):] for p in _PREFIXES if dest.startswith(p)), dest)
    return "--" + name.replace("_", "-")
_NOT_FLAGS = {"ppo", "mode", "teacher"}


def _scalar_type(hint: Any) -> type:
    """The argparse type of a field annotated ``T`` or ``T | None`` (int, float, str)."""
    arms = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if len(arms) != 1 or arms[0] not in (int, float, str):
        raise TypeError(f"no command-line type for a field annotated {hint}")
    return arms[0]


def _add_fields(
    group: argparse._ArgumentGroup, cls: type, prefix: str, skip: tuple[str, ...] = ()
) -> None:
    """Add a --flag per field of the config dataclass ``cls``: its docstring as help, its
    type (choices for a Literal) from the annotation."""
    docs = field_help(cls)
    defaults = cls()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in _NOT_FLAGS or f.name in skip:
            continue
        flag = _flag(prefix + f.name)
        default = getattr(defaults, f.name)
        # argparse %-formats help strings: a "%" of the docstring must reach it as "%%"
        help_text = f"{docs.get(f.name, '')} (default: {default})".replace("%", "%%")
        dest = prefix + f.name
        if isinstance(default, bool) or hints[f.name] == (bool | None):
            group.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif typing.get_origin(hints[f.name]) is typing.Literal:
            group.add_argument(flag, dest=dest, choices=typing.get_args(hints[f.name]),
                               default=None, help=help_text)
        else:
            kind = _scalar_type(hints[f.name])
            group.add_argument(
                flag,
                dest=dest,
                type=kind,
                default=None,
                help=help_text,
                metavar=kind.__name__.upper(),
            )


def _config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, list[str]]:
    """The TrainConfig the flags describe, and the flags that were given."""
    train, ppo, teacher, given = {}, {}, {}, []
    for key, value in vars(args).items():
        if value is None:
            continue
        if key.startswith("cfg_"):
            train[key[4:]] = value
        elif key.startswith("ppo_"):
            ppo[key[4:]] = value
        elif key.startswith("teacher_"):
            teacher[key[8:]] = value
        else:
            continue
        given.append(key)
    if args.mode is not None:
        train["mode"] = args.mode
        given.append("mode")
    path = getattr(args, "config", None)
    if path is not None:  # the file's values, then the flags over them
        base = read_config_file(path)
        base.setdefault("ppo", {}).update(ppo)
        base.setdefault("teacher", {}).update(teacher)
        base.update(train)
        return TrainConfig.from_dict(base), given
    config = TrainConfig(**train, ppo=PPOConfig(**ppo), teacher=TeacherModeConfig(**teacher))
    return config.validate(), given


def read_config_file(path: Path) -> dict[str, Any]:
    """A TrainConfig as a dict from a JSON (a run's config.json) or TOML file: top-level
    run options, with ``[ppo]`` and ``[teacher]`` tables. ValueError names the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"cannot read the config file {path}: {err.strerror or err}") from None
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise ValueError(f"{path}: TOML config files need Python >= 3.11; use JSON") from None
            values = tomllib.loads(text)
        else:
            values = json.loads(text)
    except ValueError as err:  # json.JSONDecodeError and tomllib.TOMLDecodeError
        raise ValueError(f"config file {path} is not valid {path.suffix[1:] or 'json'}: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a table of options")
    for key in ("ppo", "teacher"):
        if not isinstance(values.get(key, {}), dict):
            raise ValueError(f"config file {path}: {key!r} must be a table of options")
    return values


@contextlib.contextmanager
def _stop_signals_as_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt, as Ctrl-C does, outside Trainer.train
    (which handles all three itself): start-up and shut-down end with one line, exit 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signums = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _cmd_train(args: argparse.Namespace) -> int:
    with _stop_signals_as_ctrl_c():
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    from bidir_core.training.trainer import Trainer

    progress = not args.quiet
    if args.resume is not None:
        if args.config is not None:
            raise ValueError("--resume continues a run with its saved config; drop --config")
        _, given = _config_from_args(args)
        if args.run_dir is not None:
            given.append("run_dir")
        if given:
            flags = ", ".join(_flag(g) for g in given)
            raise ValueError(f"--resume continues a run with its saved config; drop {flags}")
        try:
            trainer = Trainer.resume(args.resume, progress=progress)
        except KeyboardInterrupt:
            print(
                f"bidir: interrupted during start-up; {args.resume} is as it was (resume it "
                "again to continue)",
                file=sys.stderr,
            )
            return 130
        print(
            f"resuming {args.resume} at iteration {trainer.iteration} ({trainer.frames:,} frames)"
        )
    else:
        config, _ = _config_from_args(args)
        run_dir = args.run_dir or Path("runs") / (
            f"{config.task}-{config.mode}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        try:
            trainer = Trainer(config, run_dir, progress=progress)
        except KeyboardInterrupt:
            print("bidir: interrupted during start-up; no run was started", file=sys.stderr)
            return 130
        print(
            f"training {config.mode} on {config.task}: {config.total_iterations} iterations of "
            f"{config.steps_per_iteration} frames ({config.num_envs} envs), run dir {run_dir}",
            flush=True,
        )
    try:
        with trainer:
            summary = trainer.train()
    except KeyboardInterrupt:  # a second signal: aborted without a new checkpoint
        print(
            f"bidir: aborted; continue from the last checkpoint with: bidir train --resume "
            f"{trainer.run_dir}",
            file=sys.stderr,
        )
        return 130
    fps = summary["frames"] / summary["time_s"] if summary["time_s"] else 0.0
    rolling = summary["rolling_success"]
    print(
        f"{summary['status']}: {summary['iterations']} iterations, {summary['frames']:,} frames in "
        f"{summary['time_s']:.1f} s ({fps:,.0f} frames/s); rolling success "
        f"{'n/a' if rolling is None else f'{rolling:.3f}'} (behaviour policy); run dir "
        f"{summary['run_dir']}"
    )
    extra = []
    if summary.get("student_success") is not None:
        extra.append(f"student alone {summary['student_success']:.3f} (fresh episodes)")
    if summary.get("sim_steps"):
        extra.append(f"sim steps {summary['sim_steps']:,}")
    if summary.get("agreement_first") is not None:
        extra.append(f"teacher agreement with the oracle {summary['agreement_first']:.3f} -> "
                     f"{summary['agreement_last']:.3f}")
    if extra:
        print("; ".join(extra))
    if summary.get("video"):
        print(f"the final student plays in {summary['video']}")
    if summary["status"] != "finished":
        print(f"continue with: bidir train --resume {summary['run_dir']}")
    return 0 if summary["status"] == "finished" else 130


def _cmd_eval(args: argparse.Namespace) -> int:
    from bidir_core.training.evaluate import EVAL_SEED, evaluate

    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    seed = EVAL_SEED if args.seed is None else args.seed
    if args.video is not None:
        from bidir_core.video import check_video_path

        check_video_path(args.video)  # before the evaluation, not after it
        if args.video_episodes < 1:
            raise ValueError(f"--video-episodes must be >= 1, got {args.video_episodes}")
    result = evaluate(args.run_dir, args.episodes, greedy=args.greedy, seed=seed)
    if args.video is not None:
        result["video"] = str(_save_eval_video(args, seed))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['task']}: success {result['success_rate']:.3f} over {result['episodes']} "
            f"episodes, mean return {result['return_mean']:.3f} ({result['policy']} actions, "
            f"fresh seeds {seed}+i; student after {result['iteration']} iterations, "
            f"{result['frames']:,} frames)"
        )
        if args.video is not None:
            print(f"video of {args.video_episodes} episodes: {result['video']}")
    return 0


def _save_eval_video(args: argparse.Namespace, seed: int) -> Path:
    """Write the run's student playing ``--video-episodes`` episodes from ``seed``."""
    from bidir_core.training.evaluate import load_student, student_frames
    from bidir_core.video import save_video

    config, _, net, tokenizer = load_student(args.run_dir)
    frames = student_frames(net, tokenizer, config.task, args.video_episodes,
                            greedy=args.greedy, seed=seed)
    return save_video(frames, args.video)


def add_training_commands(sub: Any) -> None:
    """Add the ``train`` and ``eval`` subparsers to the ``bidir`` subparsers ``sub``."""
    p = sub.add_parser(
        "train",
        help="train a student (PPO; with --mode glam, the teacher), with metrics, checkpoints, resume",
        description="Train a student. An iteration is one PPO update over "
        "--steps-per-iteration frames. Ctrl-C (or SIGTERM, SIGHUP) once finishes the "
        "iteration, checkpoints and exits with status 130; a second one aborts.",
    )
    p.add_argument(
        "--mode", choices=available_modes(), default=None, help="training mode (default: bidir)"
    )
    p.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="folder for config, metrics, checkpoints (default: runs/<task>-<mode>-s<seed>-<time>)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its checkpoint",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="options from a JSON (e.g. a run's config.json) or TOML file; flags override it")
    _add_fields(p.add_argument_group("run"), TrainConfig, "cfg_")
    _add_fields(p.add_argument_group("PPO"), PPOConfig, "ppo_")
    _add_fields(
        p.add_argument_group("teacher (modes teach, bidir and glam)"), TeacherModeConfig, "teacher_"
    )
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="success rate of a trained student on fresh episodes")
    p.add_argument("run_dir", type=Path, help="a run folder written by `bidir train`")
    p.add_argument("--episodes", type=int, default=1000, help="episodes to play (default: 1000)")
    p.add_argument(
        "--greedy",
        action="store_true",
        help="take the most likely action (default: sample from the policy)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of env 0 (default: 1000000007)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--video", type=Path, default=None, metavar="FILE",
                   help="also write the student playing to FILE (.gif, or .mp4 with the video extra)")
    p.add_argument("--video-episodes", type=int, default=3, metavar="INT",
                   help="episodes in the --video (default: 3, from the evaluation's seed)")
    p.set_defaults(func=_cmd_eval)
