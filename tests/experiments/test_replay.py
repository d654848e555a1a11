"""lab.replay: a trace's functions and arrivals in a Lab, the figures policies are compared by, shards."""
from __future__ import annotations

import concurrent.futures as cf

import pytest

import lambdalab as ll
from lambdalab.replay import TIMEOUT
from lambdalab.shards import replay_sharded


@pytest.fixture(scope="module")
def quiet():
    """Six hours of the apps invoked at most 300 times that day (a few hundred apps, ~18k invocations)."""
    return ll.traces.azure2019(functions=lambda f: f.invocations <= 300, minutes=360)


def replayed(trace, policy=None, seed=0, mode="off"):
    lab = ll.Lab(seed=seed, trace=mode, worker_lease=None)
    replay = lab.replay(trace, keep_alive=policy)
    lab.run(until=replay.end)
    return lab, replay


def test_every_invocation_arrives_in_its_minute_on_its_function(quiet):
    lab, replay = replayed(quiet, mode="summary")
    assert replay.start % 60 == 0 and replay.end == replay.start + 360 * 60
    per_minute = {f.name: [0] * 360 for f in quiet.functions}
    for r in lab.invocations():
        per_minute[r["function"]][int((r["t_arrival"] - replay.start) // 60)] += 1
    finished = sum(map(sum, per_minute.values()))
    assert finished == replay.summary()["invocations"] and quiet.invocations - finished < 50   # (a few still run)
    assert all(per_minute[f.name][m] <= n for f in quiet.functions for m, n in enumerate(f.counts))
    assert replay.summary()["requests"] == quiet.invocations and replay.summary()["throttles"] == 0
    config = lab.client("lambda").get_function_configuration(FunctionName=quiet.functions[0].name)
    assert (config["MemorySize"], config["Timeout"]) == (quiet.functions[0].memory_mb, TIMEOUT)


def test_the_summary_is_per_function_cold_shares_and_idle_memory(quiet):
    lab, replay = replayed(quiet)
    result = replay.result()
    s = result.summary()
    assert s["functions"] == len(quiet) == len(result.rows)
    assert s["cold_starts"] == lab.stats()["cold_starts"] and s["invocations"] == lab.stats()["invocations"]
    assert s["wasted_memory_gb_seconds"] == pytest.approx(lab.stats()["wasted_memory_gb_seconds"])
    shares = sorted(result.cold_shares())
    assert s["app_cold_p50"] <= s["app_cold_p75"] <= s["app_cold_p90"] and s["app_cold_p75"] in shares
    assert sum(share <= s["app_cold_p75"] for share in shares) >= 0.75 * len(shares)


def test_a_replay_is_fixed_by_its_seed(quiet):
    first = replayed(quiet, seed=3)[1].summary()
    assert replayed(quiet, seed=3)[1].summary() == first
    assert replayed(quiet, seed=4)[1].summary() != first


def test_the_hybrid_policy_cuts_the_typical_apps_cold_starts(quiet):
    fixed = replayed(quiet, ll.keepalive.Fixed(600))[1].summary()
    hybrid = replayed(quiet, ll.keepalive.HybridHistogram())[1].summary()
    longer = replayed(quiet, ll.keepalive.Fixed(3600))[1].summary()
    assert hybrid["app_cold_p75"] < fixed["app_cold_p75"] and hybrid["cold_starts"] < fixed["cold_starts"]
    assert fixed["wasted_memory_gb_seconds"] < longer["wasted_memory_gb_seconds"]
    assert longer["app_cold_p75"] < fixed["app_cold_p75"]


def test_the_result_says_whether_the_account_limit_bound():
    busy = ll.traces.azure2019(functions=["fn-bcbea1f2"], minutes=2)     # ~10 s invocations, hundreds a second
    for limit, bound in ((100, True), (20_000, False)):
        lab = ll.Lab(seed=0, trace="off", account_concurrency=limit)
        replay = lab.replay(busy)
        lab.run(until=replay.end)
        (info,) = replay.result().labs
        assert info["limit_bound"] is bound and replay.summary()["limit_bound"] is bound
        assert info["account_concurrency"] == limit and (info["max_concurrency"] == limit) is bound


def test_a_trace_replays_into_a_lab_of_its_own():
    trace = ll.traces.azure2019(functions=3, minutes=2)
    lab = ll.Lab(seed=0)
    lab.replay(trace)
    with pytest.raises(ValueError, match="a Lab of its own"):
        lab.replay(trace)


def test_a_full_trace_replay_records_every_hop():
    trace = ll.traces.Trace([f for f in ll.traces.azure2019(minutes=30).functions if f.invocations <= 3],
                            range(30), "tiny")
    lab, replay = replayed(trace, mode="full")
    assert replay.summary()["requests"] == trace.invocations
    assert sum(1 for s in lab.trace if s.component == "client" and s.action == "invoke") == trace.invocations


class Inline(cf.Executor):
    def submit(self, fn, *args, **kwargs):
        future = cf.Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.mark.parametrize("policy", [ll.keepalive.Fixed, ll.keepalive.HybridHistogram])
def test_shards_by_app_give_the_same_rows_as_one_piece(quiet, policy):
    lab, replay = replayed(quiet, policy())
    whole = sorted(replay.result().rows, key=lambda r: r["function"])
    unused = policy()
    sharded = replay_sharded(quiet, keep_alive=unused, shards=3, executor=Inline(), worker_lease=None,
                             account_concurrency=3000)
    assert sorted(sharded.rows, key=lambda r: r["function"]) == whole
    assert sharded.summary() == pytest.approx(replay.summary())      # (sums in another order)
    assert getattr(unused, "histories", {}) == {}          # each shard learnt on its own copy


def test_shards_on_local_processes_and_dask_agree(quiet):
    import distributed   # (in the test extra: never skipped)
    local = replay_sharded(quiet, shards=2, worker_lease=None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        on_dask = replay_sharded(quiet, shards=2, executor=client, worker_lease=None)
    assert on_dask.rows == local.rows
