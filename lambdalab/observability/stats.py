"""Counters, time averages, per-minute metrics and the bill.

Everything here is updated in O(1) per event, in every trace mode, so a million-invocation run pays a few
additions per request. Time averages (live and busy environments) integrate the count over virtual time.
Metrics are kept as one-minute buckets per function and metric name (CloudWatch's standard resolution), each
holding what its statistic needs: ``[sum]``, ``[sum, count]`` for an average, ``[max]``. The four metrics every
request moves (Invocations, Errors, Duration, ConcurrentExecutions) touch no bucket per request: their current
minute is kept on the function's counters and written into its buckets when the minute is over or read. ``lab.metrics(fn, name, period)`` folds the buckets
into coarser periods with CloudWatch's statistic for that metric. A metric's minutes are one typed array from its
first minute on (8 bytes a minute; NaN where the minute has no data point), not a dict of lists.

Memory stays flat however long a ``trace="off"`` run is. The percentiles (``duration_p50`` / ``p99``) are exact
while a function has had fewer than ``EXACT_DURATIONS`` invocations; past that its durations are folded, a minute
at a time, into a histogram whose buckets are 1/1024 of a power of two wide (the report is the bucket's middle:
within 0.05% of the exact order statistic). Per-invocation records (``summary`` and ``full``) are columns of
typed arrays, about 70 bytes an invocation, made into dicts when read.
"""
from __future__ import annotations

import math
from array import array

from .columns import Records, Series, fold, percentiles

__all__ = ["Stats", "METRICS", "EXACT_DURATIONS"]

EXACT_DURATIONS = 1 << 16       # invocations of a function whose percentiles are exact order statistics

# metric name -> statistic Lambda's console shows for it
METRICS = {
    "Invocations": "Sum", "Errors": "Sum", "Throttles": "Sum", "Duration": "Average",
    "ConcurrentExecutions": "Maximum", "ProvisionedConcurrencyUtilization": "Maximum", "IteratorAge": "Maximum",
    "AsyncEventsReceived": "Sum", "AsyncEventAge": "Average", "AsyncEventsDropped": "Sum",
    "DeadLetterErrors": "Sum", "DestinationDeliveryFailures": "Sum", "ProvisionedConcurrencyInvocations": "Sum",
    "ProvisionedConcurrencySpilloverInvocations": "Sum", "QueueDepth": "Maximum",
    "RecursiveInvocationsDropped": "Sum",
    # SNS's own (CloudWatch namespace AWS/SNS), kept under "sns:<topic>"
    "NumberOfMessagesPublished": "Sum", "NumberOfNotificationsDelivered": "Sum", "NumberOfNotificationsFailed": "Sum",
}


class _Integral:
    """Time integral of a step function (a count that goes up and down), kept as the signed sum of change times.

    The area under the count up to ``now`` is ``value * now - signed``, where ``signed`` adds ``delta * t`` at
    every change: each unit of the count contributes from the time it came to the time it went.
    """
    __slots__ = ("value", "signed", "peak")

    def __init__(self) -> None:
        self.value = 0
        self.signed = 0.0
        self.peak = 0

    def add(self, now: float, delta: int) -> None:
        self.signed += delta * now
        self.value += delta
        if self.value > self.peak:
            self.peak = self.value

    def area(self, now: float) -> float:
        return self.value * now - self.signed


