"""The teacher policy πT(a|x): a language model scoring candidate action strings.

Each candidate action a is scored by the sum of the log-probabilities (log-softmax over
the vocabulary, not raw logits) of its tokens as the continuation of prompt x; πT is the
softmax of these scores over the candidates, divided by a temperature.

Batched scoring never recomputes a prompt per action:

* causal LMs run the left-padded prompts once with a key/value cache, repeat the cache
  ``len(actions)`` times along the batch, and feed only the action tokens (with the
  prompt's attention mask and position ids continued per row);
* seq2seq LMs encode the prompts once and repeat the encoder states per action.

``naive_action_scores`` scores every (prompt, action) pair on its own, unpadded: the
reference the batched path is tested against.

Causal candidates are tokenized as ``" " + action`` without special tokens (the text
continues ``"Action:"``); seq2seq targets are tokenized with the tokenizer's special tokens
and end with EOS (the whole answer is the action).
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from bidir_core.teacher.prompt import DEFAULT_ACTIONS

__all__ = [
    "Teacher",
    "action_token_ids",
    "batched_action_scores",
    "naive_action_scores",
    "prompt_token_ids",
    "unique_prompts",
]


def _base_model(model: Any) -> Any:
    """The underlying Transformers model (unwraps peft adapters)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _forward_params(model: Any) -> Any:
    return inspect.signature(type(_base_model(model)).forward).parameters


def _cache_kwarg(model: Any) -> str:
    """Name of the key/value-cache argument of the model's forward (renamed in Transformers 5)."""
    return "cache" if "cache" in _forward_params(model) else "past_key_values"


def _output_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


def _repeat_cache(cache: Any, repeats: int) -> Any:
    """Repeat each batch row of a key/value cache ``repeats`` times (row-major)."""
    if hasattr(cache, "batch_repeat_interleave"):
        cache.batch_repeat_interleave(repeats)
        return cache
    if isinstance(cache, (tuple, list)):  # legacy tuple-of-tuples caches
        return tuple(tuple(t.repeat_interleave(repeats, dim=0) for t in layer) for layer in cache)
    raise TypeError(f"cannot expand a key/value cache of type {type(cache).__name__}")


def _is_seq2seq(model: Any) -> bool:
    return bool(getattr(_base_model(model).config, "is_encoder_decoder", False))


def _decoder_start_id(model: Any) -> int:
    cfg = _base_model(model).config
    start = getattr(cfg, "decoder_start_token_id", None)
    if start is None:
        gen = getattr(_base_model(model), "generation_config", None)
        start = getattr(gen, "decoder_start_token_id", None)
    if start is None:
        start = getattr(cfg, "pad_token_id", None)
    if start is None:
        raise ValueError("the seq2seq model's config has no decoder_start_token_id")
    return int(start)


