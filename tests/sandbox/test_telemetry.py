"""The Telemetry API: subscription validation, AWS record shapes, batching by maxItems / timeoutMs, freeze."""
from __future__ import annotations

import json

import pytest

from lambdalab.sandbox.extensions import Extension
from lambdalab.sandbox.telemetry import Subscription, TelemetryAPI, TelemetryValidationError

from .helpers import invoke, make_lab

CODE = "print('cold import')\ndef handler(e, c):\n    print('hello from the handler')\n    return 1\n"


def lab_with(batches_or_callable, types=("platform", "function"), **buffering):
    sub = Subscription(types=types, buffering=buffering or {"timeoutMs": 25}, destination=batches_or_callable)
    lab = make_lab(idle_timeout=60)
    lab.create_function("f", CODE, extensions=[Extension("shipper", telemetry=sub)])
    return lab


def events(batches):
    return [e for batch in batches for e in batch]


@pytest.mark.parametrize("buffering", [
    {"maxItems": 999}, {"maxItems": 10_001}, {"maxBytes": 262_143}, {"maxBytes": 1_048_577},
    {"timeoutMs": 24}, {"timeoutMs": 30_001}, {"timeoutMs": 2.5}, {"maxItems": True}, {"flushEvery": 5},
])
def test_buffering_outside_aws_limits_is_refused(buffering):
    with pytest.raises(TelemetryValidationError):
        Subscription(buffering=buffering, destination=[])


@pytest.mark.parametrize("buffering", [
    {"maxItems": 1_000, "maxBytes": 262_144, "timeoutMs": 25}, {"maxItems": 10_000, "maxBytes": 1_048_576,
                                                                "timeoutMs": 30_000}])
def test_buffering_at_the_limits_is_accepted(buffering):
    assert Subscription(buffering=buffering, destination=[]).buffering == buffering


def test_defaults_types_and_schema_version_are_checked():
    assert Subscription(destination=[]).buffering == {"maxItems": 10_000, "maxBytes": 262_144, "timeoutMs": 1_000}
    for bad in ({"types": ["logs"]}, {"types": []}, {"schemaVersion": "2021-01-01"}):
        body = {"schemaVersion": "2022-12-13", "types": ["platform"], "destination": [], **bad}
        status, payload = TelemetryAPI(lambda: 0.0, str, lambda *a: None, lambda h: None).subscribe("x", body)
        assert status == 400 and json.loads(payload)["errorType"] == "ValidationError"


def test_an_http_destination_body_is_accepted_for_a_transport_to_deliver():
    sent = []
    body = {"schemaVersion": "2022-12-13", "types": ["platform"],
            "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080"}}
    sub = Subscription.from_body(body, sender=sent.append)
    sub.deliver([{"type": "platform.start"}])
    assert sent == [[{"type": "platform.start"}]]


def test_a_cold_and_a_warm_invoke_produce_aws_shaped_platform_and_function_events():
    batches = []
    lab = lab_with(batches)
    r1, _ = invoke(lab, "f")
    lab.advance(5)
    invoke(lab, "f")
    lab.advance(120)                                   # idle expiry: Shutdown flushes what is left
    got = events(batches)
    types = [e["type"] for e in got]
    assert types[:2] == ["platform.initStart", "platform.telemetrySubscription"]
    for name in ("platform.initRuntimeDone", "platform.initReport", "platform.start", "platform.runtimeDone",
                 "platform.report", "function"):
        assert name in types
    assert types.count("platform.report") == 2
    assert all(set(e) == {"time", "type", "record"} and e["time"].endswith("Z") for e in got)
    by = {}
    for e in got:
        by.setdefault(e["type"], []).append(e["record"])
    assert by["platform.initStart"][0]["initializationType"] == "on-demand"
    assert by["platform.initStart"][0]["phase"] == "init"
    assert by["platform.initReport"][0]["metrics"]["durationMs"] == pytest.approx(150)
    assert by["platform.start"][0] == {"requestId": r1["ResponseMetadata"]["RequestId"], "version": "$LATEST"}
    first_report = by["platform.report"][0]
    assert first_report["status"] == "success"
    assert set(first_report["metrics"]) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
                                            "initDurationMs"}
    assert "initDurationMs" not in by["platform.report"][1]["metrics"]
    assert by["platform.runtimeDone"][0]["status"] == "success"
    assert by["function"] == ["cold import", "hello from the handler", "hello from the handler"]


