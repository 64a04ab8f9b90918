"""The word-level tokenizer of the embedded ``tiny`` teacher, over the BabyAI vocabulary.

Every word the prompts of our tasks can contain (prompt frame, BabyAI-Text sentences,
missions of the BabyAI/MiniGrid families, action strings; the list is C++'s
``_core.PROMPT_WORDS``) gets one id: the sorted word set after four special tokens, so it
is the same on every machine.
Text is lower-cased and split on whitespace and punctuation; unknown words map to <unk>.
"""

from __future__ import annotations

from typing import Any

from bidir_core import _core

__all__ = ["SPECIAL_TOKENS", "babyai_tokenizer", "babyai_words"]

SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "</s>", "<unk>", "<s>")

def babyai_words() -> list[str]:
    """Return the sorted BabyAI vocabulary (without special tokens; from C++ ``vocab.h``)."""
    return list(_core.PROMPT_WORDS)


def babyai_tokenizer() -> Any:
    """Build the deterministic word-level BabyAI tokenizer (pad 0, eos 1, unk 2, bos 3)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in babyai_words():
        vocab[word] = len(vocab)
    backend = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        bos_token="<s>",
        model_max_length=512,
    )
