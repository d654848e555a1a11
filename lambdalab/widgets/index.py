"""Per-step state of the architecture, indexed once so that stepping costs the same at step 10 and 10,000.

The views never replay the trace from the start. As Steps arrive, ``TraceIndex`` folds them, one at a time, into
what a learner sees at that moment: which environments exist, their state and worker host, which of them have a
place on the diagram, the counters of the metrics panel, the hop being taken, and the bars of the timeline. For
each Step it keeps only what changed (``(key, before, after)`` triples) plus running counters; every so often it
keeps a full copy (a snapshot). A ``Cursor`` moves between positions by applying those changes forwards or
backwards; a far jump starts from the nearest snapshot. Snapshots are taken when the changes since the last one
outnumber the state's size, so memory stays proportional to the trace and a jump costs at most about one copy
of the state, however long the trace is.

The diagram has room for a few worker hosts and a few environments on each. Which ones get a place is decided
here, once, while indexing (least recently used make way), so that moving back and forth is a pure lookup.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Any, Iterable

__all__ = ["TraceIndex", "Cursor", "COUNTERS", "BUSY_STATES"]

COMPONENT_NAMES = frozenset((
    "client", "frontend", "async_queue", "poller", "event_source_mapping", "worker_manager", "placement",
    "worker", "environment", "runtime_api", "runtime", "extension", "function", "destination"))

COUNTERS = ("requests", "invocations", "cold_starts", "warm_starts", "throttles", "errors",
            "concurrency", "max_concurrency", "environments", "workers", "queue_depth")
_C = {name: i for i, name in enumerate(COUNTERS)}
_WIDTH = len(COUNTERS)
# an environment counts towards concurrency while it works for a request: its Init and its Invoke
BUSY_STATES = frozenset(("init", "invoking"))
_TIMED = frozenset(("microvm", "code", "extension_init", "runtime_init", "function_init", "invoke", "shutdown"))
# an environment's state, drawn as a bar from the step that enters it to the step that leaves it
_STATE_BARS = {"init": "init", "invoking": "invoke", "frozen": "frozen", "shutdown": "shutdown"}
_STATE_PHASES = frozenset(("invoke", "shutdown"))


class TraceIndex:
    """Incremental index over a trace; call ``sync()`` (cheap when nothing is new) before reading."""

    def __init__(self, trace, *, worker_slots: int = 3, env_slots: int = 2) -> None:
        self.trace = trace
        self.worker_slots = worker_slots
        self.env_slots = env_slots
        self.n = 0
        self.times = array("d")
        self.counters = array("q")          # _WIDTH values per step
        self.hops: list[tuple[str, str] | None] = []
        self.focus: list[str | None] = []   # the environment a step is about, if any
        self.deltas: list[tuple] = []       # per step: ((key, before, after), ...)
        self.snapshots: list[tuple[int, dict]] = [(-1, {})]
        self._snap_positions = [-1]
        self._since_snapshot = 0
        # timeline material
        self.segments: list[list] = []      # [env_id, phase, t0, t1 or None]; state bars before their phases
        self.markers: list[tuple] = []      # (kind, t, env_id or None, step position)
        self.env_order: list[str] = []
        self.env_info: dict[str, dict] = {}
        # the builder's own state: the visible state after the last indexed step, plus bookkeeping
        self._state: dict = {}
        self._row = [0] * _WIDTH
        self._last_component: dict[str, str] = {}
        self._request_env: dict[str, str] = {}
        self._pending: dict[str, list[list]] = {}
        self._open: dict[str, list] = {}     # env_id -> its state bar that has no end yet
        self._worker_slot: dict[str, int] = {}
        self._env_slot: dict[str, tuple[int, int]] = {}
        self._used: dict[Any, int] = {}
        self.version = 0                    # grows whenever steps are added (views redraw what depends on all)
        self.sync()

    # ---- reading
    def __len__(self) -> int:
        return self.n

    def counters_at(self, position: int) -> dict[str, int]:
        if position < 0 or self.n == 0:
            return dict.fromkeys(COUNTERS, 0)
        base = position * _WIDTH
        return dict(zip(COUNTERS, self.counters[base:base + _WIDTH]))

    def counter(self, position: int, name: str) -> int:
        return self.counters[position * _WIDTH + _C[name]] if 0 <= position < self.n else 0

    def position_at(self, t: float) -> int:
        """The last position whose step happened at or before virtual time ``t`` (-1 if none)."""
        return bisect_right(self.times, t) - 1

    # ---- building
    def sync(self) -> int:
        """Index the steps the trace gained since the last call; returns how many."""
        start = self.n
        total = len(self.trace)
        while self.n < total:
            self._add(self.trace[self.n])
        if self.n != start:
            self.version += 1
        return self.n - start

    def _put(self, changes: list, key, new) -> None:
        state = self._state
        old = state.get(key)
        if old == new:
            return
        changes.append((key, old, new))
        if new is None:
            del state[key]
        else:
            state[key] = new

    def _add(self, step) -> None:
        pos = self.n
        changes: list = []
        row = self._row
        comp, action, t = step.component, step.action, step.t
        detail = step.detail or {}
        rid, env_id, worker_id = step.request_id, step.env_id, step.worker_id

        # the hop: the step names its target, or we follow the request from its previous component
        hop = None
        target = detail.get("target")
        if isinstance(target, str) and target in COMPONENT_NAMES and target != comp:
            hop = (comp, target)
        elif rid is not None:
            prev = self._last_component.get(rid)
            if prev is not None and prev != comp:
                hop = (prev, comp)
        if rid is not None:
            self._last_component[rid] = comp
            if env_id is not None:
                self._request_env[rid] = env_id

        if comp == "frontend" and action == "receive":
            row[_C["requests"]] += 1
        elif comp == "frontend" and action == "throttle":
            row[_C["throttles"]] += 1
            self.markers.append(("throttle", t, None, pos))
        elif comp == "worker_manager" and action == "request":
            row[_C["cold_starts"]] += 1
        elif comp == "worker_manager" and action == "claim":
            row[_C["warm_starts"]] += 1
        elif comp == "environment" and action == "invoke":
            row[_C["invocations"]] += 1
        elif comp == "function" and (action == "error" or detail.get("status", "ok") != "ok"):
            # the sandbox reports a failed handler as function.run with status error / timeout / exit
            row[_C["errors"]] += 1
            kind = "timeout" if detail.get("status") == "timeout" else "error"
            self.markers.append((kind, t + (detail.get("duration") or 0.0), env_id or self._request_env.get(rid), pos))
        elif comp == "environment" and action == "init_failed":
            self.markers.append(("error", t, env_id, pos))
        elif comp == "async_queue":
            if "depth" in detail:
                row[_C["queue_depth"]] = int(detail["depth"])
            elif action in ("enqueue", "requeue"):
                row[_C["queue_depth"]] += 1
            elif action == "dequeue":
                row[_C["queue_depth"]] = max(0, row[_C["queue_depth"]] - 1)

        if worker_id is not None:
            self._track_worker(changes, worker_id, comp, action, pos)
        if env_id is not None:
            self._track_environment(changes, step, detail, pos)
        self._track_phase(step, detail, env_id or self._request_env.get(rid))
        if rid is not None and env_id is not None and rid in self._pending:
            for segment in self._pending.pop(rid):
                segment[0] = env_id
                self.segments.append(segment)

        row[_C["max_concurrency"]] = max(row[_C["max_concurrency"]], row[_C["concurrency"]])
        self.times.append(t)
        self.counters.extend(row)
        self.hops.append(hop)
        self.focus.append(env_id or (self._request_env.get(rid) if rid is not None else None))
        self.deltas.append(tuple(changes))
        self.n += 1
        self._since_snapshot += len(changes)
        if self._since_snapshot >= max(64, len(self._state)):
            self.snapshots.append((pos, dict(self._state)))
            self._snap_positions.append(pos)
            self._since_snapshot = 0

    def _track_worker(self, changes, worker_id, comp, action, pos) -> None:
        key = ("worker", worker_id)
        if comp == "worker" and action == "retire":
            if key in self._state:
                self._put(changes, key, None)
                self._put(changes, ("wenvs", worker_id), None)
                self._row[_C["workers"]] -= 1
                self._hide_worker(changes, worker_id)
            return
        if key not in self._state:
            self._put(changes, key, "up")
            self._row[_C["workers"]] += 1
        if comp == "worker" and action == "drain":
            self._put(changes, key, "draining")
        self._show_worker(changes, worker_id, pos)

    def _track_environment(self, changes, step, detail, pos) -> None:
        env_id = step.env_id
        key = ("env", env_id)
        record = self._state.get(key)
        new_state = detail.get("state") if step.component == "environment" else None
        if record is None:
            if new_state == "gone" or env_id in self.env_info and self.env_info[env_id].get("gone"):
                return
            worker_id = step.worker_id
            record = (new_state or "init", worker_id, step.function)
            self.env_order.append(env_id)
            self.env_info[env_id] = {"function": step.function, "worker": worker_id, "created": step.t}
            self.markers.append(("cold", step.t, env_id, pos))
            self._row[_C["environments"]] += 1
            if record[0] in BUSY_STATES:
                self._row[_C["concurrency"]] += 1
            if worker_id is not None:
                self._put(changes, ("wenvs", worker_id), self._state.get(("wenvs", worker_id), 0) + 1)
            self._put(changes, key, record)
            self._open_state(env_id, record[0], step.t)
        else:
            state, worker_id, function = record
            if worker_id is None and step.worker_id is not None:
                worker_id = step.worker_id
                self.env_info[env_id]["worker"] = worker_id
                self._put(changes, ("wenvs", worker_id), self._state.get(("wenvs", worker_id), 0) + 1)
            if new_state is not None and new_state != state:
                self._row[_C["concurrency"]] += (new_state in BUSY_STATES) - (state in BUSY_STATES)
                self._open_state(env_id, new_state, step.t)
                state = new_state
            if state == "gone":
                self._row[_C["environments"]] -= 1
                self.env_info[env_id]["gone"] = step.t
                if worker_id is not None:
                    count = self._state.get(("wenvs", worker_id), 1) - 1
                    self._put(changes, ("wenvs", worker_id), count if count > 0 else None)
                self._put(changes, key, None)
                self._hide_env(changes, env_id)
                return
            self._put(changes, key, (state, worker_id, function or step.function))
            record = self._state[key]
        if record[1] is not None:
            self._show_env(changes, env_id, record[1], pos)

    def _open_state(self, env_id, state, t) -> None:
        """Close the environment's open state bar and open the next one (ended by the next state change)."""
        segment = self._open.pop(env_id, None)
        if segment is not None:
            segment[3] = t
        phase = _STATE_BARS.get(state)
        if phase is not None:
            segment = [env_id, phase, t, None]
            self._open[env_id] = segment
            self.segments.append(segment)

    def _track_phase(self, step, detail, env_id) -> None:
        phase = detail.get("phase")
        if phase not in _TIMED or phase in _STATE_PHASES and step.component == "environment" and "state" in detail:
            return  # the state bar (invoke, shutdown) already covers it, ended by the real state change
        try:
            duration = float(detail.get("duration") or 0.0)
        except (TypeError, ValueError):
            duration = 0.0
        segment = [env_id, phase, step.t, step.t + duration]
        if env_id is not None:
            self.segments.append(segment)
        elif step.request_id is not None:
            # a phase reported before its environment is named (a microVM boot, say): attach it later
            self._pending.setdefault(step.request_id, []).append(segment)

    # ---- places on the diagram (least recently used make way)
    def _show_worker(self, changes, worker_id, pos) -> int:
        self._used[worker_id] = pos
        slot = self._worker_slot.get(worker_id)
        if slot is not None:
            return slot
        taken = {s: w for w, s in self._worker_slot.items()}
        free = [s for s in range(self.worker_slots) if s not in taken]
        if free:
            slot = free[0]
        else:
            slot = min(taken, key=lambda s: self._used.get(taken[s], -1))
            self._hide_worker(changes, taken[slot])
        self._worker_slot[worker_id] = slot
        self._put(changes, ("wslot", slot), worker_id)
        return slot

    def _hide_worker(self, changes, worker_id) -> None:
        slot = self._worker_slot.pop(worker_id, None)
        if slot is None:
            return
        self._put(changes, ("wslot", slot), None)
        for env_id, (ws, _) in list(self._env_slot.items()):
            if ws == slot:
                self._hide_env(changes, env_id)

    def _show_env(self, changes, env_id, worker_id, pos) -> None:
        wslot = self._show_worker(changes, worker_id, pos)
        self._used[("env", env_id)] = pos
        place = self._env_slot.get(env_id)
        if place is not None and place[0] == wslot:
            return
        if place is not None:
            self._hide_env(changes, env_id)
        taken = {s: e for e, (ws, s) in self._env_slot.items() if ws == wslot}
        free = [s for s in range(self.env_slots) if s not in taken]
        if free:
            slot = free[0]
        else:
            slot = min(taken, key=lambda s: self._used.get(("env", taken[s]), -1))
            self._hide_env(changes, taken[slot])
        self._env_slot[env_id] = (wslot, slot)
        self._put(changes, ("eslot", wslot, slot), env_id)

    def _hide_env(self, changes, env_id) -> None:
        place = self._env_slot.pop(env_id, None)
        if place is not None:
            self._put(changes, ("eslot", *place), None)


