"""Oracle success: bidir_core's expert_actions() vs minigrid's BabyAIBot, BabyAI levels.

For each level, episodes from seeds 0..E-1 (env i of make_vec(task, E).reset(seed=0) plays
the episode of gymnasium.make(task).reset(seed=i)) are driven to their end by each oracle
alone: ours is env.expert_actions() (C++, the whole grid known, replanned from the state
at every step), the peer is minigrid.utils.baby_ai_bot.BabyAIBot (Python, explores what it
has not seen). Success = the episode ends with a positive reward. Reported per level:
success rates, mean episode length of the solved episodes, and mean length over the
episodes both solved (the like-for-like length comparison).

BabyAIBot is slow, so its per-seed results are cached in a JSON file (--cache) and a run
can be split: `--bot-only` fills the cache, level by level, resuming where it stopped.

Usage: python bench/bench_oracle.py [--episodes 200] [--tasks ID ...] [--markdown]
       [--cache FILE] [--bot-only] [--skip-bot]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np


def run_ours(task: str, episodes: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-episode success and length of expert_actions() on seeds 0..episodes-1."""
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
    return success, length, seconds


# Searches one BabyAIBot.replan() may run before it counts as stuck. A replan that returns
# an action runs at most about 10 (measured on GoToImpUnlock); where a locked door's key
# lies in the room it locks, replan() pushes "fetch the key, open the door" subgoals
# without end and never returns an action, so the episode cannot reach its max_steps.
BOT_SEARCHES_PER_STEP = 1000


class BotStuck(RuntimeError):
    """BabyAIBot's replan() ran BOT_SEARCHES_PER_STEP searches without choosing an action."""


