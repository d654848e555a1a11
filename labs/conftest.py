"""Give nbval the golden outputs of checked cells (``# NBVAL_CHECK_OUTPUT``).

Lab notebooks are committed without any output (scripts/strip_notebooks.py). The outputs a checked cell must
reproduce live beside them in ``labs/_golden/``; here, after nbval has collected a notebook's cells, each
checked cell gets its recorded outputs and execution count back, so nbval compares the fresh run against them.
A cell whose source changed since its outputs were recorded is left unchecked (tests/test_packaging.py catches
that), rather than compared against stale text.
"""
from __future__ import annotations

import hashlib
import json
import pathlib

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent


def _golden_for(notebook: pathlib.Path) -> dict:
    rel = notebook.resolve().relative_to(ROOT)
    path = ROOT / "_golden" / (str(rel).replace("/", "__") + ".json")
    return json.loads(path.read_text(encoding="utf-8"))["cells"] if path.exists() else {}


def pytest_collection_modifyitems(session, config, items):
    cache: dict[pathlib.Path, dict] = {}
    for item in items:
        cell = getattr(item, "cell", None)
        cell_num = getattr(item, "cell_num", None)
        if cell is None or cell_num is None:
            continue
        notebook = pathlib.Path(str(item.parent.fspath))
        if notebook not in cache:
            try:
                cache[notebook] = _golden_for(notebook)
            except ValueError:          # a notebook outside labs/
                cache[notebook] = {}
        entry = cache[notebook].get(str(cell_num))
        if entry is None:
            continue
        if hashlib.sha256("".join(cell.source).encode()).hexdigest()[:16] != entry["source"]:
            continue
        cell.execution_count = entry["execution_count"]
        cell.outputs = [nbformat.from_dict(_joined(o)) for o in entry["outputs"]]


def _joined(output: dict) -> dict:
    """Notebook JSON may split text into lists of lines; nbval compares whole strings."""
    output = dict(output)
    if isinstance(output.get("text"), list):
        output["text"] = "".join(output["text"])
    if isinstance(output.get("data"), dict):
        output["data"] = {k: "".join(v) if isinstance(v, list) else v for k, v in output["data"].items()}
    return output
