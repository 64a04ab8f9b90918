"""Evaluation of a trained student on fresh episodes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bidir_core.training.checkpoint import load_checkpoint
from bidir_core.vector_env import make_vec

__all__ = ["EVAL_SEED", "evaluate", "evaluate_policy"]

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
    run_dir = Path(run_dir)
    from bidir_core.training.config import TrainConfig, build_network

    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{run_dir} is not a run directory (no config.json)")
    config = TrainConfig.from_dict(json.loads(config_path.read_text()))
    if config.mode == "glam":
        raise ValueError(
            f"{run_dir} is a glam run: it trains the teacher, not a student, so there is no "
            "student to evaluate (its metrics.csv holds the teacher's success rate)"
        )
    state = load_checkpoint(run_dir / "checkpoint.pt")
    # As in training: on small batches extra intra-op threads only wait for each other.
    torch.set_num_threads(config.torch_threads)
    net, tokenizer = build_network(config)
    net.load_state_dict(state["model"])
    net.eval()
    result = evaluate_policy(net, tokenizer, config.task, episodes, greedy=greedy, seed=seed,
                             num_envs=num_envs)
    return {
        "task": config.task,
        **result,
        "iteration": int(state["iteration"]),
        "frames": int(state["frames"]),
    }


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
    image = torch.zeros((n, 7, 7, 3), dtype=torch.uint8)  # writable copies of the obs
    direction = torch.zeros(n, dtype=torch.int64)
    mission = np.zeros((n, tokenizer.max_tokens), np.int64)
    tokenizer.encode_rows(obs["mission"], mission)
    hints = torch.zeros((n, net.num_actions))
    valid = torch.zeros(n, dtype=torch.bool)
    generator = torch.Generator().manual_seed(seed)
    steps = 0
    try:
        with torch.inference_mode():
            while (played < quota).any():
                image.numpy()[...] = obs["image"]
                direction.numpy()[...] = obs["direction"]
                logits, _ = net(image, direction, torch.from_numpy(mission), hints, valid)
                if greedy:
                    actions = logits.argmax(1)
                else:
                    actions = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
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
