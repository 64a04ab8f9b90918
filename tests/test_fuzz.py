"""Property-based fuzzing of the public API (hypothesis), with crashes counted as failures.

The properties live in tests/fuzz_properties.py (make_vec with bad arguments; reset, step
and every read-out with random and invalid input; set_state with mutated states and the
envs run from whatever is accepted; GAE, feedback aggregation, FeedbackTable,
RunningMeanStd and the text functions with wrong, strided, read-only and aliased arrays).
They run under pytest in a child interpreter, which must exit 0: a segfault, an abort or
a sanitizer report there fails the test here instead of killing the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bidir_core

pytest.importorskip("hypothesis")

PROPERTIES = Path(__file__).with_name("fuzz_properties.py")
EXAMPLES = int(os.environ.get("BIDIR_FUZZ_EXAMPLES", "300"))


def _run_child(examples: int, timeout: float) -> None:
    env = dict(os.environ, BIDIR_FUZZ_EXAMPLES=str(examples))
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(bidir_core.__file__)), env.get("PYTHONPATH", "")]
    )
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
             "--noconftest", str(PROPERTIES)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=PROPERTIES.parent,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"fuzzing hung for {timeout} s:\n{err.stdout}\n{err.stderr}")
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"fuzz child exited with {proc.returncode}:\n{tail}"
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, tail
    print(f"fuzzed {examples} examples per property in {time.monotonic() - start:.1f} s")


@pytest.mark.slow
def test_fuzz_smoke_in_a_subprocess():
    """A few examples per property, in the fast tier."""
    _run_child(examples=4, timeout=120)


@pytest.mark.slow
def test_fuzz_in_a_subprocess():
    """BIDIR_FUZZ_EXAMPLES (default 300) per property: about a minute."""
    _run_child(examples=EXAMPLES, timeout=600)
