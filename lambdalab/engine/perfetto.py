"""The trace as Chrome trace-event JSON, for ui.perfetto.dev (or chrome://tracing).

AWS shows a request's path in X-Ray and CloudWatch; a timeline of every environment side by side is what a
profiler gives. ``lab.trace.to_perfetto(path)`` writes the trace in the Trace Event Format that Perfetto opens:

- process 1, "Lambda components": one track (thread) per component of the architecture, in the diagram's
  order. A step that takes time (a microVM boot, a handler run) is a slice of that length; a zero-time hop is an
  instant. Two timed steps of one component that overlap (two handlers running at once) cannot both be slices
  on one track, so the later one becomes an instant there (the environment tracks show both in full).
- process 2, "Execution environments": one track per environment. Its states are slices one after the other
  (init, then each invocation, frozen between them, shutdown), and inside them the timed phases: microVM
  boot, code fetch, extension, runtime and function init, the handler's run. Each invocation slice names its
  request id.

Times are virtual microseconds (``ts``/``dur``), so a 3 ms handler is 3,000 units whatever the wall clock did.
Metadata events name every process and track; ``args`` carry the step's words and ids.
"""
from __future__ import annotations

import json
import pathlib
from typing import Iterable

from .vocabulary import COMPONENTS

__all__ = ["trace_events", "write"]

COMPONENTS_PID, ENVIRONMENTS_PID = 1, 2
_STATE_SLICES = {"init": "Init", "invoking": "Invoke", "frozen": "frozen", "shutdown": "Shutdown"}
_US = 1_000_000


def _us(t: float) -> float:
    return round(t * _US, 3)


def _duration(step) -> float:
    try:
        return max(0.0, float((step.detail or {}).get("duration") or 0.0))
    except (TypeError, ValueError):
        return 0.0


def _args(step) -> dict:
    args = {"text": step.text, "seq": step.seq}
    for key in ("request_id", "function", "version", "env_id", "worker_id"):
        value = getattr(step, key)
        if value is not None:
            args[key] = value
    return args


class _EnvironmentTrack:
    """One environment's slices: its state slices, and timed phases nested inside the one that holds them."""

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.state: list | None = None     # [name, start, args] of the open state slice
        self.inner_end = 0.0               # end of the last nested slice (they may not overlap)
        self.events: list[dict] = []

    def slice(self, name, start, end, args) -> dict:
        event = {"ph": "X", "name": name, "cat": "environment", "pid": ENVIRONMENTS_PID, "tid": self.tid,
                 "ts": _us(start), "dur": _us(max(0.0, end - start)), "args": args}
        self.events.append(event)
        return event

    def change_state(self, state, t, step) -> None:
        if self.state is not None and self.state[2]["state"] == state:
            return              # a thaw, then the invoke: one invocation
        self.close(t)
        if state in _STATE_SLICES:
            name = _STATE_SLICES[state]
            if state == "invoking" and step.request_id:
                name = f"Invoke {step.request_id[:8]}"
            self.state = [name, t, {"state": state, **_args(step)}]
            self.inner_end = t

    def close(self, t) -> None:
        if self.state is not None:
            name, start, args = self.state
            self.slice(name, start, t, args)
            self.state = None

    def phase(self, step, name) -> None:
        start, end = step.t, step.t + _duration(step)
        if self.state is not None and start >= self.inner_end and end > start:
            self.slice(name, start, end, _args(step))
            self.inner_end = end


def trace_events(steps: Iterable, *, end: float | None = None) -> dict:
    """The Trace Event Format document (a dict) for ``steps``; open slices end at ``end`` (default: last step)."""
    events: list[dict] = [
        {"ph": "M", "name": "process_name", "pid": COMPONENTS_PID, "tid": 0, "args": {"name": "Lambda components"}},
        {"ph": "M", "name": "process_name", "pid": ENVIRONMENTS_PID, "tid": 0,
         "args": {"name": "Execution environments"}},
        {"ph": "M", "name": "process_sort_index", "pid": COMPONENTS_PID, "tid": 0, "args": {"sort_index": 1}},
        {"ph": "M", "name": "process_sort_index", "pid": ENVIRONMENTS_PID, "tid": 0, "args": {"sort_index": 2}},
    ]
    component_tid = {name: i + 1 for i, name in enumerate(COMPONENTS)}
    component_end: dict[str, float] = {}
    named: set[str] = set()
    envs: dict[str, _EnvironmentTrack] = {}
    last_t = 0.0
    for step in steps:
        last_t = max(last_t, step.t)
        comp = step.component
        if comp not in component_tid:           # a component added to the vocabulary later
            component_tid[comp] = len(component_tid) + 1
        tid = component_tid[comp]
        if comp not in named:
            named.add(comp)
            events += [{"ph": "M", "name": "thread_name", "pid": COMPONENTS_PID, "tid": tid, "args": {"name": comp}},
                       {"ph": "M", "name": "thread_sort_index", "pid": COMPONENTS_PID, "tid": tid,
                        "args": {"sort_index": tid}}]
        duration = _duration(step)
        base = {"name": step.action, "cat": comp, "pid": COMPONENTS_PID, "tid": tid, "ts": _us(step.t),
                "args": _args(step)}
        if duration > 0 and step.t >= component_end.get(comp, 0.0):
            events.append({"ph": "X", "dur": _us(duration), **base})
            component_end[comp] = step.t + duration
            last_t = max(last_t, step.t + duration)
        else:
            events.append({"ph": "i", "s": "t", **base})
        if step.env_id is None:
            continue
        track = envs.get(step.env_id)
        if track is None:
            track = envs[step.env_id] = _EnvironmentTrack(len(envs) + 1)
            label = f"{step.env_id} · {step.function}" if step.function else step.env_id
            events += [{"ph": "M", "name": "thread_name", "pid": ENVIRONMENTS_PID, "tid": track.tid,
                        "args": {"name": label}},
                       {"ph": "M", "name": "thread_sort_index", "pid": ENVIRONMENTS_PID, "tid": track.tid,
                        "args": {"sort_index": track.tid}}]
        detail = step.detail or {}
        state = detail.get("state") if comp == "environment" else None
        if state is not None:
            track.change_state(state, step.t, step)
        phase = detail.get("phase")
        if phase is not None and phase not in ("invoke", "shutdown") and duration > 0:
            track.phase(step, phase.replace("_", " "))
        elif comp == "function" and duration > 0:
            track.phase(step, "handler")
    stop = max(last_t, end or 0.0)
    for track in envs.values():
        track.close(stop)
        events += track.events
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"source": "lambdalab", "clock": "virtual time, microseconds"}}


def write(steps: Iterable, path, *, end: float | None = None) -> pathlib.Path:
    """Write ``trace_events(steps)`` as JSON to ``path``; returns the path."""
    path = pathlib.Path(path)
    path.write_text(json.dumps(trace_events(steps, end=end), separators=(",", ":")), encoding="utf-8")
    return path
