"""Counters, time averages, per-minute metrics and the bill.

Everything here is updated in O(1) per event, in every trace mode, so a million-invocation run pays a few
additions per request. Time averages (live and busy environments) integrate the count over virtual time.
Metrics are kept as one-minute buckets per function and metric name (CloudWatch's standard resolution);
``lab.metrics(fn, name, period)`` folds them into coarser periods with CloudWatch's statistic for that metric.
"""
from __future__ import annotations

import math
from array import array

__all__ = ["Stats", "METRICS"]

# metric name -> statistic Lambda's console shows for it
METRICS = {
    "Invocations": "Sum", "Errors": "Sum", "Throttles": "Sum", "Duration": "Average",
    "ConcurrentExecutions": "Maximum", "ProvisionedConcurrencyUtilization": "Maximum", "IteratorAge": "Maximum",
    "AsyncEventsReceived": "Sum", "AsyncEventAge": "Average", "AsyncEventsDropped": "Sum",
    "DeadLetterErrors": "Sum", "DestinationDeliveryFailures": "Sum", "ProvisionedConcurrencyInvocations": "Sum",
    "ProvisionedConcurrencySpilloverInvocations": "Sum", "QueueDepth": "Maximum",
}


class _Integral:
    """Time integral of a step function (a count that goes up and down)."""
    __slots__ = ("value", "area", "since", "peak")

    def __init__(self) -> None:
        self.value = 0
        self.area = 0.0
        self.since = 0.0
        self.peak = 0

    def add(self, now: float, delta: int) -> None:
        self.area += self.value * (now - self.since)
        self.since = now
        self.value += delta
        if self.value > self.peak:
            self.peak = self.value

    def average(self, now: float) -> float:
        return (self.area + self.value * (now - self.since)) / now if now > 0 else 0.0


class _FunctionStats:
    __slots__ = ("requests", "invocations", "cold_starts", "warm_starts", "throttles", "errors", "timeouts",
                 "durations", "billed_gb_seconds", "arm_gb_seconds", "environments", "busy", "pc_gb_seconds",
                 "minute", "cells", "cc_minute", "cc_cell")

    def __init__(self) -> None:
        self.requests = self.invocations = self.cold_starts = self.warm_starts = 0
        self.throttles = self.errors = self.timeouts = 0
        self.durations = array("d")
        self.billed_gb_seconds = 0.0
        self.arm_gb_seconds = 0.0
        self.pc_gb_seconds = 0.0
        self.environments = _Integral()
        self.busy = _Integral()
        self.minute = -1         # the minute whose metric buckets ``cells`` holds (invocation_done's shortcut)
        self.cells = ()
        self.cc_minute = -1      # ... and the ConcurrentExecutions bucket of minute ``cc_minute`` (lean_start's)
        self.cc_cell = None


