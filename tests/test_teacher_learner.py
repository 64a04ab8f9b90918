"""Teacher fine-tuning: PPO moves πT toward rewarded actions; value head; LoRA."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from bidir_core.teacher.learner import TeacherPPO, TeacherPPOConfig, ValueHead, apply_lora
from bidir_core.teacher.policy import Teacher
from teacher_models import PROMPTS, count_scored_prompts, make_model, tokenizer

torch.set_num_threads(1)


def _ppo_round(learner, action, advantage):
    teacher = learner.teacher
    old = teacher.action_logprobs(PROMPTS)
    n = len(PROMPTS)
    stats = learner.update(
        PROMPTS, np.full(n, action), np.full(n, advantage, np.float32), old[:, action]
    )
    return old, teacher.action_logprobs(PROMPTS), stats


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_positive_advantage_raises_the_rewarded_action(kind):
    teacher = Teacher(make_model(kind), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(learning_rate=3e-3, update_epochs=3, minibatch_size=2))
    old, new, stats = _ppo_round(learner, action=4, advantage=1.0)
    assert (new[:, 4] > old[:, 4]).all()
    assert teacher.version == 3 * 2 and stats["version"] == 6
    assert 0.0 <= stats["clipfrac"] <= 1.0 and np.isfinite(stats["policy_loss"])


def test_negative_advantage_lowers_the_action():
    teacher = Teacher(make_model("gpt2"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(learning_rate=3e-3, update_epochs=2))
    old, new, _ = _ppo_round(learner, action=2, advantage=-1.0)
    assert (new[:, 2] < old[:, 2]).all()


def test_ratio_clipping_stops_the_update():
    """With old log-probs far below the current ones, every ratio is clipped: no gradient."""
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(learning_rate=1e-2, update_epochs=1, ent_coef=0.0))
    before = teacher.action_logprobs(PROMPTS)
    n = len(PROMPTS)
    stats = learner.update(PROMPTS, np.zeros(n, int), np.ones(n), before[:, 0] - 5.0)
    assert stats["clipfrac"] == 1.0
    np.testing.assert_allclose(teacher.action_logprobs(PROMPTS), before, atol=1e-6)


@pytest.mark.parametrize("n_unique", [1, 3, 7, 40])
def test_grouped_minibatches_keep_each_prompt_whole(n_unique):
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(minibatch_size=16))
    rng = np.random.default_rng(n_unique)
    prompts = [f"prompt {i}" for i in rng.integers(0, n_unique, 50)]
    for _ in range(3):
        batches = learner._minibatches(prompts)
        # as many steps as random minibatches would take
        assert len(batches) == 4
        seen = torch.cat(batches).sort().values
        assert seen.tolist() == list(range(50))
        if len(set(prompts)) < 4:  # too few prompts to group: random slices
            assert [len(b) for b in batches] == [16, 16, 16, 2]
            continue
        owners = {}
        for b, idx in enumerate(batches):
            assert len(idx) > 0
            for i in idx.tolist():
                assert owners.setdefault(prompts[i], b) == b


def test_ungrouped_minibatches_are_random_slices():
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(minibatch_size=16, group_prompts=False))
    batches = learner._minibatches(["same prompt"] * 50)
    assert [len(b) for b in batches] == [16, 16, 16, 2]
    assert torch.cat(batches).sort().values.tolist() == list(range(50))


def test_grouped_update_runs_the_lm_once_per_distinct_prompt(monkeypatch):
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(learning_rate=3e-3, update_epochs=2, minibatch_size=4))
    prompts = (PROMPTS * 4)[:14]
    n = len(prompts)
    scored = count_scored_prompts(monkeypatch)
    old = teacher.action_logprobs(prompts)
    scored.clear()
    learner.update(prompts, np.full(n, 3), np.ones(n, np.float32), old[:, 3])
    assert sum(scored) == 2 * len(set(prompts))
    assert teacher.version == 2 * -(-n // 4)
    assert (teacher.action_logprobs(prompts)[:, 3] > old[:, 3]).all()


@pytest.mark.parametrize("value_head", [False, True])
def test_micro_batches_make_the_same_step_in_parts(value_head):
    """micro_batch splits each step's forward and backward by distinct prompts: the
    gradients add up to the whole minibatch's (advantages normalised per minibatch)."""
    prompts = (PROMPTS * 3)[:10]
    n = len(prompts)
    rng = np.random.default_rng(0)
    actions, adv = rng.integers(0, 6, n), rng.normal(size=n).astype(np.float32)
    returns = rng.normal(size=n).astype(np.float32)
    after, stats = [], []
    for micro in (None, 1, 3):
        torch.manual_seed(0)
        teacher = Teacher(make_model("llama"), tokenizer())
        learner = TeacherPPO(teacher, TeacherPPOConfig(
            learning_rate=3e-3, update_epochs=2, minibatch_size=5, norm_adv=True,
            value_head=value_head, value_width=16, micro_batch=micro))
        logp = teacher.action_logprobs(prompts)
        stats.append(learner.update(prompts, actions, adv, logp[np.arange(n), actions],
                                    returns=returns if value_head else None))
        after.append(teacher.action_logprobs(prompts))
    for other, other_stats in zip(after[1:], stats[1:]):
        np.testing.assert_allclose(other, after[0], atol=1e-5)
        for key, value in stats[0].items():
            assert other_stats[key] == pytest.approx(value, abs=1e-5), key


