"""What the teacher learns from a rollout's feedback: advantages centred per prompt, and
improvement targets that reweight piT by the scaled advantage of every suggestion."""

from __future__ import annotations

import numpy as np

__all__ = ["improvement_targets", "prompt_relative", "suggestion_advantages"]


def prompt_relative(advantages: np.ndarray, ratios: np.ndarray, hashes: np.ndarray, *,
                    scale: float, clip: float) -> np.ndarray:
    """ratios * clip((A - mean of A over the queries with the same prompt hash) / scale).

    The per-prompt (group) baseline of ``feedback_baseline="prompt"``: only differences
    between the actions taken in the same state reach the teacher; a prompt seen once
    gives 0. ``scale`` is the running std plus eps (float64 maths, float32 result).
    """
    adv = np.asarray(advantages, np.float64)
    _, group = np.unique(np.asarray(hashes), return_inverse=True)
    centre = np.bincount(group, adv) / np.bincount(group)
    z = np.clip((adv - centre[group]) / scale, -clip, clip)
    return (np.asarray(ratios, np.float64) * z).astype(np.float32)


def improvement_targets(logp: np.ndarray, z: np.ndarray, eta: float) -> np.ndarray:
    """softmax(logp + z / eta) per row, float64: piT reweighted by exp(z / eta), the
    maximiser of E_q[z] - eta KL(q || piT) (``lookahead_update="target"``)."""
    logits = np.asarray(logp, np.float64) + np.asarray(z, np.float64) / eta
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    return q / q.sum(axis=1, keepdims=True)


def suggestion_advantages(q: np.ndarray, logp: np.ndarray, *, eps: float,
                          clip: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advantages of every suggestion from Q values (B, A): piT (renormalised), Q - E_piT[Q],
    and that divided by its std over the batch plus ``eps``, clipped to [-clip, clip];
    float64."""
    p = np.exp(np.asarray(logp, np.float64))
    p /= p.sum(axis=1, keepdims=True)
    adv = np.asarray(q, np.float64) - (p * q).sum(axis=1, keepdims=True)
    z = np.clip(adv / (float(adv.std()) + eps), -clip, clip)
    return p, adv, z
