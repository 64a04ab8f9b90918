"""The bidir command line: listing tasks, the demo, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import bidir_core
from bidir_core.cli import main


def test_tasks_lists_every_task(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out.split()
    assert "BabyAI-GoToRedBallNoDists-v0" in out and len(out) == len(bidir_core.list_tasks())


def test_demo_runs_and_the_oracle_succeeds(capsys):
    assert main(["demo", "--num-envs", "8", "--steps", "200", "--epsilon", "0"]) == 0
    out = capsys.readouterr().out
    assert "go to the red ball" in out
    assert "success 1.000" in out


def test_unknown_task_is_a_clear_error(capsys):
    assert main(["demo", "--task", "BabyAI-GoToRedBal-v0"]) == 2
    assert "did you mean" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_and_bad_flag():
    proc = subprocess.run([sys.executable, "-m", "bidir_core", "demo", "--num-envs", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid int value" in proc.stderr


def test_version_flag(capsys):
    import bidir_core
    from bidir_core.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bidir_core {bidir_core.__version__}"
