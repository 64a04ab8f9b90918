"""The student network, mission tokenizer and PPO loss against hand computations."""

from __future__ import annotations

import dataclasses
import math

import bidir_core
import numpy as np
import pytest
import torch
from bidir_core.rollout import RolloutBuffer
from bidir_core.student import (
    BABYAI_WORDS,
    ActorCritic,
    MissionTokenizer,
    PPOConfig,
    PPOLearner,
    ppo_loss,
)
from bidir_core.student.fused import FlatParameters
from bidir_core.student.ppo import MINIBATCH_FIELDS


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def random_inputs(b: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.stack(
        [
            torch.randint(0, 11, (b, 7, 7), generator=g),
            torch.randint(0, 6, (b, 7, 7), generator=g),
            torch.randint(0, 3, (b, 7, 7), generator=g),
        ],
        dim=-1,
    ).to(torch.uint8)
    direction = torch.randint(0, 4, (b,), generator=g)
    mission = torch.randint(0, len(BABYAI_WORDS), (b, 24), generator=g)
    hint = torch.softmax(torch.randn(b, 7, generator=g), -1)
    valid = torch.rand(b, generator=g) > 0.5
    return image, direction, mission, hint, valid


def test_network_shapes_and_dtypes():
    net = ActorCritic()
    logits, value = net(*random_inputs(5))
    assert logits.shape == (5, 7) and logits.dtype == torch.float32
    assert value.shape == (5,) and value.dtype == torch.float32
    x = net.features(*random_inputs(5))
    assert x.shape == (5, net.num_features) and x.dtype == torch.float32


def test_features_encode_every_input_by_hand():
    net = ActorCritic()
    image, direction, mission, hint, valid = random_inputs(3, seed=1)
    x = net.features(image, direction, mission, hint, valid)
    for b in range(3):
        expected = torch.zeros(net.num_features)
        for k in range(49):
            obj, color, state = image[b].reshape(49, 3)[k].tolist()
            expected[20 * k + obj] = 1
            expected[20 * k + 11 + color] = 1
            expected[20 * k + 17 + state] = 1
        expected[980 + int(direction[b])] = 1
        for w in mission[b].tolist():
            expected[984 + w] = 1
        start = 984 + len(BABYAI_WORDS)
        if valid[b]:
            expected[start : start + 7] = hint[b]
            expected[start + 7] = 1
        torch.testing.assert_close(x[b], expected)


def test_hint_is_ignored_unless_valid():
    net = ActorCritic()
    image, direction, mission, hint, _ = random_inputs(4)
    invalid = torch.zeros(4, dtype=torch.bool)
    a, _ = net(image, direction, mission, hint, invalid)
    b, _ = net(image, direction, mission, torch.zeros_like(hint), invalid)
    torch.testing.assert_close(a, b)
    c, _ = net(image, direction, mission, hint, ~invalid)
    assert not torch.allclose(a, c)


def test_tokenizer_words_padding_cache_and_errors():
    tok = MissionTokenizer(max_tokens=8)
    ids = tok.encode("go to the red ball")
    words = [BABYAI_WORDS[i] for i in ids[:5]]
    assert words == ["go", "to", "the", "red", "ball"] and (ids[5:] == 0).all()
    assert tok.encode("go to the zebra")[3] == 1  # unknown word
    env = bidir_core.make_vec("BabyAI-GoToLocal-v0", 6, seed=3)
    obs, _ = env.reset()
    out = np.full((6, 8), -1, np.int64)
    tok.encode_rows(obs["mission"], out)
    for row, mission in zip(out, env.missions()):
        np.testing.assert_array_equal(row, tok.encode(mission))
    out[:] = -1
    tok.encode_rows(obs["mission"], out, np.array([2, 4]))
    assert (out[[0, 1, 3, 5]] == -1).all() and (out[[2, 4]] >= 0).all()
    with pytest.raises(ValueError, match="more than max_tokens=2"):
        MissionTokenizer(max_tokens=2).encode("go to the red ball")


def hand_ppo_loss(logits, values, actions, old_lp, old_v, adv, ret, cfg):
    """The PPO loss written out element by element in plain Python."""
    n = len(actions)
    adv = list(adv)
    if cfg.norm_adv:
        mean = sum(adv) / n
        std = math.sqrt(sum((a - mean) ** 2 for a in adv) / (n - 1))
        adv = [(a - mean) / (std + 1e-8) for a in adv]
    pg, vl, ent = 0.0, 0.0, 0.0
    for i in range(n):
        z = [math.exp(v) for v in logits[i]]
        probs = [v / sum(z) for v in z]
        ratio = probs[actions[i]] / math.exp(old_lp[i])
        clipped = min(max(ratio, 1 - cfg.clip_coef), 1 + cfg.clip_coef)
        pg += max(-adv[i] * ratio, -adv[i] * clipped) / n
        v_clip = old_v[i] + min(max(values[i] - old_v[i], -cfg.clip_coef), cfg.clip_coef)
        vl += 0.5 * max((values[i] - ret[i]) ** 2, (v_clip - ret[i]) ** 2) / n
        ent += -sum(p * math.log(p) for p in probs) / n
    return pg - cfg.ent_coef * ent + cfg.vf_coef * vl, pg, vl, ent


def test_ppo_loss_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    n = 9
    logits = torch.randn(n, 7, generator=g)
    values = torch.randn(n, generator=g)
    actions = torch.randint(0, 7, (n,), generator=g)
    # Old log-probs near the new ones so that some ratios fall inside the clip range.
    old_lp = torch.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0] + 0.4 * torch.randn(
        n, generator=g
    )
    old_v = values + 0.4 * torch.randn(n, generator=g)
    adv, ret = torch.randn(n, generator=g), torch.randn(n, generator=g)
    cfg = PPOConfig(ent_coef=0.05, vf_coef=0.7, clip_coef=0.2)
    loss, stats = ppo_loss(logits, values, actions, old_lp, old_v, adv, ret, cfg)
    exp_loss, pg, vl, ent = hand_ppo_loss(
        logits.tolist(),
        values.tolist(),
        actions.tolist(),
        old_lp.tolist(),
        old_v.tolist(),
        adv.tolist(),
        ret.tolist(),
        cfg,
    )
    assert loss.item() == pytest.approx(exp_loss, rel=1e-5)
    assert stats["policy_loss"].item() == pytest.approx(pg, rel=1e-5)
    assert stats["value_loss"].item() == pytest.approx(vl, rel=1e-5)
    assert stats["entropy"].item() == pytest.approx(ent, rel=1e-5)
    ratio = (torch.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0] - old_lp).exp()
    clipped = ((ratio - 1).abs() > 0.2).float().mean().item()
    assert 0 < clipped < 1  # both branches are exercised
    assert stats["clipfrac"].item() == pytest.approx(clipped)


