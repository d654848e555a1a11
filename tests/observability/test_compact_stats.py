"""A long trace="off" run keeps no per-request state: percentiles come from a histogram past EXACT_DURATIONS,
metrics from one typed array per metric, summary records from typed columns; what a user reads stays the same."""
import math

import pytest

import lambdalab as ll
from lambdalab.observability.stats import EXACT_DURATIONS


def run(mode, count, seed=3):
    lab = ll.Lab(seed=seed, trace=mode, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(2.0), init_duration=ll.Exponential(0.25))
    lab.poisson("f", 2.0, count=count)
    lab.run()
    return lab


def nearest_rank(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def test_percentiles_are_exact_below_the_limit_and_within_a_twentieth_of_a_percent_past_it():
    lab = run("summary", EXACT_DURATIONS + 20_000)
    durations = [r["duration"] for r in lab.invocations("f")]
    stats = lab.stats("f")
    fs = lab.counters.functions["f"]
    assert fs.folded is not None and len(fs.durations) < EXACT_DURATIONS      # most of them were folded
    for q, key in ((0.5, "duration_p50"), (0.99, "duration_p99")):
        assert stats[key] == pytest.approx(nearest_rank(durations, q), rel=5e-4)
    small = run("summary", 2_000)
    exact = [r["duration"] for r in small.invocations("f")]
    assert small.stats("f")["duration_p99"] == nearest_rank(exact, 0.99)      # exact: the same float


def test_every_trace_mode_reads_the_same_stats_and_metrics_past_the_fold():
    off, summary = run("off", EXACT_DURATIONS + 5_000), run("summary", EXACT_DURATIONS + 5_000)
    assert off.stats() == summary.stats()
    for name in ("Invocations", "Duration", "ConcurrentExecutions", "Errors"):
        assert off.metrics("f", name, 300) == summary.metrics("f", name, 300)
    invocations = off.metrics("f", "Invocations")
    assert sum(v for _, v in invocations) == off.stats("f")["invocations"]
    assert all(type(v) is int for _, v in invocations)                        # counts read back as counts


def test_records_read_back_as_they_were():
    lab = ll.Lab(seed=2, trace="summary")
    lab.create_function("f", None, duration=ll.Exponential(0.1))
    lab.create_function("g", None, duration=5.0, timeout=1)
    first = lab.submit(FunctionName="f")
    lab.poisson("f", 20.0, count=50)
    lab.poisson("g", 1.0, count=3)
    lab.run()
    records = lab.invocations()
    assert len(records) == 54 and len(lab.invocations("g")) == 3
    mine, = [r for r in records if r["request_id"] == first.request_id]
    assert mine["cold"] is True and mine["status"] == "ok" and mine["duration"] == first.duration
    assert {r["status"] for r in lab.invocations("g")} == {"timeout"}
    assert all(r["env_id"].startswith("e-") and r["t_end"] >= r["t_start"] >= r["t_arrival"] for r in records)
    assert set(records[0]) == {"request_id", "function", "version", "t_arrival", "t_start", "t_end", "cold",
                               "status", "duration", "billed_ms", "env_id"}
