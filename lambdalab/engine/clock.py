"""The discrete-event core: a virtual clock and a heap of timed callbacks.

Everything in lambdalab that takes time (an Init phase, a handler's duration, a retry's back-off, a batching
window, an idle environment's expiry) is a callback on this heap. The zero-time hops between components are
plain method calls, so one request costs a handful of heap operations and a million of them fit in seconds.

The heap holds ``[time, seq, callback, args]`` lists. ``seq`` grows by one per scheduled event and breaks ties,
so two runs that schedule the same things in the same order run them in the same order: that is the whole of
our determinism, together with the seeded RNG. Cancelling an event blanks its callback (lazy deletion), which
keeps cancel O(1); blanked entries are skipped when they reach the top.

Some events are the fleet's upkeep rather than the workload's: a worker's lease drain, the recycling of a
provisioned environment at the end of its lifetime. They recur for as long as the fleet exists, so ``run()``
with no end time does not wait for them: when nothing but upkeep is left, the workload is over and the run
stops there (``advance`` and ``run(until=...)`` run them as they come due).

The same object serves the real-time driver (``lambdalab.realtime``): there ``now`` follows a monotonic clock and
the driver sleeps until the next event is due instead of jumping to it (``wake`` tells it of earlier events).

The public surface, all a component needs (nothing outside ``lambdalab.engine`` touches the heap or the sequence):

- ``at(time, callback, *args)`` / ``schedule(delay, callback, *args)`` put a callback on the heap and return
  its ``Timer``; ``upkeep(...)`` the same for fleet upkeep;
- ``cancel(timer)`` withdraws it (safe on None, on a timer that ran, or twice); ``reschedule(timer, time)``
  withdraws it and returns a new timer for the same callback at ``time`` (ordered as if scheduled now);
- ``defer(time, callback, *args)`` makes a timer that takes its place in the order *now* (the sequence number
  ``at`` would give it) but waits off the heap until ``arm(timer)``. ``drop(timer)`` withdraws a timer whose
  callback would have done nothing when it came due: the clock still ends a run no earlier than its time, as
  running it would have made it.
- ``ticket()`` draws the place in the order an event scheduled now would take, for a timer made later:
  ``place(time, ticket, callback, *args)`` puts it on the heap there. So many pending timers whose times never
  go down (the Worker Manager's idle expiries, one per idle environment) can keep one heap entry, the earliest,
  and still run at the same times and in the same order as one event each; ``dropped(time)`` is ``drop`` for
  one that was never made (the clock still ends a run no earlier than ``time``).

A ``Timer`` is the heap entry itself, a list ``[time, seq, callback, args]``: creating no other object keeps the
hot path cheap. Treat it as a handle: read ``timer[0]`` for its time, change it only through the methods above.
"""
from __future__ import annotations

import gc
import random
from itertools import count
from heapq import heappop, heappush
from typing import Any, Callable

__all__ = ["Engine", "Timer", "TICK_EVERY", "VIRTUAL_EPOCH"]

Timer = list  # [time, seq, callback | None, args]: see the module docstring
FULL_COLLECTION_EVERY = 1000    # gc threshold2 while running: young collections between two full ones
TICK_EVERY = 4096               # events between two calls of run()'s ``tick``
VIRTUAL_EPOCH = 1767225600.0    # 2026-01-01T00:00:00Z: what virtual time 0 reads as on a wall clock


