#!/usr/bin/env python3
"""Strip lab notebooks for committing: no outputs, no execution counts, no saved widget state.

    python scripts/strip_notebooks.py                 # every labs/**/*.ipynb, rewritten in place
    python scripts/strip_notebooks.py --check         # exit 1 and list the notebooks that need it
    python scripts/strip_notebooks.py labs/01_x.ipynb # just these

One exception: a code cell marked `# NBVAL_CHECK_OUTPUT` keeps its outputs and its execution count,
because `pytest --nbval-lax labs/` compares a fresh run against them (and silently skips a cell whose
count is empty). Mark only cells that print text or return a value: not widgets, not images. To record them, execute the notebook first (`jupyter nbconvert --to notebook --execute
--inplace labs/NN_x.ipynb`), then strip it. tests/test_packaging.py checks the same rules.
Standard library only, so it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def golden(output: dict, count: int) -> dict:
    """A checked cell's output as nbval needs it, without metadata."""
    output = dict(output)
    if "execution_count" in output:
        output["execution_count"] = count
    if "metadata" in output:
        output["metadata"] = {}
    return output


def strip(nb: dict) -> dict:
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        for key in ("widgets", "execution", "collapsed", "scrolled"):
            meta.pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        if CHECK_MARK in "".join(cell.get("source", "")) and cell.get("outputs"):
            # nbval only compares cells that have an execution count ("unrun" cells are skipped)
            count = cell.get("execution_count") or 1
            cell["execution_count"] = count
            cell["outputs"] = [golden(o, count) for o in cell["outputs"]]
        else:
            cell["execution_count"] = None
            cell["outputs"] = []
    return nb


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # JupyterLab's own layout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=pathlib.Path)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs stripping")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(p for p in (ROOT / "labs").rglob("*.ipynb")
                                     if ".ipynb_checkpoints" not in p.parts)
    dirty = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        before = json.dumps(nb, sort_keys=True)
        stripped = strip(nb)
        if json.dumps(stripped, sort_keys=True) == before:
            continue
        dirty.append(path)
        if not args.check:
            path.write_text(dump(stripped), encoding="utf-8")
    verb = "need stripping" if args.check else "stripped"
    for path in dirty:
        print(f"{verb}: {path}")
    print(f"strip_notebooks: {len(paths)} notebook(s), {len(dirty)} {verb}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
