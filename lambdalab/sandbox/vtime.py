"""Virtual time for learner code: ``ll.sleep`` and the ``time`` module a handler sees.

Handler and init code run eagerly, at the virtual moment their phase starts. A ``Budget`` counts the virtual
seconds the code has consumed so far; ``sleep`` adds to it, and a sleep that crosses the budget's limit (the
invoke deadline, or the 10 s Init limit) stops the code right there by raising ``DeadlineReached``, a
BaseException so that a learner's ``except Exception`` cannot swallow it. The phase then ends at the limit.

Inside that code ``time.time()``/``monotonic()``/``perf_counter()`` read the virtual clock, so printed times are
deterministic. Plain CPU work takes no virtual time. Each runtime gets its own ``VirtualTimeModule``, so code
that patches ``time.sleep`` changes its own runtime and nothing else, as it would in its own process.

Two more things a process would have: an interval timer (``signal.alarm``/``setitimer`` of a runtime without a
process of its own, ``code_loader.SignalStandin``) that fires while the code sleeps, at its virtual moment; and
threads. A thread the learner's code started is not the one the budget belongs to: its sleeps are real ones
(short, in the background), so it can neither move the invocation's virtual time nor another's.
"""
from __future__ import annotations

import threading
import time as _real_time
import types

__all__ = ["Budget", "DeadlineReached", "sleep", "current", "running", "VirtualTimeModule"]

_get_ident = threading.get_ident
_main = threading.main_thread().ident


class DeadlineReached(BaseException):
    """Raised inside learner code when its virtual time runs out."""


class Budget:
    __slots__ = ("start", "elapsed", "limit", "epoch", "thread", "alarm")

    def __init__(self, start: float, limit: float, epoch: float) -> None:
        self.start = start          # lab virtual time when the code began
        self.elapsed = 0.0          # virtual seconds consumed
        self.limit = limit          # seconds available before the deadline
        self.epoch = epoch          # wall-clock epoch that virtual time 0 maps to
        self.thread = None          # the thread running the code (set by ``running``)
        self.alarm = None           # the runtime's interval timer (``.at`` virtual time, ``.fire()``), if armed

    @property
    def now(self) -> float:
        return self.start + self.elapsed


_stack: list[Budget] = []


def current() -> Budget | None:
    return _stack[-1] if _stack else None


class running:
    """Context manager: make ``budget`` the one ``sleep`` charges (from this thread)."""

    __slots__ = ("budget",)

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __enter__(self) -> Budget:
        self.budget.thread = _get_ident()
        _stack.append(self.budget)
        return self.budget

    def __exit__(self, *exc) -> None:
        _stack.pop()


def sleep(seconds: float) -> None:
    """Consume ``seconds`` of virtual time in handler or init code (also what ``time.sleep`` does there)."""
    budget = _stack[-1] if _stack else None
    if budget is not None and budget.thread != _get_ident() or budget is None and _get_ident() != _main:
        _real_time.sleep(min(max(seconds, 0.0), 1.0))     # a thread the code started: real, short, no budget
        return
    if budget is None:
        raise RuntimeError("ll.sleep() only consumes virtual time inside handler or init code; "
                           "in a notebook cell use lab.advance(seconds)")
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    end = budget.elapsed + seconds
    alarm = budget.alarm
    while alarm is not None and alarm.at is not None and alarm.at - budget.start <= min(end, budget.limit):
        budget.elapsed = max(budget.elapsed, alarm.at - budget.start)
        alarm.fire()                          # the runtime's own SIGALRM handler runs now (it may raise)
    budget.elapsed = end
    if budget.elapsed >= budget.limit:
        budget.elapsed = budget.limit
        raise DeadlineReached()


def _now() -> float:
    budget = current()
    return budget.now if budget else 0.0


class VirtualTimeModule(types.ModuleType):
    """The ``time`` module as learner code sees it: the real one, but with virtual sleep and clocks."""

    def __init__(self) -> None:
        super().__init__("time", "time, with virtual sleep and clocks (lambdalab)")

    def __getattr__(self, name):
        return getattr(_real_time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        sleep(seconds)

    @staticmethod
    def time() -> float:
        budget = current()
        return (budget.epoch + budget.now) if budget else _real_time.time()

    @staticmethod
    def time_ns() -> int:
        return int(VirtualTimeModule.time() * 1e9)

    @staticmethod
    def monotonic() -> float:
        return _now()

    @staticmethod
    def perf_counter() -> float:
        return _now()

    @staticmethod
    def monotonic_ns() -> int:
        return int(_now() * 1e9)

    @staticmethod
    def perf_counter_ns() -> int:
        return int(_now() * 1e9)
