"""End-to-end PPO frames/s: bidir_core's trainer vs a CleanRL-style PPO loop on envpool.

Both train the same ``ActorCritic`` with the same hyper-parameters (``TrainConfig`` and
``PPOConfig`` defaults: 16 envs, 256 frames per update, 4 epochs of 4 minibatches) from the
same seed on ``BabyAI-GoToRedBallNoDists-v0``, with torch on one thread, one after the
other in this process. Reported per run: frames/s over the whole run (rollouts, GAE,
updates, and for ours metrics files, TensorBoard and checkpoints too), and the frames
until the rolling success rate over the last 100 episodes first reaches 0.95. Import
costs are paid before timing (``warm_up``); each timed run includes building its envs and
network, and for ours the run folder, metrics files, TensorBoard, checkpoints and plot.

The peer follows CleanRL's ``ppo.py`` loop written against envpool: torch tensors
allocated up front, ``torch.no_grad`` rollout through ``get_action_and_value`` with a
``Categorical``, numpy <-> torch conversions each step, the missions tokenised each step
(dict lookups, one per env), GAE as a Python loop over steps in torch, shuffled
minibatches with ``np.random.shuffle``, Adam (eps 1e-5), grad-norm clipping, linear LR
annealing. envpool auto-resets on the step after an episode ends (CleanRL's envpool
scripts count that step as a frame, as does this loop).

    python bench/bench_ppo.py                 # ~3 minutes on 2 cores
    python bench/bench_ppo.py --markdown      # the table as markdown
    python bench/bench_ppo.py --skip-timing --sample-seeds 32 --markdown   # fused vs autograd vs CleanRL
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import tempfile
import time

import numpy as np
import torch
from bidir_core.student.network import MissionTokenizer
from bidir_core.student.ppo import PPOConfig
from bidir_core.training.metrics import read_metrics
from bidir_core.training.trainer import TrainConfig, Trainer, build_network


def frames_to(successes: list[tuple[int, float]], target: float, window: int) -> int | None:
    """First frame count at which the mean of the last ``window`` successes is >= target."""
    recent: collections.deque[float] = collections.deque(maxlen=window)
    for frames, s in successes:
        recent.append(s)
        if len(recent) == window and np.mean(recent) >= target:
            return frames
    return None


def run_ours(config: TrainConfig) -> dict:
    """Train with bidir_core's Trainer; return frames/s and the success curve."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with Trainer(config, f"{tmp}/run", progress=False) as trainer:
            trainer.train()
        seconds = time.perf_counter() - start
        rows = read_metrics(f"{tmp}/run")
    frames = rows[-1]["frames"]
    # The trainer logs the rolling success over its last rolling_window episodes each
    # iteration; count it once that window is full, as frames_to does for the peer.
    ended, hit = 0, None
    for r in rows:
        ended += r["episodes"]
        if ended >= config.rolling_window and r["rolling_success"] >= 0.95:
            hit = r["frames"]
            break
    return {
        "frames": frames,
        "seconds": seconds,
        "to_095": hit,
        "final": rows[-1]["rolling_success"],
    }


