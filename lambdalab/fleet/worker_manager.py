"""The Worker Manager: keeps track of execution environments and hands each request one.

In AWS the frontend asks the Worker Manager for an environment of the right function version. If an idle
(frozen) one exists it is reused ("warm start"); otherwise the Worker Manager asks the Placement Service for a
new one on some worker ("cold start"). It also reclaims environments: idle longer than the keep-alive, older
than their maximum lifetime, or on a worker whose lease is ending.

Which idle environment a warm start takes is the lab's ``reuse`` policy: ``most_recent`` (default: AWS is
observed to favour the most recently used), ``least_recent`` or ``random``; the choice moves cold-start rates a
lot (REFERENCE.md §10). New environments are also rate limited per function: 1,000 every 10 s, refilled
continuously and never accumulating past 1,000 (the scaling rate since Nov 2023).

Provisioned concurrency lives here too: pre-initialised environments of a version or alias, used before any
on-demand one and never reclaimed for idleness.

Idle expiry is one timer per pool, not one heap event per release (the "idle sweep"). Each release appends an
expiry entry to its pool's queue; since the keep-alive is the same for all, the queue is in order of expiry, and
only its head sits on the event heap. Each entry keeps the sequence number an ordinary event would have had, so
reclaims happen at the same virtual times and in the same order as with one event per release. An entry whose
environment was reused since is certain to do nothing: in bulk modes it is dropped before it comes due (the
clock's ``horizon`` remembers its time); with ``trace="full"`` it still runs, as before. An expiry that the
maximum lifetime brings forward (or a keep-alive changed to a shorter one mid-run) is an ordinary event.
"""
from __future__ import annotations

from collections import deque
from heapq import heappush

from ..sandbox.environment import ExecutionEnvironment
from .placement import PlacementService
from .worker import Worker

__all__ = ["WorkerManager"]

SCALING_BURST = 1000.0          # environments a function may add at once
SCALING_REFILL = 100.0          # ... refilled at 1,000 per 10 s


class _IdleQueue:
    """The expiry entries of one pool, in order of release; ``timer`` is the heap event standing for the head.

    An entry is ``[time, seq, callback, env, generation]``: an event's time, sequence number and callback
    (``None`` once cancelled), with the two arguments inline.
    """
    __slots__ = ("entries", "timer")

    def __init__(self) -> None:
        self.entries: deque = deque()
        self.timer = None


