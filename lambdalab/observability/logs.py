"""CloudWatch Logs as Lambda writes them: one log group per function, one log stream per environment.

Lines are stored with the virtual time they were written, so ``lab.logs(fn)`` is time-ordered even when
environments interleave, and with the number of trace steps recorded when they were written (a handler's
output is written when its invoke starts, stamped with the virtual times it printed at; a widget showing the
lines "so far" at a step takes those stamped up to the step's time, less any that later steps wrote at that
same time). A line the platform writes for every invoke (START, END, REPORT) is kept as a template and its
values, and formatted when first read. Logs are kept in ``trace="full"`` mode only; bulk modes keep counters instead
(LogType=Tail still works in every mode, because each invocation carries its own lines).
"""
from __future__ import annotations

import bisect

__all__ = ["LogStore"]


class LogStore:
    def __init__(self, enabled: bool, steps=None) -> None:
        self.enabled = enabled
        self._steps = steps or (lambda: 0)        # how many trace steps exist (the Lab's len(trace))
        # (t, seq, function, stream, steps, line, *values): a line with values is a template until first read
        self._events: list[tuple] = []
        self._seq = 0

    def append(self, function: str, stream: str, t: float, line: str, values: tuple = ()) -> None:
        """Keep one line. With ``values``, ``line`` is a ``str.format`` template for them, formatted when the line
        is first read (pass values that do not change afterwards, as for a trace Step's words)."""
        if not self.enabled:
            return
        self._seq += 1
        event = (t, self._seq, function, stream, self._steps(), line) + values
        if self._events and t < self._events[-1][0]:
            bisect.insort(self._events, event)
        else:
            self._events.append(event)

    def _read(self) -> list:
        """Every event as (t, seq, function, stream, steps, line), its line formatted (once: the formatted event
        takes the template's place)."""
        events = self._events
        for i, event in enumerate(events):
            if len(event) > 6:
                events[i] = event[:5] + (event[5].format(*event[6:]),)
        return events

    def events(self, function: str | None = None) -> list[tuple[float, str, str]]:
        """(t, function, line) for every event, time-ordered."""
        return [(t, f, line) for t, _, f, _, _, line in self._read() if function is None or f == function]

    def stepped_events(self, function: str | None = None) -> list[tuple[float, str, str, int]]:
        """(t, function, line, steps): ``events`` plus how many trace steps had been recorded when written."""
        return [(t, f, line, n) for t, _, f, _, n, line in self._read() if function is None or f == function]

    def lines(self, function: str) -> list[str]:
        return [line for t, _, f, _, _, line in self._read() if f == function]

    def streams(self, function: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t, _, f, stream, _, line in self._read():
            if f == function:
                out.setdefault(stream, []).append(line)
        return out