def test_function_type_only_gets_function_lines():
    batches = []
    lab = lab_with(batches, types=("function",))
    invoke(lab, "f")
    lab.advance(120)
    assert {e["type"] for e in events(batches)} == {"function"}


def test_a_batch_goes_out_when_it_holds_max_items():
    batches = []
    sub = Subscription(types=["function"], buffering={"maxItems": 1_000, "timeoutMs": 30_000}, destination=batches)
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    for i in range(1500):\n        print(i)\n",
                        extensions=[Extension("shipper", telemetry=sub)])
    invoke(lab, "f")
    assert [len(b) for b in batches] == [1_000]
    steps = [s for s in lab.trace.filter(component="extension", action="telemetry") if s.detail.get("reason")]
    assert steps[0].detail["reason"] == "maxItems" and steps[0].detail["events"] == 1_000


def test_a_batch_that_falls_due_while_frozen_is_delivered_at_the_next_thaw():
    batches = []
    lab = lab_with(batches, timeoutMs=100)
    r1, _ = invoke(lab, "f")
    delivered_reports = lambda: [e for e in events(batches) if e["type"] == "platform.report"]  # noqa: E731
    lab.advance(10)                                    # frozen: the timeout passed but nothing could run
    assert delivered_reports() == []
    invoke(lab, "f")                                   # the thaw delivers the first invoke's report
    assert [e["record"]["requestId"] for e in delivered_reports()] == [r1["ResponseMetadata"]["RequestId"]]


def test_a_callable_destination_receives_each_batch():
    sizes = []
    lab = lab_with(lambda batch: sizes.append(len(batch)))
    invoke(lab, "f")
    lab.advance(120)
    assert sizes and all(size > 0 for size in sizes)


def test_failed_invokes_report_their_status():
    batches = []
    sub = Subscription(types=["platform"], buffering={"timeoutMs": 25}, destination=batches)
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", "import time\ndef handler(e, c):\n    if e.get('boom'):\n        raise ValueError('x')\n"
                             "    time.sleep(5)\n", timeout=1, extensions=[Extension("shipper", telemetry=sub)])
    invoke(lab, "f", {"boom": True})
    invoke(lab, "f")
    lab.advance(60)
    done = [e["record"] for e in events(batches) if e["type"] == "platform.runtimeDone"]
    assert [(d["status"], d.get("errorType")) for d in done] == [("error", "ValueError"),
                                                                  ("timeout", "Sandbox.Timedout")]


def test_a_batch_goes_out_when_it_reaches_max_bytes():
    batches = []
    sub = Subscription(types=["function"], buffering={"maxBytes": 262_144, "timeoutMs": 30_000},
                       destination=batches)
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    for i in range(300):\n        print('x' * 1000)\n",
                        extensions=[Extension("shipper", telemetry=sub)])
    invoke(lab, "f")
    assert len(batches) == 1
    size = sum(len(json.dumps(e)) for e in batches[0])
    assert 262_144 <= size < 262_144 + 1_100
    reasons = [s.detail.get("reason") for s in lab.trace.filter(component="extension", action="telemetry")]
    assert "maxBytes" in reasons


def test_no_extension_means_no_telemetry_or_extensions_api():
    lab = make_lab()
    lab.create_function("f", CODE)
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    assert env.telemetry is None and env.extensions_api is None
    assert not lab.trace.filter(component="extension", action="register")


def test_a_suppressed_init_reports_its_init_events_with_phase_invoke():
    batches = []
    sub = Subscription(types=["platform"], buffering={"timeoutMs": 25}, destination=batches)
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", "import time\ntime.sleep(0.1)\ndef handler(e, c):\n    time.sleep(e.get('t', 0))\n",
                        timeout=1, extensions=[Extension("shipper", telemetry=sub)])
    invoke(lab, "f", {"t": 2})                         # times out: the runtime is reset
    invoke(lab, "f")                                   # Init again, inside this invoke
    lab.advance(60)
    reports = [e["record"] for e in events(batches) if e["type"] == "platform.initReport"]
    assert [(r["phase"], r["status"]) for r in reports] == [("init", "success"), ("invoke", "success")]
    assert reports[1]["metrics"]["durationMs"] == pytest.approx(250)     # bootstrap 150 ms + module 100 ms


def test_each_registered_extension_is_announced_when_init_ends():
    batches = []
    lab = lab_with(batches, types=("platform",))
    invoke(lab, "f")
    lab.advance(120)
    announced = [e["record"] for e in events(batches) if e["type"] == "platform.extension"]
    assert announced == [{"name": "shipper", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}]
