"""Checks for labs/06_keep_alive_reuse_and_cost.ipynb: keep-alive and cold starts, reuse policies, the bill.

Right answers come from the closed form of REFERENCE.md §10 and from the cost model's prices, with the same
constants the notebook shows, so a check follows the model if it is retuned.
"""
from __future__ import annotations

import math

from . import register, words

#: Exercise 1: one request every 1/COLD_RATE seconds on average, reserved concurrency 1, this keep-alive
COLD_RATE = 0.01
COLD_KEEP_ALIVE = 300.0
#: Exercise 3: a month of traffic
MONTH_REQUESTS = 1_000_000
MONTH_DURATION_MS = 120
MONTH_MEMORY_MB = 512


def cold_share() -> float:
    """Share of requests that find the one environment expired: the idle gap exceeded the keep-alive."""
    return math.exp(-COLD_RATE * COLD_KEEP_ALIVE)


def monthly_cost() -> float:
    from ..fleet.cost_model import CostModel
    prices = CostModel()
    gb_seconds = MONTH_REQUESTS * MONTH_DURATION_MS / 1000 * MONTH_MEMORY_MB / 1024
    return MONTH_REQUESTS * prices.price_request + gb_seconds * prices.price_gb_s


def _cold_hint(v) -> str:
    v = float(v)
    if 1 < v <= 100:
        return "give a share between 0 and 1, not a percentage."
    if v < cold_share() / 2:
        return ("too small: a request starts cold whenever the gap since the previous one is longer than the "
                "keep-alive. For Poisson arrivals that gap is exponential; what is P(gap > T)?")
    return ("the gaps between Poisson arrivals are exponential with the given rate; a cold start needs a gap "
            "longer than the keep-alive. Try the formula in section 1, or measure it with the lab.")


register(
    "lab06.cold_share",
    verify=lambda v: 0 <= float(v) <= 1 and abs(float(v) - cold_share()) <= 0.1 * cold_share(),
    hint=_cold_hint,
    right=[cold_share(), round(cold_share(), 3), 0.048],
    wrong=[cold_share() * 100, 0.3, 0.0025, 1 - cold_share()],
    explain="P(idle gap > T) = e^(-λT). With one environment every request after a long enough gap finds "
            "it reclaimed; a longer keep-alive shrinks that share exponentially.",
)

_LEAST = {"least recent", "least_recent", "leastrecent", "least recently used", "lru", "oldest", "longest idle",
          "least recently idle", "longest idle first"}


register(
    "lab06.most_envs_policy",
    verify=lambda v: words(v) in {words(x) for x in _LEAST},
    hint=lambda v: ("that policy lets the spare environments sit untouched until they expire. Compare the "
                    "avg_environments column of the three policies."
                    if words(v) in {"most recent", "most recently used", "mru", "newest"} else
                    "answer with a policy name as Lab(reuse=...) spells it, the one with the highest "
                    "avg_environments in the table."),
    right=["least_recent", "least recent", "LRU"],
    wrong=["most_recent", "random", "round robin"],
    explain="taking the environment that has been idle longest keeps touching every environment, so none "
            "reaches the keep-alive: more of them stay alive (more memory held by AWS), and cold starts "
            "become rare.",
)


def _cost_hint(v) -> str:
    v = float(v)
    if abs(v - MONTH_REQUESTS * 0.20 / 1e6) < 0.01:
        return "that is only the request charge: add the compute charge, GB-seconds times the price per GB-s."
    if v > 100 * monthly_cost():
        return "check the units: durations are billed in seconds of GB (ms / 1000, MB / 1024)."
    return ("add two parts: requests x $0.20 per million, and GB-seconds (requests x seconds x GB) x "
            "$0.0000166667. lab.stats()['cost_usd'] of a small run shows the same formula at work.")


register(
    "lab06.monthly_cost",
    verify=lambda v: abs(float(v) - monthly_cost()) <= 0.02 * monthly_cost(),
    hint=_cost_hint,
    right=[monthly_cost(), round(monthly_cost(), 2), f"{monthly_cost():.2f}"],
    wrong=[0.2, monthly_cost() * 1000, 0.6, 12.0],
    explain="requests cost $0.20 per million, and compute costs $0.0000166667 per GB-second (1 ms steps), "
            "so a small, fast function pays mostly for duration x memory. (The free tier would cover this.)",
)
