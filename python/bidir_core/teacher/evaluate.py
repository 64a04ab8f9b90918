"""Zero-shot agreement of a teacher with the oracle planner on planner-visited states."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bidir_core._typing import Unpack
from bidir_core.teacher.samples import SampleOptions, oracle_samples

__all__ = ["oracle_agreement"]


def oracle_agreement(
    teacher: Any,
    task: str,
    num_states: int = 1000,
    *,
    seed: int = 12345,
    **sampling: Unpack[SampleOptions],
) -> dict[str, float]:
    """Score ``num_states`` oracle-with-epsilon states; compare argmax πT with the oracle.

    ``sampling`` (``epsilon``, ``num_envs``, ``prompt_style``) goes to ``oracle_samples``.

    Returns ``agreement`` (argmax πT == oracle action), ``expert_prob`` (mean πT of the
    oracle action), ``majority`` (agreement of always answering the oracle's most frequent
    action), ``entropy`` (mean entropy of πT, nats) and ``prompts_per_s`` (scoring speed).
    """
    prompts, expert = oracle_samples(task, num_states, seed=seed, **sampling)
    start = time.perf_counter()
    logp = teacher.action_logprobs(prompts)
    elapsed = time.perf_counter() - start
    if expert.max() >= logp.shape[1]:
        raise ValueError(
            f"the oracle used action id {int(expert.max())} but the teacher only scores "
            f"{logp.shape[1]} actions"
        )
    probs = np.exp(logp)
    return {
        "states": float(len(prompts)),
        "agreement": float(np.mean(logp.argmax(1) == expert)),
        "expert_prob": float(np.mean(probs[np.arange(len(expert)), expert])),
        "majority": float(np.bincount(expert).max() / len(expert)),
        "entropy": float(np.mean(-(probs * logp).sum(1))),
        "prompts_per_s": len(prompts) / elapsed,
    }
