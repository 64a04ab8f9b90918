"""The shared-prefix key/value cache of causal LM scoring (``bidir_core.teacher.prefix``)."""

from __future__ import annotations

import pytest
import torch
from bidir_core.teacher import prefix, scoring
from bidir_core.teacher.policy import Teacher
from bidir_core.teacher.prefix import PrefixStore, shared_prefix_length
from bidir_core.teacher.samples import oracle_samples
from bidir_core.teacher.scoring import batched_action_scores, prompt_token_ids
from teacher_models import make_model, tokenizer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def glam_prompts() -> list[str]:
    prompts, _ = oracle_samples("BabyAI-GoToRedBallNoDists-v0", 24, seed=5, prompt_style="glam")
    return prompts


def test_shared_prefix_length_leaves_every_row_a_token():
    assert shared_prefix_length([[1, 2, 3], [1, 2, 4]]) == 2
    assert shared_prefix_length([[1, 2], [1, 2, 3]]) == 1
    assert shared_prefix_length([[5, 6, 7]]) == 2
    assert shared_prefix_length([[1, 2], [3, 4]]) == 0
    assert shared_prefix_length([]) == 0


def _record_widths(monkeypatch, model) -> list[int]:
    widths: list[int] = []
    real = model.forward

    def forward(*args, **kwargs):
        widths.append(int(kwargs["input_ids"].shape[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "forward", forward)
    return widths


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_glam_prompts_score_the_same_with_the_prefix_shared(kind, glam_prompts, monkeypatch):
    model, tok = make_model(kind), tokenizer()
    ids = prompt_token_ids(tok, glam_prompts)
    acts = scoring.action_token_ids(tok, Teacher(model, tok).actions, seq2seq=False)
    shared = shared_prefix_length(ids)
    assert shared >= 20  # the header and the goal
    widths = _record_widths(monkeypatch, model)
    with torch.no_grad():
        whole, _ = batched_action_scores(model, ids, acts, share_prefix=False)
        assert widths == [max(map(len, ids)), 1]  # prompts, then the action continuation
        widths.clear()
        split, _ = batched_action_scores(model, ids, acts)
    # the prefix alone, then only the rest of each prompt, then the continuation
    assert widths == [shared, max(map(len, ids)) - shared, 1]
    torch.testing.assert_close(split, whole, atol=2e-5, rtol=1e-5)
    naive = scoring.naive_action_scores(model, ids[:6], acts)
    torch.testing.assert_close(split[:6], naive, atol=2e-5, rtol=1e-5)


def test_gradients_are_the_same_with_the_prefix_shared(glam_prompts):
    model, tok = make_model("llama"), tokenizer()
    ids = prompt_token_ids(tok, glam_prompts[:8])
    acts = scoring.action_token_ids(tok, Teacher(model, tok).actions, seq2seq=False)
    grads = []
    for share in (False, True):
        model.zero_grad(set_to_none=True)
        scores, hidden = batched_action_scores(
            model, ids, acts, share_prefix=share, return_hidden=True
        )
        (torch.log_softmax(scores, -1)[:, 2].sum() + hidden.square().sum()).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_the_store_is_reused_until_a_parameter_changes(glam_prompts):
    model = make_model("llama")
    teacher = Teacher(model, tokenizer(), batch_size=8)
    store = teacher.prefix_store
    first = teacher.action_scores(glam_prompts)
    computed = store.computed
    assert computed >= 1
    again = teacher.action_scores(glam_prompts)
    assert store.computed == computed and store.hits >= 1  # no new prefix forward
    torch.testing.assert_close(again, first)
    # an optimizer step changes the parameters in place: the stored prefix is stale
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.zero_grad()
    teacher.action_logprobs_tensor(glam_prompts[:4])[:, 0].sum().backward()
    opt.step()
    assert store.lookup(model, prompt_token_ids(teacher.tokenizer, glam_prompts)) == 0
    after = teacher.action_scores(glam_prompts)
    fresh = Teacher(model, tokenizer(), batch_size=8)
    fresh.prefix_store = PrefixStore()
    torch.testing.assert_close(after, fresh.action_scores(glam_prompts, naive=True),
                               atol=2e-5, rtol=1e-5)
    assert not torch.allclose(after, first)


def test_a_single_prompt_reuses_the_stored_prefix(glam_prompts):
    teacher = Teacher(make_model("llama"), tokenizer(), batch_size=8)
    teacher.action_scores(glam_prompts[:8])
    hits = teacher.prefix_store.hits
    one = teacher.action_scores([glam_prompts[20]])
    assert teacher.prefix_store.hits == hits + 1
    torch.testing.assert_close(one, teacher.action_scores([glam_prompts[20]], naive=True),
                               atol=2e-5, rtol=1e-5)


def test_a_sliding_window_model_scores_without_sharing(glam_prompts, monkeypatch):
    """A cache that is not plain per-layer tensors is not shared (checked once per model)."""
    model, tok = make_model("llama"), tokenizer()
    teacher = Teacher(model, tok, batch_size=8)
    monkeypatch.setattr(prefix, "_cache_tensors", lambda cache: None)
    scores = teacher.action_scores(glam_prompts)
    assert model in prefix._UNSHARABLE and teacher.prefix_store.computed == 0
    widths = _record_widths(monkeypatch, model)
    teacher.action_scores(glam_prompts[:8])
    assert len(widths) == 2  # no prefix forward tried again
    torch.testing.assert_close(scores, teacher.action_scores(glam_prompts, naive=True),
                               atol=2e-5, rtol=1e-5)
