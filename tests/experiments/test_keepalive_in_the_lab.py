"""Keep-alive policies in the Worker Manager: windows, pre-warms, what policies hear, wasted memory."""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.engine.vocabulary import ACTIONS


class Windows(ll.keepalive.KeepAlivePolicy):
    """Always the same (prewarm, keep_alive); remembers what on_invoke heard."""

    def __init__(self, prewarm, keep_alive):
        self.answer = (prewarm, keep_alive)
        self.heard = []

    def on_invoke(self, function, now, idle):
        self.heard.append((function, idle))

    def on_idle(self, function, now):
        return self.answer


def periodic(policy, mode="summary", period=1800.0, count=5, duration=2.0):
    """A function invoked every ``period`` seconds: 1 GB, 0.5 s Init."""
    lab = ll.Lab(seed=1, trace=mode)
    lab.fleet.keep_alive = policy
    lab.create_function("cron", None, memory=1024, duration=ll.Fixed(duration), init_duration=ll.Fixed(0.5))
    t0 = lab.now
    for i in range(count):
        lab.submit(at=t0 + i * period, FunctionName="cron")
    lab.run()
    return lab, t0


def test_the_default_policy_is_the_idle_timeout():
    lab = ll.Lab(idle_timeout=300)
    assert repr(lab.fleet.keep_alive) == "Fixed(300)"
    lab.fleet.keep_alive = ll.keepalive.Fixed(42)
    assert lab.fleet.idle_timeout == 42
    with pytest.raises(TypeError, match="keep-alive policy"):
        lab.fleet.keep_alive = 600


def test_fixed_is_exactly_the_idle_timeout():
    def day(policy):
        lab = ll.Lab(seed=2, trace="off", idle_timeout=120)
        if policy:
            lab.fleet.keep_alive = ll.keepalive.Fixed(120)
        lab.create_function("f", None, duration=ll.Exponential(1.5))
        lab.poisson("f", 0.3, count=3000)
        lab.run()
        return lab.stats(), lab.now
    assert day(True) == day(False)


def test_wasted_memory_is_each_idle_stretch_times_memory():
    lab, _ = periodic(ll.keepalive.Fixed(600))
    s = lab.stats("cron")
    assert s["cold_starts"] == 5                        # 30 minutes apart, 10-minute keep-alive
    assert s["wasted_memory_gb_seconds"] == pytest.approx(5 * 600 * 1.0)
    assert lab.stats()["wasted_memory_gb_seconds"] == s["wasted_memory_gb_seconds"]
    lab.create_function("other", None, memory=512, duration=ll.Fixed(1.0), init_duration=ll.Fixed(0.5))
    lab.client("lambda").invoke(FunctionName="other")
    lab.advance(100)                                     # still idle: counted up to now
    assert lab.stats("other")["wasted_memory_gb_seconds"] == pytest.approx(100 * 0.5)


def test_provisioned_environments_waiting_for_requests_hold_memory_too():
    lab = ll.Lab(seed=1, trace="off")
    lam = lab.client("lambda")
    lab.create_function("pc", None, memory=2048, duration=ll.Fixed(1.0))
    version = lam.publish_version(FunctionName="pc")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier=version, ProvisionedConcurrentExecutions=2)
    lab.advance(60)
    before = lab.stats("pc")["wasted_memory_gb_seconds"]
    lab.advance(1000)
    assert lab.stats("pc")["wasted_memory_gb_seconds"] - before == pytest.approx(2 * 2.0 * 1000)


def test_a_policy_sets_each_idle_environments_keep_alive():
    lab, t0 = periodic(Windows(0, 30), count=1)
    assert lab.now == pytest.approx(t0 + 0.5 + 2.0 + 30)   # Init, invoke, then 30 s idle and reclaimed
    assert lab.stats("cron")["wasted_memory_gb_seconds"] == pytest.approx(30.0)
    assert not lab.fleet.environments