def test_ppo_loss_without_clipping_or_normalisation():
    logits = torch.tensor([[0.0] * 7, [1.0] + [0.0] * 6])
    values, ret = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 0.0])
    actions = torch.tensor([3, 0])
    old_lp = torch.log_softmax(logits, -1).gather(1, actions[:, None])[:, 0]
    adv = torch.tensor([2.0, -1.0])
    cfg = PPOConfig(norm_adv=False, clip_vloss=False, ent_coef=0.0, vf_coef=1.0)
    loss, stats = ppo_loss(logits, values, actions, old_lp, values, adv, ret, cfg)
    # ratio 1: policy loss -mean(adv) = -0.5; value loss 0.5 * mean(0.25, 0.25) = 0.125.
    assert stats["policy_loss"].item() == pytest.approx(-0.5)
    assert stats["value_loss"].item() == pytest.approx(0.125)
    assert loss.item() == pytest.approx(-0.375)
    assert stats["approx_kl"].item() == pytest.approx(0.0, abs=1e-7)


def filled_rollout(t: int, n: int, seed: int) -> tuple[RolloutBuffer, torch.Tensor]:
    rng = np.random.default_rng(seed)
    buf = RolloutBuffer(t, n)
    buf.image[...] = np.stack(
        [
            rng.integers(0, 11, (t, n, 7, 7)),
            rng.integers(0, 6, (t, n, 7, 7)),
            rng.integers(0, 3, (t, n, 7, 7)),
        ],
        axis=-1,
    )
    buf.direction[...] = rng.integers(0, 4, (t, n))
    buf.actions[...] = rng.integers(0, 7, (t, n))
    buf.logprobs[...] = np.log(1 / 7) + 0.1 * rng.standard_normal((t, n))
    buf.values[...] = rng.standard_normal((t, n))
    buf.rewards[...] = rng.random((t, n)) * (rng.random((t, n)) < 0.1)
    buf.terminated[...] = buf.rewards > 0
    buf.compute_gae(np.zeros(n, np.float32), 0.99, 0.95)
    mission = torch.from_numpy(rng.integers(0, len(BABYAI_WORDS), (t, n, 24)))
    return buf, mission


