"""No learner code can hurt the kernel: hostile handlers, each run in a process standing in for the kernel.

One runner process (``stand_in.py``) forks a child per (isolation mode, case), a few at a time, with a
wall-clock limit; each child is a fresh "kernel" that creates a lab, runs the case, runs a canary function and
compares its own process-wide state before and after. Here each (mode, case) is one test: the stand-in must
have lived (exit 0, a result written, nothing left running in its process group), the caller must have seen
AWS's error type, the lab must still work, and nothing of the kernel may have changed. Cases that inline mode
cannot contain (``Case.inline`` False) are expected to fail inline and must pass in process mode.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from .cases import CASES

HERE = pathlib.Path(__file__).parent
MODES = ("inline", "process")
LIMIT = 30.0                  # seconds a stand-in may live


@pytest.fixture(scope="session")
def outcomes() -> dict:
    """Run every (mode, case) once, in parallel stand-ins; {(mode, case name): the runner's line}."""
    run = subprocess.run([sys.executable, str(HERE / "stand_in.py"), "--modes", ",".join(MODES), "--jobs", "3",
                          "--limit", str(LIMIT)], capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the runner printed nothing: {run.stderr[-2000:]}"
    return {(line["mode"], line["case"]): line for line in lines}


def _params():
    for mode in MODES:
        for case in CASES:
            marks = []
            if mode == "inline" and not case.inline:
                marks.append(pytest.mark.xfail(strict=True, reason="inline cannot contain this: the code "
                                                                    "reaches the real process (use isolation=\"process\")"))
            yield pytest.param(mode, case, id=f"{mode}-{case.name}", marks=marks)


@pytest.mark.parametrize("mode, case", list(_params()))
def test_the_kernel_lives_and_the_lab_still_works(outcomes, mode, case):
    line = outcomes[(mode, case.name)]
    assert not line["killed_at_limit"], f"the stand-in was still running after {LIMIT:g} s"
    assert line["exit"] == 0, f"the stand-in died (exit {line['exit']})"
    assert line["result"] is not None, "the stand-in wrote no result"
    assert not line["leftover_processes"], "processes were left running in the stand-in's group"
    assert line["result"]["problems"] == []
