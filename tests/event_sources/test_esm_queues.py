"""The SQS poller: batches that fill, wait or hit 6 MB; deletes; partial batch responses; redrive; scaling."""
from __future__ import annotations

import hashlib
import json

import pytest

import lambdalab as ll

from .esm_helpers import install_plan, queue_lab


@pytest.fixture
def seen():
    """Every batch the function gets (lists of records); ``answer(records)`` decides what it returns."""
    state = {"batches": [], "answer": lambda records: None}

    def handle(event):
        state["batches"].append(event["Records"])
        return state["answer"](event["Records"])

    install_plan(handle)
    return state


def bodies(batch):
    return [json.loads(r["body"])["n"] for r in batch]


def send(sqs, url, values, **extra):
    return [sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), **extra) for n in values]


def test_sqs_event_record_shape(seen):
    lab, sqs, lam, url, uuid = queue_lab()
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}',
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    lab.advance(5)
    (record,), = seen["batches"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert record["messageId"] == sent["MessageId"] and record["body"] == '{"n": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"n": 1}').hexdigest()
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", arn, "us-east-1")
    assert record["receiptHandle"]
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(attributes)
    assert record["messageAttributes"]["kind"]["stringValue"] == "order"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"


def test_success_deletes_the_batch(seen):
    lab, sqs, lam, url, uuid = queue_lab(BatchSize=5)
    send(sqs, url, range(5))
    lab.advance(60)
    assert [bodies(b) for b in seen["batches"]] == [[0, 1, 2, 3, 4]]
    assert lab.trace.filter(component="event_source_mapping", action="batch")[0].detail["reason"] == "full"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_batching_window_holds_a_partial_batch_until_it_ends(seen):
    lab, sqs, lam, url, uuid = queue_lab(BatchSize=20, MaximumBatchingWindowInSeconds=4)
    start = lab.now
    for n in range(3):
        send(sqs, url, [n])
        lab.advance(1)
    lab.advance(10)
    assert [bodies(b) for b in seen["batches"]] == [[0, 1, 2]]
    leaves = lab.trace.filter(component="event_source_mapping", action="batch")[0]
    assert leaves.detail["reason"] == "window ended" and leaves.t == pytest.approx(start + 4)


def test_batch_leaves_before_it_passes_6_mb(seen):
    lab, sqs, lam, url, uuid = queue_lab(BatchSize=10, MaximumBatchingWindowInSeconds=5)
    big = "x" * 1_000_000
    for _ in range(8):
        sqs.send_message(QueueUrl=url, MessageBody=big)
    lab.advance(30)
    assert [len(b) for b in seen["batches"]] == [6, 2]
    reasons = [s.detail["reason"] for s in lab.trace.filter(component="event_source_mapping", action="batch")]
    assert reasons == ["6 MB payload limit", "window ended"]