def test_fused_backend_matches_autograd_update():
    """The fused backend (C++ kernel) gives the same parameters as the autograd one."""
    buf, mission = filled_rollout(8, 4, seed=2)
    torch.manual_seed(0)
    fast = ActorCritic(hidden=32)
    slow = ActorCritic(hidden=32)
    slow.load_state_dict(fast.state_dict())
    cfg = PPOConfig(num_minibatches=2, update_epochs=2)
    a = PPOLearner(fast, cfg, 10)
    b = PPOLearner(slow, dataclasses.replace(cfg, backend="autograd"), 10)
    assert a.backend == "fused" and b.backend == "autograd"
    sa = a.update(buf, mission, iteration=1, seed=5)
    sb = b.update(buf, mission, iteration=1, seed=5)
    for (name, p), q in zip(fast.named_parameters(), slow.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    assert sa["policy_loss"] == pytest.approx(sb["policy_loss"], rel=1e-5)
    assert not torch.equal(fast.fc1.weight, ActorCritic(hidden=32).fc1.weight)


def test_update_is_reproducible_and_uses_the_extra_loss():
    buf, mission = filled_rollout(8, 4, seed=3)
    nets = []
    for _ in range(2):
        torch.manual_seed(1)
        net = ActorCritic(hidden=16)
        PPOLearner(net, PPOConfig(), 5).update(buf, mission, iteration=2, seed=9)
        nets.append(net)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(p, q)
    seen = {}

    def extra(mb, logits, values):
        seen.update(mb)
        return 10.0 * logits.pow(2).mean(), {"extra": logits.pow(2).mean().detach()}

    torch.manual_seed(1)
    net = ActorCritic(hidden=16)
    stats = PPOLearner(net, PPOConfig(), 5).update(buf, mission, 2, 9, extra_loss=extra)
    assert set(seen) == set(MINIBATCH_FIELDS) and "extra" in stats
    assert not torch.equal(net.heads.weight, nets[0].heads.weight)


def test_learning_rate_annealing():
    learner = PPOLearner(ActorCritic(hidden=8), PPOConfig(learning_rate=1e-3), 4)
    assert [learner.learning_rate(i) for i in (1, 2, 3, 4)] == pytest.approx(
        [1e-3, 7.5e-4, 5e-4, 2.5e-4]
    )
    flat = PPOLearner(ActorCritic(hidden=8), PPOConfig(anneal_lr=False), 4)
    assert flat.learning_rate(4) == pytest.approx(flat.config.learning_rate)


@pytest.mark.parametrize(
    "field,value",
    [
        ("learning_rate", 0.0),
        ("gamma", 1.5),
        ("update_epochs", 0),
        ("num_minibatches", 2.5),
        ("ent_coef", -0.1),
        ("target_kl", -1.0),
        ("clip_coef", float("nan")),
    ],
)
def test_ppo_config_rejects_bad_values(field, value):
    with pytest.raises((ValueError, TypeError), match=f"ppo.{field}"):
        PPOConfig(**{field: value}).validate()
    with pytest.raises(ValueError, match="unknown PPO option"):
        PPOConfig.from_dict({"learning_rat": 1e-3})


def test_flat_parameters_share_storage_and_clip_like_torch():
    torch.manual_seed(3)
    a, b = ActorCritic(hidden=16), ActorCritic(hidden=16)
    b.load_state_dict(a.state_dict())
    flat = FlatParameters(list(a.parameters()))
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q) and p.grad is not None
    with torch.no_grad():
        flat.param.add_(1.0)
    assert torch.equal(a.heads.bias, b.heads.bias + 1.0)
    a.load_state_dict(b.state_dict())  # copies into the views
    assert torch.equal(flat.param[-8:], b.heads.bias)
    inputs = random_inputs(12, seed=5)
    for scale in (1.0, 1e-3):
        for net in (a, b):
            logits, value = net(*inputs)
            loss = (logits.pow(2).sum() + value.sum()) * scale
            grads = torch.autograd.grad(loss, list(net.parameters()))
            with torch.no_grad():
                for p, g in zip(net.parameters(), grads):
                    if p.grad is None:
                        p.grad = g.clone()
                    else:
                        p.grad.copy_(g)
        norm = flat.clip_grad_norm(0.5)
        ref_norm = torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
        torch.testing.assert_close(norm, ref_norm)
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p.grad, q.grad)


