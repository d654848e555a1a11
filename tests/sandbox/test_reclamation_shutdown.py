"""Idle reclamation, maximum lifetime and the Shutdown phase (SIGTERM grace, SHUTDOWN events, 2 s cap, SIGKILL)."""
from __future__ import annotations

import pytest

from lambdalab.sandbox.extensions import Extension

from .helpers import invoke, make_lab, reports

CODE = "def handler(e, c):\n    return 1\n"


def shutdown_steps(lab, env_id):
    return [s for s in lab.trace.filter(env_id=env_id)
            if (s.component, s.action) in {("environment", "shutdown"), ("runtime", "shutdown"),
                                           ("extension", "shutdown"), ("environment", "kill"),
                                           ("worker_manager", "reclaim")}]


def test_an_environment_idle_longer_than_idle_timeout_is_shut_down_and_the_next_invoke_is_cold():
    lab = make_lab(idle_timeout=300)
    lab.create_function("f", CODE)
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    frozen_at = lab.now
    lab.advance(299)
    assert env.state == "Idle"
    lab.advance(2)
    assert env.state == "Gone"
    names = [f"{s.component}.{s.action}" for s in shutdown_steps(lab, env.id)]
    assert names == ["worker_manager.reclaim", "environment.shutdown", "runtime.shutdown", "environment.kill"]
    assert shutdown_steps(lab, env.id)[0].t == pytest.approx(frozen_at + 300)
    assert lab.trace.filter(component="environment", action="shutdown")[0].detail["reason"] == "spindown"
    invoke(lab, "f")
    assert [r.get("Init Duration") is not None for r in reports(lab, "f")] == [True, True]
    assert lab.stats("f")["cold_starts"] == 2


def test_an_invoke_inside_the_keep_alive_restarts_the_idle_clock():
    lab = make_lab(idle_timeout=300)
    lab.create_function("f", CODE)
    for _ in range(4):
        invoke(lab, "f")
        lab.advance(200)
    assert lab.stats("f")["cold_starts"] == 1


def test_environments_are_recycled_after_their_maximum_lifetime_even_when_busy():
    lab = make_lab(idle_timeout=600, environment_lifetime=3600)
    lab.create_function("f", CODE)
    envs = []
    for _ in range(30):                                # one invoke every 5 minutes for 2.5 hours
        response, _ = invoke(lab, "f")
        envs.append(lab.trace.filter(request_id=response["ResponseMetadata"]["RequestId"],
                                     component="environment")[-1].env_id)
        lab.advance(300)
    assert len(set(envs)) == 3                         # a new environment every hour
    reasons = {s.detail["reason"] for s in lab.trace.filter(component="worker_manager", action="reclaim")}
    assert reasons == {"it reached its maximum lifetime"}


def test_without_extensions_the_environment_is_killed_at_once():
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", CODE)
    invoke(lab, "f")
    lab.advance(20)
    start = lab.trace.filter(component="environment", action="shutdown")[0]
    kill = lab.trace.filter(component="environment", action="kill")[0]
    assert kill.t == start.t
    assert lab.trace.filter(component="runtime", action="shutdown")[0].detail["duration"] == 0


@pytest.mark.parametrize("extensions, runtime_grace, total", [
    ([Extension("agent", internal=True)], 0.5, 0.5),
    ([Extension("shipper", shutdown=0.4)], 0.3, 0.7),
    ([Extension("agent", internal=True), Extension("shipper", shutdown=0.4)], 0.5, 0.9),
    ([Extension("slow", shutdown=5.0)], 0.3, 2.0),              # cut at the 2 s cap
])
def test_shutdown_phase_timing_follows_aws_grace_periods_and_the_2_s_cap(extensions, runtime_grace, total):
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", CODE, extensions=extensions)
    invoke(lab, "f")
    lab.advance(30)
    start = lab.trace.filter(component="environment", action="shutdown")[0]
    runtime = lab.trace.filter(component="runtime", action="shutdown")[0]
    kill = lab.trace.filter(component="environment", action="kill")[0]
    assert runtime.detail["duration"] == pytest.approx(runtime_grace)
    assert kill.t - start.t == pytest.approx(total)


def test_external_extensions_get_a_shutdown_event_with_reason_and_deadline_internal_ones_do_not():
    shipper = Extension("shipper", shutdown=0.1)
    agent = Extension("agent", internal=True)
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", CODE, extensions=[shipper, agent])
    invoke(lab, "f")
    lab.advance(30)
    start = lab.trace.filter(component="environment", action="shutdown")[0]
    events = [e for _, e in shipper.received if e["eventType"] == "SHUTDOWN"]
    assert events == [{"eventType": "SHUTDOWN", "shutdownReason": "spindown",
                       "deadlineMs": int((lab.epoch + start.t + 2.0) * 1000)}]
    assert all(e["eventType"] == "INVOKE" for _, e in agent.received)


def test_a_timeout_or_crash_resets_with_shutdown_reason_timeout_or_failure():
    shipper = Extension("shipper", init=0.05)
    lab = make_lab()
    lab.create_function("f", "import sys, time\ndef handler(e, c):\n    if e.get('exit'):\n        sys.exit(1)\n"
                             "    time.sleep(e.get('t', 0))\n", timeout=1, extensions=[shipper])
    invoke(lab, "f", {"t": 2})
    invoke(lab, "f", {"exit": True})
    reasons = [e["shutdownReason"] for _, e in shipper.received if e["eventType"] == "SHUTDOWN"]
    assert reasons == ["timeout", "failure"]
    # the extension starts again inside the next invoke (its 50 ms are in that Duration)
    response, _ = invoke(lab, "f")
    assert reports(lab, "f")[-1]["Duration"] == pytest.approx(50 + 150)
