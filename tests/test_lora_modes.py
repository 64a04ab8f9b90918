"""Every mode runs two iterations with a tiny random Llama teacher through the LoRA path
(and, in teach and bidir, the process backend): the setup of a real pretrained LM."""

from __future__ import annotations

import os

import pytest
import torch
from bidir_core.student.ppo import PPOConfig
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig
from teacher_models import make_model, tokenizer

TASK = "BabyAI-GoToRedBallNoDists-v0"


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("llama")
    make_model("llama").save_pretrained(path)
    tokenizer().save_pretrained(path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ppo", "teach", "bidir", "glam"])
def test_two_iterations_with_a_lora_llama(tmp_path, llama_dir, mode):
    torch.set_num_threads(1)
    cfg = TrainConfig(
        mode=mode, task=TASK, num_envs=4, steps_per_iteration=32, total_frames=64, seed=0,
        # score_unanswered: the update must not depend on how many queries the child
        # process answered in time (with the LM default, off, it may answer none)
        teacher=TeacherModeConfig(name=llama_dir, probe_states=8, lookahead_horizon=2,
                                  lookahead_grounded=False, teacher_lr=1e-2,
                                  score_unanswered=True, teacher_dtype="float32"),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    assert cfg.teacher.lora is not None and cfg.teacher.uses_process  # the defaults off tiny
    assert cfg.teacher.update_async_resolved  # and the LM update runs in the background
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        before = None
        if mode != "ppo":
            model = trainer.mode.teacher.model
            before = {k: v.clone() for k, v in model.named_parameters()}
        assert trainer.train()["status"] == "finished"
        rows = read_metrics(trainer.run_dir)
        assert len(rows) == 2
        if mode in ("bidir", "glam"):  # the adapters learned; the base weights did not move
            after = dict(trainer.mode.teacher.model.named_parameters())
            lora = [k for k in after if "lora_" in k]
            assert lora and all(after[k].requires_grad == ("lora_" in k) for k in after)
            assert any(not torch.equal(before[k], after[k]) for k in lora)
            assert all(torch.equal(before[k], after[k]) for k in before if "lora_" not in k)
        if mode in ("teach", "bidir"):
            assert sum(r["teacher_failures"] for r in rows) == 0
            backend = trainer.mode.service._backend  # the replica took the adapters' weights
            assert backend.restarts == 0 and backend.alive


@pytest.mark.parametrize("fast", [False, True])
def test_the_auto_dtype_is_bfloat16_only_for_lora_lms_on_bfloat16_hardware(monkeypatch, fast):
    import bidir_core.teacher.loading as loading

    monkeypatch.setattr(loading, "fast_bfloat16", lambda device: fast)
    lm = TeacherModeConfig(name="some/lm", device="cpu")
    assert lm.lora is not None and lm.dtype == ("bfloat16" if fast else "float32")
    assert TeacherModeConfig(name="tiny", teacher_lora="on").dtype == "float32"
    assert TeacherModeConfig(name="some/lm", teacher_lora="off").dtype == "float32"
    for dtype in ("float32", "bfloat16"):  # an explicit choice is kept
        assert TeacherModeConfig(name="tiny", teacher_dtype=dtype).dtype == dtype


def test_fast_bfloat16_reads_the_cpu_flags():
    import bidir_core.teacher.loading as loading

    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("no /proc/cpuinfo (not Linux)")
    with open("/proc/cpuinfo") as f:
        flags = next(line for line in f if line.startswith("flags")).split()
    assert loading.fast_bfloat16("cpu") == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_a_bfloat16_teacher_learns_through_float32_adapters(llama_dir):
    """dtype=bfloat16: the base weights are bf16, the LoRA adapters and value head float32;
    scoring, the value head and one PPO update work and stay close to float32's answers."""
    import numpy as np
    from bidir_core.teacher.learner import TeacherPPO, TeacherPPOConfig
    from bidir_core.teacher.loading import load_teacher
    from teacher_models import PROMPTS

    torch.set_num_threads(1)
    full = load_teacher(llama_dir)
    half = load_teacher(llama_dir, dtype="bfloat16")
    assert all(p.dtype == torch.bfloat16 for p in half.model.parameters())
    np.testing.assert_allclose(half.action_logprobs(PROMPTS), full.action_logprobs(PROMPTS),
                               atol=0.1)
    learner = TeacherPPO(half, TeacherPPOConfig(lora=True, value_head=True, minibatch_size=2,
                                                learning_rate=1e-2, update_epochs=1))
    adapters = {k: p for k, p in half.model.named_parameters() if p.requires_grad}
    assert adapters and all(p.dtype == torch.float32 for p in adapters.values())
    before = {k: p.clone() for k, p in adapters.items()}
    logp, values = learner.evaluate(PROMPTS)
    assert np.isfinite(logp).all() and values is not None and np.isfinite(values).all()
    out = learner.update(PROMPTS, np.zeros(4, np.int64), np.ones(4, np.float32), logp[:, 0],
                         returns=np.ones(4, np.float32), old_values=values)
    assert np.isfinite(out["policy_loss"]) and half.version > 0
    assert any(not torch.equal(before[k], p) for k, p in adapters.items())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bidir", "glam"])
def test_two_iterations_with_a_bfloat16_lora_llama(tmp_path, llama_dir, mode):
    torch.set_num_threads(1)
    cfg = TrainConfig(
        mode=mode, task=TASK, num_envs=4, steps_per_iteration=32, total_frames=64, seed=0,
        teacher=TeacherModeConfig(name=llama_dir, probe_states=8, lookahead_horizon=2,
                                  lookahead_grounded=False, teacher_dtype="bfloat16"),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        assert next(trainer.mode.teacher.model.parameters()).dtype == torch.bfloat16
        assert trainer.train()["status"] == "finished"
        rows = read_metrics(trainer.run_dir)
        assert len(rows) == 2 and sum(r["teacher_failures"] for r in rows) == 0
