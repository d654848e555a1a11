"""The Placement Service: chooses the worker host for each new execution environment.

Policy (ours, documented because AWS does not publish its own): among workers that are not draining, have
memory for the function and may boot another microVM this second, pick the one with the most free memory
(least loaded), ties to the oldest. If none fits, a new worker joins the fleet. This spreads a function's
environments over hosts, which is what AWS aims for to limit the blast radius of one host failing.

A trace replay keeps hundreds of hosts busy and makes a cold start every few milliseconds, so the service keeps
its hosts in that order of preference (most free memory first, then the oldest), updated as environments come
and go; a placement reads from the front. A host whose lease is nearly over drains: one that still hosts
environments was told by its own lease timer, an empty one (nobody to tell) is drained by the next placement
after its time, as before the index existed.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

from ..observability.records import Statistics
from .worker import Worker

__all__ = ["PlacementService"]


class PlacementService:
    def __init__(self, fleet, worker_capacity_mb: int = 64 * 1024, boot_rate: float = 150.0) -> None:
        self.fleet = fleet
        self.worker_capacity_mb = worker_capacity_mb
        self.boot_rate = boot_rate
        self.placements = 0
        self._roomiest: list[tuple] = []        # (-free MB, joined, worker) of the hosts taking environments
        self._by_lease: list[tuple] = []        # (lease end, joined, worker) of the same hosts, soonest first
        self._joined = 0

    def place(self, memory_mb: int, request_id=None, function=None) -> Worker:
        fleet = self.fleet
        lab = fleet.lab
        now = lab.now
        self._drain_due(now)
        best = None
        for key in self._roomiest:
            if -key[0] < memory_mb:
                break                           # nobody further on has more room
            worker = key[2]
            if not worker.draining and worker.can_boot(now):
                best = worker
                break
        reason = "least loaded"
        if best is None:
            best = fleet.add_worker(request_id)
            self.joined(best)
            reason = "no worker had room, so a new one joined the fleet"
        self.placements += 1
        if lab.trace.full:
            lease_left = (best.lease_end - now) / 3600
            lab.trace.emit("placement", "place", "The Placement Service picks worker {} ({}; lease {:.1f} h left)",
                           best.id, reason, lease_left, request_id=request_id, function=function, worker_id=best.id,
                           target="worker", reason=reason, workers=len(self.fleet.workers))
        return best

    def _drain_due(self, now: float) -> None:
        """Hosts whose drain time has come leave the index; an empty one nobody drained yet drains now."""
        leases = self._by_lease
        window = self.fleet.drain_window
        while leases and now >= leases[0][0] - window:
            worker = leases.pop(0)[2]
            self._forget(worker)
            if not worker.draining:
                self.fleet._drain(worker)

    # --- the index, kept as hosts join and their environments come and go -------------------------------------
    def joined(self, worker: Worker) -> None:
        self._joined += 1
        worker.joined = self._joined
        worker.room_key = (worker.used_mb - worker.capacity_mb, worker.joined, worker)
        insort(self._roomiest, worker.room_key)
        insort(self._by_lease, (worker.lease_end, worker.joined, worker))

    def resized(self, worker: Worker) -> None:
        """``worker.used_mb`` changed: move it to its new place in the order."""
        key = worker.room_key
        if key is None:
            return                              # draining or gone: no longer placed on
        roomiest = self._roomiest
        del roomiest[bisect_left(roomiest, key)]
        worker.room_key = key = (worker.used_mb - worker.capacity_mb, key[1], worker)
        insort(roomiest, key)

    def _forget(self, worker: Worker) -> None:
        key = worker.room_key
        if key is not None:
            del self._roomiest[bisect_left(self._roomiest, key)]
            worker.room_key = None

    def statistics(self) -> "PlacementStatistics":
        return PlacementStatistics(self.placements, len(self.fleet.workers))


@dataclass(frozen=True)
class PlacementStatistics(Statistics):
    placements: int         # environments placed so far
    workers: int            # worker hosts in the fleet
