"""PPO's clipped objective and the hyper-parameter names every PPO in the library shares.

The student (``student.ppo.PPOConfig``) and the teacher LM (``teacher.learner.TeacherPPOConfig``)
extend ``PPOLossConfig``: the same concept has the same name on both sides, and ``ppo_loss``
is the one definition of the loss (the C++ kernel of the fused student step,
``cpp/student/mlp_ppo.cc``, is tested against it). The loss follows CleanRL's ``ppo.py``
(Huang et al., "The 37 Implementation Details of Proximal Policy Optimization", 2022).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

import torch

from bidir_core.validation import RULES, Field

__all__ = ["LOSS_STATS", "AtLeast1", "NonNegative", "PPOLossConfig", "Positive", "Unit", "ppo_loss",
           "shared_ppo_fields"]

LOSS_STATS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")
"""The statistics ``ppo_loss`` returns, in this order."""


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite number > 0."""
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A finite number >= 0."""
Unit = Annotated[float, Field(ge=0, le=1)]
"""A number in [0, 1]."""
AtLeast1 = Annotated[int, Field(ge=1)]
"""An int >= 1."""


@dataclass
class PPOLossConfig:
    """The hyper-parameters of the clipped PPO objective and its optimiser steps."""

    __pydantic_config__ = RULES

    learning_rate: Positive = 5e-4
    """Adam step size."""
    update_epochs: AtLeast1 = 4
    """Passes over the rollout per update."""
    clip_coef: Positive = 0.2
    """Clipping range of the probability ratio (and of the value change)."""
    clip_vloss: bool = True
    """Use the clipped value loss."""
    norm_adv: bool = True
    """Normalise advantages per minibatch to zero mean, unit std."""
    ent_coef: NonNegative = 0.01
    """Weight of the entropy bonus."""
    vf_coef: NonNegative = 0.5
    """Weight of the value loss."""
    max_grad_norm: Positive = 0.5
    """Global gradient-norm clip."""


def shared_ppo_fields(config: PPOLossConfig) -> dict[str, Any]:
    """The ``PPOLossConfig`` fields of ``config`` (to build another learner's config from it)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(PPOLossConfig)}


def ppo_loss(
    logits: torch.Tensor,
    values: torch.Tensor | None,
    actions: torch.Tensor,
    old_logprobs: torch.Tensor,
    old_values: torch.Tensor | None,
    advantages: torch.Tensor,
    returns: torch.Tensor | None,
    config: PPOLossConfig,
    proximal_logprobs: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The PPO loss of one minibatch and its parts (detached, keys ``LOSS_STATS``).

    ``logits`` (B, A) (or log-probabilities) and ``values`` (B,) come from the current
    network, the rest from the rollout: clipped surrogate, entropy bonus and, when
    ``values`` is given, the value loss (clipped around ``old_values`` with
    ``clip_vloss``). Without ``values`` the value loss is 0.

    ``old_logprobs`` are the behaviour policy's. With ``proximal_logprobs`` (the learner's
    own at collection) the surrogate is the decoupled one of Hilton et al. (2021): the
    ratio to the proximal policy is clipped, and each sample is weighted by proximal /
    behaviour probability; where the two are equal it is the standard loss.
    """
    logp_all = torch.log_softmax(logits, dim=-1)
    logprobs = logp_all.gather(1, actions.unsqueeze(1)).squeeze(1)
    entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
    anchor = old_logprobs if proximal_logprobs is None else proximal_logprobs
    log_ratio = logprobs - anchor
    ratio = log_ratio.exp()
    if config.norm_adv and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    surrogate = torch.max(
        -advantages * ratio,
        -advantages * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef),
    )
    if proximal_logprobs is not None:
        surrogate = surrogate * (proximal_logprobs - old_logprobs).exp()
    pg_loss = surrogate.mean()
    loss = pg_loss - config.ent_coef * entropy
    v_loss = torch.zeros((), device=logits.device)
    if values is not None:
        if returns is None:
            raise ValueError("ppo_loss: returns are required with values")
        if config.clip_vloss and old_values is not None:
            delta = (values - old_values).clamp(-config.clip_coef, config.clip_coef)
            v_clipped = old_values + delta
            v_loss = 0.5 * torch.max((values - returns) ** 2, (v_clipped - returns) ** 2).mean()
        else:
            v_loss = 0.5 * ((values - returns) ** 2).mean()
        loss = loss + config.vf_coef * v_loss
    with torch.no_grad():
        stats = {
            "policy_loss": pg_loss.detach(),
            "value_loss": v_loss.detach(),
            "entropy": entropy.detach(),
            "approx_kl": ((ratio - 1) - log_ratio).mean(),
            "clipfrac": ((ratio - 1).abs() > config.clip_coef).float().mean(),
        }
    return loss, stats
