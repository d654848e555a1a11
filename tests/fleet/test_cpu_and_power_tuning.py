"""Memory and CPU: ll.CpuBound scales with memory / 1,769 MB (at most 6 vCPUs, at most `threads` used),
ll.power_tune finds the best size like aws-lambda-power-tuning, arm64 bills at the Arm price, and
lab.stats() reports cold_start_p50 / p99 (frontend accept to handler start, cold invocations only)."""
import pytest

import lambdalab as ll

IO_AND_CPU = "import lambdalab as ll\n\ndef handler(event, context):\n    ll.sleep(0.2)\n    return 'done'\n"


def duration_of(memory, work, lab=None):
    lab = lab or ll.Lab(seed=0)
    lab.create_function("f", None, memory=memory, timeout=900, duration=work)
    inv = lab.submit(FunctionName="f")
    lab.run()
    return inv.duration


@pytest.mark.parametrize("memory, threads, seconds", [
    (1769, 1, 2.0), (128, 1, 2.0 * 1769 / 128), (3538, 1, 2.0), (3538, 2, 1.0), (3538, 4, 1.0),
    (10240, 8, 2.0 / (10240 / 1769)),
])
def test_cpu_bound_work_scales_with_the_cpu_share(memory, threads, seconds):
    assert duration_of(memory, ll.CpuBound(2.0, threads=threads)) == pytest.approx(seconds, abs=1e-6)


def test_cpu_share_is_capped_at_six_vcpus():
    from lambdalab.engine.distributions import cpu_share
    assert cpu_share(1769) == 1.0 and cpu_share(20_000) == 6.0
    assert ll.CpuBound(6.0, threads=16).at(20_000).seconds == pytest.approx(1.0)


def test_a_memory_update_changes_the_duration_of_the_same_work():
    lab = ll.Lab(seed=0)
    lab.create_function("f", None, memory=1769, timeout=900, duration=ll.CpuBound(1.0))
    lam = lab.client("lambda")
    first = lab.submit(FunctionName="f")
    lab.run()
    lam.update_function_configuration(FunctionName="f", MemorySize=885)
    lam.get_waiter("function_updated_v2").wait(FunctionName="f")
    second = lab.submit(FunctionName="f")
    lab.run()
    assert first.duration == pytest.approx(1.0) and second.duration == pytest.approx(1769 / 885)


def test_cpu_bound_needs_a_function_and_valid_arguments():
    with pytest.raises(TypeError, match="depends on the function's memory"):
        ll.CpuBound(1.0)(None)
    with pytest.raises(ValueError):
        ll.CpuBound(-1.0)
    with pytest.raises(ValueError):
        ll.CpuBound(1.0, threads=0)


def test_the_bulk_lane_takes_the_same_cpu_bound_time():
    results = []
    for mode in ("full", "off"):
        lab = ll.Lab(seed=1, trace=mode)
        lab.create_function("f", None, memory=512, timeout=60, duration=ll.CpuBound(0.5))
        lab.poisson("f", 2.0, count=200)
        lab.run()
        results.append(lab.stats("f"))
    assert results[0] == results[1]
    assert results[0]["duration_p50"] == pytest.approx(0.5 * 1769 / 512)


def tuned_lab(architecture="x86_64"):
    lab = ll.Lab(seed=0, trace="summary")
    lab.create_function("job", IO_AND_CPU, memory=256, timeout=120, duration=ll.CpuBound(1.0),
                        Architectures=[architecture])
    return lab


