"""The ``bidir teacher`` commands."""

from __future__ import annotations

import os

import torch
from bidir_core.cli import main

torch.set_num_threads(1)
os.environ["HF_HUB_OFFLINE"] = "1"


def test_accuracy_command(capsys):
    assert main(["teacher", "accuracy", "--teacher", "tiny", "--states", "48", "--json"]) == 0
    out = capsys.readouterr().out
    assert "agreement with the oracle" in out and '"agreement":' in out


def test_pretrain_command(tmp_path, capsys):
    out_dir = tmp_path / "tiny"
    args = ["teacher", "pretrain", "--out", str(out_dir), "--steps", "2", "--states-per-task", "8"]
    assert main(args) == 0
    assert (out_dir / "model.safetensors").is_file() and (out_dir / "tokenizer.json").is_file()
    assert "saved" in capsys.readouterr().out


def test_unknown_teacher_is_an_error(capsys):
    assert main(["teacher", "accuracy", "--teacher", "/no/such/model", "--states", "4"]) != 0
    assert "does not exist" in capsys.readouterr().err