def run_cleanrl(config: TrainConfig) -> dict:
    """A CleanRL-style PPO loop on envpool with the same network and hyper-parameters."""
    import envpool

    cfg: PPOConfig = config.ppo
    n, steps = config.num_envs, config.num_steps
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    agent, _ = build_network(config)
    tokenizer = MissionTokenizer(config.max_mission_tokens)
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps)
    envs = envpool.make(config.task, env_type="gymnasium", num_envs=n, seed=config.seed)
    no_hint, no_valid = torch.zeros(n, agent.num_actions), torch.zeros(n, dtype=torch.bool)

    def get_action_and_value(image, direction, mission, action=None):
        b = image.shape[0]
        logits, value = agent(
            image, direction, mission, no_hint[:1].expand(b, -1), no_valid[:1].expand(b)
        )
        probs = torch.distributions.Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), value

    def tokens(mission_bytes: np.ndarray) -> torch.Tensor:
        out = np.zeros((len(mission_bytes), tokenizer.max_tokens), np.int64)
        tokenizer.encode_rows(mission_bytes, out)
        return torch.from_numpy(out)

    obs_image = torch.zeros((steps, n, 7, 7, 3), dtype=torch.uint8)
    obs_dir = torch.zeros((steps, n), dtype=torch.int64)
    obs_mission = torch.zeros((steps, n, tokenizer.max_tokens), dtype=torch.int64)
    actions = torch.zeros((steps, n), dtype=torch.int64)
    logprobs = torch.zeros((steps, n))
    rewards = torch.zeros((steps, n))
    dones = torch.zeros((steps, n))
    values = torch.zeros((steps, n))

    start = time.perf_counter()
    global_step = 0
    next_obs, _ = envs.reset()
    next_image = torch.Tensor(next_obs["image"]).to(torch.uint8)
    next_dir = torch.Tensor(next_obs["direction"]).long()
    next_mission = tokens(next_obs["mission"])
    next_done = torch.zeros(n)
    ep_return = np.zeros(n)
    successes: list[tuple[int, float]] = []
    iterations = config.total_iterations
    for iteration in range(1, iterations + 1):
        if cfg.anneal_lr:
            optimizer.param_groups[0]["lr"] = (
                1.0 - (iteration - 1.0) / iterations
            ) * cfg.learning_rate
        for step in range(steps):
            global_step += n
            obs_image[step], obs_dir[step], obs_mission[step] = next_image, next_dir, next_mission
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = get_action_and_value(next_image, next_dir, next_mission)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, terminations, truncations, _ = envs.step(
                action.cpu().numpy().astype(np.int32)
            )
            done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).view(-1)
            next_image = torch.Tensor(next_obs["image"]).to(torch.uint8)
            next_dir = torch.Tensor(next_obs["direction"]).long()
            next_mission = tokens(next_obs["mission"])
            next_done = torch.Tensor(done)
            ep_return += reward
            for i in np.flatnonzero(done):
                successes.append((global_step, float(terminations[i] and reward[i] > 0)))
                ep_return[i] = 0.0
        with torch.no_grad():
            _, _, _, next_value = get_action_and_value(next_image, next_dir, next_mission)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(steps)):
                if t == steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + cfg.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (
                    delta + cfg.gamma * cfg.gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values
        batch = steps * n
        b_image = obs_image.reshape(batch, 7, 7, 3)
        b_dir, b_mission = obs_dir.reshape(-1), obs_mission.reshape(batch, -1)
        b_logprobs, b_actions = logprobs.reshape(-1), actions.reshape(-1)
        b_advantages, b_returns, b_values = (
            advantages.reshape(-1),
            returns.reshape(-1),
            values.reshape(-1),
        )
        b_inds = np.arange(batch)
        minibatch = batch // cfg.num_minibatches
        for _ in range(cfg.update_epochs):
            np.random.shuffle(b_inds)
            for lo in range(0, batch, minibatch):
                mb = b_inds[lo : lo + minibatch]
                _, newlogprob, entropy, newvalue = get_action_and_value(
                    b_image[mb], b_dir[mb], b_mission[mb], b_actions.long()[mb]
                )
                logratio = newlogprob - b_logprobs[mb]
                ratio = logratio.exp()
                mb_adv = b_advantages[mb]
                if cfg.norm_adv:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(
                    -mb_adv * ratio,
                    -mb_adv * torch.clamp(ratio, 1 - cfg.clip_coef, 1 + cfg.clip_coef),
                ).mean()
                newvalue = newvalue.view(-1)
                if cfg.clip_vloss:
                    v_unclipped = (newvalue - b_returns[mb]) ** 2
                    v_clipped = b_values[mb] + torch.clamp(
                        newvalue - b_values[mb], -cfg.clip_coef, cfg.clip_coef
                    )
                    v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - b_returns[mb]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb]) ** 2).mean()
                loss = pg_loss - cfg.ent_coef * entropy.mean() + v_loss * cfg.vf_coef
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
                optimizer.step()
    seconds = time.perf_counter() - start
    envs.close()
    recent = [s for _, s in successes[-config.rolling_window :]]
    return {
        "frames": global_step,
        "seconds": seconds,
        "to_095": frames_to(successes, 0.95, config.rolling_window),
        "final": float(np.mean(recent)) if recent else None,
    }


def warm_up() -> None:
    """Pay the one-off import costs before any timed run, so that no run pays them for
    another: the first torch optimizer in a process imports torch._dynamo (~1 s here),
    and ours imports matplotlib and TensorBoard, the peer envpool."""
    import envpool  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    from torch.utils.tensorboard import SummaryWriter  # noqa: F401

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])


