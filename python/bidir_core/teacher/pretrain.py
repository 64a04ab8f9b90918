"""Pretraining of the embedded ``tiny`` teacher on planner-labelled BabyAI-Text.

A small Llama-architecture LM (0.29M parameters, 1.1 MB) with the word-level BabyAI tokenizer
learns to continue each prompt with the oracle planner's action string (cross-entropy on
the action tokens only). It is deliberately imperfect: by default it sees only two
thousand states of *other* tasks (GoToObj, GoToLocal), never GoToRedBallNoDists, for about
a minute, so that feedback has something left to improve.

Same arguments, same thread count → the same checkpoint, bit for bit: data come from
seeded envs, initialisation and shuffling from ``seed``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from transformers import LlamaConfig

__all__ = ["PretrainConfig", "pretrain_tiny", "tiny_config"]


@dataclass
class PretrainConfig:
    """Settings of ``bidir teacher pretrain``."""

    tasks: tuple[str, ...] = ("BabyAI-GoToObj-v0", "BabyAI-GoToLocal-v0")
    """tasks whose oracle rollouts make the training text"""
    states_per_task: int = 1000
    """planner-labelled states collected per task"""
    epsilon: float = 0.25
    """probability of a random action in the data rollouts"""
    steps: int = 300
    """optimizer steps"""
    batch_size: int = 32
    """sequences per optimizer step"""
    lr: float = 3e-3
    """peak AdamW learning rate (linear warm-up over 5% of the steps, then cosine decay)"""
    weight_decay: float = 0.01
    """AdamW weight decay"""
    hidden_size: int = 96
    """model width"""
    layers: int = 3
    """transformer blocks"""
    heads: int = 4
    """attention heads"""
    seed: int = 0
    """seed of the data envs, initialisation and shuffling"""
    threads: int = 1
    """torch CPU threads (the checkpoint is reproducible bit for bit at a fixed count)"""


def tiny_config(vocab_size: int, cfg: PretrainConfig) -> LlamaConfig:
    """The LlamaConfig of the tiny teacher."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.hidden_size * 2,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=3,
    )


def _batch(seqs: list[list[int]], starts: list[int]) -> tuple:
    """Right-padded ids, attention mask and a mask of the target (action) positions."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    target = torch.zeros_like(ids, dtype=torch.bool)
    for i, (s, start) in enumerate(zip(seqs, starts)):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
        target[i, start : len(s)] = True
    return ids, mask, target


def pretrain_tiny(
    out_dir: str | os.PathLike[str],
    cfg: PretrainConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the tiny teacher and save model + tokenizer to ``out_dir``; return its metrics."""
    import torch
    from transformers import LlamaForCausalLM

    from bidir_core.teacher.loading import save_model_dir
    from bidir_core.teacher.prompt import DEFAULT_ACTIONS
    from bidir_core.teacher.samples import oracle_samples
    from bidir_core.teacher.scoring import action_token_ids, prompt_token_ids
    from bidir_core.teacher.vocab import babyai_tokenizer

    cfg = cfg or PretrainConfig()
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.states_per_task < 1:
        raise ValueError("steps, batch_size and states_per_task must be >= 1")
    if not cfg.tasks:
        raise ValueError("tasks must name at least one task")
    log = log or (lambda msg: None)
    out_dir = Path(out_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        start = time.perf_counter()
        tokenizer = babyai_tokenizer()
        prompts: list[str] = []
        experts: list[np.ndarray] = []
        for k, task in enumerate(cfg.tasks):
            p, e = oracle_samples(
                task, cfg.states_per_task, seed=cfg.seed + 1_000_003 * k, epsilon=cfg.epsilon
            )
            prompts += p
            experts.append(e)
        expert = np.concatenate(experts)
        action_ids = action_token_ids(tokenizer, DEFAULT_ACTIONS, seq2seq=False)
        prompt_ids = prompt_token_ids(tokenizer, prompts)
        seqs = [p + action_ids[a] for p, a in zip(prompt_ids, expert)]
        starts = [len(p) for p in prompt_ids]
        log(f"{len(seqs)} planner-labelled states from {', '.join(cfg.tasks)}")

        torch.manual_seed(cfg.seed)
        model = LlamaForCausalLM(tiny_config(len(tokenizer), cfg))
        n_params = sum(p.numel() for p in model.parameters())
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warmup = max(1, cfg.steps // 20)

        def lr_at(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(1, cfg.steps - warmup)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        gen = torch.Generator().manual_seed(cfg.seed)
        order = torch.randperm(len(seqs), generator=gen)
        pos = 0
        model.train()
        losses = []
        for step in range(cfg.steps):
            if pos + cfg.batch_size > len(order):
                order, pos = torch.randperm(len(seqs), generator=gen), 0
            idx = order[pos : pos + cfg.batch_size].tolist()
            pos += cfg.batch_size
            ids, mask, target = _batch([seqs[i] for i in idx], [starts[i] for i in idx])
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            tok = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            tmask = target[:, 1:]
            loss = -(tok * tmask).sum() / tmask.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if (step + 1) % max(1, cfg.steps // 10) == 0:
                log(f"step {step + 1}/{cfg.steps}  loss {np.mean(losses[-20:]):.4f}")
        model.eval()
        elapsed = time.perf_counter() - start
        metrics = {
            "params": n_params,
            "train_states": len(seqs),
            "final_loss": float(np.mean(losses[-20:])),
            "seconds": round(elapsed, 1),
            "config": asdict(cfg),
        }
        stored = {k: v for k, v in metrics.items() if k != "seconds"}
        save_model_dir(
            model, tokenizer, out_dir, {"pretrain.json": json.dumps(stored, indent=2) + "\n"}
        )
        log(f"saved {n_params:,}-parameter teacher to {out_dir} in {elapsed:.0f}s")
        return metrics
    finally:
        torch.set_num_threads(threads)