class Cursor:
    """The visible state at one position of a ``TraceIndex``; ``move(i)`` costs O(distance), capped by a snapshot."""

    def __init__(self, index: TraceIndex) -> None:
        self.index = index
        self.position = -1
        self.state: dict = {}

    def move(self, position: int) -> dict:
        index = self.index
        position = max(-1, min(position, index.n - 1))
        distance = abs(position - self.position)
        if distance == 0:
            return self.state
        limit = max(64, len(self.state))
        if position > self.position and distance <= limit:
            self._forward(self.position + 1, position)
        elif position < self.position and distance <= limit:
            self._backward(self.position, position)
        else:
            k = bisect_right(index._snap_positions, position) - 1
            start, snapshot = index.snapshots[k]
            self.state = dict(snapshot)
            self._forward(start + 1, position)
        self.position = position
        return self.state

    def _forward(self, first: int, last: int) -> None:
        state, deltas = self.state, self.index.deltas
        for i in range(first, last + 1):
            for key, _old, new in deltas[i]:
                if new is None:
                    state.pop(key, None)
                else:
                    state[key] = new

    def _backward(self, first: int, last: int) -> None:
        state, deltas = self.state, self.index.deltas
        for i in range(first, last, -1):
            for key, old, _new in reversed(deltas[i]):
                if old is None:
                    state.pop(key, None)
                else:
                    state[key] = old

    # ---- what the diagram draws
    def workers(self) -> Iterable[tuple[int, str, str, int]]:
        """(slot, worker_id, status, live environments) for each worker host with a place on the diagram."""
        state = self.state
        for slot in range(self.index.worker_slots):
            worker_id = state.get(("wslot", slot))
            if worker_id is not None:
                yield slot, worker_id, state.get(("worker", worker_id), "up"), state.get(("wenvs", worker_id), 0)

    def environments(self, wslot: int) -> Iterable[tuple[int, str, tuple]]:
        """(slot, env_id, (state, worker_id, function)) for each environment shown on worker slot ``wslot``."""
        state = self.state
        for slot in range(self.index.env_slots):
            env_id = state.get(("eslot", wslot, slot))
            if env_id is not None:
                yield slot, env_id, state.get(("env", env_id), ("gone", None, None))

    def environment(self, env_id: str | None) -> tuple | None:
        return None if env_id is None else self.state.get(("env", env_id))
