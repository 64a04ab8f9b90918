"""Regenerate python/bidir_core/_core.pyi, the type stubs of the C++ extension.

Run after changing a binding (needs the extension built and `pip install pybind11-stubgen`):

    python tools/gen_stubs.py          # rewrite the stub
    python tools/gen_stubs.py --check  # exit 1 if the stub is out of date

tests/test_stubs.py runs the check against the installed package.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

STUB = Path(__file__).resolve().parents[1] / "python" / "bidir_core" / "_core.pyi"


def generate() -> str:
    """The stub text pybind11-stubgen writes for the importable bidir_core._core."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "bidir_core._core", "-o", out],
            check=True,
            capture_output=True,
            text=True,
        )
        return (Path(out) / "bidir_core" / "_core.pyi").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if STUB.read_text() != text:
            print(f"{STUB} is out of date: run python tools/gen_stubs.py", file=sys.stderr)
            return 1
        print(f"{STUB} is up to date")
        return 0
    STUB.write_text(text)
    print(f"wrote {STUB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