class Stats:
    def __init__(self, lab) -> None:
        self.lab = lab
        self._engine = lab.engine        # read ``now`` straight from the clock: these methods run per request
        self.functions: dict[str, _FunctionStats] = {}
        self.environments = _Integral()
        self.busy = _Integral()
        self.buckets: dict[tuple[str, str], dict[int, list]] = {}
        # per-invocation records, kept in "full" and "summary" modes ("off" keeps counters only)
        self.records: list[tuple] | None = None if lab.trace.mode == "off" else []

    def _fn(self, name: str) -> _FunctionStats:
        fs = self.functions.get(name)
        if fs is None:
            fs = self.functions[name] = _FunctionStats()
        return fs

    # --- updates (called by the components) -----------------------------------------------------------------
    def request(self, function: str) -> None:
        (self.functions.get(function) or self._fn(function)).requests += 1

    def throttle(self, function: str) -> None:
        self._fn(function).throttles += 1
        self.put(function, "Throttles", 1)

    def busy_change(self, function: str, delta: int) -> None:
        now = self._engine.now
        fs = self.functions.get(function) or self._fn(function)
        for integral in (fs.busy, self.busy):       # _Integral.add, inlined: this runs twice per request
            integral.area += integral.value * (now - integral.since)
            integral.since = now
            integral.value += delta
            if integral.value > integral.peak:
                integral.peak = integral.value
        if delta > 0:
            self.put(function, "ConcurrentExecutions", fs.busy.value, now)

    def environment_up(self, function: str) -> None:
        now = self.lab.now
        self._fn(function).environments.add(now, 1)
        self.environments.add(now, 1)

    def environment_down(self, function: str) -> None:
        now = self.lab.now
        self._fn(function).environments.add(now, -1)
        self.environments.add(now, -1)

    def invocation_done(self, inv, snapshot) -> None:
        name = snapshot.function.name
        fs = self.functions.get(name) or self._fn(name)
        fs.invocations += 1
        if inv.cold:
            fs.cold_starts += 1
        else:
            fs.warm_starts += 1
        failed = inv.status != "ok"
        if failed:
            fs.errors += 1
            if inv.status == "timeout":
                fs.timeouts += 1
        fs.durations.append(inv.duration)
        gb_s = inv.billed_ms / 1000.0 * snapshot.memory / 1024.0
        if snapshot.config["Architectures"] == ["arm64"]:
            fs.arm_gb_seconds += gb_s
        fs.billed_gb_seconds += gb_s
        if inv.init_type not in (None, "on-demand"):
            fs.pc_gb_seconds += gb_s
        if self.records is not None:
            self.records.append((inv.request_id, snapshot.function.name, snapshot.version, inv.t_arrival,
                                 inv.t_start, inv.t_end, inv.cold, inv.status, inv.duration, inv.billed_ms,
                                 inv.env_id))
        minute = int(self._engine.now // 60)
        if minute != fs.minute:
            fs.minute = minute
            fs.cells = (self._bucket(name, "Invocations", minute), self._bucket(name, "Duration", minute),
                        self._bucket(name, "Errors", minute))
        calls, duration, errors = fs.cells
        _bump(calls, 1)
        _bump(duration, inv.duration * 1000)
        _bump(errors, 1 if failed else 0)
        if snapshot.provisioned is not None:
            # with provisioned concurrency configured, each invoke ran on it or spilled over to on-demand
            self.put(name, "ProvisionedConcurrencyInvocations" if inv.init_type == "provisioned-concurrency"
                     else "ProvisionedConcurrencySpilloverInvocations", 1)
            allocated = snapshot.provisioned["AllocatedProvisionedConcurrentExecutions"]
            if allocated:
                # the share of provisioned environments busy as this invoke ends (it still holds its own)
                idle = len(self.lab.fleet.provisioned_pools.get(snapshot.key, ()))
                self.put(name, "ProvisionedConcurrencyUtilization", (allocated - idle) / allocated)

    # --- the bulk lane (Frontend.submit_lean): the same updates as the methods above, in one call each -----------
    def lean_start(self, function: str) -> None:
        """``request`` + ``busy_change(function, 1)`` for a bulk-lane request that was let in."""
        now = self._engine.now
        fs = self.functions.get(function) or self._fn(function)
        fs.requests += 1
        integral = fs.busy
        integral.area += integral.value * (now - integral.since)
        integral.since = now
        integral.value = busy = integral.value + 1
        if busy > integral.peak:
            integral.peak = busy
        integral = self.busy
        integral.area += integral.value * (now - integral.since)
        integral.since = now
        integral.value += 1
        if integral.value > integral.peak:
            integral.peak = integral.value
        minute = int(now // 60)
        if minute != fs.cc_minute:
            fs.cc_minute = minute
            fs.cc_cell = self._bucket(function, "ConcurrentExecutions", minute)
        b = fs.cc_cell
        b[0] += busy
        b[1] += 1
        if busy > b[2]:
            b[2] = busy
        if busy < b[3]:
            b[3] = busy

    def lean_done(self, inv, snapshot, function: str, duration: float, billed_ms: int, cold: bool,
                  init_type: str) -> None:
        """``invocation_done`` for a bulk-lane request that returned, then ``busy_change(function, -1)``.

        ``duration``, ``billed_ms``, ``cold`` and ``init_type`` are ``inv``'s, passed along to save reading them."""
        now = self._engine.now
        fs = self.functions.get(function) or self._fn(function)
        fs.invocations += 1
        if cold:
            fs.cold_starts += 1
        else:
            fs.warm_starts += 1
        fs.durations.append(duration)
        config = snapshot.config
        gb_s = billed_ms / 1000.0 * config["MemorySize"] / 1024.0
        if config["Architectures"] == ["arm64"]:
            fs.arm_gb_seconds += gb_s
        fs.billed_gb_seconds += gb_s
        if init_type != "on-demand":
            fs.pc_gb_seconds += gb_s
        if self.records is not None:
            self.records.append((inv.request_id, function, snapshot.version, inv.t_arrival, inv.t_start, inv.t_end,
                                 cold, "ok", duration, billed_ms, inv.env_id))
        minute = int(now // 60)
        if minute != fs.minute:
            fs.minute = minute
            fs.cells = (self._bucket(function, "Invocations", minute), self._bucket(function, "Duration", minute),
                        self._bucket(function, "Errors", minute))
        calls, cell, errors = fs.cells
        calls[0] += 1
        calls[1] += 1
        if 1 > calls[2]:
            calls[2] = 1
        if 1 < calls[3]:
            calls[3] = 1
        value = duration * 1000
        cell[0] += value
        cell[1] += 1
        if value > cell[2]:
            cell[2] = value
        if value < cell[3]:
            cell[3] = value
        errors[1] += 1
        if 0 > errors[2]:
            errors[2] = 0
        if 0 < errors[3]:
            errors[3] = 0
        if snapshot.provisioned is not None:
            self.put(function, "ProvisionedConcurrencyInvocations" if init_type == "provisioned-concurrency"
                     else "ProvisionedConcurrencySpilloverInvocations", 1)
        for integral in (fs.busy, self.busy):
            integral.area += integral.value * (now - integral.since)
            integral.since = now
            integral.value -= 1

    def _bucket(self, function: str, name: str, minute: int) -> list:
        """The [sum, count, max, min] bucket of one metric minute, created empty if new."""
        buckets = self.buckets.get((function, name))
        if buckets is None:
            buckets = self.buckets[(function, name)] = {}
        b = buckets.get(minute)
        if b is None:
            b = buckets[minute] = [0, 0, -math.inf, math.inf]
        return b

    def put(self, function: str, name: str, value: float, t: float | None = None) -> None:
        minute = int((self._engine.now if t is None else t) // 60)
        _bump(self._bucket(function, name, minute), value)

    RECORD_FIELDS = ("request_id", "function", "version", "t_arrival", "t_start", "t_end", "cold", "status",
                     "duration", "billed_ms", "env_id")

    def invocation_records(self, function: str | None = None) -> list[dict]:
        if self.records is None:
            raise ValueError('per-invocation records are not kept with trace="off"; use trace="summary"')
        return [dict(zip(self.RECORD_FIELDS, r)) for r in self.records if function is None or r[1] == function]

    # --- reading --------------------------------------------------------------------------------------------
    def metrics(self, function: str, name: str, period: int = 60) -> list[tuple[float, float]]:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; Lambda's metrics are: {', '.join(METRICS)}")
        if period < 60 or period % 60:
            raise ValueError("period must be a multiple of 60 seconds")
        statistic = METRICS[name]
        folded: dict[int, list] = {}
        for minute, (total, count, high, low) in sorted(self.buckets.get((function, name), {}).items()):
            key = minute * 60 // period
            f = folded.get(key)
            if f is None:
                folded[key] = [total, count, high, low]
            else:
                f[0] += total
                f[1] += count
                f[2] = max(f[2], high)
                f[3] = min(f[3], low)
        out = []
        for key, (total, count, high, low) in sorted(folded.items()):
            value = {"Sum": total, "Average": total / count, "Maximum": high, "Minimum": low}[statistic]
            out.append((float(key * period), value))
        return out

    def summary(self, function: str | None = None, provisioned_gb_seconds: float = 0.0) -> dict:
        now = self.lab.now
        cost = self.lab.cost
        if function is not None:
            groups = [self.functions[function]] if function in self.functions else []
            envs_avg = groups[0].environments.average(now) if groups else 0.0
            busy_avg = groups[0].busy.average(now) if groups else 0.0
            peak = groups[0].busy.peak if groups else 0
        else:
            groups = list(self.functions.values())
            envs_avg, busy_avg, peak = self.environments.average(now), self.busy.average(now), self.busy.peak
        requests = sum(g.requests for g in groups)
        cold = sum(g.cold_starts for g in groups)
        throttles = sum(g.throttles for g in groups)
        invocations = sum(g.invocations for g in groups)
        gb_s = sum(g.billed_gb_seconds for g in groups)
        arm = sum(g.arm_gb_seconds for g in groups)
        pc_used = sum(g.pc_gb_seconds for g in groups)
        durations = array("d")
        for g in groups:
            durations.extend(g.durations)
        p50, p99 = _percentiles(durations, (0.50, 0.99))
        compute = (gb_s - arm - pc_used) * cost.price_gb_s + arm * cost.price_gb_s_arm + \
            pc_used * cost.price_pc_used + provisioned_gb_seconds * cost.price_pc_allocated
        return {
            "requests": requests,
            "invocations": invocations,
            "cold_starts": cold,
            "warm_starts": sum(g.warm_starts for g in groups),
            "throttles": throttles,
            "errors": sum(g.errors for g in groups),
            "timeouts": sum(g.timeouts for g in groups),
            "p_cold": cold / requests if requests else 0.0,
            "p_throttle": throttles / requests if requests else 0.0,
            "avg_environments": envs_avg,
            "avg_busy_environments": busy_avg,
            "max_concurrency": peak,
            "duration_p50": p50,
            "duration_p99": p99,
            "billed_gb_seconds": gb_s,
            "cost_usd": invocations * cost.price_request + compute,
        }


def _bump(b: list, value) -> None:
    b[0] += value
    b[1] += 1
    if value > b[2]:
        b[2] = value
    if value < b[3]:
        b[3] = value


def _percentiles(values: array, qs) -> list[float]:
    if not values:
        return [0.0 for _ in qs]
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[min(n - 1, max(0, math.ceil(q * n) - 1))] for q in qs]
