"""The experiment's figures (matplotlib), drawn from its summary alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bidir_core.experiment.results import CURVE_KEYS
from bidir_core.experiment.stats import mean_ci

__all__ = ["plot_results"]


def plot_results(summary: dict[str, Any], out: Path) -> list[Path]:
    """Draw the figures (success vs frames and vs wall time, the student alone, teacher
    agreement) from the summary's curves into ``out``; return their paths. Modes without
    curves (a results.json older than them) are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    n_it = max(summary["budgets"])
    frames = np.arange(1, n_it + 1) * summary["steps_per_iteration"]
    per_mode = {}
    for mode in summary["modes"]:
        runs = [c for c in summary.get("curves", {}).values() if c["mode"] == mode]
        if not runs:
            continue
        per_mode[mode] = {}
        for key in CURVE_KEYS:
            data = np.full((len(runs), n_it), np.nan)
            for i, curve in enumerate(runs):
                for it, v in zip(curve["iteration"], curve.get(key, ())):
                    if 1 <= it <= n_it and v is not None:
                        data[i, it - 1] = v
            per_mode[mode][key] = data

    def band(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean, ci = np.full(data.shape[1], np.nan), np.full(data.shape[1], np.nan)
        for j in range(data.shape[1]):
            stat = mean_ci(data[:, j].tolist())
            if stat["mean"] is not None:
                mean[j] = stat["mean"]
                ci[j] = stat["ci"] if stat["ci"] is not None else 0.0
        return mean, mean - ci, mean + ci

    paths = []
    title = f"{summary['task']} ({summary['seeds']} seeds, mean ± 95% CI)"
    colors = {mode: f"C{i}" for i, mode in enumerate(summary["modes"])}  # same in every figure
    for name, xlabel in (("success_vs_frames", "frames"), ("success_vs_time", "wall time (s)")):
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, curves in per_mode.items():
            mean, lo, hi = band(curves["rolling_success"])
            if name == "success_vs_frames":
                x = frames
            else:  # each iteration at the seeds' mean wall time
                x = np.array([np.nan if np.isnan(c).all() else np.nanmean(c)
                              for c in curves["time_s"].T])  # fmt: skip
            ok = ~np.isnan(mean) & ~np.isnan(x) & (x > 0)
            ax.plot(x[ok], mean[ok], lw=2, color=colors[mode], label=mode)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.2)
        if name == "success_vs_frames":
            for b in summary["budgets"]:
                ax.axvline(b * summary["steps_per_iteration"], color="gray", ls=":", lw=1)
        elif ax.lines and any(len(line.get_xdata()) for line in ax.lines):
            ax.set_xscale("log")  # the modes' speeds differ by orders of magnitude
        ax.set_xlabel(xlabel if name == "success_vs_frames" else f"{xlabel}, mean over seeds")
        ax.set_ylabel(f"rolling success rate (last {summary['rolling_window']} episodes)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=100)
        plt.close(fig)
        paths.append(out / f"{name}.png")

    with_student = {m: c for m, c in per_mode.items() if not np.isnan(c["student_success"]).all()}
    if with_student:  # the student alone against frames, and against frames + sim steps
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, counted in zip(axes, ("frames", "frames + sim steps")):
            for mode, curves in with_student.items():
                mean, lo, hi = band(curves["student_success"])
                x = frames.astype(float)
                if counted != "frames":
                    sim = np.array([np.nan if np.isnan(c).all() else np.nanmean(c)
                                    for c in curves["sim_steps"].T])  # fmt: skip
                    x = x + sim
                ok = ~np.isnan(mean) & ~np.isnan(x)
                ax.plot(x[ok], mean[ok], lw=2, marker="o", ms=3, color=colors[mode], label=mode)
                ax.fill_between(x[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.2)
            ax.set_xlabel(f"env steps: {counted}")
            if counted != "frames":
                ax.set_xscale("log")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("success of the student alone (fresh episodes)")
        axes[0].set_ylim(-0.02, 1.02)
        axes[1].legend(loc="lower right")
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out / "student_success.png", dpi=100)
        plt.close(fig)
        paths.append(out / "student_success.png")

    with_teacher = {m: c for m, c in per_mode.items() if not np.isnan(c["probe_agreement"]).all()}
    if with_teacher:
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, curves in with_teacher.items():
            for key, style, label in (
                ("probe_agreement_determined", "-", f"{mode}: prompt determines the oracle"),
                ("probe_agreement", ":", f"{mode}: all probe states"),
            ):
                mean, lo, hi = band(curves[key])
                ok = ~np.isnan(mean)
                if not ok.any():
                    continue
                ax.plot(frames[ok], mean[ok], lw=2, ls=style, marker="o", ms=3,
                        color=colors[mode], label=label)  # fmt: skip
                ax.fill_between(frames[ok], lo[ok], hi[ok], color=colors[mode], alpha=0.15)
        ax.set_xlabel("frames")
        ax.set_ylabel("teacher agreement with the oracle")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(out / "teacher_agreement.png", dpi=100)
        plt.close(fig)
        paths.append(out / "teacher_agreement.png")
    return paths


