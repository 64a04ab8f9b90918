"""The fused backend of the student's PPO update: the same gradient as autograd, in C++.

For ``ActorCritic`` (a parameter-free ``features`` map followed by dense layers) the
features of the whole rollout are computed once per update; each minibatch step is then
two C++ calls: ``_core.MlpPpoGradient.compute`` (forward, the closed-form gradient of
``ppo_loss``, backward, touching only the first-layer columns of the features the
minibatch uses) and ``_core.clipped_adam_step``, on one flat parameter buffer
(``FlatParameters``). With an extra loss term the layers run in torch without autograd,
the gradient at the outputs comes from autograd through ``ppo_loss`` plus the extra term,
and is backpropagated by hand. Tests check both against ``loss.backward()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from bidir_core import _core
from bidir_core.ppo import LOSS_STATS, ppo_loss

if TYPE_CHECKING:
    from bidir_core.student.ppo import PPOConfig

__all__ = ["FlatParameters", "FusedStep", "fused_unsupported_reason", "make_adam"]

# The rollout fields the C++ kernel reads, in its argument order.
LOSS_FIELDS = ("actions", "logprobs", "values", "advantages", "returns")

ExtraLoss = Callable[
    [dict[str, torch.Tensor], torch.Tensor, torch.Tensor],
    tuple[torch.Tensor, dict[str, torch.Tensor]],
]


class FlatParameters:
    """Moves parameters (and their ``.grad``) into views of one flat Parameter and gradient.

    The optimiser then steps one tensor, and the gradient norm is one reduction, instead
    of a Python loop (or a fused kernel call with its bookkeeping) over a dozen small
    tensors: on a network this small that bookkeeping costs more than the arithmetic.
    ``load_state_dict`` on the module still works: it copies into the views.
    """

    def __init__(self, params: list[nn.Parameter]) -> None:
        """Take over params' storage; gradients start at zero."""
        total = sum(p.numel() for p in params)
        self.param: nn.Parameter = nn.Parameter(torch.zeros(total))
        self.param.grad = torch.zeros(total)
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                self.param[offset : offset + n].copy_(p.reshape(-1))
                p.data = self.param.data[offset : offset + n].view_as(p)
                p.grad = self.param.grad[offset : offset + n].view_as(p)
                offset += n

    def clip_grad_norm(self, max_norm: float) -> torch.Tensor:
        """Scale the gradient to global L2 norm <= max_norm (as nn.utils.clip_grad_norm_)."""
        grad = self.param.grad
        assert grad is not None
        norm = torch.linalg.vector_norm(grad)
        grad.mul_((max_norm / (norm + 1e-6)).clamp_(max=1.0))
        return norm


