"""The Placement Service: chooses the worker host for each new execution environment.

Policy (ours, documented because AWS does not publish its own): among workers that are not draining, have
memory for the function and may boot another microVM this second, pick the one with the most free memory
(least loaded), ties to the oldest. If none fits, a new worker joins the fleet. This spreads a function's
environments over hosts, which is what AWS aims for to limit the blast radius of one host failing.
"""
from __future__ import annotations

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

    def place(self, memory_mb: int, request_id=None, function=None) -> Worker:
        fleet = self.fleet
        lab = fleet.lab
        now = lab.now
        window = fleet.drain_window
        best, most = None, -1
        # (one pass per cold start over the whole fleet, hundreds of hosts in a trace replay: kept to plain reads,
        # and a host's boot bucket is read only when its free memory would make it the pick)
        for worker in list(fleet.workers.values()):
            if worker.draining:
                continue
            if now >= worker.lease_end - window:        # fleet.drain_at(worker)
                fleet._drain(worker)      # an empty worker whose lease ran out while nobody lived there
                continue
            free = worker.capacity_mb - worker.used_mb
            if free < memory_mb or free <= most:        # no room, or no roomier than an older candidate
                continue
            if worker.can_boot(now):
                best, most = worker, free
        reason = "least loaded"
        if best is None:
            best = self.fleet.add_worker(request_id)
            reason = "no worker had room, so a new one joined the fleet"
        self.placements += 1
        if lab.trace.full:
            lease_left = (best.lease_end - now) / 3600
            lab.trace.emit("placement", "place", "The Placement Service picks worker {} ({}; lease {:.1f} h left)",
                           best.id, reason, lease_left, request_id=request_id, function=function, worker_id=best.id,
                           target="worker", reason=reason, workers=len(self.fleet.workers))
        return best

    def statistics(self) -> "PlacementStatistics":
        return PlacementStatistics(self.placements, len(self.fleet.workers))


@dataclass(frozen=True)
class PlacementStatistics(Statistics):
    placements: int         # environments placed so far
    workers: int            # worker hosts in the fleet