def test_partial_batch_response_returns_only_the_failed_message(seen):
    poison = {}

    def answer(records):
        failed = [r["messageId"] for r in records if json.loads(r["body"])["n"] == 2 and not poison.get("done")]
        if any(json.loads(r["body"])["n"] == 2 for r in records) and len(records) == 1:
            poison["done"] = True
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
    seen["answer"] = answer
    lab, sqs, lam, url, uuid = queue_lab(BatchSize=4, FunctionResponseTypes=["ReportBatchItemFailures"])
    send(sqs, url, range(4))
    lab.advance(5)
    assert [bodies(b) for b in seen["batches"]] == [[0, 1, 2, 3]]
    lab.advance(40)                                  # the visibility timeout (30 s) ends
    assert [bodies(b) for b in seen["batches"]] == [[0, 1, 2, 3], [2]]
    assert seen["batches"][1][0]["attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_empty_or_null_item_failures_mean_success(seen, response):
    seen["answer"] = lambda records: response
    lab, sqs, lam, url, uuid = queue_lab(FunctionResponseTypes=["ReportBatchItemFailures"])
    send(sqs, url, range(3))
    lab.advance(100)
    assert len(seen["batches"]) == 1


@pytest.mark.parametrize("response", [{"batchItemFailures": [{"itemIdentifier": ""}]},
                                      {"batchItemFailures": [{"id": "x"}]},
                                      {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
                                      "just a string"])
def test_malformed_item_failures_fail_the_whole_batch(seen, response):
    seen["answer"] = lambda records: response if len(seen["batches"]) == 1 else None
    lab, sqs, lam, url, uuid = queue_lab(FunctionResponseTypes=["ReportBatchItemFailures"])
    send(sqs, url, range(3))
    lab.advance(45)
    assert [bodies(b) for b in seen["batches"]] == [[0, 1, 2], [0, 1, 2]]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in seen["batches"][1]} == {"2"}


def test_failing_messages_are_redriven_to_the_dead_letter_queue(seen):
    def fail(records):
        raise RuntimeError("cannot handle it")
    seen["answer"] = fail
    dlq_arn = "arn:aws:sqs:us-east-1:123456789012:jobs-dlq"
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    lab = ll.Lab(seed=0)
    lab.create_function("consumer", "import esm_test_plan as plan\ndef handler(event, context):\n"
                        "    return plan.handle(event)\n", timeout=10)
    sqs, lam = lab.client("sqs"), lab.client("lambda")
    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName="jobs", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "10"})[
        "QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn)
    lab.advance(5)
    send(sqs, url, [9])
    lab.advance(120)
    assert len(seen["batches"]) == 2                 # received twice (maxReceiveCount), then moved
    moved = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [json.loads(m["Body"])["n"] for m in moved] == [9]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"] == "0"


def test_filters_delete_messages_that_match_no_pattern(seen):
    pattern = json.dumps({"body": {"n": [{"anything-but": [1, 3]}]}})
    lab, sqs, lam, url, uuid = queue_lab(FilterCriteria={"Filters": [{"Pattern": pattern}]})
    send(sqs, url, range(5))
    lab.advance(60)
    assert sorted(n for b in seen["batches"] for n in bodies(b)) == [0, 2, 4]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_pollers_start_at_five_batches_and_scale_up_to_maximum_concurrency(seen):
    handler = ("import esm_test_plan as plan\nimport lambdalab as ll\n"
               "def handler(event, context):\n    plan.handle(event)\n    ll.sleep(20)\n")
    lab, sqs, lam, url, uuid = queue_lab(handler=handler, BatchSize=1, ScalingConfig={"MaximumConcurrency": 12},
                                         queue_attributes={"VisibilityTimeout": "60"})
    for start in range(0, 100, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": i})}
                                                      for i in range(start, start + 10)])
    lab.advance(0.5)
    assert len(seen["batches"]) == 5                 # five concurrent batches to begin with
    lab.advance(120)
    assert lab.stats("consumer")["max_concurrency"] == 12
    steps = [s.detail["concurrency"] for s in lab.trace.filter(component="event_source_mapping", action="scale")]
    assert steps[:2] == [10, 12]


def test_throttles_make_the_pollers_back_off_instead_of_burning_through_the_queue(seen):
    handler = ("import esm_test_plan as plan\nimport lambdalab as ll\n"
               "def handler(event, context):\n    plan.handle(event)\n    ll.sleep(5)\n")
    lab, sqs, lam, url, uuid = queue_lab(handler=handler, BatchSize=1, queue_attributes={"VisibilityTimeout": "30"})
    lam.put_function_concurrency(FunctionName="consumer", ReservedConcurrentExecutions=1)
    send(sqs, url, range(12))
    lab.advance(600)
    assert sorted(n for b in seen["batches"] for n in bodies(b)) == list(range(12))   # all done in the end
    throttles = lab.stats("consumer")["throttles"]
    assert 0 < throttles < 12                     # far fewer 429s than messages: the pollers paused
    pauses = [s.detail["backoff"] for s in lab.trace.filter(component="event_source_mapping", action="scale")
              if "backoff" in s.detail]
    assert pauses and pauses[0] == 1
