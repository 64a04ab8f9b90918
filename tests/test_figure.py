"""The run's figure (success.png): the student's success, and in the teacher modes a second
panel with the teacher's agreement with the oracle."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bidir_core.training.metrics import plot_success


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def rows(teacher: bool) -> list[dict]:
    out = []
    for it in range(1, 21):
        row = {"iteration": it, "frames": 256 * it, "success_rate": min(1.0, it / 10),
               "rolling_success": min(1.0, it / 12), "student_success": None}
        if it % 10 == 0:
            row["student_success"] = it / 20
        if teacher and (it == 1 or it % 10 == 0):
            row.update(probe_agreement=0.8 + it / 200, probe_agreement_determined=0.9,
                       probe_expert_prob=0.7 + it / 100)
        out.append(row)
    return out


@pytest.mark.slow
def test_teacher_modes_get_a_second_panel_with_the_teachers_agreement(tmp_path: Path) -> None:
    plot_success(rows(teacher=False), tmp_path / "ppo.png", "ppo")
    plot_success(rows(teacher=True), tmp_path / "bidir.png", "bidir")
    (w_ppo, h_ppo), (w_bidir, h_bidir) = png_size(tmp_path / "ppo.png"), png_size(
        tmp_path / "bidir.png"
    )
    assert h_ppo == h_bidir == 400
    assert (w_ppo, w_bidir) == (700, 1200)  # 7 in for the student alone; 12 in for both


def test_a_run_without_finished_episodes_still_gets_a_figure(tmp_path: Path) -> None:
    empty = [{"iteration": 1, "frames": 256, "success_rate": None, "rolling_success": None}]
    plot_success(empty, tmp_path / "empty.png", "nothing yet")
    assert png_size(tmp_path / "empty.png") == (700, 400)