class Engine:
    """Virtual clock + event heap + seeded RNG. ``now`` is in seconds from the start of the lab."""

    __slots__ = ("now", "_heap", "_seq", "rng", "wake", "_horizon", "ticket")

    def __init__(self, seed: int | None = 0) -> None:
        self.now = 0.0
        self._heap: list[Timer] = []
        self._seq = count(1)            # sequence numbers, one per timer made
        #: ``ticket()``: the sequence number (the place in the order) an event scheduled now takes; see ``place``
        self.ticket = self._seq.__next__
        self.rng = random.Random(seed)
        #: called with the new earliest time when something is scheduled (the real-time driver listens)
        self.wake: Callable[[float], None] | None = None
        # the latest time of dropped timers (``drop``): when the heap runs dry the clock still moves to it, as
        # running them would have, so ``now`` after ``run()`` does not depend on dropping them
        self._horizon = 0.0

    def at(self, time: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` at virtual time ``time`` (never in the past)."""
        if time < self.now:
            time = self.now
        timer = [time, next(self._seq), callback, args]
        heappush(self._heap, timer)
        if self.wake is not None:
            self.wake(time)
        return timer

    def schedule(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        return self.at(self.now + delay, callback, *args)

    def defer(self, time: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """A timer for ``time`` that takes its place in the order now but stays off the heap until ``arm``."""
        if time < self.now:
            time = self.now
        return [time, next(self._seq), callback, args]

    def place(self, time: float, ticket: int, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` at ``time`` in the place ``ticket`` (from ``ticket()``, when the timer was due to
        be made): it runs where a timer made then would have."""
        timer = [time, ticket, callback, args]
        self.arm(timer)
        return timer

    def arm(self, timer: Timer) -> None:
        """Put a deferred timer on the heap (with the time and place it was given by ``defer``)."""
        heappush(self._heap, timer)
        if self.wake is not None:
            self.wake(timer[0])

    @staticmethod
    def cancel(timer: Timer | None) -> None:
        """Withdraw a timer (it will not run). Safe on None, on a timer that ran or was cancelled already."""
        if timer is not None:
            timer[2] = None

    def drop(self, timer: Timer) -> None:
        """Withdraw a timer whose callback would have done nothing; a run still ends no earlier than its time."""
        timer[2] = None
        if timer[0] > self._horizon:
            self._horizon = timer[0]

    def dropped(self, time: float) -> None:
        """``drop`` for a timer at ``time`` that was never made (see ``place``): a run ends no earlier than it."""
        if time > self._horizon:
            self._horizon = time

    def reschedule(self, timer: Timer, time: float) -> Timer:
        """Move a pending timer's callback to ``time``: the old timer is withdrawn, the new one is returned."""
        callback, args = timer[2], timer[3]
        timer[2] = None
        return self.at(time, callback, *args)

    def upkeep(self, time: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """``at(time, callback, *args)`` for fleet upkeep: ``run()`` with no end time does not wait for it."""
        return self.at(time, _upkeep, callback, args)

    def _quiet(self, time: float) -> bool:
        """Is upkeep due at ``time`` all there is left? (Then a run with no end stops before it.)"""
        if self._horizon > time:
            return False                          # a dropped no-op event would still have come after it
        for event in self._heap:
            if event[2] is not None and event[2] is not _upkeep:
                return False
        if self._horizon > self.now:
            self.now = self._horizon
        return True

    def peek(self) -> float:
        """Time of the next live event, or ``inf`` when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heappop(heap)
        return heap[0][0] if heap else float("inf")

    def step(self) -> bool:
        """Run the next event. Returns False when nothing was left to run."""
        heap = self._heap
        while heap:
            time, _, callback, args = heappop(heap)
            if callback is None:
                continue
            self.now = time
            callback(*args)
            return True
        if self._horizon > self.now:
            self.now = self._horizon
        return False

    def run(self, until: float | None = None, stop: Callable[[], bool] | None = None,
            tick: Callable[[int], None] | None = None) -> None:
        """Run events in order until the heap is empty, ``until`` is reached, or ``stop()`` is true.

        With ``until`` the clock ends exactly at ``until`` even if the last event was earlier. ``tick(n)`` (a
        progress display; only without ``stop``) is told every ``TICK_EVERY`` events, and once at the end, how
        many events ran since it was last told; it cannot change the run.
        """
        # A long run keeps many objects alive (trace steps, log lines, records). CPython's full collection
        # re-scans all of them each time the survivors grow by a quarter, which cost bulk and full-trace runs
        # a third of their time. During a run only the young generations are collected (short-lived cycles
        # still go at once); the full collection resumes its usual schedule when the run returns.
        thresholds = gc.get_threshold()
        if 0 < thresholds[2] < FULL_COLLECTION_EVERY:
            gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTION_EVERY)
        try:
            self._run(until, stop, tick)
        finally:
            gc.set_threshold(*thresholds)

    def _run(self, until: float | None, stop: Callable[[], bool] | None, tick) -> None:
        heap = self._heap
        pop = heappop
        limit = float("inf") if until is None else until
        upkeep = _upkeep
        if stop is None and until is None and tick is None:      # the bulk loop: run everything
            while heap:
                event = pop(heap)
                time, _, callback, args = event
                if callback is None:
                    continue
                if callback is upkeep and self._quiet(time):
                    heappush(heap, event)             # (the same list: its owner may still cancel it)
                    return
                self.now = time
                callback(*args)
            if self._horizon > self.now:
                self.now = self._horizon
            return
        if stop is None:                          # ... up to a time, and/or watched
            countdown = TICK_EVERY
            while heap:
                event = pop(heap)
                callback = event[2]
                if callback is None:
                    continue
                if event[0] > limit or (callback is upkeep and until is None and self._quiet(event[0])):
                    heappush(heap, event)   # same time and sequence number: same place
                    break
                self.now = event[0]
                callback(*event[3])
                if tick is not None:
                    countdown -= 1
                    if not countdown:
                        countdown = TICK_EVERY
                        tick(TICK_EVERY)
            else:
                if limit >= self._horizon > self.now:
                    self.now = self._horizon
            if until is not None and until > self.now:
                self.now = until
            if tick is not None:
                tick(TICK_EVERY - countdown)
            return
        while heap:
            if stop():
                return
            event = heap[0]
            if event[2] is None:
                pop(heap)
                continue
            if event[0] > limit or (event[2] is upkeep and until is None and self._quiet(event[0])):
                break
            pop(heap)
            self.now = event[0]
            event[2](*event[3])
        else:
            # the heap ran dry: dropped no-op events still move the clock, as running them would have
            if limit >= self._horizon > self.now and not (stop is not None and stop()):
                self.now = self._horizon
        if until is not None and until > self.now and not (stop is not None and stop()):
            self.now = until

    def pending(self) -> int:
        """Number of scheduled events (cancelled ones included until they surface)."""
        return len(self._heap)


def _upkeep(callback: Callable[..., Any], args: tuple) -> None:
    """The callback of every upkeep event (``Engine.upkeep``): the run loops know upkeep by it."""
    callback(*args)