def _pad_id(tokenizer: Any) -> int:
    for attr in ("pad_token_id", "eos_token_id", "unk_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    return 0


def action_token_ids(tokenizer: Any, actions: Sequence[str], *, seq2seq: bool) -> list[list[int]]:
    """Token ids of each candidate action string (see the module docstring for the rule)."""
    out = []
    for action in actions:
        if seq2seq:
            ids = list(tokenizer(action, add_special_tokens=True)["input_ids"])
            eos = getattr(tokenizer, "eos_token_id", None)
            if eos is not None and (not ids or ids[-1] != eos):
                ids.append(int(eos))
        else:
            ids = list(tokenizer(" " + action, add_special_tokens=False)["input_ids"])
        if not ids:
            raise ValueError(f"action {action!r} tokenizes to no tokens")
        out.append(ids)
    return out


def prompt_token_ids(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of each prompt (with the tokenizer's special tokens); empty prompts raise."""
    encoded = tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
    out = []
    bos = getattr(tokenizer, "bos_token_id", None)
    for i, ids in enumerate(encoded):
        ids = list(ids)
        if not ids:
            if bos is None:
                raise ValueError(f"prompts[{i}] tokenizes to no tokens")
            ids = [int(bos)]
        out.append(ids)
    return out


def unique_prompts(prompts: Sequence[str]) -> tuple[list[str], torch.Tensor]:
    """The distinct prompts in first-seen order and, per prompt, its row among them.

    Scoring runs the LM once per distinct prompt: a rollout repeats prompts (in one
    GoToRedBallNoDists iteration 256 queries hold ~100 distinct ones), and gathering the
    rows back gives the same values and, through ``index_select``, the same gradients.
    """
    rows: dict[str, int] = {}
    inverse = [rows.setdefault(p, len(rows)) for p in prompts]
    return list(rows), torch.tensor(inverse, dtype=torch.long)


def _padded(rows: Sequence[Sequence[int]], pad: int, *, left: bool, device: Any):
    """(ids, mask) int64 tensors of the rows padded to the longest one."""
    n, width = len(rows), max(len(r) for r in rows)
    ids = torch.full((n, width), pad, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, r in enumerate(rows):
        if left:
            ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
            mask[i, width - len(r) :] = 1
        else:
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)


def batched_action_scores(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    action_ids: Sequence[Sequence[int]],
    *,
    pad_id: int = 0,
    return_hidden: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Sum of action-token log-probs, (B, A) float32, each prompt run once; grads flow.

    With ``return_hidden`` also returns the (B, H) last-layer hidden state the GLAM value
    head reads: the last prompt token (causal) or the first decoder position (seq2seq).
    """
    device = next(model.parameters()).device
    n_prompts, n_actions = len(prompt_ids), len(action_ids)
    acts, amask = _padded(action_ids, pad_id, left=False, device=device)  # (A, L)
    width = acts.shape[1]
    if _is_seq2seq(model):
        ids, mask = _padded(prompt_ids, pad_id, left=False, device=device)
        encoder = _base_model(model).get_encoder()
        enc = encoder(input_ids=ids, attention_mask=mask)
        states = enc.last_hidden_state.repeat_interleave(n_actions, dim=0)
        start = torch.full((n_actions, 1), _decoder_start_id(model), device=device)
        dec_in = torch.cat([start, acts[:, :-1]], dim=1).repeat(n_prompts, 1)
        dec_mask = torch.cat([torch.ones_like(start), amask[:, :-1]], dim=1).repeat(n_prompts, 1)
        out = model(
            encoder_outputs=(states,),
            attention_mask=mask.repeat_interleave(n_actions, dim=0),
            decoder_input_ids=dec_in,
            decoder_attention_mask=dec_mask,
            use_cache=False,
            output_hidden_states=return_hidden,
        )
        logp = torch.log_softmax(out.logits.float(), dim=-1)  # (B*A, L, V)
        targets = acts.repeat(n_prompts, 1)
        tok = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        scores = (tok * amask.repeat(n_prompts, 1)).sum(-1).view(n_prompts, n_actions)
        hidden = out.decoder_hidden_states[-1][::n_actions, 0] if return_hidden else None
        return scores, hidden

    ids, mask = _padded(prompt_ids, pad_id, left=True, device=device)
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    cache_arg = _cache_kwarg(model)
    # only the last prompt position's logits are needed: skip the LM head elsewhere
    keep = {"logits_to_keep": 1} if "logits_to_keep" in _forward_params(model) else {}
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=width > 1,
        output_hidden_states=return_hidden,
        **keep,
    )
    first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # (B, V)
    scores = first[:, acts[:, 0]]  # (B, A)
    hidden = out.hidden_states[-1][:, -1] if return_hidden else None
    if width > 1:
        cache = _repeat_cache(_output_cache(out), n_actions)
        lengths = mask.sum(1).repeat_interleave(n_actions)  # (B*A,)
        feed = acts[:, :-1].repeat(n_prompts, 1)  # (B*A, L-1)
        cont_mask = torch.cat(
            [mask.repeat_interleave(n_actions, dim=0), amask[:, :-1].repeat(n_prompts, 1)], dim=1
        )
        cont_pos = lengths.unsqueeze(1) + torch.arange(width - 1, device=device)
        out2 = model(
            input_ids=feed,
            attention_mask=cont_mask,
            position_ids=cont_pos,
            use_cache=True,
            **{cache_arg: cache},
        )
        logp = torch.log_softmax(out2.logits.float(), dim=-1)  # (B*A, L-1, V)
        rest = logp.gather(-1, acts[:, 1:].repeat(n_prompts, 1).unsqueeze(-1)).squeeze(-1)
        rest = (rest * amask[:, 1:].repeat(n_prompts, 1)).sum(-1).view(n_prompts, n_actions)
        scores = scores + rest
    return scores, hidden


def naive_action_scores(
    model: Any, prompt_ids: Sequence[Sequence[int]], action_ids: Sequence[Sequence[int]]
) -> torch.Tensor:
    """Reference scores (no grad): one unpadded, uncached forward per (prompt, action) pair."""
    device = next(model.parameters()).device
    seq2seq = _is_seq2seq(model)
    scores = torch.zeros((len(prompt_ids), len(action_ids)), dtype=torch.float32)
    with torch.no_grad():
        _naive_fill(model, prompt_ids, action_ids, scores, seq2seq, device)
    return scores


def _naive_fill(model, prompt_ids, action_ids, scores, seq2seq, device) -> None:
    for i, p in enumerate(prompt_ids):
        for j, a in enumerate(action_ids):
            if seq2seq:
                dec = [_decoder_start_id(model)] + list(a[:-1])
                logits = model(
                    input_ids=torch.tensor([list(p)], device=device),
                    decoder_input_ids=torch.tensor([dec], device=device),
                    use_cache=False,
                ).logits[0]
                logp = torch.log_softmax(logits.float(), dim=-1)
                scores[i, j] = sum(logp[k, t] for k, t in enumerate(a))
            else:
                seq = torch.tensor([list(p) + list(a)], device=device)
                logits = model(input_ids=seq, use_cache=False).logits[0]
                logp = torch.log_softmax(logits.float(), dim=-1)
                scores[i, j] = sum(logp[len(p) - 1 + k, t] for k, t in enumerate(a))


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
    parameters of the version it reports.
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
        self.name: str = name or getattr(getattr(model, "config", None), "_name_or_path", "") or "lm"
        self.lock: threading.RLock = threading.RLock()
        self.is_seq2seq: bool = _is_seq2seq(model)
        self._pad_id = _pad_id(tokenizer)
        self._action_ids = action_token_ids(tokenizer, actions, seq2seq=self.is_seq2seq)

    # -- properties ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device the model's parameters live on."""
        return next(self.model.parameters()).device

    @property
    def hidden_size(self) -> int:
        """Width of the hidden state the value head reads."""
        cfg = _base_model(self.model).config.get_text_config(decoder=True)
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
    def action_scores(self, prompts: Sequence[str], *, naive: bool = False) -> torch.Tensor:
        """Unnormalised scores: sum of token log-probs per action, (B, A), no grad."""
        prompts = _check_prompts(prompts)
        if not prompts:
            return torch.zeros((0, len(self.actions)))
        unique, inverse = unique_prompts(prompts)
        with self.lock, torch.inference_mode():
            chunks = []
            for start in range(0, len(unique), self.batch_size):
                ids = prompt_token_ids(self.tokenizer, unique[start : start + self.batch_size])
                if naive:
                    chunks.append(naive_action_scores(self.model, ids, self._action_ids))
                else:
                    scores, _ = batched_action_scores(
                        self.model, ids, self._action_ids, pad_id=self._pad_id
                    )
                    chunks.append(scores)
            return torch.cat(chunks).float().cpu()[inverse]

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
        unique, inverse = unique_prompts(prompts)
        logps, hiddens = [], []
        for start in range(0, len(unique), self.batch_size):
            ids = prompt_token_ids(self.tokenizer, unique[start : start + self.batch_size])
            scores, hidden = batched_action_scores(
                self.model, ids, self._action_ids, pad_id=self._pad_id, return_hidden=return_hidden
            )
            logps.append(torch.log_softmax(scores / self.temperature, dim=-1))
            hiddens.append(hidden)
        index = inverse.to(logps[0].device)
        logp = torch.cat(logps).index_select(0, index)
        if not return_hidden:
            return logp
        return logp, torch.cat(hiddens).index_select(0, index)

    def __repr__(self) -> str:
        kind = "seq2seq" if self.is_seq2seq else "causal"
        return (
            f"Teacher({self.name!r}, {kind}, actions={len(self.actions)}, version={self.version})"
        )
