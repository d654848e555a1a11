"""The guards around learner code: real seconds, memory, and the learner's own Ctrl-C.

Virtual time cannot stop ``while True: pass`` or a real blocking call, because such code never calls
``sleep``. So every run of learner code is also bounded in real seconds: in the main thread (where a Jupyter
kernel runs cells) we arm ``signal.setitimer(ITIMER_REAL)``; when it fires, the SIGALRM handler raises
``WallClockExceeded`` inside the running code, which interrupts pure-Python loops and blocking system calls
alike. The sandbox reports it as the invocation's timeout (or an Init timeout) at the virtual deadline, and
the kernel keeps working. Where signals are unavailable (another thread, Windows, Pyodide) code runs unguarded.

What makes it safe to leave on, and hard to dodge:
- the handler only raises while learner code is on the stack (its files live under ``/var/task`` or ``/opt``,
  as in Lambda). An alarm that lands in lambdalab's own bookkeeping is ignored, so it never breaks the lab;
- the timer repeats (every ``REPEAT`` s after the first alarm) until the guarded block ends, so code that catches
  the first ``WallClockExceeded`` and carries on is interrupted again; from the second alarm on, learner frames
  are also traced line by line and the next line raises again, so ``while True: try: ... except
  BaseException: pass`` is left too (the raise comes from inside the ``except`` body, which nothing catches);
- learner code never gets at the real timer or the SIGALRM handler: its ``signal`` module is a stand-in
  (``code_loader``), and the kernel's handlers are put back after each run (``confine``).
What it cannot stop: a C extension that blocks with signals masked, or code nested in two catch-all handlers
that also never runs a line outside them. Jupyter's "Interrupt kernel" is the last resort there; a Ctrl-C that
the *user* sends while learner code runs is told apart from a ``KeyboardInterrupt`` the code raises itself
(``user_interrupted``) and stops the lab, as it would any cell.

``memory_limit(mb)``: while learner code runs in the kernel, its address space may grow by MemorySize at most
(``RLIMIT_AS`` relative to what the process maps at the moment the code starts, read afresh each time), so a
handler that allocates 2 GB in a 128 MB function gets a ``MemoryError`` (reported as ``Runtime.OutOfMemory``)
instead of taking the machine's memory, and one that allocates a few MB never does, whatever the kernel mapped
just before. It counts new address space, not bytes in use: memory the kernel's allocator already holds (freed
earlier) is reused unseen. It limits the whole process for that moment (the kernel's other threads share the
MemorySize while it lasts), which is why it is only armed around learner code; a library that aborts when an
allocation fails (rather than raising) still ends the process: ``isolation="process"`` contains that.
"""
from __future__ import annotations

import os
import signal
import sys
import threading

import _signal                            # the C module: signal.signal's enum wrapping costs microseconds a call

try:
    import resource
except ImportError:                       # Windows, Pyodide
    resource = None
ITIMER_REAL = getattr(signal, "ITIMER_REAL", None)
SIGALRM, SIGINT = getattr(signal, "SIGALRM", None), signal.SIGINT

__all__ = ["WallClockExceeded", "wall_guard", "memory_limit", "user_interrupted", "REPEAT", "LEARNER_ROOTS"]

REPEAT = 0.1                              # seconds between alarms once the first one has fired
LEARNER_ROOTS = ("/var/task", "/opt")     # where learner code's (virtual) files live
PAGE = 4096


class WallClockExceeded(BaseException):
    """Learner code ran longer than the wall-clock guard allows."""


class _State:
    alarms = 0                            # alarms that landed in learner code during the current guarded run
    traced: list = []                     # learner frames given a line tracer (undone when the run ends)
    interrupted = False                   # the user pressed Ctrl-C (SIGINT) while learner code ran


def _learner_frames(frame):
    while frame is not None:
        if frame.f_code.co_filename.startswith(LEARNER_ROOTS):
            yield frame
        frame = frame.f_back


def _trace_lines(frame, event, arg):
    if event == "line" and frame.f_code.co_filename.startswith(LEARNER_ROOTS):
        raise WallClockExceeded()
    return _trace_lines


def _raise(signum, frame):
    learner = list(_learner_frames(frame))
    if not learner:
        return
    _State.alarms += 1
    if _State.alarms > 1:                 # it was caught and the code went on: every next line raises too
        for f in learner:
            f.f_trace_lines = True
            f.f_trace = _trace_lines
            _State.traced.append(f)
        sys.settrace(_trace_lines)
    raise WallClockExceeded()


def _interrupt(signum, frame):
    _State.interrupted = True
    raise KeyboardInterrupt()


def user_interrupted() -> bool:
    """Was the ``KeyboardInterrupt`` just caught the user's Ctrl-C (not one the learner's code raised)?"""
    return _State.interrupted