@pytest.mark.slow
def test_fit_targets_moves_a_sure_pi_t_to_the_targets():
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(learning_rate=1e-2, update_epochs=2, minibatch_size=2))
    n, k = len(PROMPTS), len(teacher.actions)
    sure = np.zeros((n, k))
    sure[:, 0] = 1.0
    for _ in range(6):
        stats = learner.fit_targets(PROMPTS, sure)
    assert stats["version"] == teacher.version == 6 * 2 * 2
    assert (np.exp(teacher.action_logprobs(PROMPTS)[:, 0]) > 0.99).all()
    # from there, each prompt moves to its own target, and KL(q || piT) falls
    target = np.full((n, k), 0.05)
    target[np.arange(n), np.arange(n) % k] = 1 - 0.05 * (k - 1)
    first = learner.fit_targets(PROMPTS, target)
    for _ in range(8):
        last = learner.fit_targets(PROMPTS, target)
    assert last["policy_loss"] < first["policy_loss"]
    moved = np.exp(teacher.action_logprobs(PROMPTS))[np.arange(n), np.arange(n) % k]
    assert (moved[1:] > 0.3).all(), moved  # prompt 0's target action is the sure one


def test_fit_targets_rejects_bad_targets():
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher)
    n, k = len(PROMPTS), len(teacher.actions)
    good = np.full((n, k), 1.0 / k)
    with pytest.raises(ValueError, match=r"targets must have shape"):
        learner.fit_targets(PROMPTS, good[:, :-1])
    with pytest.raises(ValueError, match="sum to 1"):
        learner.fit_targets(PROMPTS, good * 2)
    bad = good.copy()
    bad[0, 0] = -0.1
    bad[0, 1] += 0.1
    with pytest.raises(ValueError, match=">= 0"):
        learner.fit_targets(PROMPTS, bad)
    with pytest.raises(TypeError, match="not a str"):
        learner.fit_targets(PROMPTS[0], good[:1])
    with pytest.raises(ValueError, match="at least one"):
        learner.fit_targets([], np.zeros((0, k)))
    assert teacher.version == 0


@pytest.mark.slow
def test_value_head_is_glams_mlp_and_learns_returns():
    head = ValueHead(32, width=16)
    kinds = [type(m).__name__ for m in head.net]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert head(torch.zeros(5, 32)).shape == (5,)

    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(
        teacher, TeacherPPOConfig(value_head=True, value_width=64, update_epochs=1, head_lr=1e-2, learning_rate=1e-3)
    )
    logp, values = learner.evaluate(PROMPTS)
    assert logp.shape == (4, 6) and values.shape == (4,) and values.dtype == np.float32
    returns = np.array([1.0, -1.0, 0.5, 0.0], np.float32)
    n = len(PROMPTS)
    losses = [
        learner.update(PROMPTS, np.zeros(n, int), np.zeros(n), logp[:, 0], returns=returns)[
            "value_loss"
        ]
        for _ in range(60)
    ]
    # below 0.27, the loss of the best constant: the head tells the prompts apart
    assert losses[-1] < 0.1 < losses[0]
    with pytest.raises(ValueError, match="returns"):
        learner.update(PROMPTS, np.zeros(n, int), np.zeros(n), logp[:, 0])


def test_seq2seq_value_head_reads_the_decoder():
    teacher = Teacher(make_model("t5"), tokenizer())
    learner = TeacherPPO(teacher, TeacherPPOConfig(value_head=True, value_width=8))
    _, values = learner.evaluate(PROMPTS)
    assert values.shape == (4,) and np.isfinite(values).all()


def test_lora_trains_only_the_adapters():
    teacher = Teacher(make_model("llama"), tokenizer())
    base = {k: v.clone() for k, v in teacher.model.state_dict().items()}
    learner = TeacherPPO(teacher, TeacherPPOConfig(lora=True, lora_r=4, learning_rate=1e-2, update_epochs=3))
    assert hasattr(teacher.model, "peft_config")
    old, new, _ = _ppo_round(learner, action=1, advantage=1.0)
    assert (new[:, 1] > old[:, 1]).all()
    unchanged = teacher.model.get_base_model().state_dict()
    for name, value in base.items():
        key = name.replace("q_proj.weight", "q_proj.base_layer.weight").replace(
            "v_proj.weight", "v_proj.base_layer.weight"
        )
        torch.testing.assert_close(unchanged[key], value, rtol=0, atol=0)


def test_lora_without_peft_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)
    teacher = Teacher(make_model("llama"), tokenizer())
    with pytest.raises(ImportError, match=r"pip install bidir_core\[lora\]"):
        apply_lora(teacher)


def test_bad_updates_raise():
    teacher = Teacher(make_model("llama"), tokenizer())
    learner = TeacherPPO(teacher)
    n = len(PROMPTS)
    with pytest.raises(ValueError, match="actions must have shape"):
        learner.update(PROMPTS, np.zeros(n + 1, int), np.zeros(n), np.zeros(n))
    with pytest.raises(ValueError, match=r"actions must be in \[0, 6\)"):
        learner.update(PROMPTS, np.full(n, 6), np.zeros(n), np.zeros(n))
    with pytest.raises(TypeError, match="actions must be integers"):
        learner.update(PROMPTS, np.zeros(n), np.zeros(n), np.zeros(n))
    with pytest.raises(ValueError, match="advantages must be finite"):
        learner.update(PROMPTS, np.zeros(n, int), np.full(n, np.nan), np.zeros(n))
    with pytest.raises(TypeError, match="not a str"):
        learner.update(PROMPTS[0], [0], [0.0], [0.0])
    with pytest.raises(ValueError, match="update needs at least one sample"):
        learner.update([], [], [], [])
    with pytest.raises(ValueError, match="TeacherPPOConfig.learning_rate"):
        TeacherPPOConfig(learning_rate=0.0)
    assert teacher.version == 0
