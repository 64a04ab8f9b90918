"""The README's Python snippet pastes into a REPL and prints what its ``# ->`` lines say;
make_vec's docstring example (what help(bidir_core.make_vec) shows) runs as written."""

from __future__ import annotations

import code
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def snippet_lines() -> list[str]:
    """The lines of the README's first Python block that uses bidir_core."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```python\n(import numpy as np\nimport bidir_core\n.*?)```", text, re.S)
    assert match, "README.md has no ```python block starting with the bidir_core imports"
    return match.group(1).splitlines()


def expected_outputs(lines: list[str]) -> dict[int, str]:
    """{index of a code line: the output its ``# ->`` comment (and continuations) shows}."""
    expected: dict[int, str] = {}
    last_code = None
    current = None
    for i, line in enumerate(lines):
        if line.startswith("# ->"):
            assert last_code is not None, f"line {i + 1}: '# ->' before any code"
            current = last_code
            expected[current] = line[len("# ->"):]
        elif line.startswith("#  ") and current is not None:
            expected[current] += " " + line[1:]
        else:
            current = None
            if line.strip() and not line.lstrip().startswith("#"):
                last_code = i
    return expected


def normalise(text: str) -> str:
    return " ".join(text.split())


def test_readme_snippet_pastes_into_a_repl_and_prints_its_sample_outputs() -> None:
    lines = snippet_lines()
    expected = expected_outputs(lines)
    assert len(expected) >= 5, "the snippet shows too few sample outputs to be checked"
    console = code.InteractiveConsole(locals={})
    printed: dict[int, str] = {}
    for i, line in enumerate(lines + [""]):  # a paste ends with the newline of the last line
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            console.push(line)
        assert not err.getvalue(), f"README line {line!r} failed in the REPL:\n{err.getvalue()}"
        if out.getvalue():
            printed[i] = out.getvalue()
    for i, want in expected.items():
        assert normalise(printed.get(i, "")) == normalise(want), (
            f"README line {lines[i]!r} prints {printed.get(i, '')!r}, the README says {want!r}"
        )
    unexpected = {lines[i]: p for i, p in printed.items() if i not in expected}
    assert not unexpected, f"lines whose output the README does not show: {unexpected}"


def test_make_vec_docstring_example_runs_and_prints_what_it_says() -> None:
    import doctest

    import bidir_core

    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    (test,) = finder.find(bidir_core.make_vec, "make_vec", globs={})
    assert test.examples, "make_vec's docstring has no example"
    result = runner.run(test, out=lambda text: None)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of make_vec failed"
