"""Check the type completeness of the importable bidir_core with pyright --verifytypes.

    python tools/check_types.py            # print the score and the symbols still lacking types
    python tools/check_types.py --min 95   # exit 1 when the score is below 95%

Needs `pip install pyright` (and node, which pyright runs on). Types that come from other
packages (torch, numpy, transformers, ...) are not counted (--ignoreexternal): how complete
torch's own annotations are is not bidir_core's to fix. CI runs it against the installed
wheel.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys


def verifytypes() -> dict:
    """pyright's --verifytypes report on bidir_core, as its JSON output."""
    exe = shutil.which("pyright")
    cmd = [exe] if exe else [sys.executable, "-m", "pyright"]
    # pyright resolves imports with the first python on PATH: make that this interpreter
    # (its venv's bin first; --pythonpath would resolve the venv's symlink to the base).
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run(
        cmd + ["--verifytypes", "bidir_core", "--ignoreexternal", "--outputjson"],
        capture_output=True,
        text=True,
        env=env,
    )
    # pyright exits 1 whenever a symbol lacks a type, so the exit code says nothing here.
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"pyright gave no JSON report (exit {proc.returncode}):\n"
                         f"{proc.stdout}\n{proc.stderr}") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=None, help="lowest passing score in percent")
    args = parser.parse_args()
    report = verifytypes()
    completeness = report["typeCompleteness"]
    score = 100.0 * completeness["completenessScore"]
    if not completeness["symbols"]:
        raise SystemExit(f"pyright found no symbols of bidir_core (is it installed for "
                         f"{sys.executable}?): {report.get('generalDiagnostics', '')}")
    for symbol in completeness["symbols"]:
        if not symbol["isTypeKnown"] and symbol["isExported"]:
            first = next(iter(symbol.get("diagnostics", [])), {})
            print(f"  {symbol['name']}: {first.get('message', 'type not known')}".splitlines()[0])
    print(f"checked {completeness.get('packageRootDirectory', '?')}")
    print(f"bidir_core type completeness: {score:.1f}% "
          f"({completeness['exportedSymbolCounts']['withKnownType']} of "
          f"{sum(completeness['exportedSymbolCounts'].values())} exported symbols known)")
    if args.min is not None and score < args.min:
        print(f"below the required {args.min:.1f}%: annotate the symbols above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
