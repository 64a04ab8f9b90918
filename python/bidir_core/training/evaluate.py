"""Evaluation of a trained student on fresh episodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bidir_core.training.checkpoint import load_checkpoint
from bidir_core.vector_env import DEFAULT_TILE_SIZE, make_vec
from bidir_core.vector_env_buffers import IMAGE_SHAPE

__all__ = ["EVAL_SEED", "evaluate", "evaluate_policy", "evaluate_student", "load_student",
           "save_student_video", "student_frames"]

# Base seed of evaluation episodes: far from the training seeds (seed + env index).
EVAL_SEED = 1_000_000_007


def evaluate(
    run_dir: str | os.PathLike[str],
    episodes: int = 1000,
    *,
    greedy: bool = False,
    seed: int = EVAL_SEED,
    num_envs: int = 64,
) -> dict[str, Any]:
    """Success rate and mean return of run_dir's checkpointed student over ``episodes``.

    Env i of ``num_envs`` starts from seed ``seed + i`` and plays its first
    ``episodes // num_envs`` (+1 for the first ``episodes % num_envs`` envs) episodes, so
    long (failed) episodes count as much as short ones. Actions are sampled from the
    policy, or its argmax with ``greedy``. Sets torch's thread count to the run's
    ``torch_threads``, as training does.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    config, state, net, tokenizer = load_student(run_dir)
    result = evaluate_policy(net, tokenizer, config.task, episodes, greedy=greedy, seed=seed,
                             num_envs=num_envs)
    return {
        "task": config.task,
        **result,
        "iteration": int(state["iteration"]),
        "frames": int(state["frames"]),
    }


def load_student(run_dir: str | os.PathLike[str]) -> tuple[Any, dict[str, Any], Any, Any]:
    """(config, checkpoint state, network in eval mode, tokenizer) of run_dir's student.

    Sets torch's thread count to the run's ``torch_threads``, as training does; raises
    ValueError for a folder that is not a run or holds no student (a glam run).
    """
    run_dir = Path(run_dir)
    from bidir_core.training.config import build_network
    from bidir_core.training.run_folder import CHECKPOINT, read_config

    config = read_config(run_dir)
    if config.mode == "glam":
        raise ValueError(
            f"{run_dir} is a glam run: it trains the teacher, not a student, so there is no "
            "student to evaluate (its metrics.csv holds the teacher's success rate)"
        )
    state = load_checkpoint(run_dir / CHECKPOINT)
    # As in training: on small batches extra intra-op threads only wait for each other.
    torch.set_num_threads(config.torch_threads)
    net, tokenizer = build_network(config)
    net.load_state_dict(state["model"])
    net.eval()
    return config, state, net, tokenizer


def _policy_actions(net: Any, obs: dict[str, np.ndarray], inputs: tuple[Any, ...], greedy: bool,
                    generator: torch.Generator) -> torch.Tensor:
    """The student's actions (no hints) for ``obs``; ``inputs`` = (image, direction,
    mission, hints, valid) tensors of the batch, image and direction overwritten here."""
    image, direction, mission, hints, valid = inputs
    image.numpy()[...] = obs["image"]
    direction.numpy()[...] = obs["direction"]
    logits, _ = net(image, direction, mission, hints, valid)
    if greedy:
        return logits.argmax(1)
    return torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]


def _policy_inputs(net: Any, tokenizer: Any, n: int) -> tuple[Any, ...]:
    """Zeroed (image, direction, mission tokens, hints, valid) tensors for n envs."""
    return (
        torch.zeros((n, *IMAGE_SHAPE), dtype=torch.uint8),  # writable copies of the obs
        torch.zeros(n, dtype=torch.int64),
        torch.zeros((n, tokenizer.max_tokens), dtype=torch.int64),
        torch.zeros((n, net.num_actions)),
        torch.zeros(n, dtype=torch.bool),
    )


