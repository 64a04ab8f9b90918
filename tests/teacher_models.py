"""Tiny randomly initialised LMs of each kind for the teacher tests (no downloads)."""

from __future__ import annotations

import time

import bidir_core
import torch
from bidir_core.teacher.vocab import babyai_tokenizer

PROMPTS = [
    "Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps left\nAction:",
    (
        "Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps left, "
        "You see a red ball 1 step right and 3 steps forward\nAction:"
    ),
    "Goal of the agent: go to a blue key\nObservation: \nAction:",
    (
        "Goal of the agent: go to the green box\nObservation: You see a wall 6 steps forward, "
        "You see a wall 1 step right, You see a green box 2 steps left and 4 steps forward, "
        "You see a purple ball 1 step left\nAction:"
    ),
]


def tokenizer():
    """The word-level BabyAI tokenizer (pad 0, eos 1, unk 2, bos 3)."""
    return babyai_tokenizer()


def make_model(kind: str, seed: int = 0):
    """A tiny random LM: 'llama', 'gpt2' (causal) or 't5' (seq2seq)."""
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    vocab = len(tokenizer())
    torch.manual_seed(seed)
    if kind == "llama":
        cfg = LlamaConfig(
            vocab_size=vocab,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=3,
        )
        return LlamaForCausalLM(cfg).eval()
    if kind == "gpt2":
        cfg = GPT2Config(
            vocab_size=vocab,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=256,
            bos_token_id=3,
            eos_token_id=1,
            pad_token_id=0,
        )
        return GPT2LMHeadModel(cfg).eval()
    if kind == "t5":
        cfg = T5Config(
            vocab_size=vocab,
            d_model=32,
            d_ff=64,
            d_kv=8,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
        return T5ForConditionalGeneration(cfg).eval()
    raise ValueError(kind)


def wrong_state() -> str:
    """A GoToRedBallNoDists state where the shipped tiny teacher prefers "turn left" but the
    oracle says "turn right" (env 7 of seed 3)."""
    env = bidir_core.make_vec("BabyAI-GoToRedBallNoDists-v0", 8, seed=3)
    env.reset(seed=3)
    assert env.expert_actions()[7] == 1
    return env.prompts([7])[0]


def count_scored_prompts(monkeypatch) -> list[int]:
    """Record the number of prompts of every LM scoring call (``batched_action_scores``)."""
    from bidir_core.teacher import scoring

    calls: list[int] = []
    real = scoring.batched_action_scores

    def counted(model, prompt_ids, *args, **kwargs):
        calls.append(len(prompt_ids))
        return real(model, prompt_ids, *args, **kwargs)

    monkeypatch.setattr(scoring, "batched_action_scores", counted)
    return calls


def wait_for_hints(service, prompts: list[str], timeout: float = 60.0):
    """Submit the prompts (env i asks prompt i), again while some fail, until all are answered."""
    hashes = bidir_core._core.hash_prompts(prompts)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.submit(hashes, prompts)
        for _ in range(50):
            h = service.hints()
            if h.valid.all() and (h.age == 0).all():
                return h
            time.sleep(0.01)
    return service.hints()