class _FunctionStats:
    """One function's counters. The busy count (requests being served) is inline: it changes twice a request.
    ``requests`` is not counted: every request let in is throttled, done (cold or warm) or still busy.

    The four per-request metrics of the current minute are not kept per request: Invocations and Duration are
    read off the durations array (the minute's invocations are those from index ``minute_base`` on), Errors and
    ConcurrentExecutions are ``m_errors`` and ``m_cc``. They are written into their buckets when the minute
    changes or somebody reads them (``Stats._flush``).
    """
    __slots__ = ("cold_starts", "warm_starts", "throttles", "errors", "timeouts", "durations",
                 "cold_waits", "billed_gb_seconds", "arm_gb_seconds", "environments", "busy", "busy_signed", "busy_peak",
                 "pc_gb_seconds", "minute", "minute_end", "minute_base", "m_errors", "cc_minute", "cc_end",
                 "m_cc", "name", "reserved_busy", "folded")

    def __init__(self, name: str) -> None:
        self.name = name
        self.cold_starts = self.warm_starts = 0
        self.throttles = self.errors = self.timeouts = 0
        self.durations = array("d")      # since the last fold (all of them while fewer than EXACT_DURATIONS)
        self.folded = None               # the folded ones: (bucket keys, counts), sorted (see _Histogram)
        self.cold_waits = array("d")     # per cold invocation: seconds from the frontend's accept to the handler
        self.billed_gb_seconds = 0.0
        self.arm_gb_seconds = 0.0
        self.pc_gb_seconds = 0.0
        self.environments = _Integral()
        self.busy = self.busy_peak = 0   # requests in flight (the frontend's count for reserved concurrency)
        self.busy_signed = 0.0
        self.reserved_busy = 0           # ... of which the frontend let in against the function's reservation
        self.minute = -1         # the minute of invocations that ended from index minute_base (it ends at minute_end)
        self.minute_end = 0
        self.minute_base = 0
        self.m_errors = 0
        self.cc_minute = -1      # ... and the minute of m_cc, the highest busy count a request started at
        self.cc_end = 0
        self.m_cc = 0

    @property
    def invocations(self) -> int:
        return self.cold_starts + self.warm_starts

    @property
    def requests(self) -> int:
        """Requests the frontend let in to run (synchronous ones, and events as their poller runs them)."""
        return self.throttles + self.cold_starts + self.warm_starts + self.busy

    def fold(self) -> None:
        """Past EXACT_DURATIONS invocations, the durations so far go into the histogram (at a minute's close)."""
        self.folded = fold(self.durations, self.folded)
        del self.durations[:]
        self.minute_base = 0

    def busy_area(self, now: float) -> float:
        return self.busy * now - self.busy_signed


class _VersionStats:
    """One function version's view of the counters: its function's ``_FunctionStats`` and what its bill needs
    (a version's memory and architecture never change)."""
    __slots__ = ("fs", "snapshot", "gb", "arm")

    def __init__(self, fs: _FunctionStats, snapshot) -> None:
        self.fs = fs
        self.snapshot = snapshot
        self.gb = snapshot.memory / 1024.0       # GB
        self.arm = snapshot.config["Architectures"] == ["arm64"]


