"""Bulk runs take the one invocation path: every trace mode makes the same decisions, and the idle sweep is exact.

``lab.poisson`` traffic to a synthetic function outside trace="full" records counters only; these runs mix it
with everything that changes its course (cold starts, timeouts, throttles, a shutdown under a running invoke,
lifetimes, drains, a code update, a deleted function) and check that every trace mode gives the same numbers,
the same per-invocation records (request ids included) and the same clock.
"""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.lab import make_zip
from lambdalab.observability.stats import METRICS


def run(mode: str, reuse: str) -> tuple:
    lab = ll.Lab(seed=3, trace=mode, idle_timeout=30, reuse=reuse, environment_lifetime=400, worker_lease=2000)
    lam = lab.client("lambda")
    lab.create_function("f", None, timeout=2, duration=ll.Exponential(0.8), init_duration=ll.Exponential(0.25))
    lab.create_function("g", None, duration=ll.Fixed(1.0))
    lam.put_function_concurrency(FunctionName="g", ReservedConcurrentExecutions=1)
    lab.poisson("f", 2.0, count=1500)
    lab.poisson("g", 1.0, count=300)
    lab.advance(100.3)
    for env in list(lab.fleet.environments.values()):
        if env.state == "Invoking":
            env.shutdown("failure")                       # under a running bulk-lane invoke
    lab.advance(100)
    lam.update_function_code(FunctionName="f", ZipFile=make_zip({"lambda_function.py":
                                                                  "def handler(e, c):\n    return None\n"}))
    lab.advance(100)
    lab.fleet.idle_timeout = 10                           # shorter keep-alive mid-run
    lab.advance(100)
    lam.delete_function(FunctionName="g")
    lab.run()
    metrics = [lab.metrics(fn, name) for fn in ("f", "g") for name in METRICS]
    records = lab.invocations() if mode != "off" else None
    return lab.now, lab.stats(), metrics, records


@pytest.mark.parametrize("reuse", ["most_recent", "least_recent", "random"])
def test_every_trace_mode_gives_the_same_run(reuse):
    full = run("full", reuse)
    summary = run("summary", reuse)
    off = run("off", reuse)
    stats = full[1]
    assert stats["cold_starts"] and stats["timeouts"] and stats["throttles"] and stats["errors"] > stats["timeouts"]
    assert summary == full
    assert off[:3] == full[:3]


@pytest.mark.parametrize("reuse", ["most_recent", "least_recent", "random"])
def test_each_environment_is_reclaimed_one_keep_alive_after_it_last_went_idle(reuse):
    """The idle sweep keeps one timer per pool; whatever order the policy takes environments in, each one goes
    exactly ``idle_timeout`` after its last release, and the clock ends at the last of those times."""
    lab = ll.Lab(seed=5, trace="full", idle_timeout=20, reuse=reuse, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, duration=ll.Exponential(2.0))
    lab.poisson("f", 3.0, duration=300)
    lab.run()
    last_idle = {s.env_id: s.t for s in lab.trace.filter(component="worker_manager", action="release")}
    reclaimed = {s.env_id: s.t for s in lab.trace.filter(component="worker_manager", action="reclaim")}
    assert len(last_idle) > 10 and reclaimed.keys() == last_idle.keys()
    assert all(reclaimed[env] == pytest.approx(t + 20, abs=1e-9) for env, t in last_idle.items())
    assert lab.now >= max(reclaimed.values())


def test_a_reused_environment_shut_down_later_still_moves_the_clock_past_its_old_expiry():
    """An environment reused and then lost leaves behind the expiry of its earlier idle spell; one expiry event
    per release would have run it (doing nothing) and moved the clock there, and so does the sweep."""
    lab = ll.Lab(seed=1, trace="summary", idle_timeout=100, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=5, duration=ll.Fixed(1.0))
    lab.submit(FunctionName="f")
    lab.advance(10)                                   # idle after its first invoke: would expire 100 s later
    lab.submit(FunctionName="f")
    lab.advance(0.5)
    (env,) = lab.fleet.environments.values()
    env.shutdown("failure")                           # gone mid-invoke: it never goes idle again
    lab.run()
    first = lab.invocations()[0]
    assert lab.now == pytest.approx(first["t_end"] + 100, abs=1e-9)
