"""Concurrency as Lambda enforces it: the scaling rate, reserved and account limits, and the reuse policies."""
from __future__ import annotations

import lambdalab as ll


def closed_loop_clients(lab: ll.Lab, function: str, clients: int, retry_after: float = 1.0) -> dict:
    """``clients`` callers that each invoke once at t≈0 and retry ``retry_after`` s after every 429."""
    seen = {"429": 0, "first_429_reasons": set()}

    def call(at: float) -> None:
        lab.submit(at=at, FunctionName=function).callbacks.append(done)

    def done(inv) -> None:
        if inv.error is not None:
            seen["429"] += 1
            seen["first_429_reasons"].add(inv.error.response["Error"]["Code"])
            call(lab.now + retry_after)

    for _ in range(clients):
        call(lab.now + 0.001)
    return seen


def test_step_to_5000_concurrent_reaches_5000_environments_after_about_40_s():
    """1,000 environments at once, then 100 per second: 5,000 after ~40 s, with 429s until then."""
    lab = ll.Lab(seed=1, trace="off", account_concurrency=10_000)
    lab.create_function("burst", None, timeout=900, duration=ll.Fixed(600.0), init_duration=ll.Fixed(0.2))
    t0 = lab.now                                     # creating the function took a moment of virtual time
    seen = closed_loop_clients(lab, "burst", 5000)
    envs = {}
    for t in (1, 10, 20, 30, 38, 42, 50):
        lab.run(until=t0 + t)
        envs[t] = len(lab.fleet.environments)
    assert envs[1] <= 1000 + 100 * 1 + 1
    assert envs[1] >= 1000
    # the refill is continuous: about 100 more environments each second
    for t in (10, 20, 30):
        assert abs(envs[t] - (1000 + 100 * t)) <= 110, envs
    assert envs[38] < 5000
    assert envs[42] == 5000 and envs[50] == 5000
    assert seen["429"] > 50_000                      # thousands of callers were throttled for ~40 s
    assert seen["first_429_reasons"] == {"TooManyRequestsException"}
    stats = lab.stats("burst")
    assert stats["throttles"] == seen["429"]
    assert stats["max_concurrency"] == 5000
    assert sum(v for _, v in lab.metrics("burst", "Throttles")) == seen["429"]


def test_scaling_rate_does_not_accumulate():
    """An idle minute does not bank extra capacity: the next burst still gets at most 1,000 at once."""
    lab = ll.Lab(seed=2, trace="off", account_concurrency=5_000)
    lab.create_function("f", None, timeout=900, duration=ll.Fixed(300.0), init_duration=ll.Fixed(0.1))
    lab.advance(120)
    invs = [lab.submit(FunctionName="f") for _ in range(1500)]
    throttled = [i for i in invs if i.error is not None]
    assert len(throttled) == 500
    assert {i.error.response["Error"]["Code"] for i in throttled} == {"TooManyRequestsException"}
    assert {i.error.response["ResponseMetadata"]["HTTPStatusCode"] for i in throttled} == {429}


def test_reserved_and_account_limits_throttle_with_their_reasons():
    lab = ll.Lab(seed=3, trace="off", account_concurrency=300)
    lab.create_function("capped", None, timeout=900, duration=ll.Fixed(60.0))
    lab.create_function("shared", None, timeout=900, duration=ll.Fixed(60.0))
    lab.client("lambda").put_function_concurrency(FunctionName="capped", ReservedConcurrentExecutions=100)
    capped = [lab.submit(FunctionName="capped") for _ in range(120)]
    shared = [lab.submit(FunctionName="shared") for _ in range(250)]
    reasons = lambda invs: [i.error.response["Reason"] for i in invs if i.error is not None]   # noqa: E731
    # 100 reserved for "capped"; the other 200 of the account's 300 are the unreserved pool
    assert reasons(capped) == ["ReservedFunctionConcurrentInvocationLimitExceeded"] * 20
    assert reasons(shared) == ["ConcurrentInvocationLimitExceeded"] * 50
    assert lab.stats("capped")["max_concurrency"] == 100
    assert lab.stats("shared")["max_concurrency"] == 200


def reuse_run(policy: str) -> dict:
    """λ = 0.9 for ~30,000 arrivals; cold starts counted after the first half (the initial ramp excluded)."""
    lab = ll.Lab(seed=4, trace="off", reuse=policy, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(1.991), init_duration=ll.Exponential(0.253))
    horizon = 30_000 / 0.9
    lab.poisson("f", 0.9, duration=horizon)
    lab.run(until=lab.now + horizon / 2)
    ramp = lab.stats("f")["cold_starts"]
    lab.run(until=lab.now + horizon / 2)
    stats = lab.stats("f")
    stats["late_cold_starts"] = stats["cold_starts"] - ramp
    return stats


def test_least_recent_reuse_keeps_more_environments_and_starts_cold_less():
    most, least, rand = reuse_run("most_recent"), reuse_run("least_recent"), reuse_run("random")
    # most-recent-first lets the spare environments idle out and pays for it with cold starts later;
    # least-recent-first keeps touching every environment, so none expires
    assert least["avg_environments"] > most["avg_environments"] + 1
    assert most["late_cold_starts"] >= 5
    assert least["late_cold_starts"] * 5 <= most["late_cold_starts"]
    assert most["avg_environments"] < rand["avg_environments"]
    # the work done is the same whichever environment does it
    for stats in (most, least, rand):
        assert abs(stats["avg_busy_environments"] - 1.792) < 0.1
