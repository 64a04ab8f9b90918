"""A language model's scores of candidate action strings, the logits of the teacher policy.

Each candidate action a is scored by the sum of the log-probabilities (log-softmax over
the vocabulary, not raw logits) of its tokens as the continuation of prompt x; πT
(``bidir_core.teacher.policy.Teacher``) is the softmax of these scores over the
candidates, divided by a temperature.

Batched scoring never recomputes a prompt per action:

* causal LMs run the token prefix every prompt of the batch shares once
  (``bidir_core.teacher.prefix``), then the rest of each left-padded prompt once with a
  key/value cache, repeat the cache
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
from collections.abc import Sequence
from typing import Any

import torch

from bidir_core.teacher.prefix import PrefixStore, expand_prefix, shared_prefix

__all__ = [
    "action_token_ids",
    "base_model",
    "batched_action_scores",
    "is_seq2seq",
    "naive_action_scores",
    "prompt_token_ids",
    "tokenizer_pad_id",
    "unique_prompts",
]


def base_model(model: Any) -> Any:
    """The underlying Transformers model (unwraps peft adapters)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _forward_params(model: Any) -> Any:
    return inspect.signature(type(base_model(model)).forward).parameters


def _cache_kwarg(model: Any) -> str:
    """Name of the key/value-cache argument of the model's forward (renamed in Transformers 5)."""
    return "cache" if "cache" in _forward_params(model) else "past_key_values"


def _last_logits_only(model: Any, width: int, device: Any) -> dict[str, Any]:
    """The forward kwargs that skip the LM head on all but the last of ``width`` input
    positions (if supported).

    The position is kept by index, which copies the hidden states into a contiguous
    tensor: a strided slice (``logits_to_keep=1``) sends the LM head of a frozen model
    (LoRA) through a batched matmul that copies its whole weight matrix for every row (3x
    slower scoring of smollm2 in bfloat16)."""
    if "logits_to_keep" not in _forward_params(model):
        return {}
    return {"logits_to_keep": torch.tensor([width - 1], device=device)}


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


def is_seq2seq(model: Any) -> bool:
    """Whether the model is an encoder-decoder (seq2seq) LM."""
    return bool(getattr(base_model(model).config, "is_encoder_decoder", False))


def _decoder_start_id(model: Any) -> int:
    cfg = base_model(model).config
    start = getattr(cfg, "decoder_start_token_id", None)
    if start is None:
        gen = getattr(base_model(model), "generation_config", None)
        start = getattr(gen, "decoder_start_token_id", None)
    if start is None:
        start = getattr(cfg, "pad_token_id", None)
    if start is None:
        raise ValueError("the seq2seq model's config has no decoder_start_token_id")
    return int(start)


def tokenizer_pad_id(tokenizer: Any) -> int:
    """The id that pads a batch: the tokenizer's pad token, else EOS, else UNK, else 0."""
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
    share_prefix: bool = True,
    prefix_store: PrefixStore | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Sum of action-token log-probs, (B, A) float32, each prompt run once; grads flow.

    With ``return_hidden`` also returns the (B, H) last-layer hidden state the GLAM value
    head reads: the last prompt token (causal) or the first decoder position (seq2seq).
    Causal LMs run the token prefix all prompts share once (``share_prefix``), reusing the
    cache in ``prefix_store`` when given (only without gradients).
    """
    device = next(model.parameters()).device
    n_prompts, n_actions = len(prompt_ids), len(action_ids)
    acts, amask = _padded(action_ids, pad_id, left=False, device=device)  # (A, L)
    width = acts.shape[1]
    if is_seq2seq(model):
        ids, mask = _padded(prompt_ids, pad_id, left=False, device=device)
        encoder = base_model(model).get_encoder()
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

    n_shared, layers = shared_prefix(model, prompt_ids, prefix_store) if share_prefix else (0, None)
    ids, mask = _padded([r[n_shared:] for r in prompt_ids], pad_id, left=True, device=device)
    positions = n_shared + (mask.cumsum(1) - 1).clamp(min=0)
    cache_arg = _cache_kwarg(model)
    keep = _last_logits_only(model, ids.shape[1], device)
    if layers is not None:
        keep[cache_arg] = expand_prefix(layers, n_shared, n_prompts)
        mask = torch.cat([mask.new_ones((n_prompts, n_shared)), mask], dim=1)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=width > 1 or layers is not None,
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
    seq2seq = is_seq2seq(model)
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