def test_a_prewarm_turns_a_periodic_cold_start_warm():
    lab, t0 = periodic(Windows(25 * 60, 10 * 60), mode="full")
    records = lab.invocations("cron")
    assert [r["cold"] for r in records] == [True, False, False, False, False]
    assert [r["billed_ms"] for r in records] == [2500, 2000, 2000, 2000, 2000]   # a pre-warm's Init is nobody's
    reports = [line for line in lab.logs("cron") if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports] == [True, False, False, False, False]
    prewarms = [s for s in lab.trace if s.component == "worker_manager" and s.action == "prewarm"]
    assert len(prewarms) == 5 and "prewarm" in ACTIONS["worker_manager"]
    assert prewarms[0].t == pytest.approx(t0 + 2.5 + 25 * 60)
    # idle: from each pre-warm's Init end to the next request, then the last one's whole keep-alive
    assert lab.stats("cron")["wasted_memory_gb_seconds"] == pytest.approx(297.0 + 3 * 297.5 + 600.0)
    assert lab.now == pytest.approx(t0 + 4 * 1800 + 2.0 + 25 * 60 + 0.5 + 600)


def test_a_request_inside_the_prewarm_window_starts_cold_and_the_prewarm_is_dropped():
    lab, t0 = periodic(Windows(25 * 60, 600), period=600.0, count=3)
    assert [r["cold"] for r in lab.invocations("cron")] == [True, True, True]
    assert lab.fleet.statistics()["environments"] == 0
    assert lab.counters.function("cron").environments.peak == 1     # never a spare pre-warm beside a request


def test_on_invoke_hears_how_long_the_function_was_idle():
    policy = Windows(0, 600)
    lab = ll.Lab(seed=1, trace="off")
    lab.fleet.keep_alive = policy
    lab.create_function("f", None, timeout=60, duration=ll.Fixed(10.0), init_duration=ll.Fixed(0.0))
    t0 = lab.now
    for at in (0, 100, 105, 300):                        # the second and third overlap
        lab.submit(at=t0 + at, FunctionName="f")
    lab.run()
    assert policy.heard == [("f", None), ("f", pytest.approx(90.0)), ("f", 0.0), ("f", pytest.approx(185.0))]


@pytest.mark.parametrize("mode", ["full", "summary"])
def test_a_policy_gives_the_same_numbers_in_every_trace_mode(mode):
    def run(mode):
        lab = ll.Lab(seed=5, trace=mode)
        lab.fleet.keep_alive = ll.keepalive.HybridHistogram(range=1800, bin=30, min_idle_times=3)
        lab.create_function("f", None, duration=ll.Exponential(2.0))
        lab.poisson("f", 0.02, count=400)
        lab.run()
        return lab.stats(), lab.now
    off = run("off")
    assert run(mode) == off and off[0]["cold_starts"] > 0


def test_going_back_to_fixed_hands_idle_environments_to_the_sweep():
    lab = ll.Lab(seed=1, trace="off")
    lab.fleet.keep_alive = Windows(0, 10_000)
    lab.create_function("g", None, duration=ll.Fixed(1.0), init_duration=ll.Fixed(0.0))
    lab.client("lambda").invoke(FunctionName="g")
    idle_since = lab.now
    lab.advance(100)
    lab.fleet.keep_alive = ll.keepalive.Fixed(300)          # idle for 100 s already: 200 s to go
    lab.advance(150)
    assert len(lab.fleet.environments) == 1
    lab.run()
    assert not lab.fleet.environments and lab.now == pytest.approx(idle_since + 300)


@pytest.mark.parametrize("answer", ["ten minutes", -1])
def test_a_wrong_answer_from_a_policy_names_the_policy(answer):
    lab = ll.Lab(seed=1)
    lab.fleet.keep_alive = Windows(0, 0)
    lab.fleet.keep_alive.answer = answer
    lab.create_function("f", None)
    with pytest.raises((TypeError, ValueError), match="Windows.*on_idle"):
        lab.client("lambda").invoke(FunctionName="f")


def test_another_policy_keeps_the_expiry_idle_environments_were_given():
    lab = ll.Lab(seed=1, trace="off")
    lab.fleet.keep_alive = Windows(0, 1000)
    lab.create_function("g", None, duration=ll.Fixed(1.0), init_duration=ll.Fixed(0.0))
    lab.client("lambda").invoke(FunctionName="g")
    idle_since = lab.now
    lab.fleet.keep_alive = Windows(0, 10)
    lab.run()
    assert lab.now == pytest.approx(idle_since + 1000)
