"""Stepping out of learner code: the lab doing work on behalf of handler code that is running in the kernel.

Handler and module code of the inline Python runtime runs inside the notebook's own process, so while it runs
the runtime swaps process-wide things for its own (``PythonRuntime._run``): ``sys.stdout``/``stderr`` (its log
capture), its handler on the root logger, the process-wide settings its code changed (``confine``), and the
guards (the wall-clock alarm, the memory limit, the fork marker). Each run in progress is recorded here,
innermost last.

When that code calls one of the lab's services (``ll.client``, see ``lambdalab.calls``), the lab does the work in
the middle of the run, and the work may run other functions' code (a synchronous invoke). ``StepOut`` puts the
kernel's own streams, logging and settings back and pauses the guards for the length of the work, so what runs
meanwhile is neither logged as the caller's output nor stopped by the caller's alarm; ``back()`` restores the
caller's.
"""
from __future__ import annotations

import logging
import sys

__all__ = ["LearnerRun", "StepOut", "running_environment"]

_inside: list["LearnerRun"] = []     # runs of learner code in progress, innermost last


class LearnerRun:
    """One run of learner code in progress (a context manager around it): what it swapped in.

    ``kernel`` is what ``ProcessState.enter`` returned (the kernel's own settings); ``guards`` are the guard
    objects with ``pause``/``resume``."""

    __slots__ = ("runtime", "saved", "kernel", "watched", "guards", "out")

    def __init__(self, runtime, saved, kernel, watched) -> None:
        self.runtime, self.saved, self.kernel, self.watched = runtime, saved, kernel, watched
        self.guards = ()
        self.out = False

    def __enter__(self) -> "LearnerRun":
        _inside.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _inside.remove(self)


def running_environment():
    """The execution environment whose learner code is running right now (not stepped out of), or None."""
    return _inside[-1].runtime.env if _inside and not _inside[-1].out else None


class StepOut:
    """The lab works on behalf of the innermost running learner code until ``back()``."""

    __slots__ = ("run", "streams")

    def __init__(self) -> None:
        self.run = run = _inside[-1]
        run.out = True
        for guard in run.guards:
            guard.pause()
        self.streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = run.saved
        logging.root.removeHandler(run.runtime.log_handler)
        run.runtime.process.leave(run.kernel, run.watched)      # the code's changes kept, the kernel's back

    def back(self) -> None:
        run = self.run
        run.kernel = run.runtime.process.enter(run.watched)
        logging.root.addHandler(run.runtime.log_handler)
        sys.stdout, sys.stderr = self.streams
        for guard in reversed(run.guards):
            guard.resume()
        run.out = False
