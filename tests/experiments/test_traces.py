"""ll.traces.azure2019: the packaged sample, subsets, the arrival and duration rules, other days' files."""
from __future__ import annotations

import csv
import gzip
import re

import pytest

import lambdalab as ll
from lambdalab.traces.azure2019 import PercentileDuration


@pytest.fixture(scope="module")
def day():
    return ll.traces.azure2019()


def test_the_packaged_sample_is_the_whole_day(day):
    assert len(day) == 1000 and day.invocations == 11_639_447 and day.dropped == 0
    assert day.minutes == range(1440) and day.duration == 86400
    assert sum(day.per_minute()) == day.invocations
    names = [f.name for f in day.functions]
    assert len(set(names)) == 1000 and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    assert all(128 <= f.memory_mb <= 10240 for f in day.functions)
    notice = (ll.traces.SAMPLE.parent / "README.md").read_text()
    assert "CC BY 4.0" in notice and "USENIX ATC 2020" in notice       # the licence's attribution, the paper


def test_minutes_and_functions_select_a_part(day):
    hour = ll.traces.azure2019(minutes=60)
    assert hour.minutes == range(60) and all(len(f.counts) == 60 and any(f.counts) for f in hour.functions)
    assert hour.invocations == sum(day.per_minute()[:60])
    noon = ll.traces.azure2019(minutes=slice(720, 780))
    assert noon.invocations == sum(day.per_minute()[720:780])
    ten = ll.traces.azure2019(functions=10)
    ranked = sorted(day.functions, key=lambda f: (-f.invocations, f.function_hash))
    assert len(ten) == 10 and {ranked[0].name, ranked[-1].name} <= {f.name for f in ten.functions}
    two = ll.traces.azure2019(functions=[ranked[0].name, ranked[1].function_hash])
    assert {f.name for f in two.functions} == {ranked[0].name, ranked[1].name}
    quiet = ll.traces.azure2019(functions=lambda f: f.invocations <= 2000)
    assert len(quiet) == sum(f.invocations <= 2000 for f in day.functions) and quiet.invocations < 200_000
    with pytest.raises(KeyError):
        ll.traces.azure2019(functions=["fn-nothere"])
    with pytest.raises(ValueError):
        ll.traces.azure2019(minutes=range(10, 2000))


