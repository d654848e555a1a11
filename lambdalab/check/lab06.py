"""Checks for labs/06_keep_alive_reuse_and_cost.ipynb: keep-alive on a day of real traffic, and the bill.

Right answers come from the closed form of REFERENCE.md §10, from the cost model's prices and from replays of
the same slice of the Azure Functions 2019 trace the notebook uses (the constants below), so a check follows
the model if it is retuned. A learner's keep-alive policy is judged the way Shahrad et al. (ATC'20) compare
policies: the share of cold starts of the 75th-percentile function against the memory held by idle
environments, next to fixed keep-alives.
"""
from __future__ import annotations

import copy
import functools
import math
import pickle

from ..keepalive import Fixed, HybridHistogram
from . import register

#: Exercise 1: one request every 1/COLD_RATE seconds on average, reserved concurrency 1, this keep-alive
COLD_RATE = 0.01
COLD_KEEP_ALIVE = 300.0
#: Exercise 2: a timer function under the fixed 10-minute keep-alive
TIMER_EVERY_MINUTES = 15
TIMER_MEMORY_MB = 256
TIMER_RUNS = 24 * 60 // TIMER_EVERY_MINUTES          # (a day's runs)
#: The lab's slice of the trace: of the functions invoked at most this many times in the day, the apps of this
#: shard (index, count: ``Trace.shard``), replayed with this seed
QUIET_INVOCATIONS = 1000
QUIET_SHARD = (1, 2)
SEED = 0
#: Exercise 3: the baseline, and the fixed keep-alives (minutes) a policy is compared with
BASELINE_MINUTES = 10
FIXED_MINUTES = (10, 20, 30, 60, 120, 240)
#: Exercise 4: a month of traffic
MONTH_REQUESTS = 1_000_000
MONTH_DURATION_MS = 120
MONTH_MEMORY_MB = 512


def cold_share() -> float:
    """Share of requests that find the one environment expired: the idle gap exceeded the keep-alive."""
    return math.exp(-COLD_RATE * COLD_KEEP_ALIVE)


def timer_waste() -> float:
    """GB-seconds a day of idle memory of the timer under the fixed 10-minute keep-alive: every gap outlasts it,
    so each run is cold and each leaves its environment idle for the whole keep-alive, for nothing."""
    return TIMER_RUNS * BASELINE_MINUTES * 60 * TIMER_MEMORY_MB / 1024


def monthly_cost() -> float:
    from ..fleet.cost_model import CostModel
    prices = CostModel()
    gb_seconds = MONTH_REQUESTS * MONTH_DURATION_MS / 1000 * MONTH_MEMORY_MB / 1024
    return MONTH_REQUESTS * prices.price_request + gb_seconds * prices.price_gb_s


# --- replays of the lab's slice ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def quiet_trace():
    """The notebook's slice: half of the day's functions invoked at most QUIET_INVOCATIONS times."""
    from .. import traces
    return traces.azure2019(functions=lambda f: f.invocations <= QUIET_INVOCATIONS).shard(*QUIET_SHARD)


def replay(policy) -> dict:
    """The summary of one replay of the slice under ``policy`` (a fresh copy: what a policy learnt stays out)."""
    from ..lab import Lab
    lab = Lab(seed=SEED, trace="off")
    result = lab.replay(quiet_trace(), keep_alive=copy.deepcopy(policy))
    lab.engine.run(until=result.end)          # (lab.run less its progress bar: a check shows its verdict only)
    return result.summary()


@functools.lru_cache(maxsize=None)
def fixed(minutes: int) -> dict:
    return replay(Fixed(60 * minutes))


