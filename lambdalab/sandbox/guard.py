"""The wall-clock guard: stops learner code that never gives control back.

Virtual time cannot stop ``while True: pass`` or a real blocking call, because such code never calls
``sleep``. So every run of learner code is also bounded in real seconds: in the main thread (where a Jupyter
kernel runs cells) we arm ``signal.setitimer(ITIMER_REAL)``; when it fires, the SIGALRM handler raises
``WallClockExceeded`` inside the running code, which interrupts pure-Python loops and blocking system calls
alike. The sandbox reports it as the invocation's timeout (or an Init timeout) at the virtual deadline, and
the kernel keeps working. Where signals are unavailable (another thread, Windows, Pyodide) code runs unguarded.

Two details make it safe to leave on:
- the timer repeats (every ``REPEAT`` s after the first alarm) until the guarded block ends, so code that
  catches the first ``WallClockExceeded`` with a broad ``except`` and carries on is interrupted again;
- the handler only raises while learner code is on the stack (its files live under ``/var/task`` or
  ``/opt``, as in Lambda). An alarm that lands in lambdalab's own bookkeeping, after the learner code has
  returned, is ignored, so it can never break the lab itself.
What it cannot stop: code that swallows every ``BaseException`` in a loop, or a C extension that blocks with
signals masked. Jupyter's "Interrupt kernel" is the last resort there.
"""
from __future__ import annotations

import signal
import threading

__all__ = ["WallClockExceeded", "wall_guard", "REPEAT", "LEARNER_ROOTS"]

REPEAT = 0.1                              # seconds between alarms once the first one has fired
LEARNER_ROOTS = ("/var/task", "/opt")     # where learner code's (virtual) files live


class WallClockExceeded(BaseException):
    """Learner code ran longer than the wall-clock guard allows."""


def _raise(signum, frame):
    while frame is not None:
        if frame.f_code.co_filename.startswith(LEARNER_ROOTS):
            raise WallClockExceeded()
        frame = frame.f_back


class wall_guard:
    """``with wall_guard(seconds):`` run code that is interrupted after ``seconds`` of real time."""

    __slots__ = ("seconds", "_previous", "_armed")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._armed = False

    def __enter__(self):
        if (self.seconds and hasattr(signal, "setitimer")
                and threading.current_thread() is threading.main_thread()):
            self._previous = signal.signal(signal.SIGALRM, _raise)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, REPEAT)
            self._armed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed = False
