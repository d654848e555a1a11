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
on-demand one and never reclaimed for idleness; one recycled (lifetime, draining worker) is replaced at once.

Idle expiry is one armed timer per pool, not one heap event per release (the "idle sweep"). A pool keeps its
idle environments in the order they became idle and the keep-alive is the same for all, so they expire in that
order: only the oldest needs to be on the heap. A release only notes when the environment expires and draws the
place in the order an ordinary event would have had (``engine.ticket()``); the pool's oldest is armed in that
place (``engine.place``), and the next one when it runs or leaves, so reclaims happen at the same virtual times
and in the same order as with one event per release. When an environment is reused, the expiry it leaves behind
would have done nothing: it is dropped, and the clock still ends a run where running it would have. An expiry
that the maximum lifetime brings forward, or one that a shorter keep-alive set mid-run puts before earlier ones,
is an ordinary event.

The keep-alive is a policy (``keep_alive``, see ``lambdalab.keepalive``): ``Fixed(idle_timeout)`` is the idle
sweep above; any other policy decides each on-demand environment's idle window and pre-warms through
``fleet.keep_alive.PolicyKeepAlive``. The memory held by idle environments (``idle_gb_seconds``) is counted
where environments enter and leave the idle pools: the time each spent idle, times its memory.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..keepalive import Fixed
from ..observability.records import Statistics
from ..sandbox.environment import ExecutionEnvironment
from .keep_alive import PolicyKeepAlive
from .placement import PlacementService
from .worker import Worker

__all__ = ["WorkerManager"]

SCALING_BURST = 1000.0          # environments a function may add at once
SCALING_REFILL = 100.0          # ... refilled at 1,000 per 10 s


