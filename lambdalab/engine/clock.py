"""The discrete-event core: a virtual clock and a heap of timed callbacks.

Everything in lambdalab that takes time (an Init phase, a handler's duration, a retry's back-off, a batching
window, an idle environment's expiry) is a callback on this heap. The zero-time hops between components are
plain method calls, so one request costs a handful of heap operations and a million of them fit in seconds.

The heap holds ``[time, seq, callback, args]`` lists. ``seq`` grows by one per scheduled event and breaks ties,
so two runs that schedule the same things in the same order run them in the same order: that is the whole of
our determinism, together with the seeded RNG. Cancelling an event blanks its callback (lazy deletion), which
keeps cancel O(1); blanked entries are skipped when they reach the top.

Only the timers due soon are on the heap: those due at or after its edge wait unordered in slots of a quarter
second, and the heap takes the next slots' timers when it runs dry. A replay keeps ~10,000 timers pending (an
invocation's end, an idle environment's expiry, most of them minutes away); on one heap each push and pop
compared ~14 of them, scattered in memory, and that cost the Azure day more than the timers' callbacks did.

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
from math import floor, inf
from heapq import heapify, heappop, heappush
from typing import Any, Callable

__all__ = ["Engine", "Timer", "TICK_EVERY", "VIRTUAL_EPOCH"]

Timer = list  # [time, seq, callback | None, args]: see the module docstring
YOUNG_COLLECTION_EVERY = 10_000  # gc threshold0 while running: new container objects between two young collections
FULL_COLLECTION_EVERY = 1000    # gc threshold2 while running: young collections between two full ones
TICK_EVERY = 4096               # events between two calls of run()'s ``tick``
VIRTUAL_EPOCH = 1767225600.0    # 2026-01-01T00:00:00Z: what virtual time 0 reads as on a wall clock
SLOTS_PER_SECOND = 4            # timers beyond the heap's edge wait in slots of 1/4 s (a power of two: exact)
NEAR_TIMERS = 16                # a heap refill takes whole slots until it holds at least this many timers
_BEYOND = 2.0 ** 40             # (s) timers at or after it (or at inf) share the last slot, numbered inf


class Engine:
    """Virtual clock + event heap + seeded RNG. ``now`` is in seconds from the start of the lab."""

    __slots__ = ("now", "_heap", "_edge", "_slots", "_slot_order", "_seq", "rng", "wake", "_horizon", "ticket")

    def __init__(self, seed: int | None = 0) -> None:
        self.now = 0.0
        self._heap: list[Timer] = []    # the timers due before ``_edge``, as a heap
        # the timers due at or after ``_edge``, unordered, by slot (floor(time * SLOTS_PER_SECOND)); the slots'
        # numbers in a heap of their own. Only the heap's timers are compared: the far ones cost an append
        self._edge = 1.0 / SLOTS_PER_SECOND
        self._slots: dict[int | float, list[Timer]] = {}
        self._slot_order: list[int | float] = []
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
        if time < self._edge:
            heappush(self._heap, timer)
        else:
            self._file(timer)
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
        if timer[0] < self._edge:
            heappush(self._heap, timer)
        else:
            self._file(timer)
        if self.wake is not None:
            self.wake(timer[0])

    def _file(self, timer: Timer) -> None:
        """Keep a timer due at or after the heap's edge in its slot, until the heap reaches it."""
        time = timer[0]
        if time < _BEYOND:
            slot = floor(time * SLOTS_PER_SECOND)
        elif self._edge == inf:               # the last slot is on the heap already: so is this timer
            heappush(self._heap, timer)
            return
        else:
            slot = inf
        bucket = self._slots.get(slot)
        if bucket is None:
            self._slots[slot] = [timer]
            heappush(self._slot_order, slot)
        else:
            bucket.append(timer)

    def _refill(self) -> bool:
        """Move the next slots' timers onto the (empty) heap and its edge past them; False if there were none.

        A slot's timers are all due before the next slot's (``floor(time * SLOTS_PER_SECOND)`` never goes down as
        time goes up, and multiplying by a power of two is exact), so the heap still gives every timer in the
        order of (time, sequence number)."""
        order, slots, heap = self._slot_order, self._slots, self._heap
        while order and len(heap) < NEAR_TIMERS:
            slot = heappop(order)
            heap += slots.pop(slot)
            self._edge = (slot + 1) / SLOTS_PER_SECOND
        heapify(heap)
        return bool(heap)

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

    def _timers(self):
        """Every pending timer (cancelled ones included), in no particular order."""
        yield from self._heap
        for bucket in self._slots.values():
            yield from bucket

    def _quiet(self, time: float) -> bool:
        """Is upkeep due at ``time`` all there is left? (Then a run with no end stops before it.)"""
        if self._horizon > time:
            return False                          # a dropped no-op event would still have come after it
        for event in self._timers():
            if event[2] is not None and event[2] is not _upkeep:
                return False
        if self._horizon > self.now:
            self.now = self._horizon
        return True

    def peek(self) -> float:
        """Time of the next live event, or ``inf`` when nothing is scheduled."""
        heap = self._heap
        while heap or self._refill():
            if heap[0][2] is not None:
                return heap[0][0]
            heappop(heap)
        return float("inf")

    def step(self) -> bool:
        """Run the next event. Returns False when nothing was left to run."""
        heap = self._heap
        while heap or self._refill():
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
        # Requests in flight live for seconds to minutes: a young collection every 700 new objects (CPython's
        # default) met each of them there and again in the middle generation, about 1 us per invocation at
        # 10,000 in flight; every 10,000 most of them are gone before one comes (a garbage cycle still waits for
        # at most 10,000 new objects).
        thresholds = gc.get_threshold()
        young, middle, full = thresholds
        if 0 < young < YOUNG_COLLECTION_EVERY:
            young = YOUNG_COLLECTION_EVERY
        if 0 < full < FULL_COLLECTION_EVERY:
            full = FULL_COLLECTION_EVERY
        if (young, middle, full) != thresholds:
            gc.set_threshold(young, middle, full)
        try:
            self._run(until, stop, tick)
        finally:
            gc.set_threshold(*thresholds)

    def _run(self, until: float | None, stop: Callable[[], bool] | None, tick) -> None:
        heap = self._heap
        pop = heappop
        refill = self._refill
        limit = float("inf") if until is None else until
        upkeep = _upkeep
        if stop is None and until is None and tick is None:      # the bulk loop: run everything
            while heap or refill():
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
            while heap or refill():
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
        while heap or refill():
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
        return len(self._heap) + sum(len(bucket) for bucket in self._slots.values())


def _upkeep(callback: Callable[..., Any], args: tuple) -> None:
    """The callback of every upkeep event (``Engine.upkeep``): the run loops know upkeep by it."""
    callback(*args)
