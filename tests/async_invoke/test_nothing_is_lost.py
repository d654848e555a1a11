"""Property: every accepted async event is accounted for at every step, and none runs too late or too often."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambdalab as ll

HANDLER = """
import time
def handler(event, context):
    time.sleep(event["sleep"])
    if event["mode"] == "error":
        raise RuntimeError("failed on purpose")
    return "ok"
"""

event_spec = st.fixed_dictionaries({
    "at": st.floats(0, 120, allow_nan=False),
    "mode": st.sampled_from(["ok", "ok", "error"]),
    "sleep": st.sampled_from([0.0, 0.5, 2.0, 5.0]),          # 5 s is past the function timeout below
})

scenario = st.fixed_dictionaries({
    "events": st.lists(event_spec, min_size=1, max_size=25),
    "timeout": st.sampled_from([1, 3]),
    "reserved": st.sampled_from([None, 0, 1, 2]),
    "retries": st.integers(0, 2),
    "max_age": st.sampled_from([60, 90, 300, 21_600]),
    "retry_base": st.sampled_from([1.0, 10.0, 60.0]),
    "target": st.sampled_from(["none", "destination", "dlq", "missing"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_accepted_events_are_always_accounted_for(spec):
    lab = ll.Lab(seed=5, trace="summary")
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    sink = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    target = {"none": None, "destination": sink, "dlq": sink,
              "missing": "arn:aws:sqs:us-east-1:123456789012:missing"}[spec["target"]]
    extra = {"DeadLetterConfig": {"TargetArn": target}} if spec["target"] == "dlq" else {}
    lab.create_function("fn", HANDLER, timeout=spec["timeout"], **extra)
    lam = lab.client("lambda")
    if spec["reserved"] is not None:
        lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=spec["reserved"])
    destinations = {"OnFailure": {"Destination": target}} if target and spec["target"] != "dlq" else {}
    lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=spec["retries"],
                                         MaximumEventAgeInSeconds=spec["max_age"], DestinationConfig=destinations)
    lab.async_invoke.retry_base = spec["retry_base"]
    start = lab.now
    submitted = [lab.submit(at=start + e["at"], FunctionName="fn", InvocationType="Event",
                            Payload=json.dumps({"mode": e["mode"], "sleep": e["sleep"]}))
                 for e in spec["events"]]
    ledger = lab.async_invoke.events
    internal = lab.async_invoke.queues

    for _ in range(200_000):
        accepted = sum(1 for inv in submitted if inv.done and inv.response["StatusCode"] == 202)
        states = [e.state for e in ledger.values()]
        final = sum(s in ("succeeded", "delivered", "dropped") for s in states)
        waiting = sum(s in ("queued", "in_flight") for s in states)
        assert accepted == len(ledger) == final + waiting
        assert sum(len(q) for q in internal.values()) == waiting        # every open event has its message
        assert lab.async_invoke.pending() == waiting
        assert lab.async_invoke.waiting.get("fn", 0) == states.count("queued")
        if not lab.engine.step():
            break
    else:
        raise AssertionError("the lab did not finish")

    assert len(ledger) == len(spec["events"])
    delivered_to_sink = 0
    for event in ledger.values():
        assert event.state in ("succeeded", "delivered", "dropped")
        if event.state == "dropped":
            assert event.reason
        assert all(t < event.expires for t, _ in event.starts)          # never started after its age limit
        failures = sum(status in ("error", "timeout", "exit") for _, status in event.starts)
        assert failures <= 1 + spec["retries"]
        if spec["reserved"] == 0:
            assert event.starts == [] and event.condition == "ZeroReservedConcurrency"
        if event.condition == "RetriesExhausted":
            assert failures == 1 + spec["retries"]
        delivered_to_sink += event.state == "delivered"
    if spec["target"] in ("destination", "dlq"):
        assert int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"]) == delivered_to_sink
    dropped_metric = sum(v for _, v in lab.metrics("fn", "AsyncEventsDropped"))
    assert dropped_metric == sum(e.condition != "Success" for e in ledger.values())