class Pool(dict):
    """A function version's idle on-demand environments (``{env: None}``, in the order they became idle) and its
    idle sweep: ``armed``, the environment whose expiry is on the heap; ``last``, the latest expiry it keeps."""

    __slots__ = ("armed", "last")

    def __init__(self) -> None:
        super().__init__()
        self.armed = None
        self.last = float("-inf")


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
        self.pools: dict[int, Pool] = {}           # snapshot key -> {env: None}, in order of becoming idle
        self.provisioned_pools: dict[int, dict] = {}
        self.environments: dict[str, ExecutionEnvironment] = {}
        self.workers: dict[str, Worker] = {}
        self.az_cache: set[str] = set()
        self.placement = PlacementService(self)
        self.retired_keys: set[int] = set()
        self._scaling: dict[str, list] = {}         # function -> [tokens, last refill time]
        self._policy: PolicyKeepAlive | None = None     # a keep-alive policy other than Fixed (see keep_alive)
        self._idle_gone: dict[str, float] = {}      # function -> MB-seconds idle of its environments now gone
        self._engine = lab.engine
        self._trace = lab.trace
        self._ticket = lab.engine.ticket
        self._newest_first = reuse == "most_recent"
        #: where an environment's answers go: the frontend, which holds the caller's request
        self.respond = lab.frontend.respond
        self._env_seq = 0
        self._worker_seq = 0

    # --- the keep-alive policy -------------------------------------------------------------------------------
    @property
    def keep_alive(self):
        """The keep-alive policy (``lambdalab.keepalive``): ``Fixed(idle_timeout)`` unless another was set."""
        return self._policy.policy if self._policy is not None else Fixed(self.idle_timeout)

    @keep_alive.setter
    def keep_alive(self, policy) -> None:
        if type(policy) is Fixed:
            keeper = None
        elif callable(getattr(policy, "on_idle", None)):
            keeper = PolicyKeepAlive(self, policy)
        else:
            raise TypeError(f"keep_alive must be a keep-alive policy (ll.keepalive.Fixed, HybridHistogram or an "
                            f"object with on_idle(function, now)), got {policy!r}")
        previous, self._policy = self._policy, keeper
        if keeper is None:
            self.idle_timeout = policy.seconds
        if previous is None:
            return
        previous.close()                          # its idle environments: Fixed times them from when they went
        for pool in self.pools.values():          # idle, another policy keeps the expiry they were given
            for env in pool:
                expire = previous.forget(env)
                if keeper is None:
                    self._schedule_expiry(env, env.idle_since, pool)
                else:
                    keeper.keep(env, expire)

    # --- environments for requests ------------------------------------------------------------------------
    def acquire(self, inv) -> bool:
        """Start ``inv`` in a warm environment, or a new one. False when the scaling rate says no."""
        snap = inv.snapshot
        policy = self._policy
        if policy is not None and policy.learns:
            policy.invoked(snap.function.name)
        # (a version without provisioned concurrency has no provisioned pool: its environments went with it)
        pool = self.provisioned_pools.get(snap.key) if snap.provisioned is not None else None
        if not pool:
            pool = self.pools.get(snap.key)
        if pool:
            if self._newest_first:
                env = pool.popitem()[0]
            else:
                env = self._pick(pool)
                del pool[env]
            env.idle_seconds += self._engine.now - env.idle_since
            if env.idle_sweep is not None:    # its expiry would have done nothing now: dropped
                self._leave_sweep(env, True)
            if self._trace.full:
                kind = "provisioned" if env.init_type != "on-demand" else "idle"
                self.lab.trace.emit("worker_manager", "claim", "Reuse {} environment {} of {}:{}: warm start", kind,
                                    env.id, snap.name, snap.version, request_id=inv.request_id, function=snap.name,
                                    version=snap.version, env_id=env.id, worker_id=env.worker.id, target="environment",
                                    init_type=env.init_type)
            env.thaw(inv)
            return True
        name = snap.function.name
        if not self.scaling_token(name):
            return False
        if self.lab.trace.full:
            self.lab.trace.emit("worker_manager", "request",
                                "No idle environment for {}:{}: ask the Placement Service for a new one", snap.name,
                                snap.version, request_id=inv.request_id, function=snap.name, version=snap.version,
                                target="placement")
        if policy is not None:
            policy.cold_start(snap)
        env = self.new_environment(snap, "on-demand", inv.request_id)
        env.boot(inv)
        return True

    def _pick(self, pool: dict):
        """The idle environment a warm start takes under the ``reuse`` policy (``most_recent``: the last one to
        become idle, which ``acquire`` pops itself)."""
        if self.reuse == "most_recent":
            return next(reversed(pool))
        if self.reuse == "least_recent":
            return next(iter(pool))
        keys = list(pool)
        return keys[self.lab.rng.randrange(len(keys))]

    def scaling_token(self, function: str) -> bool:
        """May ``function`` add an environment now (the scaling rate)? Takes a token if so."""
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
    def release(self, env: ExecutionEnvironment, inv=None) -> None:
        """``env`` is free: after the invoke ``inv``, or pre-initialised for provisioned concurrency (no ``inv``).
        It goes back to its pool, unless it must go (its version retired, its worker draining, its lifetime
        over) or the keep-alive policy says otherwise. (An environment shut down under its invoke only lets the
        request go.)"""
        now = self._engine.now
        policy = self._policy
        if env.state != "Idle":
            return
        if inv is not None and policy is not None:
            policy.ended(env.snapshot.function.name, now)
        key = env.snapshot.key
        if key in self.retired_keys or env.worker.draining or now >= env.expires_at:
            if key in self.retired_keys:
                reason = "its function version changed or was deleted"
            elif env.worker.draining:
                reason = "its worker is draining"
            else:
                reason = "it reached its maximum lifetime"
            self.reclaim(env, reason)
            return
        if env.init_type != "on-demand":
            if env.snapshot.provisioned is None:
                self.reclaim(env, "its provisioned concurrency config was removed")
                return
            if inv is None:                       # its Init is done: ready, and recycled at the end of its lifetime
                self.lab.provisioned.ready(env)
                if env.expires_at != float("inf"):
                    env.idle_event = self._engine.upkeep(env.expires_at, self._recycle, env)
            self.provisioned_pools.setdefault(key, {})[env] = None
        elif policy is None:
            pool = self.pools.get(key)
            if pool is None:
                pool = self.pools[key] = Pool()
            pool[env] = None
            self._schedule_expiry(env, now, pool)
        elif policy.idle(env, now):
            pool = self.pools.get(key)
            if pool is None:
                pool = self.pools[key] = Pool()
            pool[env] = None
        else:
            return                                # shut down at once (a pre-warm may follow)
        env.idle_since = now
        if self._trace.full:
            self._trace.emit("worker_manager", "release", "{} is idle again and back in the pool", env.id,
                                request_id=inv.request_id if inv is not None else None, function=env.snapshot.name,
                                version=env.snapshot.version, env_id=env.id, worker_id=env.worker.id)

    # --- the idle sweep (see the module docstring) -------------------------------------------------------------
    def _schedule_expiry(self, env: ExecutionEnvironment, now: float, pool: Pool) -> None:
        """``env`` just became idle in its on-demand ``pool``: it expires ``idle_timeout`` from now."""
        expire = now + self.idle_timeout
        if env.expires_at < expire or expire < pool.last:
            env.idle_event = self._engine.at(min(expire, env.expires_at), self._expire, env, env.invocations)
            env.idle_sweep = None
            return
        env.idle_until = pool.last = expire
        env.idle_ticket = self._ticket()      # (its place in the order, as an event scheduled now)
        env.idle_sweep = pool
        if pool.armed is None:
            self._arm(pool)

    def _arm(self, pool: Pool) -> None:
        """Put the expiry of the pool's oldest environment that its sweep keeps on the heap."""
        for env in pool:
            if env.idle_sweep is pool:
                pool.armed = env
                env.idle_event = self._engine.place(env.idle_until, env.idle_ticket, self._sweep, env)
                return

    def _leave_sweep(self, env: ExecutionEnvironment, dropped: bool) -> None:
        """``env`` leaves its pool's sweep (claimed for a request: ``dropped``, its expiry would have done
        nothing; or shut down: cancelled)."""
        pool = env.idle_sweep
        env.idle_sweep = None
        if pool.armed is env:
            self._disarm(pool, env, dropped)
        elif dropped:
            self._engine.dropped(env.idle_until)

    def _disarm(self, pool: Pool, env: ExecutionEnvironment, dropped: bool) -> None:
        """``env``, whose expiry is the armed one, left the sweep: withdraw it (``dropped``: it would have done
        nothing) and arm the next."""
        pool.armed = None
        if dropped:
            self._engine.drop(env.idle_event)
        else:
            self._engine.cancel(env.idle_event)
        env.idle_event = None
        self._arm(pool)

    def _sweep(self, env: ExecutionEnvironment) -> None:
        """The pool's oldest idle environment has been idle for the whole keep-alive."""
        pool = env.idle_sweep
        pool.armed = env.idle_event = env.idle_sweep = None
        self._expire(env, env.invocations)
        if pool.armed is None:
            self._arm(pool)

    def cancel_idle(self, env: ExecutionEnvironment) -> None:
        """``env`` is shut down: its pending expiry is cancelled."""
        if env.idle_sweep is not None:
            self._leave_sweep(env, False)
        else:
            self._engine.cancel(env.idle_event)
            env.idle_event = None

    def _expire(self, env: ExecutionEnvironment, served: int) -> None:
        """``env``'s keep-alive is over, unless it served another request since it went idle (``served``)."""
        if env.invocations != served or env.state != "Idle":
            return
        why = "idle for longer than the keep-alive" if self.lab.now < env.expires_at else \
            "it reached its maximum lifetime"
        self.reclaim(env, why)

    def _recycle(self, env: ExecutionEnvironment) -> None:
        """A provisioned environment reached its maximum lifetime: if idle it goes now (a busy one goes when its
        invoke is over, see ``release``), and a new one takes its place."""
        if env.state == "Idle":
            self.reclaim(env, "it reached its maximum lifetime")

    def reclaim(self, env: ExecutionEnvironment, why: str) -> None:
        """Take an idle environment out of service and shut it down (a provisioned one is replaced while its
        config stands: AWS keeps the allocation, only the environment is recycled)."""
        now = self._engine.now
        for pools in (self.pools, self.provisioned_pools):
            pool = pools.get(env.snapshot.key)
            if pool is not None and env in pool:
                del pool[env]
                env.idle_seconds += now - env.idle_since
        self._gone(env)
        if self.lab.trace.full:
            self.lab.trace.emit("worker_manager", "reclaim", "Reclaim {}: {}", env.id, why, function=env.snapshot.name,
                                version=env.snapshot.version, env_id=env.id, worker_id=env.worker.id, reason=why,
                                target="environment")
        env.shutdown("spindown")
        snap = env.snapshot
        if env.init_type != "on-demand" and snap.provisioned is not None and snap.key not in self.retired_keys:
            self.lab.provisioned.replace(snap)

    def retire_snapshot(self, snap) -> None:
        """A snapshot is gone ($LATEST replaced, version or function deleted): its idle environments go now."""
        self.retired_keys.add(snap.key)
        for pools in (self.pools, self.provisioned_pools):
            pool = pools.pop(snap.key, None)
            if not pool:
                continue
            armed = getattr(pool, "armed", None)
            if armed is not None:     # the whole pool goes: its sweep is withdrawn once, not re-armed at each
                pool.armed = None     # environment (which made emptying it quadratic in its idle environments)
                self._engine.cancel(armed.idle_event)
                armed.idle_event = None
            now = self._engine.now
            for env in list(pool):
                env.idle_seconds += now - env.idle_since      # (out of its pool, reclaim cannot count this)
                self.reclaim(env, "its function version changed or was deleted")

    def provisioned_init_failed(self, env: ExecutionEnvironment) -> None:
        self.lab.provisioned.init_failed(env)
        self._gone(env)
        env.shutdown("failure")

    def _gone(self, env: ExecutionEnvironment) -> None:
        """``env`` leaves the fleet's books; its idle time joins its function's."""
        if self.environments.pop(env.id, None) is not None and env.idle_seconds:
            name = env.snapshot.function.name
            self._idle_gone[name] = self._idle_gone.get(name, 0.0) + env.idle_seconds * env.snapshot.memory
        if self._policy is not None:
            self._policy.forget(env)

    def idle_gb_seconds(self, function: str | None = None) -> float:
        """GB-seconds of memory held by idle (frozen) environments so far: of ``function``, or of all."""
        return sum(v for name, v in self.idle_gb_seconds_by_function().items() if function in (None, name))

    def idle_gb_seconds_by_function(self) -> dict[str, float]:
        now = self._engine.now
        mb_seconds = dict(self._idle_gone)
        for env in self.environments.values():
            idle = env.idle_seconds + (now - env.idle_since if env.state == "Idle" else 0.0)
            if idle:
                name = env.snapshot.function.name
                mb_seconds[name] = mb_seconds.get(name, 0.0) + idle * env.snapshot.memory
        return {name: v / 1024.0 for name, v in mb_seconds.items()}

    # --- workers --------------------------------------------------------------------------------------------
    def add_worker(self, request_id=None) -> Worker:
        lab = self.lab
        self._worker_seq += 1
        worker = Worker(self, f"w-{self._worker_seq}", self.placement.worker_capacity_mb, lab.now + self.worker_lease,
                        self.placement.boot_rate)
        self.workers[worker.id] = worker
        if lab.trace.full:
            lease = "no lease limit" if worker.lease_end == float("inf") else f"{self.worker_lease / 3600:g} h lease"
            lab.trace.emit("placement", "add_worker", "Worker host {} joins the fleet ({} GiB for microVMs, {})",
                           worker.id, worker.capacity_mb // 1024, lease, request_id=request_id, worker_id=worker.id)
        return worker

    def drain_at(self, worker: Worker) -> float:
        return worker.lease_end - self.drain_window

    def _drain(self, worker: Worker) -> None:
        worker.drain_event = None
        worker.draining = True
        self.lab.trace.emit("worker", "drain", "Worker {}'s lease is ending: it takes no new environments and its idle"
                            " ones are shut down", worker.id, worker_id=worker.id)
        for env in [e for e in worker.environments.values() if e.state == "Idle"]:
            self.reclaim(env, "its worker is draining")
        if not worker.environments:
            self.retire(worker)

    def retire(self, worker: Worker) -> None:
        if worker.retired:
            return
        worker.retired = True
        self.workers.pop(worker.id, None)
        self.lab.trace.emit("worker", "retire", "Worker {} leaves the fleet", worker.id, worker_id=worker.id)

    def statistics(self) -> "FleetStatistics":
        states: dict[str, int] = {}
        for env in self.environments.values():
            states[env.state] = states.get(env.state, 0) + 1
        return FleetStatistics(len(self.environments), states, len(self.workers),
                               sum(len(p) for p in self.pools.values()),
                               sum(len(p) for p in self.provisioned_pools.values()))


@dataclass(frozen=True)
class FleetStatistics(Statistics):
    environments: int       # execution environments in the fleet
    by_state: dict          # ... by lifecycle state (Init, Invoking, Idle, Shutdown)
    workers: int            # worker hosts
    idle: int               # on-demand environments idle in their pools
    provisioned_idle: int   # provisioned-concurrency environments idle
