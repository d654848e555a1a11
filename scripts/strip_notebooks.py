#!/usr/bin/env python3
"""Strip lab notebooks for committing: no outputs, no execution counts, no saved widget state.

    python scripts/strip_notebooks.py                 # every labs/**/*.ipynb, rewritten in place
    python scripts/strip_notebooks.py --check         # exit 1 and list the notebooks that need it
    python scripts/strip_notebooks.py labs/01_x.ipynb # just these

Notebooks are committed with no outputs at all. The outputs that matter, those of code cells marked
`# NBVAL_CHECK_OUTPUT`, are kept beside them as golden files (`labs/_golden/<notebook path>.json`: per cell
code-cell index, a hash of the cell's source, its execution count and its text outputs). `labs/conftest.py` hands them
to nbval when `pytest --nbval-lax labs/` collects the notebook, so a fresh run is compared against them; a
golden entry whose source hash no longer matches its cell is ignored (and tests/test_packaging.py fails).
To record them, execute the notebook (the lab generators in labs/_build/ do) and strip it with
`write_notebook(path, nb)` or this script: stripping an executed notebook saves its checked outputs first.
Mark only cells that print text or return a value: not widgets, not images.
Standard library only, so it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
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


def source_hash(cell: dict) -> str:
    return hashlib.sha256("".join(cell.get("source", "")).encode()).hexdigest()[:16]


def golden_path(notebook: pathlib.Path) -> pathlib.Path:
    rel = notebook.resolve().relative_to(ROOT / "labs")
    return ROOT / "labs" / "_golden" / (str(rel).replace("/", "__") + ".json")


def is_checked(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and CHECK_MARK in "".join(cell.get("source", ""))


def coalesce(outputs: list) -> list:
    """One stream output per run of same-named stream pieces (a kernel may split one print in two), so that
    recording the same run twice gives the same golden file."""
    merged: list = []
    for output in outputs:
        if (merged and output.get("output_type") == "stream" and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):
            text = merged[-1]["text"]
            text = "".join(text) if isinstance(text, list) else text
            more = output["text"]
            merged[-1] = dict(merged[-1], text=text + ("".join(more) if isinstance(more, list) else more))
        else:
            merged.append(output)
    return merged


def golden_outputs(nb: dict) -> dict:
    """{code cell index (as nbval counts): {source, execution_count, outputs}} for checked cells with outputs."""
    out = {}
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for index, cell in enumerate(code_cells):
        if is_checked(cell) and cell.get("outputs"):
            count = cell.get("execution_count") or 1
            out[str(index)] = {"source": source_hash(cell), "execution_count": count,
                               "outputs": [golden(o, count) for o in coalesce(cell["outputs"])]}
    return out


def strip(nb: dict) -> dict:
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        for key in ("widgets", "execution", "collapsed", "scrolled"):
            meta.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
    return nb


def save_golden(path: pathlib.Path, nb: dict) -> bool:
    """Record the checked cells' outputs of an executed notebook; False if it carried none."""
    found = golden_outputs(nb)
    if not found:
        return False
    target = golden_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"cells": found}, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                      encoding="utf-8")
    return True


def write_notebook(path: pathlib.Path, nb: dict) -> None:
    """What the lab generators call: keep the golden outputs, then write the notebook stripped."""
    save_golden(path, nb)
    path.write_text(dump(strip(nb)), encoding="utf-8")


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
        stripped = strip(json.loads(text))
        if json.dumps(stripped, sort_keys=True) == before:
            continue
        dirty.append(path)
        if not args.check:
            save_golden(path, nb)
            path.write_text(dump(stripped), encoding="utf-8")
    verb = "need stripping" if args.check else "stripped"
    for path in dirty:
        print(f"{verb}: {path}")
    print(f"strip_notebooks: {len(paths)} notebook(s), {len(dirty)} {verb}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