def make_adam(param: nn.Parameter, lr: float, eps: float) -> torch.optim.Adam:
    """Adam on one flat parameter (torch's fused CPU kernel where this torch has it)."""
    try:
        return torch.optim.Adam([param], lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam([param], lr=lr, eps=eps)


def fused_unsupported_reason(net: nn.Module) -> str | None:
    """Why the fused backend cannot train ``net`` (None: it can)."""
    if not (hasattr(net, "layers") and hasattr(net, "features") and hasattr(net, "num_actions")):
        return f"{type(net).__name__} has no layers()/features() (the fused step needs ActorCritic's layout)"
    layer_params = {id(p) for layer in net.layers() for p in (layer.weight, layer.bias)}
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    if layer_params != trainable:
        return f"{type(net).__name__}'s trainable parameters are not exactly its layers()' weights and biases"
    return None


class FusedStep:
    """Minibatch gradients of an ``ActorCritic`` by the C++ kernel (or by hand with an extra loss)."""

    def __init__(self, net: nn.Module, config: PPOConfig, flat: FlatParameters,
                 optimizer: torch.optim.Adam) -> None:
        reason = fused_unsupported_reason(net)
        if reason is not None:
            raise ValueError(f"ppo.backend='fused' cannot train this network: {reason}")
        self.net: nn.Module = net
        self.config: PPOConfig = config
        self.flat: FlatParameters = flat
        self.optimizer: torch.optim.Adam = optimizer
        self._kernel: _core.MlpPpoGradient | None = None
        self._features: torch.Tensor | None = None
        self._adam: tuple[np.ndarray, ...] | None = None

    def set_rollout(self, flat_inputs: dict[str, torch.Tensor], kernel: bool) -> torch.Tensor:
        """Compute the features of the whole rollout once (reusing the buffer) and, for
        ``kernel_step``, hand them to the C++ kernel; return them."""
        inputs = [flat_inputs[k] for k in ("image", "direction", "mission", "hints", "hint_valid")]
        self._features = self.net.features(*inputs, out=self._features)
        if kernel:
            self._build_kernel().set_inputs(self._features.numpy())
            self._adam = self._adam_arrays()
        return self._features

    def forget_rollout(self) -> None:
        """Drop the features buffer (the next rollout has another shape)."""
        self._features = None

    def kernel_step(self, rows: np.ndarray, mb: dict[str, torch.Tensor], lr: float) -> torch.Tensor:
        """Gradient of the minibatch ``rows``, gradient clip and Adam step in C++; return stats."""
        cfg = self.config
        assert self._kernel is not None and self._adam is not None
        stats = torch.from_numpy(self._kernel.compute(rows, *(mb[k].numpy() for k in LOSS_FIELDS)))
        beta1, beta2 = self.optimizer.param_groups[0]["betas"]
        _core.clipped_adam_step(*self._adam, lr, beta1, beta2, cfg.adam_eps, cfg.max_grad_norm)
        return stats

    def manual_step(self, x: torch.Tensor, mb: dict[str, torch.Tensor],
                    extra_loss: ExtraLoss) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Write d(ppo_loss + extra) / d parameters into the .grad views; return the stats."""
        layers = self.net.layers()
        acts = [x]
        with torch.no_grad():
            h = x
            for i, layer in enumerate(layers):
                h = torch.addmm(layer.bias, h, layer.weight.t())
                if i < len(layers) - 1:
                    h = h.relu_()
                acts.append(h)
        a = self.net.num_actions
        out = acts[-1].requires_grad_()
        logits, values = out[:, :a], out[:, a]
        loss, stats = ppo_loss(logits, values, mb["actions"], mb["logprobs"], mb["values"],
                               mb["advantages"], mb["returns"], self.config)
        extra, extra_stats = extra_loss(mb, logits, values)
        (grad,) = torch.autograd.grad(loss + extra, out)
        with torch.no_grad():
            for i in range(len(layers) - 1, -1, -1):
                layer, inp = layers[i], acts[i]
                torch.mm(grad.t(), inp, out=layer.weight.grad)
                torch.sum(grad, 0, out=layer.bias.grad)
                if i > 0:
                    grad = torch.ops.aten.threshold_backward(grad.mm(layer.weight), inp, 0)
        return torch.stack([stats[k] for k in LOSS_STATS]), extra_stats

    def _build_kernel(self) -> _core.MlpPpoGradient:
        """The C++ minibatch gradient of the network's layers (built once)."""
        if self._kernel is None:
            cfg, layers = self.config, self.net.layers()
            self._kernel = _core.MlpPpoGradient(
                [layer.weight.detach().numpy() for layer in layers],
                [layer.bias.detach().numpy() for layer in layers],
                [layer.weight.grad.numpy() for layer in layers],
                [layer.bias.grad.numpy() for layer in layers],
                clip_coef=cfg.clip_coef, ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef,
                norm_adv=cfg.norm_adv, clip_vloss=cfg.clip_vloss,
            )
        return self._kernel

    def _adam_arrays(self) -> tuple[np.ndarray, ...]:
        """numpy views of the flat parameter, its gradient and the optimiser's Adam state
        (created in torch's own format on first use, so ``optimizer.state_dict()``,
        checkpoints and later ``optimizer.step()`` calls see the same state)."""
        param = self.flat.param
        state = self.optimizer.state[param]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        assert param.grad is not None
        return (
            param.detach().numpy(),
            param.grad.numpy(),
            state["exp_avg"].numpy(),
            state["exp_avg_sq"].numpy(),
            state["step"].numpy(),
        )
