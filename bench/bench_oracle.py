"""Oracle success: bidir_core's expert_actions() vs minigrid's BabyAIBot, BabyAI levels.

For each level, episodes from seeds 0..E-1 (env i of make_vec(task, E).reset(seed=0) plays
the episode of gymnasium.make(task).reset(seed=i)) are driven to their end by each oracle
alone: ours is env.expert_actions() (C++, the whole grid known, no blocker moving), the
peer is minigrid.utils.baby_ai_bot.BabyAIBot (Python, explores what it has not seen, moves
blockers). Success = the episode ends with a positive reward. Also reports mean episode
length on successes and the wall time of each.

Usage: python bench/bench_oracle.py [--episodes 20] [--tasks ID ...] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

import numpy as np


def run_ours(task: str, episodes: int) -> tuple[float, float, float]:
    import bidir_core

    env = bidir_core.make_vec(task, episodes)
    env.reset(seed=0)
    done = np.zeros(episodes, bool)
    success = np.zeros(episodes, bool)
    length = np.zeros(episodes, int)
    t0 = time.perf_counter()
    steps = 0
    while not done.all():
        _, rew, term, trunc, _ = env.step(env.expert_actions())
        steps += 1
        ended = (term | trunc) & ~done
        success[ended] = rew[ended] > 0
        length[ended] = steps
        done |= ended
    seconds = time.perf_counter() - t0
    env.close()
    mean_len = float(length[success].mean()) if success.any() else float("nan")
    return float(success.mean()), mean_len, seconds


def run_bot(task: str, episodes: int) -> tuple[float, float, float]:
    import gymnasium as gym
    import minigrid  # noqa: F401
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = gym.make(task).unwrapped
    wins, lengths = 0, []
    t0 = time.perf_counter()
    for seed in range(episodes):
        with contextlib.redirect_stdout(io.StringIO()):
            env.reset(seed=seed)
        bot = BabyAIBot(env)
        steps = 0
        try:
            while True:
                action = bot.replan()
                _, rew, term, trunc, _ = env.step(action)
                steps += 1
                if term or trunc:
                    break
        except Exception:  # noqa: BLE001 - the bot gives up on some layouts: a failure
            rew = 0
        if rew > 0:
            wins += 1
            lengths.append(steps)
    seconds = time.perf_counter() - t0
    env.close()
    return wins / episodes, float(np.mean(lengths)) if lengths else float("nan"), seconds


def main(argv: list[str] | None = None) -> None:
    import bidir_core

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--tasks", nargs="*", default=None, help="default: every BabyAI id")
    p.add_argument("--skip-bot", action="store_true", help="ours only")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    tasks = args.tasks or sorted(t for t in bidir_core.list_tasks() if t.startswith("BabyAI"))
    rows = []
    for task in tasks:
        ours = run_ours(task, args.episodes)
        bot = (float("nan"),) * 3 if args.skip_bot else run_bot(task, args.episodes)
        rows.append((task, ours, bot))
        print(f"# {task} done", file=sys.stderr, flush=True)
    head = ["task", "ours success", "bot success", "ours mean len", "bot mean len",
            "ours s", "bot s"]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    else:
        print("\t".join(head))
    for task, o, b in rows:
        cells = [task, f"{o[0]:.2f}", f"{b[0]:.2f}", f"{o[1]:.1f}", f"{b[1]:.1f}", f"{o[2]:.2f}",
                 f"{b[2]:.2f}"]
        print(("| " + " | ".join(cells) + " |") if args.markdown else "\t".join(cells))
    ours_mean = np.mean([o[0] for _, o, _ in rows])
    bot_mean = np.nanmean([b[0] for _, _, b in rows]) if not args.skip_bot else float("nan")
    print(f"\n# mean success over {len(rows)} levels: ours {ours_mean:.3f}, bot {bot_mean:.3f}")


if __name__ == "__main__":
    main()
