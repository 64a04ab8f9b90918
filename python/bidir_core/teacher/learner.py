"""Fine-tuning the teacher LM with clipped policy-gradient (PPO) updates.

``TeacherPPO.update`` takes a batch of (prompt, action, advantage, old log-prob) — in
``bidir`` mode the advantage is the student's TD-error feedback, in ``glam`` mode GAE from
the teacher's own value head — and runs a few epochs of minibatch PPO on the LM's action
log-probabilities (πT over the candidate strings, the same πT that is served). Each
optimizer step bumps ``teacher.version``.

The GLAM baseline's value head reads the last hidden state (last prompt token for causal
LMs, first decoder position for seq2seq) through Linear–Sigmoid–Linear–Sigmoid–Linear, as
in Lamorel's PPO example. LoRA adapters (peft) are optional: ``TeacherPPOConfig(lora=True)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np
import torch
from torch import nn

from bidir_core.ppo import LOSS_STATS, AtLeast1, Positive, PPOLossConfig, ppo_loss
from bidir_core.teacher.policy import Teacher
from bidir_core.teacher.scoring import unique_prompts
from bidir_core.validation import Field, check_fields

__all__ = ["TeacherPPO", "TeacherPPOConfig", "ValueHead", "apply_lora"]


class ValueHead(nn.Module):
    """GLAM's value head: Linear–Sigmoid–Linear–Sigmoid–Linear on an LM hidden state."""

    def __init__(self, hidden_size: int, width: int = 1024):
        super().__init__()
        self.net: torch.nn.Sequential = nn.Sequential(
            nn.Linear(hidden_size, width),
            nn.Sigmoid(),
            nn.Linear(width, width),
            nn.Sigmoid(),
            nn.Linear(width, 1),
        )

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Values (B,) of hidden states (B, hidden_size)."""
        return self.net(hidden.float()).squeeze(-1)


def apply_lora(
    teacher: Teacher,
    *,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.0,
    target_modules: Sequence[str] | str | None = None,
) -> None:
    """Wrap ``teacher.model`` with LoRA adapters (peft); only the adapters stay trainable."""
    try:
        import peft
    except ImportError:
        raise ImportError(
            "LoRA fine-tuning needs the peft package: pip install bidir_core[lora]"
        ) from None
    if hasattr(teacher.model, "peft_config"):
        raise ValueError("the teacher's model already has LoRA adapters")
    config = peft.LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules)
        if isinstance(target_modules, (list, tuple))
        else target_modules,
    )
    try:
        with warnings.catch_warnings():
            # peft reads transformers' deprecated is_gradient_checkpointing alias
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            model = peft.get_peft_model(teacher.model, config)
    except ValueError as err:
        raise ValueError(
            f"cannot add LoRA adapters to {type(teacher.model).__name__} ({err}); "
            "pass target_modules naming its attention projections"
        ) from None
    with teacher.lock:
        teacher.model = model.eval()


@dataclass
class TeacherPPOConfig(PPOLossConfig):
    """Hyper-parameters of the teacher's PPO updates (the loss's names are the student's)."""

    learning_rate: Positive = 1e-4
    """AdamW learning rate of the LM (or its adapters)."""
    norm_adv: bool = False
    """Normalise advantages per minibatch (student feedback is already normalised)."""
    head_lr: Positive = 1e-3
    """Learning rate of the value head."""
    minibatch_size: AtLeast1 = 64
    """Samples per optimizer step (on average, with ``group_prompts``)."""
    micro_batch: AtLeast1 | None = None
    """Distinct prompts per forward and backward pass of an ``update`` step, whose gradients
    add up to the step's (the same step, in bounded memory); None: the whole minibatch."""
    group_prompts: bool = True
    """Make minibatches of distinct prompts, each with all of its samples (the LM then runs
    once per distinct prompt per minibatch; see docs/decisions.md)."""
    value_head: bool = False
    """Add GLAM's value head (the ``glam`` baseline)."""
    value_width: AtLeast1 = 1024
    """Width of the value head's hidden layers."""
    lora: bool = False
    """Train LoRA adapters instead of all LM weights."""
    lora_r: AtLeast1 = 8
    """LoRA rank."""
    lora_alpha: AtLeast1 = 16
    """LoRA scaling alpha."""
    lora_target_modules: Sequence[str] | None = None
    """Modules to adapt (None: peft's default for the architecture)."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Seed of the minibatch shuffling and the value head's initialisation."""

    def __post_init__(self) -> None:
        check_fields(self, "TeacherPPOConfig.")


def _as_1d(name: str, value: Any, n: int, dtype: Any) -> torch.Tensor:
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if dtype == torch.long:
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
    elif arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}")
    elif not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return torch.as_tensor(arr.astype(np.int64 if dtype == torch.long else np.float32))


