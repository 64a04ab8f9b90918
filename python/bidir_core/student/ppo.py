"""PPO for the student, read top to bottom like CleanRL's ``ppo.py``.

``PPOLearner.update`` is the reference: for each epoch a seeded permutation of the rollout
(from the C++ buffer), minibatches, ``ppo_loss`` (``bidir_core.ppo``: clipped surrogate,
clipped value loss, entropy bonus, per-minibatch advantage normalisation), gradient-norm
clip, Adam, a linearly annealed learning rate and an optional early stop on approximate
KL. Advantages come from the C++ GAE (``RolloutBuffer.compute_gae``).

``PPOConfig.backend`` chooses how a minibatch's gradient is computed: ``autograd``
(``loss.backward()``, any network), ``fused`` (the same gradient by the C++ kernel of
``student.fused``; refuses networks it cannot train) or ``auto`` (fused where it can).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import torch
from torch import nn

from bidir_core.ppo import LOSS_STATS, AtLeast1, Positive, PPOLossConfig, Unit, ppo_loss
from bidir_core.rollout import RolloutBuffer
from bidir_core.student.fused import (
    LOSS_FIELDS,
    ExtraLoss,
    FlatParameters,
    FusedStep,
    fused_unsupported_reason,
    make_adam,
)
from bidir_core.validation import check_fields, check_known_keys

__all__ = ["PPO_BACKENDS", "ExtraLoss", "PPOConfig", "PPOLearner", "ppo_loss"]


PPOBackend = Literal["auto", "fused", "autograd"]
PPO_BACKENDS: tuple[str, ...] = get_args(PPOBackend)
Surrogate = Literal["behaviour", "decoupled"]

# The minibatch fields read by the update, in the order they are gathered.
MINIBATCH_FIELDS = (
    "image",
    "direction",
    "mission",
    "hints",
    "hint_valid",
    "actions",
    "logprobs",
    "student_logprobs",
    "values",
    "advantages",
    "returns",
)


@dataclass
class PPOConfig(PPOLossConfig):
    """Hyper-parameters of the student's PPO update (defaults: tuned on GoToRedBallNoDists)."""

    anneal_lr: bool = True
    """Anneal the step size linearly to 0 over the run."""
    gamma: Unit = 0.99
    """Discount factor."""
    gae_lambda: Unit = 0.95
    """Lambda of generalized advantage estimation."""
    num_minibatches: AtLeast1 = 4
    """Minibatches per pass."""
    target_kl: Positive | None = None
    """Stop the epochs early when the approximate KL exceeds this (None: never)."""
    adam_eps: Positive = 1e-5
    """Epsilon of Adam."""
    backend: PPOBackend = "auto"
    """How minibatch gradients are computed: autograd, fused (C++; ActorCritic only) or auto (fused where it can)."""
    surrogate: Surrogate = "behaviour"
    """behaviour: the ratio to the behaviour policy is clipped (the executed mixture in teach and bidir); decoupled: the ratio to the student's own policy, each sample weighted by student / behaviour probability (autograd only)."""

    def validate(self) -> PPOConfig:
        """Raise ValueError / TypeError naming the first field out of range; return self."""
        check_fields(self, "ppo.")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PPOConfig:
        """Build from a dict (e.g. a saved config); unknown keys raise ValueError."""
        check_known_keys(cls, values, "PPO")
        return cls(**values).validate()


def resolve_backend(backend: str, net: nn.Module, surrogate: str = "behaviour") -> str:
    """``backend`` for ``net``: auto becomes fused or autograd; fused refuses what it cannot train."""
    reason = (fused_unsupported_reason(net) if surrogate == "behaviour"
              else f"the C++ kernel computes only the behaviour surrogate, not {surrogate!r}")
    if backend == "auto":
        return "autograd" if reason else "fused"
    if backend == "fused" and reason:
        raise ValueError(f"ppo.backend='fused' cannot train this network: {reason}")
    return backend


