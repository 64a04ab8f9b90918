"""Teacher prompts and action scoring: batched (KV-expanded / encoder-repeated) vs naive."""

from __future__ import annotations

import bidir_core
import numpy as np
import pytest
import torch
from bidir_core.teacher.prompt import (
    ACTION_STRINGS,
    DEFAULT_ACTIONS,
    actions_for_task,
    env_prompts,
    make_prompt,
    make_prompts,
)
from bidir_core.teacher.policy import Teacher
from bidir_core.teacher.scoring import naive_action_scores, prompt_token_ids
from teacher_models import PROMPTS, count_scored_prompts, make_model, tokenizer
from conftest import CORE_TASKS

torch.set_num_threads(1)
KINDS = ["llama", "gpt2", "t5"]


def test_prompt_format():
    prompt = make_prompt("go to the red ball", ["You see a wall 2 steps left", "You carry a key"])
    assert prompt == (
        "Goal of the agent: go to the red ball\n"
        "Observation: You see a wall 2 steps left, You carry a key\nAction:"
    )
    with pytest.raises(ValueError, match="same length"):
        make_prompts(["a", "b"], [["x"]])
    with pytest.raises(TypeError, match="sentences"):
        make_prompt("go", "You see a wall")


def test_action_strings_are_the_minigrid_action_ids():
    assert ACTION_STRINGS == bidir_core.ACTION_NAMES
    assert DEFAULT_ACTIONS == ACTION_STRINGS[:6]
    assert actions_for_task("BabyAI-GoToRedBallNoDists-v0") == DEFAULT_ACTIONS


@pytest.mark.parametrize("task", CORE_TASKS)
def test_vocabulary_covers_every_task_text(task):
    env = bidir_core.make_vec(task, 16, seed=3)
    env.reset()
    tok = tokenizer()
    for _ in range(20):
        ids = prompt_token_ids(tok, env_prompts(env))
        unknown = [p for p, i in zip(env_prompts(env), ids) if tok.unk_token_id in i]
        assert not unknown, unknown[:1]
        env.step(env.expert_actions())


@pytest.mark.parametrize("kind", KINDS)
def test_batched_scores_equal_naive_reference(kind):
    teacher = Teacher(make_model(kind), tokenizer(), batch_size=8)
    batched = teacher.action_scores(PROMPTS)
    naive = teacher.action_scores(PROMPTS, naive=True)
    assert batched.shape == (len(PROMPTS), 6)
    torch.testing.assert_close(batched, naive, atol=2e-5, rtol=1e-5)
    # prompts of different lengths really were padded together, and scores differ per prompt
    lengths = {len(ids) for ids in prompt_token_ids(teacher.tokenizer, PROMPTS)}
    assert len(lengths) == len(PROMPTS)
    assert not torch.allclose(batched[0], batched[3])


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_scores_do_not_depend_on_batch_composition(kind):
    teacher = Teacher(make_model(kind), tokenizer(), batch_size=2)
    together = teacher.action_scores(PROMPTS)
    alone = torch.cat([teacher.action_scores([p]) for p in PROMPTS])
    torch.testing.assert_close(together, alone, atol=2e-5, rtol=1e-5)


def test_single_token_actions_skip_the_continuation_pass():
    teacher = Teacher(make_model("llama"), tokenizer(), actions=("drop", "toggle", "done"))
    torch.testing.assert_close(
        teacher.action_scores(PROMPTS), teacher.action_scores(PROMPTS, naive=True)
    )


def test_scores_are_sums_of_token_log_probabilities():
    """An independent computation: chain rule over the full text, probabilities not logits."""
    model, tok = make_model("llama"), tokenizer()
    teacher = Teacher(model, tok)
    prompt = PROMPTS[1]
    for j, action in enumerate(teacher.actions):
        full = tok(prompt + " " + action)["input_ids"]
        n_prompt = len(tok(prompt)["input_ids"])
        with torch.no_grad():
            probs = torch.softmax(model(torch.tensor([full])).logits[0], dim=-1)
        expected = sum(float(torch.log(probs[k - 1, full[k]])) for k in range(n_prompt, len(full)))
        assert teacher.action_scores([prompt])[0, j].item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_logprobs_are_normalised_float32(kind):
    teacher = Teacher(make_model(kind), tokenizer())
    logp = teacher.action_logprobs(PROMPTS)
    assert logp.dtype == np.float32 and logp.shape == (len(PROMPTS), 6)
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, atol=1e-5)
    scores = naive_action_scores(
        teacher.model, prompt_token_ids(teacher.tokenizer, PROMPTS), teacher._action_ids
    )
    np.testing.assert_allclose(logp, torch.log_softmax(scores, -1).numpy(), atol=1e-5)
    assert teacher.action_logprobs([]).shape == (0, 6)


