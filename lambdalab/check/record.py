"""Which exercises the learner has passed, kept in a small local file across kernels and labs.

Each right answer given to ``ll.check.answer`` is recorded (its key only) in a JSON file, by default
``~/.lambdalab/progress.json`` (``LAMBDALAB_PROGRESS`` names another). ``ll.check.progress()`` reads it back
against every lab's registered checks (``lambdalab/check/labNN.py``; a lab added later shows up by itself)
and shows, per lab, which exercises are passed.

The file is a convenience, never a source of errors: a file that cannot be read or parsed is ignored with a
warning (and replaced by the next pass), and a file that cannot be written loses only the record, never the
learner's cell. On Binder the home directory lives as long as the session, so progress lasts that long.
"""
from __future__ import annotations

import html
import importlib
import json
import os
import pathlib
import re
import warnings
from dataclasses import dataclass

__all__ = ["progress", "record_pass", "progress_path", "passed_keys", "Progress"]

_FORMAT = 1
_NOTEBOOK = re.compile(r"labs/(\d\d_[A-Za-z0-9_]+)\.ipynb")


def progress_path() -> pathlib.Path:
    custom = os.environ.get("LAMBDALAB_PROGRESS")
    return pathlib.Path(custom).expanduser() if custom else pathlib.Path.home() / ".lambdalab" / "progress.json"


def passed_keys(path: pathlib.Path | None = None) -> set[str]:
    """The keys recorded as passed; an unreadable or malformed file counts as none (with a warning)."""
    path = path or progress_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"lambdalab: cannot read your progress file {path} ({exc}); ignoring it", stacklevel=3)
        return set()
    try:
        data = json.loads(text)
        passed = data["passed"]
        if not isinstance(passed, list) or not all(isinstance(k, str) for k in passed):
            raise ValueError("'passed' is not a list of exercise names")
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"lambdalab: your progress file {path} is damaged ({exc}); ignoring it (the next exercise "
                      f"you pass starts a new one)", stacklevel=3)
        return set()
    return set(passed)


def record_pass(key: str, path: pathlib.Path | None = None) -> bool:
    """Add ``key`` to the file (atomically: a crash mid-write leaves the old file). False if it cannot."""
    path = path or progress_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # a damaged file is replaced here; progress() is where we warn
        passed = passed_keys(path)
    if key in passed:
        return True
    passed.add(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"format": _FORMAT, "passed": sorted(passed)}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"lambdalab: could not save your progress to {path} ({exc})", stacklevel=3)
        return False
    return True


@dataclass(frozen=True)
class Progress:
    """Per lab: (lab number, notebook name, [(exercise key, passed), ...]). Shows as a table in a notebook."""

    labs: tuple
    path: str

    @property
    def passed(self) -> int:
        return sum(ok for _, _, rows in self.labs for _, ok in rows)

    @property
    def total(self) -> int:
        return sum(len(rows) for _, _, rows in self.labs)

    def lab(self, number: str) -> dict[str, bool]:
        """{exercise key: passed} for lab ``number`` ("03")."""
        return next((dict(rows) for n, _, rows in self.labs if n == number), {})

    def __str__(self) -> str:
        lines = [f"Exercises passed: {self.passed} of {self.total}  ({self.path})"]
        for number, notebook, rows in self.labs:
            done = sum(ok for _, ok in rows)
            marks = "  ".join(f"{'✓' if ok else '·'} {key.split('.', 1)[1]}" for key, ok in rows)
            lines.append(f"lab {number} {notebook:<38} {done}/{len(rows)}  {marks}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = []
        for number, notebook, checks in self.labs:
            done = sum(ok for _, ok in checks)
            cells = " ".join(f'<span style="color:{"#00704F" if ok else "#999"}">{"✓" if ok else "·"} '
                             f'{html.escape(key.split(".", 1)[1])}</span>' for key, ok in checks)
            rows.append(f"<tr><td>{number}</td><td>{html.escape(notebook)}</td><td>{done}/{len(checks)}</td>"
                        f"<td style='text-align:left'>{cells}</td></tr>")
        return (f"<div><b>Exercises passed: {self.passed} of {self.total}</b>"
                f"<table><tr><th>lab</th><th>notebook</th><th>passed</th><th style='text-align:left'>exercises"
                f"</th></tr>{''.join(rows)}</table></div>")


def progress(keys) -> Progress:
    """Which of the exercises ``keys`` (every lab's registered checks, their modules imported) the learner has
    passed, read from the progress file."""
    passed = passed_keys()
    by_lab: dict[str, list] = {}
    for key in keys:
        by_lab.setdefault(key[3:5], []).append((key, key in passed))
    labs = []
    for number in sorted(by_lab):
        doc = importlib.import_module(f"lambdalab.check.lab{number}").__doc__ or ""
        found = _NOTEBOOK.search(doc)
        labs.append((number, found.group(1) if found else f"lab {number}", tuple(by_lab[number])))
    return Progress(tuple(labs), str(progress_path()))
