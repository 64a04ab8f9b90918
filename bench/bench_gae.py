"""GAE: bidir_core's C++ compute_gae vs numpy loops over the same (T, N) rollout.

Peers, same semantics (time-limit truncation bootstrapped from final_values), float32:
* numpy CleanRL: CleanRL's reversed loop over t, vectorised over envs, delta in the loop;
* numpy hoisted: deltas for all steps computed at once, only the recursion in the loop.
Every call writes into preallocated outputs. Usage: python bench/bench_gae.py [--T 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable

import numpy as np
from bidir_core import _core


def numpy_cleanrl(r, v, term, trunc, final_v, next_v, gamma, lam, adv, ret):
    """CleanRL's GAE loop, vectorised over envs, with truncation bootstrapped from final_v."""
    T = r.shape[0]
    last = np.zeros(r.shape[1], dtype=np.float32)
    for t in reversed(range(T)):
        next_values = next_v if t == T - 1 else v[t + 1]
        boot = np.where(term[t], np.float32(0), np.where(trunc[t], final_v[t], next_values))
        not_done = ~(term[t] | trunc[t])
        delta = r[t] + np.float32(gamma) * boot - v[t]
        last = delta + np.float32(gamma * lam) * not_done * last
        adv[t] = last
    np.add(adv, v, out=ret)


def numpy_hoisted(r, v, term, trunc, final_v, next_v, gamma, lam, adv, ret):
    """Same result; all deltas at once, then only the recursion loops over t."""
    nxt = np.concatenate([v[1:], next_v[None]], axis=0)
    boot = np.where(term, np.float32(0), np.where(trunc, final_v, nxt))
    delta = r + np.float32(gamma) * boot - v
    decay = np.float32(gamma * lam) * ~(term | trunc)
    last = np.zeros(r.shape[1], dtype=np.float32)
    for t in range(r.shape[0] - 1, -1, -1):
        last = delta[t] + decay[t] * last
        adv[t] = last
    np.add(adv, v, out=ret)


def ours(r, v, term, trunc, final_v, next_v, gamma, lam, adv, ret):
    """bidir_core._core.compute_gae."""
    _core.compute_gae(r, v, term, trunc, final_v, next_v, gamma, lam, adv, ret)


def make_rollout(T: int, N: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    term = rng.random((T, N)) < 0.01
    trunc = rng.random((T, N)) < 0.01
    f32 = lambda *shape: rng.normal(size=shape).astype(np.float32)
    return f32(T, N), f32(T, N), term, trunc, f32(T, N), f32(N)


def time_per_call(fn: Callable, args: tuple, min_time: float, repeats: int) -> float:
    """Median over repeats of the mean seconds per call, each repeat lasting >= min_time."""
    fn(*args)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        if time.perf_counter() - start >= min_time:
            break
        number *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=256, help="steps per rollout")
    parser.add_argument("--N", type=int, nargs="+", default=[16, 64, 256], help="env counts")
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--lam", type=float, default=0.95)
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}, T={args.T}, gamma={args.gamma}, lam={args.lam}"
    )
    header = (
        f"{'N':>5} {'T*N':>7} {'ours us':>9} {'CleanRL us':>11} {'hoisted us':>11} "
        f"{'x CleanRL':>10} {'x hoisted':>10} {'ours ns/elem':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in args.N:
        data = make_rollout(args.T, n)
        results = {}
        timings = {}
        for name, fn in [("ours", ours), ("cleanrl", numpy_cleanrl), ("hoisted", numpy_hoisted)]:
            adv = np.empty((args.T, n), np.float32)
            ret = np.empty((args.T, n), np.float32)
            call_args = (*data, args.gamma, args.lam, adv, ret)
            timings[name] = time_per_call(fn, call_args, args.min_time, args.repeats)
            results[name] = (adv, ret)
        for name in ("cleanrl", "hoisted"):  # same answer, or the timing means nothing
            np.testing.assert_allclose(results[name][0], results["ours"][0], rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(results[name][1], results["ours"][1], rtol=1e-4, atol=1e-4)
        t_ours, t_c, t_h = timings["ours"], timings["cleanrl"], timings["hoisted"]
        print(
            f"{n:>5} {args.T * n:>7} {t_ours * 1e6:>9.1f} {t_c * 1e6:>11.1f} "
            f"{t_h * 1e6:>11.1f} {t_c / t_ours:>9.0f}x {t_h / t_ours:>9.0f}x "
            f"{t_ours * 1e9 / (args.T * n):>13.2f}"
        )


if __name__ == "__main__":
    main()