def student_frames(
    net: Any,
    tokenizer: Any,
    task: str,
    episodes: int = 3,
    *,
    greedy: bool = False,
    seed: int = EVAL_SEED,
    tile_size: int = DEFAULT_TILE_SIZE,
    max_frames: int = 300,
) -> list[np.ndarray]:
    """Frames (minigrid's render) of the student ``net`` alone playing ``episodes`` fresh
    episodes of ``task`` from ``seed``: each episode's first and every later state, at most
    ``max_frames`` in all. Touches no global RNG."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    env = make_vec(task, 1, autoreset_mode="Disabled", copy=False, stats_key=None,
                   tile_size=tile_size)
    inputs = _policy_inputs(net, tokenizer, 1)
    generator = torch.Generator().manual_seed(seed)
    frames: list[np.ndarray] = []
    try:
        obs, _ = env.reset(seed=seed)
        with torch.inference_mode():
            for episode in range(episodes):
                if episode > 0:
                    obs, _ = env.reset(options={"reset_mask": np.ones(1, np.bool_)})
                tokenizer.encode_rows(obs["mission"], inputs[2].numpy())
                frames.append(env.render_frames()[0])
                done = False
                while not done and len(frames) < max_frames:
                    actions = _policy_actions(net, obs, inputs, greedy, generator)
                    obs, _, term, trunc, _ = env.step(actions.numpy())
                    frames.append(env.render_frames()[0])
                    done = bool(term[0] or trunc[0])
                if len(frames) >= max_frames:
                    break
    finally:
        env.close()
    return frames


def evaluate_policy(
    net: Any,
    tokenizer: Any,
    task: str,
    episodes: int,
    *,
    greedy: bool = False,
    seed: int = EVAL_SEED,
    num_envs: int = 64,
) -> dict[str, Any]:
    """Success rate and mean return of the student ``net`` alone (no hints) on fresh episodes.

    Env i of ``num_envs`` starts from seed ``seed + i`` and plays its first
    ``episodes // num_envs`` (+1 for the first ``episodes % num_envs`` envs) episodes.
    Touches no global RNG (actions are sampled from a generator seeded by ``seed``).
    """
    n = min(num_envs, episodes)
    quota = np.full(n, episodes // n, np.int64)
    quota[: episodes % n] += 1
    played = np.zeros(n, np.int64)
    returns: list[float] = []
    successes: list[bool] = []
    env = make_vec(task, n, autoreset_mode="SameStep", copy=False, stats_key="episode")
    obs, _ = env.reset(seed=seed)
    inputs = _policy_inputs(net, tokenizer, n)
    mission = inputs[2].numpy()
    tokenizer.encode_rows(obs["mission"], mission)
    generator = torch.Generator().manual_seed(seed)
    steps = 0
    try:
        with torch.inference_mode():
            while (played < quota).any():
                actions = _policy_actions(net, obs, inputs, greedy, generator)
                obs, _, _, _, info = env.step(actions.numpy())
                steps += n
                if "_episode" in info:
                    done = np.flatnonzero(info["_episode"])
                    counted = done[played[done] < quota[done]]
                    returns.extend(info["episode"]["r"][counted].tolist())
                    successes.extend(info["episode"]["success"][counted].tolist())
                    played[done] += 1
                    tokenizer.encode_rows(obs["mission"], mission, done)
    finally:
        env.close()
    return {
        "episodes": len(returns),
        "success_rate": float(np.mean(successes)),
        "return_mean": float(np.mean(returns)),
        "policy": "greedy" if greedy else "sampled",
        "seed": seed,
        "env_steps": steps,
    }


def evaluate_student(net: Any, tokenizer: Any, config: Any, iteration: int) -> dict[str, float]:
    """The student alone (no teacher) on fresh episodes, sampled and greedy, when
    ``config.student_eval_every`` makes ``iteration`` due (and at the last); else {}."""
    every = config.student_eval_every
    if not every or not (iteration % every == 0 or iteration == config.total_iterations):
        return {}
    out = {}
    for greedy, suffix in ((False, ""), (True, "_greedy")):
        res = evaluate_policy(net, tokenizer, config.task, config.student_eval_episodes,
                              greedy=greedy, seed=EVAL_SEED)
        out[f"student_success{suffix}"] = res["success_rate"]
        out[f"student_return{suffix}"] = res["return_mean"]
    return out


def save_student_video(net: Any, tokenizer: Any, config: Any, path: Path) -> Path:
    """Write the student alone playing ``config.video_episodes`` fresh episodes (sampled
    actions, evaluation seeds) to ``path`` (.gif or .mp4)."""
    from bidir_core.video import save_video

    frames = student_frames(net, tokenizer, config.task, config.video_episodes, seed=EVAL_SEED)
    return save_video(frames, path)