def test_arrivals_spread_each_minute_count_in_its_minute(day):
    f = max(day.functions[:50], key=lambda g: g.invocations)
    times = list(f.arrivals(seed=4))
    assert len(times) == f.invocations and times == sorted(times)
    per_minute = [0] * 1440
    for t in times:
        per_minute[int(t // 60)] += 1
    assert per_minute == list(f.counts)
    assert times == list(f.arrivals(seed=4)) and times != list(f.arrivals(seed=5))
    assert list(f.arrivals(seed=4, start=100.0))[0] == times[0] + 100.0


def test_durations_follow_the_percentile_curve():
    d = PercentileDuration([(0.0, 100.0), (0.5, 200.0), (1.0, 1000.0)], "x")
    assert [d.quantile(u) for u in (0.0, 0.25, 0.5, 0.75, 1.0)] == pytest.approx([0.1, 0.15, 0.2, 0.6, 1.0])
    assert d.mean == pytest.approx(0.5 * 0.15 + 0.5 * 0.6)
    draws = [d() for _ in range(20000)]
    assert sum(draws) / len(draws) == pytest.approx(d.mean, rel=0.02)
    again = PercentileDuration([(0.0, 100.0), (0.5, 200.0), (1.0, 1000.0)], "x")
    assert [again(object()) for _ in range(5)] == draws[:5]     # its own stream: the rng passed in is not used


def test_shards_split_apps_and_add_up(day):
    shards = [day.shard(i, 3) for i in range(3)]
    assert sum(len(s) for s in shards) == 1000 and sum(s.invocations for s in shards) == day.invocations
    apps = [{f.app_hash for f in s.functions} for s in shards]
    assert not (apps[0] & apps[1] or apps[1] & apps[2] or apps[0] & apps[2])
    assert [f.name for f in day.shard(1, 3).functions] == [f.name for f in shards[1].functions]


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_a_day_of_the_full_dataset_reads_with_its_trigger_column(tmp_path):
    minutes = [str(i) for i in range(1, 1441)]
    _write(tmp_path / "invocations_per_function_md.anon.d03.csv", ["HashOwner", "HashApp", "HashFunction", "Trigger",
           *minutes], [["o1", "a1", "f1" * 8, "http", *(["2"] + ["0"] * 1439)],
                       ["o1", "a1", "f2" * 8, "timer", *(["0"] * 1439 + ["1"])],
                       ["o2", "a2", "f3" * 8, "queue", *(["1"] * 1440)]])
    pct = ["percentile_Average_0", "percentile_Average_1", "percentile_Average_25", "percentile_Average_50",
           "percentile_Average_75", "percentile_Average_99", "percentile_Average_100"]
    _write(tmp_path / "function_durations_percentiles.anon.d03.csv",
           ["HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum", *pct],
           [["o1", "a1", "f1" * 8, 50, 2, 10, 90, 10, 10, 20, 50, 80, 90, 90],
            ["o1", "a1", "f2" * 8, 50, 2, 10, 90, 10, 10, 20, 50, 80, 90, 90]])       # f3: no durations
    _write(tmp_path / "app_memory_percentiles.anon.d03.csv", ["HashOwner", "HashApp", "SampleCount",
           "AverageAllocatedMb"], [["o1", "a1", 10, 60.4], ["o2", "a2", 10, 300]])
    trace = ll.traces.azure2019(tmp_path)
    assert [(f.trigger, f.invocations, f.memory_mb) for f in trace.functions] == [("http", 2, 128), ("timer", 1, 128)]
    assert trace.dropped == 1 and trace.functions[0].allocated_mb == 60.4
    (tmp_path / "app_memory_percentiles.anon.d03.csv").unlink()
    with pytest.raises(FileNotFoundError, match="app_memory_percentiles.anon.d03.csv"):
        ll.traces.azure2019(tmp_path / "invocations_per_function_md.anon.d03.csv")
    (tmp_path / "invocations_per_function_md.anon.d04.csv").write_text("")
    with pytest.raises(ValueError, match="exactly one"):
        ll.traces.azure2019(tmp_path)


def test_the_sample_reads_from_its_own_files_too(tmp_path):
    for stem in ("inv", "run", "mem"):
        src = ll.traces.SAMPLE.with_name(f"1000_{stem}.csv.gz")
        (tmp_path / f"1000_{stem}.csv").write_bytes(gzip.decompress(src.read_bytes()))
    assert ll.traces.azure2019(tmp_path, minutes=5).invocations == ll.traces.azure2019(minutes=5).invocations


def test_a_timer_trace_fires_every_period_and_a_learning_policy_catches_it():
    timer = ll.traces.timer(every=15, memory_mb=256, duration_ms=500)
    (f,) = timer.functions
    assert timer.invocations == 96 and f.trigger == "timer" and f.memory_mb == 256
    assert [m for m, n in enumerate(f.counts) if n] == list(range(0, 1440, 15))
    assert f.durations(0)() == 0.5
    runs = {}
    for policy in (ll.keepalive.Fixed(600), ll.keepalive.HybridHistogram()):
        lab = ll.Lab(seed=0, trace="off", worker_lease=None)
        replay = lab.replay(timer, keep_alive=policy)
        lab.run(until=replay.end)
        runs[type(policy).__name__] = lab.stats("timer")
    fixed, hybrid = runs["Fixed"], runs["HybridHistogram"]
    # every 15-minute gap outlasts a 10-minute keep-alive: all cold, each run idle for the whole keep-alive
    assert fixed["cold_starts"] == 96 and fixed["wasted_memory_gb_seconds"] == pytest.approx(96 * 600 * 0.25)
    assert hybrid["cold_starts"] == 1 and hybrid["wasted_memory_gb_seconds"] < fixed["wasted_memory_gb_seconds"] / 2
    with pytest.raises(ValueError):
        ll.traces.timer(every=0)


def test_a_trace_curve_is_drawn_from_its_own_stream_wherever_it_is_drawn():
    from lambdalab.engine.distributions import draw_from
    import random
    points = ((0.0, 10.0), (0.5, 100.0), (1.0, 1000.0))
    a, b = PercentileDuration(points, "s"), PercentileDuration(points, "s")
    draw = draw_from(a, random.Random(1))
    assert [draw() for _ in range(5)] == [b(random.Random(2)) for _ in range(5)]


def test_a_trace_curve_pickles_and_copies_with_its_stream_where_it_was():
    import copy
    import pickle
    points = ((0.0, 10.0), (0.5, 100.0), (1.0, 1000.0))
    d, twin = PercentileDuration(points, "s"), PercentileDuration(points, "s")
    assert [d() for _ in range(3)] == [twin() for _ in range(3)]
    for other in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert other.mean == d.mean and other.quantile(0.75) == d.quantile(0.75)
        assert [other() for _ in range(5)] == [twin() for _ in range(5)]     # it goes on where d was
        twin = PercentileDuration(points, "s")
        for _ in range(3):
            twin()
    assert [d() for _ in range(5)] == [twin() for _ in range(5)]             # and d's own stream did not move
