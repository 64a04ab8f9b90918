"""The shipped type stubs of bidir_core._core match the compiled extension."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import bidir_core

pytest.importorskip("pybind11_stubgen")


def test_core_stub_matches_the_extension() -> None:
    shipped = Path(bidir_core.__file__).with_name("_core.pyi")
    assert shipped.is_file(), f"{shipped} missing: the stub must ship in the package"
    assert Path(bidir_core.__file__).with_name("py.typed").is_file()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "bidir_core._core", "-o", out],
            check=True,
            capture_output=True,
        )
        generated = (Path(out) / "bidir_core" / "_core.pyi").read_text()
    assert shipped.read_text() == generated, "stale _core.pyi: run python tools/gen_stubs.py"
