"""Asynchronous invocation as a user sees it: 202, the trace's hops, retries, event age, destinations, DLQ."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

FAILS = "def handler(event, context):\n    raise ValueError('boom ' + str(event.get('n')))\n"
ECHO = "def handler(event, context):\n    return {'got': event}\n"
SLOW = "import time\ndef handler(event, context):\n    time.sleep(10)\n    return 'done'\n"


@pytest.fixture
def lab():
    return ll.Lab(seed=3)


def queue(lab, name):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def messages(lab, url, n=10):
    got = lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=n, MessageAttributeNames=["All"])
    return got.get("Messages", [])


def runs_of(lab, request_id):
    """Times at which the handler of this request started (one per invocation that ran)."""
    return [s.t for s in lab.trace.filter(request_id=request_id, component="runtime", action="call")]


def test_event_invoke_answers_202_and_runs_through_queue_poller_and_frontend(lab):
    lab.create_function("hello", ECHO)
    lam = lab.client("lambda")
    response = lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{"a": 1}')
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    rid = response["ResponseMetadata"]["RequestId"]
    assert not runs_of(lab, rid)                    # nothing ran yet: the caller did not wait
    lab.run()
    hops = [(s.component, s.action) for s in lab.trace.filter(request_id=rid)]
    order = [("frontend", "enqueue"), ("async_queue", "enqueue"), ("client", "response"), ("poller", "receive"),
             ("async_queue", "dequeue"), ("poller", "invoke"), ("frontend", "dispatch"),
             ("worker_manager", "request"), ("frontend", "return"), ("poller", "route")]
    positions = [hops.index(h) for h in order]
    assert positions == sorted(positions)
    assert lab.async_invoke.events[rid].state == "succeeded"
    assert lab.metrics("hello", "AsyncEventsReceived") == [(0.0, 1)]


def test_async_payload_limit_is_1_mb(lab):
    lab.create_function("hello", ECHO)
    big = b'"' + b"x" * (1024 * 1024) + b'"'
    with pytest.raises(ll.ClientError) as info:
        lab.client("lambda").invoke(FunctionName="hello", InvocationType="Event", Payload=big)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert not lab.async_invoke.events


def test_function_errors_retry_twice_a_minute_then_two_apart_with_the_same_request_id(lab):
    url, arn = queue(lab, "failures")
    lab.create_function("flaky", FAILS)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": arn}})
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 7}')["ResponseMetadata"][
        "RequestId"]
    lab.run()
    starts = runs_of(lab, rid)
    assert len(starts) == 3
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert 60 <= gaps[0] < 61 and 120 <= gaps[1] < 121
    assert sum(f"START RequestId: {rid}" in line for line in lab.logs("flaky")) == 3
    (msg,) = messages(lab, url)
    record = json.loads(msg["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"] == {"requestId": rid, "functionArn": lab.control_plane.function_arn("flaky")
                                        + ":$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3}
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "boom 7"
    assert record["timestamp"].endswith("Z")
    event = lab.async_invoke.events[rid]
    assert event.state == "delivered" and event.condition == "RetriesExhausted"


@pytest.mark.parametrize("retries", [0, 1])
def test_maximum_retry_attempts_bounds_the_runs(lab, retries):
    lab.create_function("flaky", FAILS)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=retries)
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    lab.run()
    assert len(runs_of(lab, rid)) == 1 + retries
    event = lab.async_invoke.events[rid]
    assert event.state == "dropped" and event.condition == "RetriesExhausted" and event.reason
    assert sum(v for _, v in lab.metrics("flaky", "AsyncEventsDropped")) == 1


def test_max_event_age_60_stops_before_the_first_retry(lab):
    url, arn = queue(lab, "failures")
    lab.create_function("flaky", FAILS)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumEventAgeInSeconds=60,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    lab.run()
    assert len(runs_of(lab, rid)) == 1          # a retry a minute later could not start before age 60 s
    record = json.loads(messages(lab, url)[0]["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_zero_reserved_concurrency_fails_at_once_without_running(lab):
    url, arn = queue(lab, "failures")
    lab.create_function("off", ECHO)
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(FunctionName="off", DestinationConfig={"OnFailure": {"Destination": arn}})
    t0 = lab.now
    rid = lam.invoke(FunctionName="off", InvocationType="Event", Payload=b'{"k": 1}')["ResponseMetadata"][
        "RequestId"]
    lab.run()
    assert runs_of(lab, rid) == []
    record = json.loads(messages(lab, url)[0]["Body"])
    assert record["requestContext"]["condition"] == "ZeroReservedConcurrency"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"k": 1} and "responseContext" not in record
    assert lab.async_invoke.events[rid].history[-1][0] == t0


def test_on_success_record_to_sqs_and_to_another_function(lab):
    url, arn = queue(lab, "ok")
    lab.create_function("hello", ECHO)
    lab.create_function("audit", ECHO)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="hello", DestinationConfig={
        "OnSuccess": {"Destination": arn}})
    rid = lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{"x": 2}')["ResponseMetadata"][
        "RequestId"]
    lab.run()
    record = json.loads(messages(lab, url)[0]["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"got": {"x": 2}}
    # the same record as the payload of an async invoke of another function
    lam.put_function_event_invoke_config(FunctionName="hello", DestinationConfig={
        "OnSuccess": {"Destination": lab.control_plane.function_arn("audit")}})
    lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{"x": 3}')
    lab.run()
    audited = [e for e in lab.async_invoke.events.values() if e.function_name == "audit"]
    assert len(audited) == 1 and audited[0].state == "succeeded"
    assert json.loads(audited[0].payload)["responsePayload"] == {"got": {"x": 3}}
    assert rid in lab.async_invoke.events


def test_dead_letter_queue_gets_the_original_body_and_three_attributes(lab):
    url, arn = queue(lab, "dlq")
    lab.create_function("flaky", FAILS, DeadLetterConfig={"TargetArn": arn})
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=0)
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"n": 1}')["ResponseMetadata"][
        "RequestId"]
    lab.run()
    (msg,) = messages(lab, url)
    assert json.loads(msg["Body"]) == {"n": 1}
    attrs = msg["MessageAttributes"]
    assert attrs["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attrs["RequestID"]["StringValue"] == rid
    assert attrs["ErrorMessage"]["StringValue"] == "boom 1"


def test_failed_deliveries_are_counted_and_the_event_is_dropped_with_a_reason(lab):
    missing = "arn:aws:sqs:us-east-1:123456789012:gone"
    lab.create_function("flaky", FAILS, DeadLetterConfig={"TargetArn": missing})
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": missing}})
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    lab.run()
    event = lab.async_invoke.events[rid]
    assert event.state == "dropped" and "delivery" in event.reason
    assert lab.metrics("flaky", "DeadLetterErrors") == [(0.0, 1)]
    assert lab.metrics("flaky", "DestinationDeliveryFailures") == [(0.0, 1)]
    assert lab.trace.filter(request_id=rid, component="destination", action="fail")


def test_throttled_events_back_off_1_2_4_s_with_jitter_and_are_not_retries(lab):
    url, arn = queue(lab, "ok")
    lab.create_function("slow", SLOW, timeout=30)
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    lam.put_function_event_invoke_config(FunctionName="slow", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnSuccess": {"Destination": arn}})
    first = lam.invoke(FunctionName="slow", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    second = lam.invoke(FunctionName="slow", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    lab.run()
    delays = [s.detail["delay"] for s in lab.trace.filter(request_id=second, component="async_queue",
                                                          action="requeue")]
    assert len(delays) >= 2
    assert all(2 ** i / 2 <= delay <= 2 ** i for i, delay in enumerate(delays))     # "equal jitter"
    assert lab.async_invoke.events[first].state == lab.async_invoke.events[second].state == "succeeded"
    counts = sorted(json.loads(m["Body"])["requestContext"]["approximateInvokeCount"] for m in messages(lab, url))
    assert counts == [1, 1]                  # throttled tries are not invocations and not retries
    assert lab.stats("slow")["throttles"] == len(delays)
    # QueueDepth counts events waiting on the queue: both at first, then one while the other runs, then none
    depths = [s.detail["queue_depth"] for s in lab.trace.filter(component="async_queue")]
    assert depths[:2] == [1, 2] and depths[-1] == 0 and max(depths) == 2
    assert lab.metrics("slow", "QueueDepth")[0][1] == 2


def test_event_invoke_config_api_shapes_and_validation(lab):
    lab.create_function("hello", ECHO)
    lam = lab.client("lambda")
    _, arn = queue(lab, "q")
    out = lam.put_function_event_invoke_config(FunctionName="hello", MaximumRetryAttempts=1,
                                               DestinationConfig={"OnFailure": {"Destination": arn}})
    assert out["FunctionArn"].endswith(":function:hello:$LATEST")
    assert out["MaximumRetryAttempts"] == 1
    assert out["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": arn}}
    assert hasattr(out["LastModified"], "isoformat")
    updated = lam.update_function_event_invoke_config(FunctionName="hello", MaximumEventAgeInSeconds=120)
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": arn}
    for bad in ({"MaximumRetryAttempts": 3}, {"MaximumEventAgeInSeconds": 21_601}):
        with pytest.raises(ll.ClientError) as refused:         # ValidationException: not in Lambda's model
            lam.put_function_event_invoke_config(FunctionName="hello", **bad)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    from botocore.exceptions import ParamValidationError      # below the model's minimum: refused before sending
    with pytest.raises(ParamValidationError, match="MaximumEventAgeInSeconds, value: 59, valid min value: 60"):
        lam.put_function_event_invoke_config(FunctionName="hello", MaximumEventAgeInSeconds=59)
    with pytest.raises(ll.ClientError) as refused:             # and the service's own check, reached directly
        lab.async_invoke.put_function_event_invoke_config(FunctionName="hello", MaximumEventAgeInSeconds=59)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName="hello",
                                             DestinationConfig={"OnSuccess": {"Destination": "not-an-arn"}})
    got = lam.get_function_event_invoke_config(FunctionName="hello")
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in updated.items() if k != "ResponseMetadata"}
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="nope", MaximumRetryAttempts=1)
    assert lam.delete_function_event_invoke_config(FunctionName="hello")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName="hello")


def test_async_runs_are_deterministic():
    def run():
        lab = ll.Lab(seed=11)
        lab.create_function("flaky", FAILS)
        lab.async_invoke.retry_base = 2
        lab.poisson("flaky", 2.0, count=20, invocation_type="Event", payload=b'{"n": 1}')
        lab.run()
        return lab.trace.to_json(), lab.async_invoke.statistics()
    assert run() == run()


def test_an_event_waiting_for_a_retry_of_a_deleted_function_is_dropped_with_a_reason(lab):
    lab.create_function("flaky", FAILS)
    lam = lab.client("lambda")
    rid = lam.invoke(FunctionName="flaky", InvocationType="Event")["ResponseMetadata"]["RequestId"]
    lab.advance(10)                      # the first run failed; the retry waits about a minute
    assert lab.async_invoke.events[rid].state == "queued"
    lam.delete_function(FunctionName="flaky")
    lab.advance(120)
    event = lab.async_invoke.events[rid]
    assert event.state == "dropped" and "deleted" in event.reason and event.invoke_count == 1
    assert lab.async_invoke.pending() == 0


def test_async_path_runs_without_a_trace():
    lab = ll.Lab(seed=2, trace="off")
    lab.create_function("flaky", FAILS)
    lab.client("lambda").put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=1)
    lab.poisson("flaky", 1.0, count=30, invocation_type="Event", payload=b'{"n": 0}')
    lab.run()
    stats = lab.async_invoke.statistics()
    assert len(lab.trace) == 0
    assert stats["accepted"] == 30 and stats["dropped"] == 30 and stats["retries"] == 30
    assert stats["conditions"] == {"RetriesExhausted": 30}
    assert lab.async_invoke.events == {}          # finished events leave the ledger when nothing is traced
    assert lab.stats("flaky")["invocations"] == 60


def test_a_function_that_is_its_own_success_destination_is_stopped_as_a_recursive_loop(lab):
    lab.create_function("again", "def handler(event, context):\n    return 'ok'\n")
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="again", DestinationConfig={
        "OnSuccess": {"Destination": lab.control_plane.function_arn("again")}})
    lam.invoke(FunctionName="again", InvocationType="Event")
    lab.advance(3600)
    events = list(lab.async_invoke.events.values())
    # each record's invoke carries the chain's trace header on: the 17th event is accepted but never invoked
    assert len(events) == 17 and all(e.state == "succeeded" for e in events[:16])
    assert (events[16].state, events[16].condition, events[16].invoke_count) == \
        ("dropped", "RecursiveInvocationException", 0)
    assert lab.metrics("again", "RecursiveInvocationsDropped") == [(0.0, 1)]
    assert lab.stats("again")["invocations"] == 16
    assert "recursive loop" in lab.trace.filter(component="poller", action="stop_loop")[0].text