def fused_kernel(net: ActorCritic, **overrides) -> bidir_core._core.MlpPpoGradient:
    args = {
        "weights": [layer.weight.detach().numpy() for layer in net.layers()],
        "biases": [layer.bias.detach().numpy() for layer in net.layers()],
        "grad_weights": [np.zeros(tuple(layer.weight.shape), np.float32) for layer in net.layers()],
        "grad_biases": [np.zeros(tuple(layer.bias.shape), np.float32) for layer in net.layers()],
        "clip_coef": 0.2, "ent_coef": 0.01, "vf_coef": 0.5, "norm_adv": True, "clip_vloss": True,
    }  # fmt: skip
    args.update(overrides)
    return bidir_core._core.MlpPpoGradient(**args)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"norm_adv": False},
        {"clip_vloss": False},
        {"ent_coef": 0.3, "vf_coef": 2.0, "clip_coef": 0.1},
    ],
)
def test_fused_kernel_gradient_matches_autograd_on_chosen_rows(options):
    """compute(rows) gives ppo_loss's autograd gradient of those rows of the inputs."""
    torch.manual_seed(2)
    net = ActorCritic(hidden=16)
    inputs = random_inputs(20, seed=3)
    x = net.features(*inputs)
    rows = np.array([7, 2, 19, 11, 4, 0], np.int64)
    g = torch.Generator().manual_seed(5)
    n = len(rows)
    actions = torch.randint(0, 7, (n,), generator=g)
    old_lp = -2.0 + 0.3 * torch.randn(n, generator=g)
    old_v, adv, ret = (torch.randn(n, generator=g) for _ in range(3))
    logits, values = net.forward_features(x[torch.from_numpy(rows)])
    cfg = PPOConfig(**options)
    loss, stats = ppo_loss(logits, values, actions, old_lp, old_v, adv, ret, cfg)
    expected = torch.autograd.grad(loss, [p for layer in net.layers() for p in (layer.weight, layer.bias)])
    gw = kernel_grads = (
        [np.zeros(tuple(layer.weight.shape), np.float32) for layer in net.layers()],
        [np.zeros(tuple(layer.bias.shape), np.float32) for layer in net.layers()],
    )
    kernel = fused_kernel(net, grad_weights=gw[0], grad_biases=gw[1], **options)
    kernel.set_inputs(x.detach().numpy())
    got_stats = kernel.compute(rows, actions.numpy(), old_lp.numpy(), old_v.numpy(), adv.numpy(), ret.numpy())
    got = [t for pair in zip(*kernel_grads) for t in pair]
    for g_exp, g_got in zip(expected, got):
        torch.testing.assert_close(torch.from_numpy(g_got), g_exp, rtol=1e-4, atol=1e-6)
    names = ["policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac"]
    torch.testing.assert_close(torch.from_numpy(got_stats), torch.stack([stats[k] for k in names]))


def test_fused_kernel_rejects_bad_input():
    net = ActorCritic(hidden=8)
    kernel = fused_kernel(net)
    x = net.features(*random_inputs(4)).detach().numpy()
    fields = (np.zeros(2, np.int64), *(np.zeros(2, np.float32) for _ in range(4)))
    with pytest.raises(TypeError, match="x must have dtype float32"):
        kernel.set_inputs(x.astype(np.float64))
    with pytest.raises(ValueError, match="x must have shape"):
        kernel.set_inputs(x[:, :-1].copy())
    kernel.set_inputs(x)
    with pytest.raises(ValueError, match="row 4 is outside"):
        kernel.compute(np.array([0, 4]), *fields)
    with pytest.raises(ValueError, match="action 7 at row 1"):
        kernel.compute(np.array([0, 1]), np.array([0, 7]), *fields[1:])
    with pytest.raises(ValueError, match="advantages must have shape"):
        kernel.compute(np.array([0, 1]), *fields[:3], np.zeros(3, np.float32), fields[4])
    weights = [layer.weight.detach().numpy() for layer in net.layers()]
    with pytest.raises(ValueError, match="grad_weights must not share memory with weights"):
        fused_kernel(net, grad_weights=weights)
    shapes = [(8, net.num_features), (8, 5), (8, 8)]  # layer 1 takes 5, layer 0 gives 8
    with pytest.raises(ValueError, match=r"weights\[1\] takes 5 inputs, weights\[0\] gives 8"):
        fused_kernel(
            net,
            weights=[np.zeros(s, np.float32) for s in shapes],
            grad_weights=[np.zeros(s, np.float32) for s in shapes],
        )
    with pytest.raises(ValueError, match="ent_coef"):
        fused_kernel(net, ent_coef=-1.0)