def judge(policy) -> tuple[bool, str]:
    """Is ``policy`` better than a fixed keep-alive that holds at least as much idle memory (the 10-minute
    baseline, or the shortest longer one of FIXED_MINUTES)? Fewer cold starts for the 75th-percentile function
    is what counts. Returns (verdict, what the replays showed)."""
    if isinstance(policy, type):
        policy = policy()
    if not callable(getattr(policy, "on_idle", None)):
        return False, ("give a keep-alive policy: an object (or class) with on_idle(function, now), like "
                       "ll.keepalive.Fixed or the class you wrote.")
    try:
        mine = replay(policy)
    except Exception as exc:                  # the learner's policy: say what went wrong, as a hint
        return False, f"the replay stopped: your policy raised {type(exc).__name__}: {exc}"
    base = fixed(BASELINE_MINUTES)
    memory = mine["wasted_memory_gb_seconds"] / base["wasted_memory_gb_seconds"]
    rival = next((m for m in FIXED_MINUTES if fixed(m)["wasted_memory_gb_seconds"] >= mine["wasted_memory_gb_seconds"]),
                 None)
    said = (f"your policy: the 75th-percentile function {mine['app_cold_p75']:.1%} cold, "
            f"{memory:.2f}x the idle memory of the {BASELINE_MINUTES}-minute baseline")
    if rival is None:
        return False, (f"{said}: more than a fixed {FIXED_MINUTES[-1]}-minute keep-alive holds. Keep fewer "
                       "environments idle: pre-warm shortly before the request you expect instead of waiting "
                       "idle for it.")
    theirs = fixed(rival)["app_cold_p75"]
    said += f"; a fixed {rival}-minute keep-alive (at least as much memory): {theirs:.1%} cold"
    if mine["app_cold_p75"] < theirs:
        return True, said
    return False, (f"{said}. Spend idle memory where it buys warm starts: on functions whose next request "
                   "comes soon enough to be caught, not on those that will start cold anyway.")


_VERDICTS: dict = {}     # what a policy was judged to be, by its class and pickled state (the last few)


def _verdict(policy) -> tuple[bool, str]:
    """``judge(policy)``, remembered for a policy in the same state: the check's verify and hint ask twice, and a
    learner may answer again with the same policy. A policy changed since (its attributes, or its class defined
    again) is judged afresh; one that cannot be pickled always is."""
    try:
        made = policy() if isinstance(policy, type) else policy
        key = (type(made), pickle.dumps(made))
    except Exception:                         # (unpicklable: judged afresh, not remembered)
        return judge(policy)
    if key not in _VERDICTS:
        if len(_VERDICTS) >= 8:
            del _VERDICTS[next(iter(_VERDICTS))]
        _VERDICTS[key] = judge(policy)
    return _VERDICTS[key]


# --- the checks -------------------------------------------------------------------------------------------------
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


def _timer_hint(v) -> str:
    v = float(v)
    if abs(v - timer_waste() * 1024) <= 0.02 * timer_waste() * 1024:
        return "that is in MB-seconds: divide by 1,024 for GB-seconds."
    if abs(v - timer_waste() / 60) <= 0.02 * timer_waste() / 60:
        return "that is in GB-minutes: the keep-alive is 600 seconds."
    return (f"count the runs in a day (one every {TIMER_EVERY_MINUTES} minutes), then ask how long each one's "
            "environment waits idle before it is reclaimed, and how many GB it holds meanwhile.")


register(
    "lab06.timer_waste",
    verify=lambda v: abs(float(v) - timer_waste()) <= 0.03 * timer_waste(),
    hint=_timer_hint,
    right=[timer_waste(), round(timer_waste(), -2), 14_300],
    wrong=[timer_waste() * 1024, timer_waste() / 60, 0, TIMER_RUNS],
    explain=f"every gap ({TIMER_EVERY_MINUTES} minutes) outlasts the keep-alive ({BASELINE_MINUTES}), so each of "
            f"the {TIMER_RUNS} runs starts cold and leaves its environment idle for the whole "
            f"{BASELINE_MINUTES} minutes for nothing: a fixed keep-alive spends "
            "memory on exactly the functions it cannot keep warm.",
)


register(
    "lab06.my_policy",
    verify=lambda v: _verdict(v)[0],
    hint=lambda v: _verdict(v)[1],
    right=[HybridHistogram],
    wrong=[600, Fixed(60 * BASELINE_MINUTES)],
    explain="your policy buys more warm starts with its idle memory than a fixed keep-alive does: it is "
            "below the fixed keep-alives' trade-off curve, as the hybrid policy of Shahrad et al. is.",
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