class WorkerManager:
    def __init__(self, lab, *, reuse: str = "most_recent", idle_timeout: float = 600.0,
                 environment_lifetime: float | None = 4 * 3600, worker_lease: float | None = 14 * 3600,
                 drain_window: float = 15 * 60) -> None:
        if reuse not in ("most_recent", "least_recent", "random"):
            raise ValueError(f"reuse must be most_recent, least_recent or random; got {reuse!r}")
        self.lab = lab
        self.reuse = reuse
        self.idle_timeout = idle_timeout
        self.lifetime = environment_lifetime if environment_lifetime else float("inf")
        self.worker_lease = worker_lease if worker_lease else float("inf")
        self.drain_window = drain_window
        self.pools: dict[int, dict] = {}           # snapshot key -> {env: None}, in order of becoming idle
        self.provisioned_pools: dict[int, dict] = {}
        self.environments: dict[str, ExecutionEnvironment] = {}
        self.workers: dict[str, Worker] = {}
        self.az_cache: set[str] = set()
        self.placement = PlacementService(self)
        self.retired_keys: set[int] = set()
        self._scaling: dict[str, list] = {}         # function -> [tokens, last refill time]
        self._idle_queues: dict[int, _IdleQueue] = {}
        self._expire_cb = self._expire
        self._env_seq = 0
        self._worker_seq = 0

    # --- environments for requests ------------------------------------------------------------------------
    def acquire(self, inv) -> bool:
        """Start ``inv`` in a warm environment, or a new one. False when the scaling rate says no."""
        snap = inv.snapshot
        pool = self.provisioned_pools.get(snap.key)
        if not pool:
            pool = self.pools.get(snap.key)
        if pool:
            env = self._pick(pool)
            del pool[env]
            if self.lab.trace.full:
                kind = "provisioned" if env.init_type != "on-demand" else "idle"
                self.lab.trace.emit("worker_manager", "claim", f"Reuse {kind} environment {env.id} of "
                                    f"{snap.name}:{snap.version}: warm start", request_id=inv.request_id,
                                    function=snap.name, version=snap.version, env_id=env.id,
                                    worker_id=env.worker.id, target="environment", init_type=env.init_type)
            env.thaw(inv)
            return True
        name = snap.function.name
        if not self._scaling_token(name):
            return False
        if self.lab.trace.full:
            self.lab.trace.emit("worker_manager", "request", f"No idle environment for {snap.name}:{snap.version}: "
                                "ask the Placement Service for a new one", request_id=inv.request_id,
                                function=snap.name, version=snap.version, target="placement")
        env = self.new_environment(snap, "on-demand", inv.request_id)
        env.boot(inv)
        return True

    def acquire_lean(self, inv) -> bool:
        """``acquire`` for a request on the bulk lane: a warm start takes the same environment, without a Step."""
        key = inv.snapshot.key
        pool = self.provisioned_pools.get(key) or self.pools.get(key)
        if pool and self.reuse == "most_recent":
            env = pool.popitem()[0]               # the last one to become idle, as _pick chooses
            env.thaw_lean(inv)
            return True
        return self.acquire(inv)

    def _pick(self, pool: dict):
        if self.reuse == "most_recent":
            return next(reversed(pool))
        if self.reuse == "least_recent":
            return next(iter(pool))
        keys = list(pool)
        return keys[self.lab.rng.randrange(len(keys))]

    def _scaling_token(self, function: str) -> bool:
        now = self.lab.now
        bucket = self._scaling.get(function)
        if bucket is None:
            bucket = self._scaling[function] = [SCALING_BURST, now]
        tokens = min(SCALING_BURST, bucket[0] + (now - bucket[1]) * SCALING_REFILL)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def new_environment(self, snap, init_type: str, request_id=None) -> ExecutionEnvironment:
        worker = self.placement.place(snap.memory, request_id, snap.name)
        self._env_seq += 1
        env = ExecutionEnvironment(self.lab, f"e-{self._env_seq}", snap, worker, init_type)
        worker.add(env, snap.memory)
        self.environments[env.id] = env
        return env

    def environment_lifetime(self) -> float:
        return self.lifetime

    # --- back from an invoke --------------------------------------------------------------------------------
    def release(self, env: ExecutionEnvironment, request_id: str | None = None) -> None:
        """``env`` is free: after an invoke (``request_id`` given), or pre-initialised for provisioned concurrency."""
        if request_id is not None:
            self.lab.frontend.release(env.snapshot.function.name)
        self._back(env, request_id)

    def _back(self, env: ExecutionEnvironment, request_id: str | None) -> None:
        lab = self.lab
        now = lab.now
        reason = None
        if env.snapshot.key in self.retired_keys:
            reason = "its function version changed or was deleted"
        elif env.worker.draining:
            reason = "its worker is draining"
        elif now >= env.expires_at:
            reason = "it reached its maximum lifetime"
        if reason:
            self.reclaim(env, reason)
            if env.init_type != "on-demand" and env.snapshot.key not in self.retired_keys:
                self.lab.provisioned.replace(env.snapshot)
            return
        env.idle_since = now
        if env.init_type != "on-demand":
            if env.snapshot.provisioned is None:
                self.reclaim(env, "its provisioned concurrency config was removed")
                return
            if request_id is None:
                lab.provisioned.ready(env)
            self.provisioned_pools.setdefault(env.snapshot.key, {})[env] = None
        else:
            self.pools.setdefault(env.snapshot.key, {})[env] = None
            self._schedule_expiry(env, now)
        if lab.trace.full:
            lab.trace.emit("worker_manager", "release", f"{env.id} is idle again and back in the pool",
                           request_id=request_id, function=env.snapshot.name,
                           version=env.snapshot.version, env_id=env.id, worker_id=env.worker.id)

    # --- the idle sweep (see the module docstring) -------------------------------------------------------------
    def _schedule_expiry(self, env: ExecutionEnvironment, now: float) -> None:
        engine = self.lab.engine
        expire = now + self.idle_timeout
        key = env.snapshot.key
        queue = self._idle_queues.get(key)
        if env.expires_at < expire or engine.wake is not None or \
                (queue is not None and queue.entries and queue.entries[-1][0] > expire):
            env.idle_event = engine.at(min(expire, env.expires_at), self._expire, env, env.generation)
            return
        engine._seq += 1                          # the sequence number engine.at would have given it
        entry = [expire, engine._seq, self._expire_cb, env, env.generation]
        env.idle_event = entry
        if queue is None:
            queue = self._idle_queues[key] = _IdleQueue()
        queue.entries.append(entry)
        if queue.timer is None:
            self._arm(queue)

    def _arm(self, queue: _IdleQueue) -> None:
        """Put the queue's first entry that may do something on the heap (its time, its sequence number)."""
        if queue.timer is not None:
            return
        engine = self.lab.engine
        entries = queue.entries
        drop = not self.lab.trace.full and engine.wake is None
        while entries:
            entry = entries[0]
            if entry[2] is None:                  # cancelled (its environment was shut down): never runs
                entries.popleft()
                continue
            if drop and entry[4] != entry[3].generation:
                entries.popleft()                 # reused since: certain to do nothing when due
                if entry[0] > engine.horizon:
                    engine.horizon = entry[0]
                continue
            queue.timer = timer = [entry[0], entry[1], self._sweep, (queue,)]
            heappush(engine._heap, timer)
            if engine.wake is not None:
                engine.wake(entry[0])
            return

    def _sweep(self, queue: _IdleQueue) -> None:
        queue.timer = None
        entry = queue.entries.popleft()
        if entry[2] is not None:
            entry[2](entry[3], entry[4])
        self._arm(queue)

    def cancel_idle(self, env: ExecutionEnvironment) -> None:
        """``env`` is shut down: its pending expiry is cancelled (and its pool's timer moves on if it was first)."""
        event = env.idle_event
        if event is None or event[2] is None:
            return
        event[2] = None
        queue = self._idle_queues.get(env.snapshot.key)
        if queue is not None and queue.timer is not None and queue.entries and queue.entries[0] is event:
            queue.timer[2] = None
            queue.timer = None
            self._arm(queue)

    def release_lean(self, env: ExecutionEnvironment, inv) -> None:
        """``release`` after a bulk-lane invoke (whose busy count is down already): an on-demand environment that
        may stay goes back to its pool."""
        lab = self.lab
        snap = env.snapshot
        now = lab.engine.now
        lab.frontend.release_lean(snap.function.name)
        if env.init_type != "on-demand" or snap.key in self.retired_keys or env.worker.draining or \
                now >= env.expires_at:
            self._back(env, inv.request_id)
            return
        env.idle_since = now
        key = snap.key
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = {}
        pool[env] = None
        # _schedule_expiry, inlined for the usual case: an entry at the end of the pool's queue, already armed
        expire = now + self.idle_timeout
        queue = self._idle_queues.get(key)
        engine = lab.engine
        if queue is None or queue.timer is None or expire < queue.entries[-1][0] or env.expires_at < expire or \
                engine.wake is not None:
            self._schedule_expiry(env, now)
            return
        engine._seq += 1
        env.idle_event = entry = [expire, engine._seq, self._expire_cb, env, env.generation]
        queue.entries.append(entry)

    def _expire(self, env: ExecutionEnvironment, generation: int) -> None:
        if env.generation != generation or env.state != "Idle":
            return
        why = "idle for longer than the keep-alive" if self.lab.now < env.expires_at else \
            "it reached its maximum lifetime"
        self.reclaim(env, why)

    def reclaim(self, env: ExecutionEnvironment, why: str) -> None:
        """Take an idle environment out of service and shut it down."""
        for pools in (self.pools, self.provisioned_pools):
            pool = pools.get(env.snapshot.key)
            if pool is not None:
                pool.pop(env, None)
        self.environments.pop(env.id, None)
        if self.lab.trace.full:
            self.lab.trace.emit("worker_manager", "reclaim", f"Reclaim {env.id}: {why}", function=env.snapshot.name,
                                version=env.snapshot.version, env_id=env.id, worker_id=env.worker.id, reason=why,
                                target="environment")
        env.shutdown("spindown")

    def retire_snapshot(self, snap) -> None:
        """A snapshot is gone ($LATEST replaced, version or function deleted): its idle environments go now."""
        self.retired_keys.add(snap.key)
        for pools in (self.pools, self.provisioned_pools):
            for env in list(pools.pop(snap.key, {})):
                self.reclaim(env, "its function version changed or was deleted")

    def provisioned_init_failed(self, env: ExecutionEnvironment) -> None:
        self.lab.provisioned.init_failed(env)
        self.environments.pop(env.id, None)
        env.shutdown("failure")

    # --- workers --------------------------------------------------------------------------------------------
    def add_worker(self, request_id=None) -> Worker:
        lab = self.lab
        self._worker_seq += 1
        worker = Worker(self, f"w-{self._worker_seq}", self.placement.worker_capacity_mb, lab.now + self.worker_lease,
                        self.placement.boot_rate)
        self.workers[worker.id] = worker
        if lab.trace.full:
            lease = "no lease limit" if worker.lease_end == float("inf") else f"{self.worker_lease / 3600:g} h lease"
            lab.trace.emit("placement", "add_worker", f"Worker host {worker.id} joins the fleet "
                           f"({worker.capacity_mb // 1024} GiB for microVMs, {lease})", request_id=request_id,
                           worker_id=worker.id)
        return worker

    def drain_at(self, worker: Worker) -> float:
        return worker.lease_end - self.drain_window

    def _drain(self, worker: Worker) -> None:
        worker.drain_event = None
        worker.draining = True
        self.lab.trace.emit("worker", "drain", f"Worker {worker.id}'s lease is ending: it takes no new "
                            "environments and its idle ones are shut down", worker_id=worker.id)
        for env in [e for e in worker.environments.values() if e.state == "Idle"]:
            self.reclaim(env, "its worker is draining")
        if not worker.environments:
            self.retire(worker)

    def retire(self, worker: Worker) -> None:
        if worker.retired:
            return
        worker.retired = True
        self.workers.pop(worker.id, None)
        self.lab.trace.emit("worker", "retire", f"Worker {worker.id} leaves the fleet", worker_id=worker.id)

    def statistics(self) -> dict:
        states: dict[str, int] = {}
        for env in self.environments.values():
            states[env.state] = states.get(env.state, 0) + 1
        return {"environments": len(self.environments), "by_state": states, "workers": len(self.workers),
                "idle": sum(len(p) for p in self.pools.values()),
                "provisioned_idle": sum(len(p) for p in self.provisioned_pools.values())}