def _prompt_list(prompts: Sequence[str], what: str) -> list[str]:
    """``prompts`` as a non-empty list (a lone str is refused: it is not a batch)."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a sequence of str, not a str")
    prompts = list(prompts)
    if not prompts:
        raise ValueError(f"{what} needs at least one sample")
    return prompts


class TeacherPPO:
    """Clipped policy-gradient fine-tuning of a ``Teacher`` (optionally LoRA, value head)."""

    def __init__(self, teacher: Teacher, config: TeacherPPOConfig | None = None):
        self.teacher = teacher
        self.config: TeacherPPOConfig = config or TeacherPPOConfig()
        cfg = self.config
        if cfg.lora:
            apply_lora(
                teacher, r=cfg.lora_r, alpha=cfg.lora_alpha, target_modules=cfg.lora_target_modules
            )
        torch.manual_seed(cfg.seed)
        self.value_head: ValueHead | None = None
        groups = [{"params": [p for p in teacher.model.parameters() if p.requires_grad]}]
        if cfg.value_head:
            self.value_head = ValueHead(teacher.hidden_size, cfg.value_width).to(teacher.device)
            groups.append({"params": list(self.value_head.parameters()), "lr": cfg.head_lr})
        if not groups[0]["params"]:
            raise ValueError("the teacher's model has no trainable parameters")
        self.optimizer: torch.optim.AdamW = torch.optim.AdamW(groups, lr=cfg.learning_rate,
                                                              weight_decay=0.0)
        self._base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self._gen = torch.Generator().manual_seed(cfg.seed)

    def scale_lr(self, fraction: float) -> None:
        """Set each parameter group's step size to ``fraction`` times its configured one
        (learning-rate annealing; the configured rates are kept, so it does not compound)."""
        for group, base in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = base * fraction

    def state_dict(self) -> dict[str, Any]:
        """LM weights, value head, optimiser, shuffling RNG and version (for checkpoints)."""
        return {
            "model": self.teacher.model.state_dict(),
            "value_head": None if self.value_head is None else self.value_head.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self._gen.get_state(),
            "version": self.teacher.version,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from ``state_dict()``; a value head present on one side only raises."""
        if (state["value_head"] is None) != (self.value_head is None):
            have = "has" if self.value_head is not None else "has no"
            raise ValueError(f"the state's value head does not match: this learner {have} one")
        with self.teacher.lock:
            self.teacher.model.load_state_dict(state["model"])
            if self.value_head is not None:
                self.value_head.load_state_dict(state["value_head"])
            self.optimizer.load_state_dict(state["optimizer"])
            self._gen.set_state(state["generator"])
            self.teacher.version = int(state["version"])

    def evaluate(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """log πT (B, A) float32 and, with a value head, values (B,) float32; no grad."""
        with self.teacher.lock, torch.inference_mode():
            if self.value_head is None:
                return self.teacher.action_logprobs(prompts), None
            logp, hidden = self.teacher.action_logprobs_tensor(prompts, return_hidden=True)
            values = self.value_head(hidden.float())
            return logp.float().cpu().numpy(), values.float().cpu().numpy()

    def update(
        self,
        prompts: Sequence[str],
        actions: Any,
        advantages: Any,
        old_logprobs: Any,
        *,
        returns: Any = None,
        old_values: Any = None,
    ) -> dict[str, float]:
        """Run PPO epochs on one batch; return mean losses and diagnostics.

        ``actions`` are candidate indices (minigrid ids), ``old_logprobs`` log πT of those
        actions when they were chosen, ``returns`` value targets (value head only).
        """
        cfg = self.config
        prompts = _prompt_list(prompts, "update")
        n = len(prompts)
        acts = _as_1d("actions", actions, n, torch.long)
        if acts.min() < 0 or acts.max() >= len(self.teacher.actions):
            raise ValueError(f"actions must be in [0, {len(self.teacher.actions)})")
        adv = _as_1d("advantages", advantages, n, torch.float32)
        old = _as_1d("old_logprobs", old_logprobs, n, torch.float32)
        if self.value_head is not None:
            if returns is None:
                raise ValueError("returns are required when the teacher has a value head")
            ret = _as_1d("returns", returns, n, torch.float32)
            old_v = (
                None if old_values is None else _as_1d("old_values", old_values, n, torch.float32)
            )
        else:
            ret = old_v = None
        device = self.teacher.device
        names = LOSS_STATS if self.value_head is not None else tuple(
            k for k in LOSS_STATS if k != "value_loss")
        stats: dict[str, list[float]] = {k: [] for k in names}
        chunk_cfg = replace(cfg, norm_adv=False)  # normalised per minibatch here
        for _ in range(cfg.update_epochs):
            for idx in self._minibatches(prompts):
                mb_adv = adv[idx]
                if cfg.norm_adv and mb_adv.numel() > 1:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                self.optimizer.zero_grad(set_to_none=True)
                step = dict.fromkeys(names, 0.0)
                for rows in self._chunks(prompts, idx):
                    chunk = idx[rows]
                    batch = [prompts[i] for i in chunk.tolist()]
                    values = returns_mb = old_values_mb = None
                    if self.value_head is not None:
                        logp_all, hidden = self.teacher.action_logprobs_tensor(
                            batch, return_hidden=True
                        )
                        values = self.value_head(hidden.float())
                        returns_mb = ret[chunk].to(device)
                        old_values_mb = None if old_v is None else old_v[chunk].to(device)
                    else:
                        logp_all = self.teacher.action_logprobs_tensor(batch)
                    loss, parts = ppo_loss(
                        logp_all, values, acts[chunk].to(device), old[chunk].to(device),
                        old_values_mb, mb_adv[rows].to(device), returns_mb, chunk_cfg,
                    )
                    weight = len(chunk) / len(idx)  # the losses are means over samples
                    (loss * weight).backward()
                    for k in names:
                        step[k] += float(parts[k]) * weight
                self._apply_step()
                for k in names:
                    stats[k].append(step[k])
        out = {k: float(np.mean(v)) for k, v in stats.items() if v}
        out["version"] = float(self.teacher.version)
        return out

    def fit_targets(self, prompts: Sequence[str], targets: Any) -> dict[str, float]:
        """Move πT towards target distributions over the actions: epochs of minibatch
        steps on the cross-entropy -sum_a q(a) log πT(a | prompt) (minus the entropy
        bonus), with the same minibatches, gradient clip and version bumps as ``update``.

        ``targets`` (B, A): one distribution per prompt (non-negative rows summing to 1).
        Where ``update``'s policy gradient scales by πT(a) and so stalls on an action πT
        is sure of, this gradient, πT - q on the logits, does not. Returns the mean
        KL(q || πT) during the steps (``policy_loss``) and πT's entropy.
        """
        cfg = self.config
        prompts = _prompt_list(prompts, "fit_targets")
        n, k = len(prompts), len(self.teacher.actions)
        arr = np.asarray(targets)
        if arr.shape != (n, k):
            raise ValueError(f"targets must have shape ({n}, {k}), got {arr.shape}")
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"targets must be numbers, got dtype {arr.dtype}")
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError("targets must be finite and >= 0")
        if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("each row of targets must sum to 1")
        q = torch.as_tensor(arr.astype(np.float32)).to(self.teacher.device)
        q_log_q = torch.special.xlogy(q, q).sum(-1)
        stats: dict[str, list[float]] = {"policy_loss": [], "entropy": []}
        for _ in range(cfg.update_epochs):
            for idx in self._minibatches(prompts):
                logp_all = self.teacher.action_logprobs_tensor([prompts[i] for i in idx.tolist()])
                target = q[idx.to(q.device)]
                cross_entropy = -(target * logp_all).sum(-1).mean()
                entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
                loss = cross_entropy - cfg.ent_coef * entropy
                self._step(loss)
                kl = cross_entropy.item() + float(q_log_q[idx.to(q.device)].mean())
                stats["policy_loss"].append(kl)
                stats["entropy"].append(entropy.item())
        out = {key: float(np.mean(v)) for key, v in stats.items()}
        out["version"] = float(self.teacher.version)
        return out

    def _step(self, loss: torch.Tensor) -> None:
        """One optimizer step on ``loss`` (gradient-norm clipped); bumps the version."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._apply_step()

    def _apply_step(self) -> None:
        """The optimizer step on the gradients accumulated (norm clipped); bumps the version."""
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        with self.teacher.lock:
            self.optimizer.step()
            self.teacher.version += 1

    def _chunks(self, prompts: list[str], idx: torch.Tensor) -> list[torch.Tensor]:
        """Positions in minibatch ``idx`` split into parts of at most ``micro_batch``
        distinct prompts (all of a prompt's samples in one part)."""
        size = self.config.micro_batch
        if size is None:
            return [torch.arange(len(idx))]
        first: dict[str, int] = {}
        part = torch.tensor([first.setdefault(prompts[i], len(first)) // size
                             for i in idx.tolist()])
        return [torch.nonzero(part == c).squeeze(1) for c in range(int(part.max()) + 1)]

    def _minibatches(self, prompts: list[str]) -> list[torch.Tensor]:
        """One epoch's minibatches of sample indices (see ``TeacherPPOConfig.group_prompts``)."""
        n, size = len(prompts), self.config.minibatch_size
        count = -(-n // size)
        _, inverse = unique_prompts(prompts)
        n_unique = int(inverse.max()) + 1
        if not self.config.group_prompts or n_unique < count:
            # too few distinct prompts to keep the number of steps: random slices
            order = torch.randperm(n, generator=self._gen)
            return [order[start : start + size] for start in range(0, n, size)]
        # each chunk of a random order of the distinct prompts takes all their samples
        chunk_of = torch.empty(n_unique, dtype=torch.long)
        for c, rows in enumerate(torch.randperm(n_unique, generator=self._gen).tensor_split(count)):
            chunk_of[rows] = c
        owner = chunk_of[inverse]
        return [torch.nonzero(owner == c).squeeze(1) for c in range(count)]