def _bounded_bot(env):
    """A BabyAIBot whose replan() raises BotStuck instead of looping without end."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    class BoundedBot(BabyAIBot):
        def replan(self, action_taken=None):
            self.searches = 0
            return super().replan(action_taken)

        def _breadth_first_search(self, *args, **kwargs):
            self.searches = getattr(self, "searches", 0) + 1
            if self.searches > BOT_SEARCHES_PER_STEP:
                raise BotStuck(f"{BOT_SEARCHES_PER_STEP} searches in one replan()")
            return super()._breadth_first_search(*args, **kwargs)

    return BoundedBot(env)


def bot_episode(env, seed: int) -> tuple[bool, int]:
    """One episode of BabyAIBot on gymnasium seed `seed`: (success, length). A bot that
    raises (it gives up on some layouts, or is stuck: BotStuck) fails the episode."""
    with contextlib.redirect_stdout(io.StringIO()):
        env.reset(seed=seed)
    bot = _bounded_bot(env)
    steps, rew = 0, 0.0
    try:
        while True:
            _, rew, term, trunc, _ = env.step(bot.replan())
            steps += 1
            if term or trunc:
                break
    except Exception:  # noqa: BLE001 - the bot gives up or is stuck: a failure
        rew = 0.0
    return bool(rew > 0), steps


def run_bot(task: str, episodes: int, cache: dict,
            cached_only: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """BabyAIBot's per-episode success and length, from the cache where it has them; with
    cached_only, just the seeds 0..k-1 the cache holds (k may be 0)."""
    import gymnasium as gym
    import minigrid  # noqa: F401

    rows = cache.setdefault(task, {})
    if cached_only:
        episodes = next((s for s in range(episodes) if str(s) not in rows), episodes)
    missing = [s for s in range(episodes) if str(s) not in rows]
    t0 = time.perf_counter()
    if missing:
        env = gym.make(task).unwrapped
        for seed in missing:
            rows[str(seed)] = list(bot_episode(env, seed))
        env.close()
    seconds = time.perf_counter() - t0
    success = np.array([rows[str(s)][0] for s in range(episodes)], bool)
    length = np.array([rows[str(s)][1] for s in range(episodes)], int)
    return success, length, seconds


def load_cache(path: str | None) -> dict:
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save_cache(path: str | None, cache: dict) -> None:
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cache, f)
    os.replace(tmp, path)


def mean_or_nan(x: np.ndarray) -> float:
    """Mean of x, nan when empty."""
    return float(x.mean()) if x.size else float("nan")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--tasks", nargs="*", default=None, help="default: every BabyAI id")
    p.add_argument("--cache", default=None, help="JSON file of BabyAIBot's per-seed results")
    p.add_argument("--skip-bot", action="store_true", help="ours only")
    p.add_argument("--bot-only", action="store_true", help="fill the bot cache, no table")
    p.add_argument("--bot-cached-only", action="store_true",
                   help="compare with the bot's cached seeds only (reported per level)")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    if not args.bot_only:
        import bidir_core
    if args.tasks:
        tasks = args.tasks
    elif args.bot_only:  # the same ids, without needing the extension
        import gymnasium as gym
        import minigrid  # noqa: F401

        tasks = sorted(t for t in gym.registry if t.startswith("BabyAI"))
    else:
        tasks = sorted(t for t in bidir_core.list_tasks() if t.startswith("BabyAI"))
    cache = load_cache(args.cache)
    if args.bot_only:
        for task in tasks:
            _, _, sec = run_bot(task, args.episodes, cache)
            save_cache(args.cache, cache)
            print(f"# {task} bot done ({sec:.1f} s)", file=sys.stderr, flush=True)
        return
    head = ["task", "ours success", "ours on bot seeds", "bot success", "bot seeds",
            "ours mean len", "bot mean len",
            "both solved: ours len", "both solved: bot len", "ours s", "bot s", ""]
    ours_runs = {}
    for task in tasks:
        ours_runs[task] = run_ours(task, args.episodes)
        print(f"# {task} ours done", file=sys.stderr, flush=True)
    cache = load_cache(args.cache)  # re-read: a --bot-only run may have filled it meanwhile
    rows = []
    for task in tasks:
        o_ok, o_len, o_sec = ours_runs[task]
        if args.skip_bot:
            b_ok, b_len, b_sec = np.zeros(args.episodes, bool), np.zeros(args.episodes, int), 0.0
        else:
            b_ok, b_len, b_sec = run_bot(task, args.episodes, cache, args.bot_cached_only)
            if not args.bot_cached_only:
                save_cache(args.cache, cache)
        nb = len(b_ok)
        # Like for like: ours on the seeds the bot ran.
        both = o_ok[:nb] & b_ok
        flags = []
        if nb and o_ok[:nb].mean() < b_ok.mean():
            flags.append("**fewer solved**")
        if nb and mean_or_nan(o_len[:nb][o_ok[:nb]]) > mean_or_nan(b_len[b_ok]):
            flags.append("**longer**")
        if not nb:
            flags.append("bot not run")
        rows.append((task, o_ok.mean(), mean_or_nan(o_ok[:nb]), mean_or_nan(b_ok), nb,
                     mean_or_nan(o_len[o_ok]),
                     mean_or_nan(b_len[b_ok]), mean_or_nan(o_len[:nb][both]),
                     mean_or_nan(b_len[both]), o_sec, b_sec, " ".join(flags)))
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 2) + "---|")
    else:
        print("\t".join(head))
    for r in rows:
        cells = [r[0], f"{r[1]:.3f}", f"{r[2]:.3f}", f"{r[3]:.3f}", str(r[4]), f"{r[5]:.1f}",
                 f"{r[6]:.1f}", f"{r[7]:.1f}", f"{r[8]:.1f}", f"{r[9]:.2f}", f"{r[10]:.2f}",
                 r[11]]
        print(("| " + " | ".join(cells) + " |") if args.markdown else "\t".join(cells))
    ours = np.mean([r[1] for r in rows])
    ran = [r for r in rows if r[4]]
    fewer = [r[0] for r in rows if "fewer" in r[11]]
    longer = [r[0] for r in rows if "longer" in r[11]]
    print(f"\n# ours: {len(rows)} levels x {args.episodes} seeds, mean success {ours:.3f}. "
          f"Bot run on {len(ran)} levels; on those, mean success ours "
          f"{np.mean([r[2] for r in ran]) if ran else float('nan'):.3f}, bot "
          f"{np.mean([r[3] for r in ran]) if ran else float('nan'):.3f} (the bot's seeds); "
          f"ours solves fewer on "
          f"{len(fewer)} levels {fewer}, is longer on {len(longer)} {longer}")


if __name__ == "__main__":
    main()
