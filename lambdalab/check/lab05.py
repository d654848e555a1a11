"""Checks for labs/05_scaling_and_concurrency.ipynb: Little's law, the scaling rate, sizing a concurrency limit.

The right answers are computed here from the same constants the notebook uses (and, for the scaling rate,
from the Worker Manager's own numbers), so a check follows the model if it is retuned.
"""
from __future__ import annotations

import math

from . import register

#: Exercise 1: a function with this arrival rate (per second) and mean duration (seconds)
LITTLE_RATE = 50.0
LITTLE_DURATION = 0.2
#: Exercise 2: this many callers arrive at once (the notebook's burst) and keep retrying after a 429
BURST_CALLERS = 3000
#: Exercise 3: the workload of the Erlang-B section, and the throttle budget
ERLANG_RATE = 0.9
ERLANG_MEAN = 1.991
THROTTLE_BUDGET = 0.01


def erlang_b(c: int, rho: float) -> float:
    """Share of requests refused by c environments and no queue, offered load rho = rate x mean duration."""
    b = 1.0
    for k in range(1, c + 1):          # the stable recurrence B(k) = rho B(k-1) / (k + rho B(k-1))
        b = rho * b / (k + rho * b)
    return b


def littles_law() -> float:
    return LITTLE_RATE * LITTLE_DURATION


def scale_seconds() -> float:
    """Seconds until BURST_CALLERS environments exist: the burst at once, then the continuous refill."""
    from ..fleet.worker_manager import SCALING_BURST, SCALING_REFILL
    return max(0.0, (BURST_CALLERS - SCALING_BURST) / SCALING_REFILL)


def min_reserved() -> int:
    rho = ERLANG_RATE * ERLANG_MEAN
    c = 1
    while erlang_b(c, rho) >= THROTTLE_BUDGET:
        c += 1
    return c


def _close(value, target: float, rel: float) -> bool:
    return math.isfinite(float(value)) and abs(float(value) - target) <= rel * abs(target)


register(
    "lab05.littles_law",
    verify=lambda v: _close(v, littles_law(), 0.05),
    hint=lambda v: ("that is far too many: each environment serves one request at a time, but a request only "
                    "holds it for its duration. Multiply the arrival rate by the mean duration in seconds."
                    if float(v) > littles_law() * 1.05 else
                    "count how many requests are in flight at any moment: arrivals per second times how long "
                    "each one stays (in seconds), as in section 1's comparison."),
    right=[littles_law(), int(littles_law()), f"{littles_law():.1f}"],
    wrong=[littles_law() * 1000, 2.5, 0.004],
    explain="Little's law: requests in flight = arrival rate x time in the system. Lambda needs one execution "
            "environment per request in flight, so this is also the concurrency the function uses.",
)

register(
    "lab05.scale_seconds",
    verify=lambda v: _close(v, scale_seconds(), 0.1),
    hint=lambda v: ("read the plot again: the first 1,000 environments come at once, the rest at a steady "
                    "100 per second, so subtract before you divide."
                    if _close(v, BURST_CALLERS / 100, 0.1) else
                    "look at when the environment curve flattens in the burst plot, or work it out from the "
                    "scaling rate: a burst of 1,000, then +1,000 every 10 s, refilled continuously."),
    right=[scale_seconds(), int(scale_seconds()), scale_seconds() + 1],
    wrong=[BURST_CALLERS / 100, 3, 0, 300],
    explain="a function may add 1,000 environments at once and then 1,000 more every 10 s (100 per second, "
            "refilled continuously); everyone beyond that gets 429 TooManyRequestsException and retries.",
)

register(
    "lab05.min_reserved",
    verify=lambda v: int(v) == min_reserved() and float(v) == int(v),
    hint=lambda v: ("with that limit more than 1% of requests are still throttled: move one step up the curve."
                    if int(v) < min_reserved() else
                    "that works, but a smaller limit already keeps throttles under 1%: find the first point "
                    "of the Erlang-B curve below the 1% line."),
    right=[min_reserved(), str(min_reserved())],
    wrong=[min_reserved() - 1, min_reserved() + 3, 2],
    explain="Erlang-B gives the share of requests that find every environment busy; at this offered load it "
            "drops below 1% at this limit. Reserving less throttles more than 1%; more only locks away "
            "concurrency other functions could use.",
)