class Stats:
    def __init__(self, lab) -> None:
        self.lab = lab
        self._engine = lab.engine        # read ``now`` straight from the clock: these methods run per request
        self.functions: dict[str, _FunctionStats] = {}
        self._versions: dict[int, _VersionStats] = {}     # snapshot key -> its version's view (see version)
        self.environments = _Integral()
        self.busy = self.busy_peak = 0   # requests being served, all functions (their time integral is the sum
        #                                  of the functions' own)
        # ... of which the frontend let in against their function's reservation (the others count against the
        # account's unreserved pool: ``unreserved``)
        self.reserved_busy = 0
        self.series: dict[tuple[str, str], Series] = {}
        # per-invocation records, kept in "full" and "summary" modes ("off" keeps counters only)
        self.records: Records | None = None if lab.trace.mode == "off" else Records()

    def function(self, name: str) -> _FunctionStats:
        fs = self.functions.get(name)
        if fs is None:
            fs = self.functions[name] = _FunctionStats(name)
        return fs

    # --- updates (called by the components) -----------------------------------------------------------------
    def throttle(self, function: str) -> None:
        self.function(function).throttles += 1
        self.put(function, "Throttles", 1)

    @property
    def unreserved(self) -> int:
        """Requests in flight let in against the account's unreserved pool."""
        return self.busy - self.reserved_busy

    def busy_up(self, fs: _FunctionStats, unreserved: bool) -> None:
        """A request of ``fs``'s function is let in (the frontend's concurrency count), ``unreserved``: against
        the account's unreserved pool (the function reserves none), else against its reservation."""
        now = self._engine.now
        if not unreserved:
            fs.reserved_busy += 1
            self.reserved_busy += 1
        fs.busy_signed += now
        fs.busy = busy = fs.busy + 1
        if busy > fs.busy_peak:
            fs.busy_peak = busy
        self.busy = total = self.busy + 1
        if total > self.busy_peak:
            self.busy_peak = total
        if now >= fs.cc_end:
            self._close_cc(fs, int(now // 60))
        if busy > fs.m_cc:
            fs.m_cc = busy

    def busy_down(self, fs: _FunctionStats) -> None:
        """... and is over (it ran: ``invocation_done``; or it never got an environment). The busy count's time
        integral is kept here and in ``busy_up`` only, as a signed sum of change times (see ``_Integral``)."""
        fs.busy_signed -= self._engine.now
        if fs.reserved_busy and fs.busy == fs.reserved_busy:    # (an unreserved one, if any in flight, goes first)
            fs.reserved_busy -= 1
            self.reserved_busy -= 1
        fs.busy -= 1
        self.busy -= 1

    def environment_up(self, function: str) -> None:
        now = self.lab.now
        self.function(function).environments.add(now, 1)
        self.environments.add(now, 1)

    def environment_down(self, function: str) -> None:
        now = self.lab.now
        self.function(function).environments.add(now, -1)
        self.environments.add(now, -1)

    def version(self, snapshot) -> "_VersionStats":
        """What ``invocation_done`` needs of one function version, looked up once (an environment keeps it): one
        object per version, shared by its environments (read at the end of every invoke, it stays in cache)."""
        version = self._versions.get(snapshot.key)
        if version is None:
            version = self._versions[snapshot.key] = _VersionStats(self.function(snapshot.function.name), snapshot)
        return version

    def invocation_done(self, inv, version: "_VersionStats") -> None:
        """An invocation is over (its invoke phase ended): it is no longer busy; count it, its minute's metrics,
        its bill, its record."""
        fs = version.fs
        now = self._engine.now
        self.busy_down(fs)
        if inv.cold:
            fs.cold_starts += 1
            fs.cold_waits.append(inv.t_start - inv.t_arrival)
        else:
            fs.warm_starts += 1
        if now >= fs.minute_end:
            self._close(fs, int(now // 60))
        status = inv.status
        if status != "ok":
            fs.errors += 1
            fs.m_errors += 1
            if status == "timeout":
                fs.timeouts += 1
        fs.durations.append(inv.duration)
        gb_s = inv.billed_ms / 1000.0 * version.gb     # (the same float as "* memory / 1024": 1024 is a power of 2)
        if version.arm:
            fs.arm_gb_seconds += gb_s
        fs.billed_gb_seconds += gb_s
        init_type = inv.init_type
        if init_type is not None and init_type != "on-demand":
            fs.pc_gb_seconds += gb_s
        if self.records is not None:
            self.records.append(inv, version)
        if version.snapshot.provisioned is not None:
            self._provisioned(fs.name, version.snapshot, init_type)

    def _provisioned(self, name: str, snapshot, init_type) -> None:
        """With provisioned concurrency configured, each invoke ran on it or spilled over to on-demand."""
        self.put(name, "ProvisionedConcurrencyInvocations" if init_type == "provisioned-concurrency"
                 else "ProvisionedConcurrencySpilloverInvocations", 1)
        allocated = snapshot.provisioned["AllocatedProvisionedConcurrentExecutions"]
        if allocated:
            # the share of provisioned environments busy as this invoke ends (it still holds its own)
            idle = len(self.lab.fleet.provisioned_pools.get(snapshot.key, ()))
            self.put(name, "ProvisionedConcurrencyUtilization", (allocated - idle) / allocated)

    # --- per-minute metrics -------------------------------------------------------------------------------------
    def _close(self, fs: _FunctionStats, minute: int) -> None:
        """Write the minute's Invocations, Errors and Duration into their buckets and start ``minute``'s."""
        self._flush(fs)
        fs.minute = minute
        fs.minute_end = minute * 60 + 60
        if len(fs.durations) >= EXACT_DURATIONS:
            fs.fold()
        fs.minute_base = len(fs.durations)
        fs.m_errors = 0

    def _close_cc(self, fs: _FunctionStats, minute: int) -> None:
        self._flush_cc(fs)
        fs.cc_minute = minute
        fs.cc_end = minute * 60 + 60
        fs.m_cc = 0

    def _flush(self, fs: _FunctionStats) -> None:
        calls = len(fs.durations) - fs.minute_base
        if calls:                        # (the current minute's points are only ever set here, so this may repeat)
            self._series(fs.name, "Invocations").set(fs.minute, calls)
            self._series(fs.name, "Errors").set(fs.minute, fs.m_errors)
            total = math.fsum(fs.durations[fs.minute_base:]) * 1000
            self._series(fs.name, "Duration").set(fs.minute, total, calls)

    def _flush_cc(self, fs: _FunctionStats) -> None:
        if fs.m_cc:
            self._series(fs.name, "ConcurrentExecutions").set(fs.cc_minute, fs.m_cc)

    def _series(self, function: str, name: str) -> "Series":
        series = self.series.get((function, name))
        if series is None:
            series = self.series[(function, name)] = Series(METRICS[name])
        return series

    def put(self, function: str, name: str, value: float, t: float | None = None) -> None:
        self._series(function, name).add(int((self._engine.now if t is None else t) // 60), value)

    def invocation_records(self, function: str | None = None) -> list[dict]:
        if self.records is None:
            raise ValueError('per-invocation records are not kept with trace="off"; use trace="summary"')
        return self.records.read(function)

    # --- reading --------------------------------------------------------------------------------------------
    def metrics(self, function: str, name: str, period: int = 60) -> list[tuple[float, float]]:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; Lambda's metrics are: {', '.join(METRICS)}")
        if period < 60 or period % 60:
            raise ValueError("period must be a multiple of 60 seconds")
        fs = self.functions.get(function)
        if fs is not None:
            self._flush(fs)
            self._flush_cc(fs)
        statistic = METRICS[name]
        folded: dict[int, list] = {}
        series = self.series.get((function, name))
        for minute, b in (series.points() if series is not None else ()):
            key = minute * 60 // period
            f = folded.get(key)
            if f is None:
                folded[key] = b
            elif statistic == "Maximum":
                f[0] = max(f[0], b[0])
            else:
                f[0] += b[0]
                if statistic == "Average":
                    f[1] += b[1]
        return [(float(key * period), b[0] / b[1] if statistic == "Average" else b[0])
                for key, b in sorted(folded.items())]

    def summary(self, function: str | None = None, provisioned_gb_seconds: float = 0.0) -> dict:
        now = self.lab.now
        cost = self.lab.cost
        if function is not None:
            groups = [self.functions[function]] if function in self.functions else []
            envs_area = groups[0].environments.area(now) if groups else 0.0
            peak = groups[0].busy_peak if groups else 0
        else:
            groups = list(self.functions.values())
            envs_area, peak = self.environments.area(now), self.busy_peak
        busy_area = sum(g.busy_area(now) for g in groups)
        requests = sum(g.requests for g in groups)
        cold = sum(g.cold_starts for g in groups)
        throttles = sum(g.throttles for g in groups)
        invocations = sum(g.invocations for g in groups)
        gb_s = sum(g.billed_gb_seconds for g in groups)
        arm = sum(g.arm_gb_seconds for g in groups)
        pc_used = sum(g.pc_gb_seconds for g in groups)
        p50, p99 = percentiles([(g.durations, g.folded) for g in groups], (0.50, 0.99))
        waits = [(g.cold_waits, None) for g in groups if g.cold_waits]
        cold50, cold99 = percentiles(waits, (0.50, 0.99)) if waits else (None, None)
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
            "avg_environments": envs_area / now if now > 0 else 0.0,
            "avg_busy_environments": busy_area / now if now > 0 else 0.0,
            "max_concurrency": peak,
            "duration_p50": p50,
            "duration_p99": p99,
            "cold_start_p50": cold50,
            "cold_start_p99": cold99,
            "billed_gb_seconds": gb_s,
            "cost_usd": invocations * cost.price_request + compute,
        }