def main() -> None:
    """Run ours (1 and 2 env groups) and the CleanRL-style loop; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="frames per run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the timed runs")
    parser.add_argument(
        "--sample-seeds",
        type=int,
        default=0,
        metavar="K",
        help="also train ours and the peer once for seeds 0..K-1 and tabulate "
        "the frames each needs to a rolling success of 0.95",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs of each, interleaved; the fastest counts (the machine is shared)",
    )
    parser.add_argument("--skip-cleanrl", action="store_true")
    parser.add_argument("--skip-timing", action="store_true",
                        help="only the --sample-seeds table (no timed runs)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warm_up()
    if args.skip_timing:
        sample_efficiency(args)
        return
    base = TrainConfig(mode="ppo", total_frames=args.frames, seed=args.seed)
    overlapped = TrainConfig(mode="ppo", total_frames=args.frames, seed=args.seed, env_groups=2)
    lean = dataclasses.replace(base, student_eval_every=0, video_episodes=0)
    runs = {
        "ours (default: 1 env group)": lambda: run_ours(base),
        "ours (no student evaluation, no video: CleanRL's work)": lambda: run_ours(lean),
        "ours (2 env groups, stepping overlapped)": lambda: run_ours(overlapped),
    }
    if not args.skip_cleanrl:
        runs["CleanRL-style on envpool"] = lambda: run_cleanrl(base)
    results: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, run in runs.items():
            r = run()
            if name not in results or r["seconds"] < results[name]["seconds"]:
                results[name] = r
    peer = results.get("CleanRL-style on envpool")
    header = [
        "run",
        "frames",
        "seconds",
        "frames/s",
        "frames to rolling 0.95",
        "final rolling success",
        "frames/s vs CleanRL",
    ]
    rows = []
    for name, r in results.items():
        fps = r["frames"] / r["seconds"]
        ratio = f"{fps / (peer['frames'] / peer['seconds']):.2f}x" if peer else "n/a"
        rows.append(
            [
                name,
                f"{r['frames']:,}",
                f"{r['seconds']:.1f}",
                f"{fps:,.0f}",
                "not reached" if r["to_095"] is None else f"{r['to_095']:,}",
                "n/a" if r["final"] is None else f"{r['final']:.3f}",
                ratio,
            ]
        )
    print(
        f"{base.task}, {base.num_envs} envs, {base.steps_per_iteration} frames/iteration, "
        f"seed {args.seed}, torch threads 1, best of {args.repeats}"
    )
    print_table(header, rows, args.markdown)
    if args.sample_seeds:
        sample_efficiency(args)


def sample_efficiency(args: argparse.Namespace) -> None:
    """Frames to a rolling success of 0.95 for seeds 0..K-1: ours with the fused and the
    autograd backend and the CleanRL-style loop; per seed, then summaries and a
    Mann-Whitney U test of fused against autograd."""
    from scipy import stats

    names = ["ours, fused", "ours, autograd"] + ([] if args.skip_cleanrl else ["CleanRL-style"])
    per_run: dict[str, list[float]] = {name: [] for name in names}
    rows = []
    for seed in range(args.sample_seeds):
        config = TrainConfig(mode="ppo", total_frames=args.frames, seed=seed)
        results = [run_ours(config), run_ours(dataclasses.replace(
            config, ppo=dataclasses.replace(config.ppo, backend="autograd")))]
        if not args.skip_cleanrl:
            results.append(run_cleanrl(config))
        for name, r in zip(names, results):
            # an unreached target counts as the budget (a lower bound), so medians stay honest
            per_run[name].append(float(r["to_095"] or args.frames))
        rows.append([str(seed)] + ["not reached" if r["to_095"] is None else f"{r['to_095']:,}"
                                   for r in results])
        print(f"seed {seed}: " + ", ".join(rows[-1][1:]), flush=True)
    print("\nframes to a rolling success of 0.95 (last 100 episodes)")
    print_table(["seed"] + names, rows, args.markdown)
    summary = []
    for name in names:
        x = np.array(per_run[name])
        summary.append([name, f"{np.median(x):,.0f}", f"{x.mean():,.0f}", f"{x.max():,.0f}",
                        str(int((x > 50_000).sum()))])
    print(f"\nover {args.sample_seeds} seeds (not reached counts as {args.frames:,})")
    print_table(["run", "median", "mean", "longest", "seeds over 50k"], summary, args.markdown)
    test = stats.mannwhitneyu(per_run["ours, fused"], per_run["ours, autograd"])
    print(f"\nMann-Whitney U, fused vs autograd: U = {test.statistic:.0f}, p = {test.pvalue:.3f}")


def print_table(header: list[str], rows: list[list[str]], markdown: bool) -> None:
    """Print rows under header, as markdown or aligned text."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
