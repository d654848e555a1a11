"""The wall-clock guard: stops learner code that never gives control back.

Virtual time cannot stop ``while True: pass`` or a real blocking call, because such code never calls
``sleep``. So every run of learner code is also bounded in real seconds: in the main thread (where a Jupyter
kernel runs cells) we arm ``signal.setitimer(ITIMER_REAL)``; when it fires, the SIGALRM handler raises
``WallClockExceeded`` inside the running code, which interrupts pure-Python loops and blocking system calls
alike. The sandbox reports it as the invocation's timeout (or an Init timeout) at the virtual deadline, and
the kernel keeps working. Where signals are unavailable (another thread, Windows, Pyodide) code runs unguarded.
"""
from __future__ import annotations

import signal
import threading

__all__ = ["WallClockExceeded", "wall_guard"]


class WallClockExceeded(BaseException):
    """Learner code ran longer than the wall-clock guard allows."""


def _raise(signum, frame):
    raise WallClockExceeded()


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
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed = False
