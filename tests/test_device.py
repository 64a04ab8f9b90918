"""The teacher's device option: auto, cpu and CUDA devices, and clear errors for a GPU
torch cannot use (CI has none: the CUDA path itself runs only where a GPU is)."""

from __future__ import annotations

import pytest
import torch
from bidir_core.teacher.loading import resolve_device
from bidir_core.training import TrainConfig, Trainer
from bidir_core.training.modes import TeacherModeConfig

NO_GPU = not torch.cuda.is_available()


def test_auto_picks_cuda_only_where_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match="only 1 CUDA GPU"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "CPU", ""])
def test_bad_device_names_are_rejected(bad):
    with pytest.raises(ValueError, match="device"):
        resolve_device(bad)
    with pytest.raises(ValueError, match="teacher.device"):
        TeacherModeConfig(device=bad).validate()


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    cfg = TrainConfig(mode="teach", num_envs=2, steps_per_iteration=8, total_frames=8,
                      teacher=TeacherModeConfig(device="cuda", probe_states=4))
    with pytest.raises(ValueError, match="no CUDA GPU"):
        Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False)
    assert not (tmp_path / "run").exists()  # nothing was started


@pytest.mark.skipif(NO_GPU, reason="needs a CUDA GPU")
def test_a_teacher_on_the_gpu_scores_like_on_the_cpu():
    import numpy as np
    from bidir_core.teacher import load_teacher

    prompts = ["Goal of the agent: go to the red ball\nObservation: \nAction:"]
    cpu = load_teacher("tiny").action_logprobs(prompts)
    gpu_teacher = load_teacher("tiny", device="cuda")
    assert gpu_teacher.device.type == "cuda"
    np.testing.assert_allclose(gpu_teacher.action_logprobs(prompts), cpu, atol=1e-4)