class wall_guard:
    """``with wall_guard(seconds):`` run code that is interrupted after ``seconds`` of real time."""

    __slots__ = ("seconds", "_previous", "_previous_int", "_previous_trace", "_armed", "_paused")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._armed = False
        self._paused = None

    def __enter__(self):
        _State.interrupted = False
        if (self.seconds and ITIMER_REAL is not None
                and threading.current_thread() is threading.main_thread()):
            _State.alarms = 0
            self._previous_trace = sys.gettrace()
            self._previous = _signal.signal(SIGALRM, _raise)
            self._previous_int = _signal.signal(SIGINT, _interrupt)
            _signal.setitimer(ITIMER_REAL, self.seconds, REPEAT)
            self._armed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._armed:
            _signal.setitimer(ITIMER_REAL, 0)
            _signal.signal(SIGALRM, self._previous)
            _signal.signal(SIGINT, self._previous_int)
            if _State.traced:
                for f in _State.traced:
                    f.f_trace = None
                _State.traced.clear()
            if sys.gettrace() is not self._previous_trace:
                sys.settrace(self._previous_trace)
            _State.alarms = 0
            self._armed = False

    def pause(self) -> None:
        """Stop the clock (and any line tracing) while the lab works on the guarded code's behalf: a service call
        it makes, which may run other functions' code under guards of their own (``sandbox.learner_code``)."""
        if self._armed:
            self._paused = (_signal.getitimer(ITIMER_REAL)[0], sys.gettrace(), _State.alarms)
            _signal.setitimer(ITIMER_REAL, 0)
            _signal.signal(SIGALRM, self._previous)
            _signal.signal(SIGINT, self._previous_int)
            sys.settrace(self._previous_trace)

    def resume(self) -> None:
        if self._armed and self._paused is not None:
            left, trace, _State.alarms = self._paused
            self._paused = None
            _signal.signal(SIGALRM, _raise)
            _signal.signal(SIGINT, _interrupt)
            sys.settrace(trace)
            _signal.setitimer(ITIMER_REAL, left or REPEAT, REPEAT)


class _AddressSpace:
    """The process's address space as it is now (VmSize, from ``/proc/self/statm``).

    Read afresh for every run of learner code: the kernel's own threads and libraries map and unmap memory at
    any moment (a thread's 64 MB malloc arena, a library's import), so a size remembered from earlier real
    time would make the limit depend on the wall clock. A descriptor kept open makes each read one ``pread``
    (about 1.5 us; opening the file each time costs 10 us); a forked child opens its own (its ``/proc/self`` is
    another process)."""

    fd: int | None = None
    pid: int | None = None

    @classmethod
    def now(cls) -> int | None:
        if cls.pid != os.getpid():
            if cls.fd is not None:
                os.close(cls.fd)             # the parent's, inherited through fork
            cls._open()
        size = cls._read()
        if size is None and cls.fd is not None:
            # learner code closed it (its number may be another file's now: never close that one); open it again
            # and read at once, so this run is limited too
            cls._open()
            size = cls._read()
        return size

    @classmethod
    def _open(cls) -> None:
        try:
            cls.fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            cls.fd = None                    # no /proc: no limit
        cls.pid = os.getpid()

    @classmethod
    def _read(cls) -> int | None:
        if cls.fd is None:
            return None
        try:
            fields = os.pread(cls.fd, 128, 0).split()
            if len(fields) == 7:             # statm's seven counts, not some other file now under this number
                return int(fields[0]) * PAGE
        except (OSError, ValueError):
            pass
        return None


class memory_limit:
    """``with memory_limit(mb):`` the address space may grow by at most ``mb`` MiB inside the block.

    The limit is the address space at the moment the block starts plus ``mb``. While the block is paused (the
    lab works on the code's behalf) whatever the lab maps is the lab's: ``resume`` gives the code what it had
    left of its ``mb``, counted from the address space as it is then."""

    __slots__ = ("mb", "_previous", "_limit", "_left")

    def __init__(self, mb: int | None) -> None:
        self.mb = mb
        self._previous = None
        self._limit = None
        self._left = None

    def __enter__(self):
        if self.mb and resource is not None:
            self._previous = resource.getrlimit(resource.RLIMIT_AS)
            if not self._arm(self.mb * 1024 * 1024):
                self._previous = None
        return self

    def _arm(self, room: int) -> bool:
        """Let the address space grow by ``room`` bytes from its size now (never past the process's own limit)."""
        mapped = _AddressSpace.now()
        if mapped is None:
            return False
        soft, hard = self._previous
        limit = mapped + room
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        armed = (limit, hard)               # made before the limit holds: after it nothing here may allocate
        try:
            resource.setrlimit(resource.RLIMIT_AS, armed)
        except (ValueError, OSError):
            return False
        self._limit = armed
        return True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, self._previous)
            self._previous = None

    def pause(self) -> None:
        """The process's own limit while the lab works on the limited code's behalf (see ``wall_guard.pause``)."""
        if self._previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, self._previous)   # first: the code may have used all its room
            mapped = _AddressSpace.now()
            self._left = None if mapped is None else max(0, self._limit[0] - mapped)

    def resume(self) -> None:
        if self._previous is not None:
            if self._left is None or not self._arm(self._left):
                resource.setrlimit(resource.RLIMIT_AS, self._limit)
