"""Worker hosts: the EC2 machines that run execution environments as Firecracker microVMs.

A worker has a memory capacity shared by its environments, a limit on how fast it can create microVMs
(150 per second in Firecracker's paper), a worker-local code cache, and a lease: AWS keeps a host for at most
about 14 hours. When the lease nears its end the worker "drains": it takes no new environments, its idle ones are
shut down and its busy ones finish their invoke first; once empty it leaves the fleet.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..observability.records import Statistics

__all__ = ["Worker"]


class Worker:
    # (slots: every release reads its environment's worker.draining, and an object with slots is one cache line
    # to read instead of the object and its values)
    __slots__ = ("fleet", "id", "capacity_mb", "used_mb", "lease_end", "environments", "code_cache", "draining",
                 "retired", "drain_event", "joined", "room_key", "_boot_rate", "_boot_tokens", "_boot_refill_at")

    def __init__(self, fleet, worker_id: str, capacity_mb: int, lease_end: float, boot_rate: float) -> None:
        self.fleet = fleet
        self.id = worker_id
        self.capacity_mb = capacity_mb
        self.used_mb = 0
        self.lease_end = lease_end
        self.environments: dict[str, object] = {}
        self.code_cache: set[str] = set()
        self.draining = False
        self.retired = False
        self.drain_event = None     # the lease's drain, pending only while the worker hosts environments
        self.joined = 0             # its place in the fleet's order, and in the Placement Service's (see placement)
        self.room_key = None
        self._boot_rate = boot_rate
        self._boot_tokens = boot_rate
        self._boot_refill_at = fleet.lab.now

    def free_mb(self) -> int:
        return self.capacity_mb - self.used_mb

    def can_boot(self, now: float) -> bool:
        """Token bucket for microVM creation: ``boot_rate`` per second, bursting to one second's worth. Only
        reads the bucket (``add`` takes the token), so asking changes nothing."""
        return self._boot_level(now) >= 1.0

    def _boot_level(self, now: float) -> float:
        """The bucket's tokens at ``now``."""
        return min(self._boot_rate, self._boot_tokens + (now - self._boot_refill_at) * self._boot_rate)

    def add(self, env, memory_mb: int) -> None:
        now = self.fleet.lab.now
        self._boot_tokens = self._boot_level(now) - 1
        self._boot_refill_at = now
        self.used_mb += memory_mb
        self.fleet.placement.resized(self)
        self.environments[env.id] = env
        if self.drain_event is None and self.lease_end != float("inf"):
            # An empty worker needs no drain, so the lease's end is only scheduled while someone lives here.
            # It is upkeep: lab.run() does not wait for it (see engine.clock).
            engine = self.fleet.lab.engine
            self.drain_event = engine.upkeep(max(engine.now, self.fleet.drain_at(self)), self.fleet._drain, self)

    def remove(self, env) -> None:
        if self.environments.pop(env.id, None) is not None:
            self.used_mb -= env.snapshot.memory
            self.fleet.placement.resized(self)
        if not self.environments:
            if self.draining:
                self.fleet.retire(self)
            elif self.drain_event is not None:
                self.fleet.lab.engine.cancel(self.drain_event)
                self.drain_event = None

    def code_tier(self, code_sha: str) -> str:
        """Which cache serves this package now; fetching it warms both the worker's and the AZ's cache."""
        if code_sha in self.code_cache:
            return "local"
        self.code_cache.add(code_sha)
        if code_sha in self.fleet.az_cache:
            return "az"
        self.fleet.az_cache.add(code_sha)
        return "s3"

    def statistics(self) -> "WorkerStatistics":
        return WorkerStatistics(self.id, len(self.environments), self.used_mb, self.capacity_mb, self.lease_end,
                                self.draining)

    def __repr__(self) -> str:
        return f"<Worker {self.id} envs={len(self.environments)} {self.used_mb}/{self.capacity_mb} MB>"


@dataclass(frozen=True)
class WorkerStatistics(Statistics):
    id: str
    environments: int       # environments on this worker
    used_mb: int            # memory they hold
    capacity_mb: int        # memory for microVMs
    lease_end: float        # virtual time its lease ends
    draining: bool          # takes no new environments
