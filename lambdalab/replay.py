"""Trace replay: ``lab.replay(trace, keep_alive=...)`` plays a day of real traffic through the Lab.

The replay creates one Lambda function per trace function (synthetic: no handler code; MemorySize and the
duration curve from the trace, Timeout 900 s, Lambda's maximum) and schedules every invocation of the trace as
a synchronous Invoke at its arrival time. Minute 0 of the trace starts at the first whole minute of the Lab's
clock after the functions are Active, so the Lab's per-minute metrics line up with the trace's minutes. Run
the Lab until the replay's ``end``: results count what finished by then (a few long invocations still run).
The trace has no cold-start times: every Init takes the cost model's typical Python cold start (microVM boot,
code from the AZ cache, runtime bootstrap), the same for every function, so that a function's results
depend only on its own traffic. The invocations take the one invocation path a notebook's single invoke takes
(frontend, Worker Manager and Placement, execution environment); ``trace="off"`` only records less.

How to read the result, as Shahrad et al. (ATC'20) compare keep-alive policies: per function ("app"), the
share of its invocations that started cold; the figure of merit is the distribution of that share over
functions (``app_cold_p75``: the 75th-percentile function) against the memory held by idle environments
(``wasted_memory_gb_seconds``). The overall cold-start share barely moves between policies on this trace:
most invocations belong to a few busy functions that are always warm.

The account's concurrency limit is shared by all functions, and this trace needs a lot of it: a few functions
run for minutes at a time, so about 19,000 invocations run at once at the day's peak. AWS raises the default
1,000 on request; give the Lab a limit above the peak (``Lab(account_concurrency=40_000)``), or the limit
throttles requests and changes what the keep-alive comparison measures. ``result().labs`` says, per Lab, the
peak concurrency against the limit (``limit_bound``).

A replay can be split by app over processes or a Dask cluster: ``lambdalab.shards.replay_sharded``.
"""
from __future__ import annotations

import math

from .engine.distributions import Fixed

__all__ = ["Replay", "ReplayResult"]

TIMEOUT = 900            # Lambda's maximum function timeout (s)
CODE_SIZE = 300          # bytes: what create_function's zip of a synthetic handler weighs


def init_seconds(cost) -> float:
    """A typical on-demand Python cold start under the cost model (used for every replayed function)."""
    return cost.microvm_boot + cost.code_fetch("az", CODE_SIZE) + cost.runtime_bootstrap("python3.12")


class Replay:
    """What ``lab.replay`` set up: the trace's functions and arrivals. ``result()`` reads the outcome."""

    def __init__(self, lab, trace, keep_alive=None) -> None:
        self.lab = lab
        self.trace = trace
        if keep_alive is not None:
            lab.fleet.keep_alive = keep_alive
        self.keep_alive = lab.fleet.keep_alive
        taken = [f.name for f in trace.functions if f.name in lab.control_plane.functions]
        if taken:
            raise ValueError(f"the Lab already has functions named like the trace's ({', '.join(taken[:3])}); "
                             "replay a trace into a Lab of its own")
        seed = lab.seed
        init = Fixed(init_seconds(lab.cost))
        functions = lab.control_plane.functions
        for f in trace.functions:                 # all created at once, so the start does not depend on how many
            lab.create_function(f.name, None, memory=f.memory_mb, timeout=TIMEOUT, duration=f.durations(seed),
                                init_duration=init, wait=False)
        lab.wait_for(lambda: all(functions[f.name].latest.config["State"] != "Pending" for f in trace.functions))
        self.start = math.ceil(lab.now / 60.0) * 60.0
        self.end = self.start + trace.duration
        for f in trace.functions:
            self._schedule(f.name, f.arrivals(seed, start=self.start))

    def _schedule(self, name: str, times) -> None:
        """Each arrival submits its request and schedules the function's next one (one heap entry per function)."""
        lab = self.lab
        engine = lab.engine
        params = {"FunctionName": name, "InvocationType": "RequestResponse"}
        # nobody holds these requests: outside trace="full" only counters are made of them, as of poisson's
        submit = lab.frontend.submit
        following = iter(times).__next__

        def arrive() -> None:
            submit(params)
            try:
                engine.at(following(), arrive)
            except StopIteration:
                pass

        try:
            engine.at(following(), arrive)
        except StopIteration:
            pass

    def result(self) -> "ReplayResult":
        """Per function: invocations, cold starts, throttles and idle memory so far (run the Lab first)."""
        lab = self.lab
        rows = []
        idle = lab.fleet.idle_gb_seconds_by_function()
        for f in self.trace.functions:
            counts = lab.counters.function(f.name)
            rows.append({"function": f.name, "app": f.app_hash, "memory_mb": f.memory_mb,
                         "trace_invocations": f.invocations, "requests": counts.requests,
                         "invocations": counts.invocations, "cold_starts": counts.cold_starts,
                         "throttles": counts.throttles, "wasted_memory_gb_seconds": idle.get(f.name, 0.0)})
        peak = lab.counters.busy_peak
        return ReplayResult(rows, [{"functions": len(rows), "account_concurrency": lab.account_concurrency,
                                    "max_concurrency": peak, "limit_bound": peak >= lab.account_concurrency,
                                    "peak_mib": _peak_mib()}])

    def summary(self) -> dict:
        return self.result().summary()


class ReplayResult:
    """Per-function rows of a replay (``rows``), the figures policies are compared by (``summary()``), and per
    Lab (one, or one per shard) its peak concurrency against its limit and its process's peak memory (``labs``)."""

    def __init__(self, rows: list[dict], labs: list[dict]) -> None:
        self.rows = rows
        self.labs = labs

    def cold_shares(self) -> list[float]:
        """Each function's share of invocations that started cold (functions with no invocation left out)."""
        return [r["cold_starts"] / r["invocations"] for r in self.rows if r["invocations"]]

    def summary(self) -> dict:
        rows = self.rows
        invocations = sum(r["invocations"] for r in rows)
        cold = sum(r["cold_starts"] for r in rows)
        shares = sorted(self.cold_shares())
        return {
            "functions": len(rows),
            "requests": sum(r["requests"] for r in rows),
            "invocations": invocations,
            "cold_starts": cold,
            "throttles": sum(r["throttles"] for r in rows),
            "p_cold": cold / invocations if invocations else 0.0,
            "app_cold_p50": _percentile(shares, 0.50),
            "app_cold_p75": _percentile(shares, 0.75),
            "app_cold_p90": _percentile(shares, 0.90),
            "wasted_memory_gb_seconds": sum(r["wasted_memory_gb_seconds"] for r in rows),
            "limit_bound": any(lab["limit_bound"] for lab in self.labs),
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<ReplayResult {s['functions']:,} functions, {s['invocations']:,} invocations, "
                f"75th-percentile function {s['app_cold_p75']:.1%} cold, "
                f"{s['wasted_memory_gb_seconds']:,.0f} GB-s idle>")


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank, as ``lab.stats()`` reads its duration percentiles."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _peak_mib() -> float | None:
    """This process's peak resident memory (VmHWM), Linux only."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
