"""Resources Lambda reclaims from functions nobody invokes: after about 14 idle days the function (or version)
becomes ``Inactive``.

Two things use it: a VPC function's Hyperplane ENI (the function goes Inactive and the ENI is released) and a
SnapStart version's snapshot (deleted; the version goes Inactive). The next invoke fails and starts re-creating
what was reclaimed (``State: Pending``, ``StateReasonCode: Restoring``); see ``vpc`` and ``snapstart``.

Idleness is read from the function's Invocations metric (minute buckets): a watch wakes up 14 days after the
later of its start and the last minute with invocations, so a busy function costs nothing per request. The
watch is fleet upkeep (``engine.upkeep``): ``lab.run()`` does not wait 14 days for it. We simplify: idleness
is per function, also for a version's snapshot (AWS counts invocations of that version).
"""
from __future__ import annotations

__all__ = ["IDLE_SECONDS", "watch"]

IDLE_SECONDS = 14 * 24 * 3600.0


def last_used(lab, function: str, since: float) -> float:
    """The later of ``since`` and the end of the last minute in which ``function`` was invoked."""
    points = lab.counters.metrics(function, "Invocations")
    return max(since, points[-1][0] + 60.0) if points else since


def watch(lab, function: str, since: float, still_wanted, on_idle) -> None:
    """Call ``on_idle()`` once ``function`` has been idle for IDLE_SECONDS, as long as ``still_wanted()``."""
    def check() -> None:
        if not still_wanted():
            return
        last = last_used(lab, function, since)
        if lab.now >= last + IDLE_SECONDS:
            on_idle()
        else:
            lab.engine.upkeep(last + IDLE_SECONDS, check)

    lab.engine.upkeep(since + IDLE_SECONDS, check)