def test_clipped_adam_step_matches_torch():
    """_core.clipped_adam_step == clip_grad_norm_ + torch.optim.Adam, step by step."""
    g = torch.Generator().manual_seed(0)
    ours = torch.randn(50, generator=g)
    ref = torch.nn.Parameter(ours.clone())
    opt = torch.optim.Adam([ref], lr=3e-3, eps=1e-5)
    m, v, step = np.zeros(50, np.float32), np.zeros(50, np.float32), np.zeros((), np.float32)
    for scale in (10.0, 0.01, 3.0):
        grad = scale * torch.randn(50, generator=g)
        ref.grad = grad.clone()
        ref_norm = torch.nn.utils.clip_grad_norm_([ref], 0.5)
        opt.step()
        ours_grad = grad.numpy().copy()
        norm = bidir_core._core.clipped_adam_step(
            ours.numpy(), ours_grad, m, v, step, 3e-3, 0.9, 0.999, 1e-5, 0.5
        )
        assert norm == pytest.approx(float(ref_norm), rel=1e-5)
        torch.testing.assert_close(torch.from_numpy(ours_grad), ref.grad)
        torch.testing.assert_close(ours, ref.detach(), rtol=1e-5, atol=1e-7)
    state = opt.state[ref]
    torch.testing.assert_close(torch.from_numpy(m), state["exp_avg"])
    torch.testing.assert_close(torch.from_numpy(v), state["exp_avg_sq"])
    assert float(step) == float(state["step"]) == 3.0
    with pytest.raises(ValueError, match="grad must have shape"):
        bidir_core._core.clipped_adam_step(ours.numpy(), ours_grad[:3].copy(), m, v, step, 1e-3, 0.9, 0.999, 1e-5, 0.5)
    with pytest.raises(ValueError, match="must not share memory"):
        bidir_core._core.clipped_adam_step(ours.numpy(), ours.numpy(), m, v, step, 1e-3, 0.9, 0.999, 1e-5, 0.5)


def test_fused_update_keeps_torch_optimizer_state_in_torch_format():
    """After a fused update, the optimiser state is torch Adam's; a torch step continues it."""
    buf, mission = filled_rollout(8, 4, seed=4)
    torch.manual_seed(0)
    net = ActorCritic(hidden=16)
    learner = PPOLearner(net, PPOConfig(num_minibatches=2, update_epochs=1), 10)
    learner.update(buf, mission, iteration=1, seed=1)
    state = learner.optimizer.state_dict()["state"][0]
    assert float(state["step"]) == 2.0 and state["exp_avg"].abs().sum() > 0
    before = learner.flat.param.detach().clone()
    learner.flat.param.grad.fill_(0.01)
    learner.optimizer.step()
    assert float(learner.optimizer.state_dict()["state"][0]["step"]) == 3.0
    assert not torch.equal(before, learner.flat.param.detach())