def test_temperature():
    teacher = Teacher(make_model("llama"), tokenizer())
    scores = teacher.action_scores(PROMPTS)
    teacher.set_temperature(2.5)
    logp = teacher.action_logprobs(PROMPTS)
    np.testing.assert_allclose(logp, torch.log_softmax(scores / 2.5, -1).numpy(), atol=1e-5)
    cold = Teacher(make_model("llama"), tokenizer(), temperature=0.05).action_logprobs(PROMPTS)
    hot = Teacher(make_model("llama"), tokenizer(), temperature=50.0).action_logprobs(PROMPTS)
    entropy = lambda lp: -(np.exp(lp) * lp).sum(1)
    assert (entropy(cold) < entropy(logp)).all() and (entropy(logp) < entropy(hot)).all()
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            teacher.set_temperature(bad)


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_tensor_version_has_grad_and_matches(kind):
    teacher = Teacher(make_model(kind), tokenizer(), temperature=1.5)
    logp, hidden = teacher.action_logprobs_tensor(PROMPTS, return_hidden=True)
    assert logp.requires_grad and hidden.shape == (len(PROMPTS), teacher.hidden_size)
    np.testing.assert_allclose(logp.detach().numpy(), teacher.action_logprobs(PROMPTS), atol=1e-5)
    logp[:, 2].sum().backward()
    grads = [p.grad for p in teacher.model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_repeated_prompts_run_once_with_the_same_values_and_gradients(kind, monkeypatch):
    from bidir_core.teacher import scoring

    model = make_model(kind)
    teacher = Teacher(model, tokenizer(), batch_size=3)
    prompts = [PROMPTS[1], PROMPTS[0], PROMPTS[1], PROMPTS[2], PROMPTS[0], PROMPTS[1]]
    unique, inverse = scoring.unique_prompts(prompts)
    assert unique == [PROMPTS[1], PROMPTS[0], PROMPTS[2]]
    assert inverse.tolist() == [0, 1, 0, 2, 1, 0]
    scored = count_scored_prompts(monkeypatch)
    rows = teacher.action_logprobs(prompts)
    assert sum(scored) == 3
    np.testing.assert_allclose(rows, teacher.action_logprobs(unique)[inverse.numpy()], atol=1e-6)
    # the gradient through the gathered rows is the gradient of the repeated rows
    weights = torch.arange(1.0, 1.0 + len(prompts) * len(teacher.actions)).view(len(prompts), -1)
    grads = []
    for batch in (prompts, None):
        model.zero_grad()
        if batch is None:  # one prompt at a time: no sharing at all
            loss = sum(
                (teacher.action_logprobs_tensor([p]) * weights[i]).sum()
                for i, p in enumerate(prompts)
            )
        else:
            loss = (teacher.action_logprobs_tensor(batch) * weights).sum()
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    for shared, alone in zip(*grads, strict=True):
        torch.testing.assert_close(shared, alone, rtol=1e-3, atol=1e-4)
    _, hidden = teacher.action_logprobs_tensor(prompts, return_hidden=True)
    torch.testing.assert_close(hidden[2], hidden[0])


def test_chunked_batches_match():
    model, tok = make_model("gpt2"), tokenizer()
    whole = Teacher(model, tok, batch_size=64).action_logprobs(PROMPTS * 3)
    chunked = Teacher(model, tok, batch_size=5).action_logprobs(PROMPTS * 3)
    np.testing.assert_allclose(whole, chunked, atol=1e-5)


def test_bad_input():
    teacher = Teacher(make_model("llama"), tokenizer())
    with pytest.raises(TypeError, match="not a single str"):
        teacher.action_logprobs(PROMPTS[0])
    with pytest.raises(TypeError, match=r"prompts\[1\]"):
        teacher.action_logprobs([PROMPTS[0], 3])
    with pytest.raises(ValueError, match="distinct"):
        Teacher(make_model("llama"), tokenizer(), actions=("go forward", "go forward"))
    with pytest.raises(ValueError, match="batch_size"):
        Teacher(make_model("llama"), tokenizer(), batch_size=0)


def test_versioned_logprobs_report_the_version():
    teacher = Teacher(make_model("llama"), tokenizer())
    assert teacher.action_logprobs_versioned(PROMPTS[:1])[1] == 0
    teacher.bump_version()
    logp, version = teacher.action_logprobs_versioned(PROMPTS[:1])
    assert version == 1 and logp.shape == (1, 6)


def test_python_prompts_equal_the_envs_prompts():
    env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 8, seed=5)
    env.reset()
    expected = make_prompts(env.missions(), env.descriptions())
    assert env_prompts(env) == expected
    if hasattr(env, "prompts"):  # built in C++
        assert env.prompts() == expected
