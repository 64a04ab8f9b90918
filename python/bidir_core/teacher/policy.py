"""The teacher policy πT(a|x): a Transformers LM over the candidate action strings.

``Teacher`` wraps a model and its tokenizer; its log-probabilities are the softmax, over
the candidates, of their LM scores (``bidir_core.teacher.scoring``) divided by a
temperature.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from bidir_core.teacher import scoring
from bidir_core.teacher.prefix import PrefixStore
from bidir_core.teacher.prompt import DEFAULT_ACTIONS

__all__ = ["Teacher"]


def _check_prompts(prompts: Any) -> list[str]:
    if isinstance(prompts, str):
        raise TypeError("prompts must be a sequence of str, not a single str")
    try:
        prompts = list(prompts)
    except TypeError:
        raise TypeError(
            f"prompts must be a sequence of str, got {type(prompts).__name__}"
        ) from None
    for i, p in enumerate(prompts):
        if not isinstance(p, str):
            raise TypeError(f"prompts[{i}] must be a str, got {type(p).__name__}")
    return prompts


def _check_temperature(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"temperature must be a float, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"temperature must be finite and > 0, got {value}")
    return float(value)


class Teacher:
    """A Transformers LM (causal or seq2seq) as the teacher policy over action strings.

    ``actions[i]`` is the string of minigrid action id ``i``; ``version`` counts parameter
    updates. ``lock`` (re-entrant) is held while scoring and by learners around each
    optimizer step, so ``action_logprobs_versioned`` returns log-probs computed with the
    parameters of the version it reports. ``share_prefix`` runs the token prefix a batch
    of prompts shares once (``bidir_core.teacher.prefix``); same scores up to rounding.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        actions: Sequence[str] = DEFAULT_ACTIONS,
        temperature: float = 1.0,
        batch_size: int = 32,
        name: str | None = None,
        share_prefix: bool = True,
    ):
        if isinstance(actions, str) or not actions:
            raise ValueError("actions must be a non-empty sequence of action strings")
        actions = tuple(actions)
        for i, a in enumerate(actions):
            if not isinstance(a, str) or not a.strip():
                raise ValueError(f"actions[{i}] must be a non-empty str, got {a!r}")
        if len(set(actions)) != len(actions):
            raise ValueError(f"actions must be distinct, got {actions}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.model = model
        self.model.eval()
        self.tokenizer = tokenizer
        self.actions: tuple[str, ...] = actions
        self.version: int = 0
        self.temperature = _check_temperature(temperature)
        self.batch_size = batch_size
        self.share_prefix: bool = bool(share_prefix)
        self.name: str = name or getattr(getattr(model, "config", None), "_name_or_path", "") or "lm"
        self.lock: threading.RLock = threading.RLock()
        self.is_seq2seq: bool = scoring.is_seq2seq(model)
        self._pad_id = scoring.tokenizer_pad_id(tokenizer)
        self._action_ids = scoring.action_token_ids(tokenizer, actions, seq2seq=self.is_seq2seq)
        self.prefix_store: PrefixStore = PrefixStore()

    # -- properties ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device the model's parameters live on."""
        return next(self.model.parameters()).device

    @property
    def hidden_size(self) -> int:
        """Width of the hidden state the value head reads."""
        cfg = scoring.base_model(self.model).config.get_text_config(decoder=True)
        return int(getattr(cfg, "hidden_size", None) or cfg.d_model)

    def set_temperature(self, temperature: float) -> None:
        """Change the softmax temperature of πT."""
        self.temperature: float = _check_temperature(temperature)

    def bump_version(self) -> int:
        """Mark a parameter update; return the new version."""
        with self.lock:
            self.version += 1
            return self.version

    # -- scoring -------------------------------------------------------------------------
    def _unique_scores(self, unique: list[str], *, naive: bool = False,
                       return_hidden: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores (U, A) of distinct prompts and optionally their hidden states (U, H), in
        their order; scored in batches of similar token lengths (less padding). Without
        gradients the shared prefix's cache is kept in ``prefix_store``."""
        ids = scoring.prompt_token_ids(self.tokenizer, unique)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        store = None if torch.is_grad_enabled() else self.prefix_store
        scores, hiddens = [], []
        for start in range(0, len(order), self.batch_size):
            rows = [ids[i] for i in order[start : start + self.batch_size]]
            if naive:
                scores.append(scoring.naive_action_scores(self.model, rows, self._action_ids))
                continue
            s, h = scoring.batched_action_scores(
                self.model, rows, self._action_ids, pad_id=self._pad_id,
                return_hidden=return_hidden, share_prefix=self.share_prefix, prefix_store=store,
            )
            scores.append(s)
            hiddens.append(h)
        back = torch.argsort(torch.tensor(order)).to(scores[0].device)  # rows back in order
        out = torch.cat(scores).index_select(0, back)
        return out, (torch.cat(hiddens).index_select(0, back) if return_hidden else None)

    def action_scores(self, prompts: Sequence[str], *, naive: bool = False) -> torch.Tensor:
        """Unnormalised scores: sum of token log-probs per action, (B, A), no grad."""
        prompts = _check_prompts(prompts)
        if not prompts:
            return torch.zeros((0, len(self.actions)))
        unique, inverse = scoring.unique_prompts(prompts)
        with self.lock, torch.inference_mode():
            scores, _ = self._unique_scores(unique, naive=naive)
            return scores.float().cpu()[inverse]

    def action_logprobs(self, prompts: Sequence[str]) -> np.ndarray:
        """log πT(a|prompt) as float32 (B, len(actions)); each row is log-normalised."""
        scores = self.action_scores(prompts)
        return torch.log_softmax(scores / self.temperature, dim=-1).numpy().astype(np.float32)

    def action_logprobs_versioned(self, prompts: Sequence[str]) -> tuple[np.ndarray, int]:
        """``action_logprobs`` and the parameter version that produced them."""
        with self.lock:
            return self.action_logprobs(prompts), self.version

    def action_logprobs_tensor(self, prompts: Sequence[str], *, return_hidden: bool = False) -> Any:
        """log πT as a (B, A) tensor with grad (for fine-tuning); optionally (logp, hidden)."""
        prompts = _check_prompts(prompts)
        if not prompts:
            raise ValueError("prompts must not be empty")
        unique, inverse = scoring.unique_prompts(prompts)
        # without gradients the shared prefix store is used: hold the lock as scoring does
        guard = contextlib.nullcontext() if torch.is_grad_enabled() else self.lock
        with guard:
            scores, hidden = self._unique_scores(unique, return_hidden=return_hidden)
        index = inverse.to(scores.device)
        logp = torch.log_softmax(scores / self.temperature, dim=-1).index_select(0, index)
        if not return_hidden:
            return logp
        assert hidden is not None
        return logp, hidden.index_select(0, index)

    def __repr__(self) -> str:
        kind = "seq2seq" if self.is_seq2seq else "causal"
        return (
            f"Teacher({self.name!r}, {kind}, actions={len(self.actions)}, version={self.version})"
        )