class _OtherNet(torch.nn.Module):
    """A network without ActorCritic's layers()/features() layout."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = ActorCritic(hidden=8)

    def forward(self, *inputs):
        return self.inner(*inputs)


def test_fused_backend_refuses_networks_it_cannot_train():
    with pytest.raises(ValueError, match="backend='fused' cannot train this network"):
        PPOLearner(_OtherNet(), PPOConfig(backend="fused"), 3)
    frozen = ActorCritic(hidden=8)
    frozen.fc1.bias.requires_grad_(False)
    with pytest.raises(ValueError, match="not exactly its layers"):
        PPOLearner(frozen, PPOConfig(backend="fused"), 3)
    assert PPOLearner(_OtherNet(), PPOConfig(), 3).backend == "autograd"  # auto
    assert PPOLearner(ActorCritic(hidden=8), PPOConfig(), 3).backend == "fused"
    with pytest.raises(ValueError, match="ppo.backend must be one of"):
        PPOConfig(backend="cuda").validate()


def test_decoupled_surrogate_is_the_standard_one_on_policy():
    """Where the student drew every action (student = behaviour log-probs) the decoupled
    update makes the same step as the standard one; fused refuses it, auto picks autograd."""
    buf, mission = filled_rollout(8, 4, seed=4)
    buf.student_logprobs[...] = buf.logprobs
    nets = []
    for surrogate in ("behaviour", "decoupled"):
        torch.manual_seed(2)
        net = ActorCritic(hidden=16)
        cfg = PPOConfig(num_minibatches=2, update_epochs=2, surrogate=surrogate)
        learner = PPOLearner(net, dataclasses.replace(cfg, backend="auto"), 5)
        assert learner.backend == ("fused" if surrogate == "behaviour" else "autograd")
        learner.update(buf, mission, iteration=1, seed=3)
        nets.append(net)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="only the behaviour surrogate"):
        PPOLearner(ActorCritic(hidden=8), PPOConfig(backend="fused", surrogate="decoupled"), 3)
    with pytest.raises(ValueError, match="ppo.surrogate must be one of"):
        PPOConfig(surrogate="vtrace").validate()


def test_decoupled_surrogate_penalises_a_bad_teacher_action_the_standard_one_ignores():
    """An action the teacher picked (behaviour prob 0.9) that the student gives 0.1, with a
    negative advantage: the standard loss clips it away (no gradient), the decoupled one
    lowers its probability, weighted by 0.1 / 0.9."""
    cfg = PPOConfig(norm_adv=False, ent_coef=0.0)
    logits = torch.log(torch.tensor([[0.1, 0.9]])).requires_grad_(True)
    actions = torch.tensor([0])
    behaviour, student = torch.log(torch.tensor([0.9])), torch.log(torch.tensor([0.1]))
    advantage = torch.tensor([-1.0])
    standard, _ = ppo_loss(logits, None, actions, behaviour, None, advantage, None, cfg)
    (grad,) = torch.autograd.grad(standard, logits)
    assert torch.count_nonzero(grad) == 0
    decoupled, stats = ppo_loss(logits, None, actions, behaviour, None, advantage, None, cfg,
                                proximal_logprobs=student)
    assert decoupled.item() == pytest.approx(1.0 / 9.0)  # -A * ratio 1 * weight 1/9
    assert stats["clipfrac"].item() == 0.0
    (grad,) = torch.autograd.grad(decoupled, logits)
    assert grad[0, 0] > 0  # gradient descent lowers the bad action's logit


def test_the_collector_stores_the_students_own_log_prob_beside_the_behaviours(tmp_path):
    from bidir_core.training import TrainConfig, Trainer
    from bidir_core.training.modes import TeacherModeConfig

    cfg = TrainConfig(mode="teach", num_envs=4, steps_per_iteration=32, total_frames=32,
                      video_episodes=0, student_eval_every=0,
                      teacher=TeacherModeConfig(explore_eps=0.5, hint_wait=5.0, probe_states=8))
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        trainer.train()
        buf = trainer.collector.buffer
        mixed = buf.hint_valid
        assert mixed.any()
        # where the teacher's hint was mixed in, log mu differs from the student's log piS
        assert not np.allclose(buf.student_logprobs[mixed], buf.logprobs[mixed])
        assert np.array_equal(buf.student_logprobs[~mixed], buf.logprobs[~mixed])
        assert np.all(buf.student_logprobs <= 0)


def test_fused_backend_with_an_extra_loss_matches_autograd():
    """With an extra loss term the fused backend's hand backward equals autograd's."""
    buf, mission = filled_rollout(8, 4, seed=6)

    def extra(mb, logits, values):
        return 0.3 * logits.pow(2).mean() + 0.1 * values.mean(), {"extra": logits.mean().detach()}

    nets = []
    for backend in ("fused", "autograd"):
        torch.manual_seed(4)
        net = ActorCritic(hidden=16)
        learner = PPOLearner(net, PPOConfig(num_minibatches=2, backend=backend), 10)
        stats = learner.update(buf, mission, iteration=1, seed=3, extra_loss=extra)
        nets.append((net, stats))
    (a, sa), (b, sb) = nets
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    assert sa["extra"] == pytest.approx(sb["extra"], rel=1e-5, abs=1e-7)


def test_the_vocabularies_from_cpp_are_the_frozen_ones():
    """Word ids are baked into trained students and the embedded tiny teacher: the lists
    C++ exports must stay exactly these."""
    import json
    from pathlib import Path

    from bidir_core.teacher.vocab import babyai_words

    frozen = json.loads((Path(__file__).parent / "data" / "vocab_frozen.json").read_text())
    assert list(bidir_core._core.MISSION_WORDS) == frozen["mission_words"] == list(BABYAI_WORDS)
    assert list(bidir_core._core.PROMPT_WORDS) == frozen["prompt_words"] == babyai_words()
