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
from typing import Iterable

__all__ = ["TraceIndex", "Cursor", "COUNTERS", "BUSY_STATES"]

COMPONENT_NAMES = frozenset((
    "client", "frontend", "async_queue", "poller", "event_source_mapping", "worker_manager", "placement",
    "worker", "environment", "runtime_api", "runtime", "extension", "function", "destination", "url", "sns", "s3",
    "az_cache", "code_store"))

COUNTERS = ("requests", "invocations", "cold_starts", "warm_starts", "throttles", "errors",
            "concurrency", "max_concurrency", "environments", "workers", "queue_depth")
_C = {name: i for i, name in enumerate(COUNTERS)}
_WIDTH = len(COUNTERS)
# an environment counts towards concurrency while it works for a request: its Init and its Invoke
BUSY_STATES = frozenset(("init", "invoking"))
_TIMED = frozenset(("vpc", "microvm", "code", "extension_init", "runtime_init", "function_init", "restore", "invoke",
                    "shutdown"))
# an environment's state, drawn as a bar from the step that enters it to the step that leaves it
_STATE_BARS = {"init": "init", "invoking": "invoke", "frozen": "frozen", "shutdown": "shutdown"}
_STATE_PHASES = frozenset(("invoke", "shutdown"))


class TraceIndex:
    """Incremental index over a trace; call ``sync()`` (cheap when nothing is new) before reading."""

    def __init__(self, trace, *, lines: int = 3, cells: int = 3) -> None:
        self.trace = trace
        self.lines = lines      # lines of worker hosts on the diagram
        self.cells = cells      # environments per line
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
        self._line_owner: dict[int, str] = {}
        self._line_used: dict[int, int] = {}
        self._env_cell: dict[str, tuple[int, int]] = {}
        self._used: dict[str, int] = {}
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
            depth = detail.get("queue_depth", detail.get("depth"))
            if depth is not None:  # the queue reports its depth: trust it over our own count
                row[_C["queue_depth"]] = int(depth)
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
            # an environment first met on another step than its creation existed before this window (a scene
            # that starts with a warm invoke): it was idle, and its arrival here is no cold start
            created = step.component == "environment" and step.action == "create"
            record = (new_state or ("init" if created else "frozen"), worker_id, step.function)
            self.env_order.append(env_id)
            self.env_info[env_id] = {"function": step.function, "worker": worker_id, "created": step.t}
            if created:
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
    # The worker area has ``lines`` lines of ``cells`` environments. A line belongs to one worker host; a host
    # with many environments owns several lines. When everything is taken, the least recently used environment
    # of the same host makes way, or, for a host with no line yet, the least recently used line.
    def _line_of(self, worker_id) -> list[int]:
        return sorted(k for k, owner in self._line_owner.items() if owner == worker_id)

    def _claim_line(self, changes, worker_id, pos) -> int:
        free = [k for k in range(self.lines) if k not in self._line_owner]
        if free:
            line = free[0]
        else:
            line = min(self._line_owner, key=lambda k: self._line_used.get(k, -1))
            self._free_line(changes, line)
        self._line_owner[line] = worker_id
        self._line_used[line] = pos
        self._put(changes, ("line", line), worker_id)
        return line

    def _free_line(self, changes, line) -> None:
        self._line_owner.pop(line, None)
        self._put(changes, ("line", line), None)
        for env_id, (k, _) in list(self._env_cell.items()):
            if k == line:
                self._hide_env(changes, env_id)

    def _show_worker(self, changes, worker_id, pos) -> None:
        owned = self._line_of(worker_id)
        if owned:
            self._line_used[owned[0]] = pos
        else:
            self._claim_line(changes, worker_id, pos)

    def _hide_worker(self, changes, worker_id) -> None:
        for line in self._line_of(worker_id):
            self._free_line(changes, line)

    def _show_env(self, changes, env_id, worker_id, pos) -> None:
        self._used[env_id] = pos
        place = self._env_cell.get(env_id)
        if place is not None and self._line_owner.get(place[0]) == worker_id:
            self._line_used[place[0]] = pos
            return
        if place is not None:
            self._hide_env(changes, env_id)
        owned = self._line_of(worker_id)
        taken = {cell for cell in self._env_cell.values()}
        spot = next(((k, j) for k in owned for j in range(self.cells) if (k, j) not in taken), None)
        if spot is None and (len(self._line_owner) < self.lines or not owned):
            spot = (self._claim_line(changes, worker_id, pos), 0)
        if spot is None:  # every cell of this host's lines is taken: its least recently used environment yields
            victim = min((e for e, (k, _) in self._env_cell.items() if k in owned), key=lambda e: self._used[e])
            spot = self._env_cell[victim]
            self._hide_env(changes, victim)
        self._env_cell[env_id] = spot
        self._line_used[spot[0]] = pos
        self._put(changes, ("cell", *spot), env_id)

    def _hide_env(self, changes, env_id) -> None:
        place = self._env_cell.pop(env_id, None)
        if place is not None:
            self._put(changes, ("cell", *place), None)


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
    def lines(self) -> Iterable[tuple[int, str, list[tuple[int, str, tuple]]]]:
        """(line, worker_id, [(cell, env_id, (state, worker_id, function)), ...]) for each line in use."""
        state, index = self.state, self.index
        for line in range(index.lines):
            worker_id = state.get(("line", line))
            if worker_id is None:
                continue
            envs = []
            for cell in range(index.cells):
                env_id = state.get(("cell", line, cell))
                if env_id is not None:
                    envs.append((cell, env_id, state.get(("env", env_id), ("gone", None, None))))
            yield line, worker_id, envs

    def environment(self, env_id: str | None) -> tuple | None:
        return None if env_id is None else self.state.get(("env", env_id))
