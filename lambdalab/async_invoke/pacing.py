"""How the async pollers slow down when a function is throttled, and how throttled events spread out.

AWS does two things when an asynchronous invoke is throttled (REFERENCE §6). The event goes back to the internal
queue with a back-off that starts at about a second and grows to five minutes, and each event has its own
timing, so a crowd of events throttled together does not come back together. And the pollers reading that
function's queue slow down: they stop taking more events for a while instead of sending each one into the same
429. Without both, a burst of events at a low reserved concurrency comes back in synchronised waves, each wave
throttled again but for a few events, until the waves are minutes apart (400 events of 2 s at reserved
concurrency 5 then took 18 virtual hours and some aged out).

Here, per event, the back-off doubles from 1 s to 5 min and each wait is drawn in [half, all] of it ("equal
jitter") from the lab's own async random stream (so it never shifts the model's other draws). Per function, a
throttle pauses the function's pollers, 1 s doubling up to 5 min while throttles go on; events received in
the same batch go back to the queue untried (no attempt, no 429, not a retry). The pause ends early when one of
the function's async invokes finishes, since that frees a slot; and it starts afresh after an invoke that ran.
What AWS does exactly is not documented: these are the documented shapes with our own constants.
"""
from __future__ import annotations

import random

__all__ = ["Pacing", "PAUSE_START", "PAUSE_MAX"]

PAUSE_START = 1.0            # a throttled function's pollers wait 1 s, doubling ...
PAUSE_MAX = 300.0            # ... up to 5 minutes while the throttles go on


class Pacing:
    """The pause of each function's pollers, and the jitter of each event's throttle back-off."""

    def __init__(self, lab, resume) -> None:
        self.lab = lab
        self.rng = random.Random(f"async-pacing-{lab.seed}")
        self.resume = resume                   # resume(function name): poll that function's queue again
        self.until: dict[str, float] = {}      # function -> when its pollers receive again
        self.pause: dict[str, float] = {}      # function -> its next pause length
        self.timers: dict[str, object] = {}    # function -> the engine timer that ends the pause

    def jitter(self, backoff: float) -> float:
        """The wait before a throttled event is visible again: equal jitter over its back-off."""
        return backoff * (0.5 + 0.5 * self.rng.random())

    def paused(self, name: str) -> float | None:
        """When the function's pollers receive again, if they are paused now."""
        until = self.until.get(name)
        return until if until is not None and until > self.lab.now else None

    def throttled(self, name: str) -> float:
        """A throttle: the function's pollers pause (longer each time throttles follow); returns the pause."""
        pause = self.pause.get(name, PAUSE_START)
        self.pause[name] = min(PAUSE_MAX, pause * 2)
        until = self.lab.now + pause
        if self.until.get(name, 0.0) < until:
            self.until[name] = until
            self._timer(name, until)
        return pause

    def freed(self, name: str) -> None:
        """One of the function's async invokes ran to its end: a slot is free, poll again now."""
        self.pause.pop(name, None)
        if self.paused(name) is not None:
            self.until[name] = self.lab.now
            self._timer(name, self.lab.now)

    def _timer(self, name: str, when: float) -> None:
        engine = self.lab.engine
        old = self.timers.get(name)
        if old is not None:
            engine.cancel(old)
        self.timers[name] = engine.at(when, self._end, name)

    def _end(self, name: str) -> None:
        self.timers.pop(name, None)
        self.until.pop(name, None)
        self.resume(name)