class PPOLearner:
    """Runs PPO updates of an actor-critic on rollouts held in a RolloutBuffer.

    ``backend`` is the resolved ``PPOConfig.backend`` (fused or autograd): both compute the
    same gradient (tests check it); the fused one is several times faster on ActorCritic.
    Parameters live in one flat buffer (``FlatParameters``) stepped by one Adam.
    """

    def __init__(self, net: nn.Module, config: PPOConfig, total_iterations: int) -> None:
        """Create the optimiser; total_iterations sets the learning-rate schedule."""
        self.net = net
        self.config: PPOConfig = config.validate()
        if total_iterations < 1:
            raise ValueError(f"total_iterations must be >= 1, got {total_iterations}")
        self.total_iterations: int = int(total_iterations)
        self.backend: str = resolve_backend(config.backend, net, config.surrogate)
        self.params: list[nn.Parameter] = [p for p in net.parameters() if p.requires_grad]
        self.flat: FlatParameters = FlatParameters(self.params)
        self.optimizer: torch.optim.Adam = make_adam(self.flat.param, config.learning_rate,
                                                     config.adam_eps)
        self.fused: FusedStep | None = (
            FusedStep(net, config, self.flat, self.optimizer) if self.backend == "fused" else None)
        self._flat: dict[str, torch.Tensor] | None = None
        self._flat_key: tuple[int, int] | None = None

    def learning_rate(self, iteration: int) -> float:
        """Step size at 1-based ``iteration``: linear from learning_rate towards 0."""
        if not self.config.anneal_lr:
            return self.config.learning_rate
        frac = 1.0 - (iteration - 1.0) / self.total_iterations
        return self.config.learning_rate * max(frac, 0.0)

    def update(
        self,
        rollout: RolloutBuffer,
        mission: torch.Tensor,
        iteration: int,
        seed: int,
        extra_loss: ExtraLoss | None = None,
    ) -> dict[str, float]:
        """One PPO update over ``rollout`` (GAE already computed); return mean statistics.

        ``mission`` (T, N, L) int64 holds the mission ids of every step. Minibatch
        permutations are drawn from (seed, iteration, epoch), so an update is a pure
        function of the rollout, the network, the optimiser state and these numbers.
        ``extra_loss`` adds a term to every minibatch's loss (the teacher's guidance).
        """
        cfg = self.config
        flat = self._flat_views(rollout, mission)
        lr = self.learning_rate(iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        kernel = self.fused is not None and extra_loss is None
        if self.fused is not None:
            features = self.fused.set_rollout(flat, kernel)
        fields = LOSS_FIELDS if kernel else MINIBATCH_FIELDS
        totals: torch.Tensor | None = None
        extra_totals: dict[str, torch.Tensor] = {}
        count = 0
        for epoch in range(cfg.update_epochs):
            epoch_seed = int(
                np.random.SeedSequence([seed, iteration, epoch]).generate_state(1, np.uint64)[0]
            )
            parts = list(rollout.minibatches(cfg.num_minibatches, epoch_seed))
            perm_np = np.concatenate(parts)
            perm = torch.from_numpy(perm_np)
            shuffled = {k: flat[k].index_select(0, perm) for k in fields}
            if self.fused is not None and not kernel:
                shuffled_x = features.index_select(0, perm)
            lo = 0
            for part in parts:
                hi = lo + len(part)
                mb = {k: v[lo:hi] for k, v in shuffled.items()}
                extra: dict[str, torch.Tensor] = {}
                if kernel:  # gradient, clip and Adam in two C++ calls
                    assert self.fused is not None
                    stats = self.fused.kernel_step(perm_np[lo:hi], mb, lr)
                else:
                    if self.fused is not None:
                        assert extra_loss is not None
                        stats, extra = self.fused.manual_step(shuffled_x[lo:hi], mb, extra_loss)
                    else:
                        stats, extra = self._autograd_gradients(mb, extra_loss)
                    self.flat.clip_grad_norm(cfg.max_grad_norm)
                    self.optimizer.step()
                lo = hi
                totals = stats.clone() if totals is None else totals.add_(stats)
                for k, v in extra.items():
                    extra_totals[k] = extra_totals[k] + v if k in extra_totals else v.clone()
                count += 1
            if cfg.target_kl is not None and float(stats[3]) > cfg.target_kl:
                break
        assert totals is not None
        out = {k: float(v) / count for k, v in zip(LOSS_STATS, totals)}
        out.update({k: float(v) / count for k, v in extra_totals.items()})
        values_np, returns_np = rollout.values.reshape(-1), rollout.returns.reshape(-1)
        var = float(np.var(returns_np))
        out["explained_variance"] = (
            float("nan") if var == 0 else 1.0 - float(np.var(returns_np - values_np)) / var
        )
        out["learning_rate"] = lr
        out["epochs"] = epoch + 1
        return out

    def _autograd_gradients(
        self, mb: dict[str, torch.Tensor], extra_loss: ExtraLoss | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Gradients by autograd for any network into the flat .grad; returns the stats."""
        logits, values = self.net(
            mb["image"], mb["direction"], mb["mission"], mb["hints"], mb["hint_valid"]
        )
        proximal = mb["student_logprobs"] if self.config.surrogate == "decoupled" else None
        loss, stats = ppo_loss(logits, values, mb["actions"], mb["logprobs"], mb["values"],
                               mb["advantages"], mb["returns"], self.config, proximal)
        extra_stats: dict[str, torch.Tensor] = {}
        if extra_loss is not None:
            extra, extra_stats = extra_loss(mb, logits, values)
            loss = loss + extra
        grads = torch.autograd.grad(loss, self.params)
        with torch.no_grad():
            for p, g in zip(self.params, grads):
                p.grad.copy_(g)
        return torch.stack([stats[k] for k in LOSS_STATS]), extra_stats

    def _flat_views(self, rollout: RolloutBuffer, mission: torch.Tensor) -> dict[str, torch.Tensor]:
        """The rollout's fields as (T * N, ...) tensor views (rebuilt for a new buffer)."""
        key = (id(rollout), mission.data_ptr())
        if self._flat_key != key:
            b = rollout.batch_size
            views = rollout.torch_views()
            views["mission"] = mission
            self._flat = {k: views[k].reshape(b, *views[k].shape[2:]) for k in MINIBATCH_FIELDS}
            self._flat_key = key
            if self.fused is not None:
                self.fused.forget_rollout()
        assert self._flat is not None
        return self._flat
