"""Fidelity: long bulk runs against the closed forms of REFERENCE.md §10.

Each test runs 200,000+ seeded Poisson arrivals with ``trace="off"`` and compares a statistic a learner reads
from ``lab.stats()`` / ``lab.metrics()`` with queueing theory. The tolerances are the issue's; the arrival
counts are chosen so that each tolerance is at least ~3 standard errors of the estimate (checked on several
seeds, not tuned to one), so a failure means the model drifted, not bad luck.

Service times: the handler's modelled ``duration`` (Exp, mean 1.991 s) with ``init_duration=Fixed(0)`` where
the closed form assumes a cold start costs no extra time, and ``timeout=900`` so no request is cut short.
"""
from __future__ import annotations

import math

import pytest

import lambdalab as ll

LAMBDA = 0.9
MEAN_S = 1.991
RHO = LAMBDA * MEAN_S           # offered load, 1.792


def erlang_b(c: int, rho: float) -> float:
    """Blocking probability of c servers and no queue: (rho^c/c!) / sum_{k<=c} rho^k/k!."""
    terms = [rho ** k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def bulk_lab(seed: int, **options) -> ll.Lab:
    return ll.Lab(seed=seed, trace="off", environment_lifetime=None, worker_lease=None, **options)


def run_poisson(lab: ll.Lab, target: str, rate: float, arrivals: int) -> None:
    """``arrivals`` expected arrivals over a fixed horizon; stats are read at the horizon (no idle tail)."""
    horizon = arrivals / rate
    lab.poisson(target, rate, duration=horizon)
    lab.run(until=lab.now + horizon)


def test_reference_values_match_the_closed_forms():
    # the numbers REFERENCE.md quotes are what these formulas give (so the tests below test the model)
    assert erlang_b(1, 0.01 * MEAN_S) == pytest.approx(0.019527, rel=1e-3)
    assert erlang_b(2, RHO) == pytest.approx(0.3651, rel=1e-3)
    assert erlang_b(5, RHO) == pytest.approx(0.0259, rel=2e-3)
    assert erlang_b(4, RHO) == pytest.approx(0.074, rel=5e-3)
    assert RHO == pytest.approx(1.792, rel=1e-3)


def test_concurrency_limit_one_throttles_rho_over_one_plus_rho():
    """Reserved concurrency 1, λ = 0.01, keep-alive 600 s: P(429) = ρ/(1+ρ), P(cold | ran) = e^(−λT)."""
    rate, keep_alive = 0.01, 600.0
    lab = bulk_lab(11, idle_timeout=keep_alive)
    lab.create_function("one", None, timeout=900, duration=ll.Exponential(MEAN_S), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
    run_poisson(lab, "one", rate, 400_000)
    stats = lab.stats("one")
    assert stats["requests"] > 390_000
    rho = rate * MEAN_S
    assert stats["p_throttle"] == pytest.approx(rho / (1 + rho), rel=0.03)
    assert stats["throttles"] == lab.stats()["throttles"]
    # a request that ran started cold exactly when the one environment had been idle for more than T
    share_cold = stats["cold_starts"] / stats["invocations"]
    assert share_cold == pytest.approx(math.exp(-rate * keep_alive), rel=0.10)   # ~1,000 events: ±3% s.e.


def test_erlang_b_two_environments():
    """Reserved concurrency 2 at λ = 0.9, E[S] = 1.991: the share of 429s is Erlang-B(2, ρ) = 0.3651."""
    lab = bulk_lab(12)
    lab.create_function("two", None, timeout=900, duration=ll.Exponential(MEAN_S), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="two", ReservedConcurrentExecutions=2)
    run_poisson(lab, "two", LAMBDA, 200_000)
    stats = lab.stats("two")
    assert stats["p_throttle"] == pytest.approx(erlang_b(2, RHO), rel=0.02)
    assert stats["max_concurrency"] == 2
    # every 429 is also in the per-minute Throttles metric
    assert sum(v for _, v in lab.metrics("two", "Throttles")) == stats["throttles"]


def test_mean_busy_environments_is_littles_law():
    """Unlimited concurrency: busy environments ~ Poisson(ρ), mean λE[S] = 1.792 (Little's law)."""
    lab = bulk_lab(13)
    lab.create_function("busy", None, timeout=900, duration=ll.Exponential(MEAN_S), init_duration=ll.Fixed(0.0))
    run_poisson(lab, "busy", LAMBDA, 200_000)
    stats = lab.stats("busy")
    assert stats["throttles"] == 0
    assert stats["avg_busy_environments"] == pytest.approx(RHO, rel=0.02)
    # idle environments kept warm on top of the busy ones (SimFaaS reports 7.70 live instances in all)
    assert stats["avg_environments"] == pytest.approx(7.70, rel=0.02)


def test_provisioned_concurrency_spill_over_is_erlang_b():
    """4 provisioned environments used first: the share that spills to on-demand is Erlang-B(4, ρ) = 0.074."""
    lab = bulk_lab(14)
    lab.create_function("pc", None, timeout=900, duration=ll.Exponential(MEAN_S), init_duration=ll.Fixed(0.0))
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="pc")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier=version, ProvisionedConcurrentExecutions=4)
    lab.advance(60)
    assert lam.get_provisioned_concurrency_config(FunctionName="pc", Qualifier=version)["Status"] == "READY"
    run_poisson(lab, f"pc:{version}", LAMBDA, 200_000)
    on_pc = sum(v for _, v in lab.metrics("pc", "ProvisionedConcurrencyInvocations"))
    spilled = sum(v for _, v in lab.metrics("pc", "ProvisionedConcurrencySpilloverInvocations"))
    stats = lab.stats("pc")
    assert on_pc + spilled == stats["invocations"] > 190_000
    assert spilled / stats["invocations"] == pytest.approx(erlang_b(4, RHO), rel=0.10)
    # only spilled requests can start cold; provisioned environments never do
    assert stats["cold_starts"] <= spilled


def test_same_seed_same_stats_in_every_trace_mode():
    """Bulk modes take shortcuts, never different decisions: the numbers match trace="full" exactly."""
    def stats(mode):
        lab = ll.Lab(seed=5, trace=mode)
        lab.create_function("f", None, timeout=3, duration=ll.Exponential(MEAN_S), init_duration=ll.Exponential(0.25))
        lab.create_function("g", None, duration=ll.Fixed(0.2))
        lab.client("lambda").put_function_concurrency(FunctionName="g", ReservedConcurrentExecutions=1)
        lab.poisson("f", LAMBDA, count=2_000)
        lab.poisson("g", 5.0, count=1_000)
        lab.run()
        return lab.stats(), lab.metrics("f", "Duration"), lab.metrics("g", "Throttles")

    full = stats("full")
    assert full[0]["timeouts"] > 0 and full[0]["throttles"] > 0 and full[0]["cold_starts"] > 0
    assert stats("off") == full
    assert stats("summary") == full