def test_power_tune_rows_and_best_by_strategy():
    lab = tuned_lab()
    lam = lab.client("lambda")
    out = ll.power_tune(lab, "job", invocations=10)
    assert [r["memory"] for r in out["rows"]] == [128, 256, 512, 1024, 1769, 3008]
    for row in out["rows"]:
        expected = 0.2 + 1.0 / min(1.0, row["memory"] / 1769)      # I/O wait + CPU work at that share
        assert row["duration_p50"] == pytest.approx(expected, abs=1e-3)
        billed = max(1, -(-expected * 1000 // 1))                     # whole ms, rounded up
        assert row["cost_usd"] == pytest.approx(0.2e-6 + billed / 1000 * row["memory"] / 1024 * 0.0000166667,
                                                rel=1e-3)
    rows = {r["memory"]: r for r in out["rows"]}
    assert out["best"] == min(rows, key=lambda m: (rows[m]["cost_usd"], rows[m]["duration_avg"])) == 128
    assert ll.power_tune(lab, "job", invocations=5, strategy="speed")["best"] == 1769   # ties: the cheaper one
    balanced = ll.power_tune(lab, "job", invocations=5, strategy="balanced")
    top_cost = max(r["cost_usd"] for r in balanced["rows"])
    top_time = max(r["duration_avg"] for r in balanced["rows"])
    score = {r["memory"]: 0.5 * r["cost_usd"] / top_cost + 0.5 * r["duration_avg"] / top_time
             for r in balanced["rows"]}
    assert balanced["best"] == min(score, key=score.get)
    # the function is as it was: memory back, no tuning version or alias left
    assert lam.get_function_configuration(FunctionName="job")["MemorySize"] == 256
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="job")["Versions"]] == ["$LATEST"]
    assert lab.control_plane.functions["job"].aliases == {}


def test_power_tune_drops_the_cold_start_like_discard_top_bottom():
    lab = tuned_lab()
    out = ll.power_tune(lab, "job", memory_sizes=(1769,), invocations=10, discard_top_bottom=0.0)
    kept = ll.power_tune(lab, "job", memory_sizes=(1769,), invocations=10)
    assert out["rows"][0]["cost_usd"] > kept["rows"][0]["cost_usd"]    # the billed Init is averaged in


def test_arm64_bills_at_the_arm_price():
    x86 = ll.power_tune(tuned_lab("x86_64"), "job", memory_sizes=(1024,), invocations=5)["rows"][0]
    arm = ll.power_tune(tuned_lab("arm64"), "job", memory_sizes=(1024,), invocations=5)["rows"][0]
    request = 0.2e-6
    assert (arm["cost_usd"] - request) / (x86["cost_usd"] - request) == pytest.approx(0.0000133334 / 0.0000166667,
                                                                                      rel=1e-3)
    lab = ll.Lab(seed=0)
    lab.create_function("a", None, memory=1024, duration=1.0, Architectures=["arm64"])
    lab.client("lambda").invoke(FunctionName="a")
    s = lab.stats("a")
    assert s["cost_usd"] == pytest.approx(0.2e-6 + s["billed_gb_seconds"] * 0.0000133334)


@pytest.mark.parametrize("kw", [{"strategy": "cheapest"}, {"memory_sizes": (64,)}, {"invocations": 0},
                                {"discard_top_bottom": 0.5}])
def test_power_tune_refuses_bad_arguments(kw):
    with pytest.raises(ValueError):
        ll.power_tune(tuned_lab(), "job", **kw)


def test_cold_start_percentiles_count_cold_invocations_only():
    lab = ll.Lab(seed=0)
    lab.create_function("f", None, init_duration=ll.Fixed(0.5), duration=ll.Fixed(0.1))
    assert lab.stats("f")["cold_start_p50"] is None and lab.stats()["cold_start_p99"] is None
    lam = lab.client("lambda")
    for _ in range(5):
        lam.invoke(FunctionName="f")                                # 1 cold, 4 warm
    s = lab.stats("f")
    assert s["cold_starts"] == 1 and s["cold_start_p50"] == pytest.approx(0.5) == s["cold_start_p99"]
    lab.submit(FunctionName="f")
    lab.submit(FunctionName="f")                                     # one warm, one new environment
    lab.run()
    assert lab.stats("f")["cold_starts"] == 2 and lab.stats("f")["cold_start_p99"] == pytest.approx(0.5)


def test_cold_start_percentiles_are_the_same_on_the_bulk_lane():
    stats = []
    for mode in ("full", "off"):
        lab = ll.Lab(seed=3, trace=mode)
        lab.create_function("f", None, init_duration=ll.Exponential(0.3), duration=ll.Exponential(1.0),
                            timeout=60)
        lab.poisson("f", 3.0, count=500)
        lab.run()
        stats.append(lab.stats("f"))
    assert stats[0] == stats[1] and stats[0]["cold_starts"] > 1
    assert 0 < stats[0]["cold_start_p50"] <= stats[0]["cold_start_p99"]
