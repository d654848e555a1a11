"""The Kinesis poller: order per shard, checkpoints, retries, bisect, partial failures and failure records."""
from __future__ import annotations

import base64
import json

import pytest

from .esm_helpers import install_plan, kinesis_data, stream_lab


@pytest.fixture
def journal():
    """Every batch the function sees, as lists of (shard, i); a batch fails when ``fail(batch)`` says so."""
    state = {"batches": [], "fail": lambda items: None}

    def handle(event):
        items = [(r["eventID"].split(":")[0], kinesis_data(r)["i"]) for r in event["Records"]]
        state["batches"].append(items)
        return state["fail"](event["Records"])

    install_plan(handle)
    return state


def put(kinesis, values, key=lambda i: f"k{i}"):
    return [kinesis.put_record(StreamName="events", Data=json.dumps({"i": i}).encode(), PartitionKey=key(i))
            for i in values]


def failure_records(lab):
    sqs = lab.client("sqs")
    url = sqs.get_queue_url(QueueName="failures")["QueueUrl"]
    found = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        found += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def with_failure_queue(**mapping):
    """stream_lab with an SQS on-failure destination called ``failures``."""
    arn = "arn:aws:sqs:us-east-1:123456789012:failures"
    mapping["DestinationConfig"] = {"OnFailure": {"Destination": arn}}
    env = stream_lab(**mapping)
    env[0].client("sqs").create_queue(QueueName="failures")
    return env


def test_kinesis_event_record_shape(journal):
    seen = []
    journal["fail"] = lambda records: seen.extend(records)
    lab, kinesis, lam, arn, uuid = stream_lab()
    put_result = put(kinesis, [7])[0]
    lab.advance(5)
    record, = seen
    assert record["eventSource"] == "aws:kinesis" and record["eventVersion"] == "1.0"
    assert record["eventName"] == "aws:kinesis:record" and record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == arn
    assert record["eventID"] == f"{put_result['ShardId']}:{put_result['SequenceNumber']}"
    assert record["invokeIdentityArn"] == lab.control_plane.functions["consumer"].latest.config["Role"]
    body = record["kinesis"]
    assert body["kinesisSchemaVersion"] == "1.0" and body["partitionKey"] == "k7"
    assert body["sequenceNumber"] == put_result["SequenceNumber"]
    assert json.loads(base64.b64decode(body["data"])) == {"i": 7}
    assert abs(body["approximateArrivalTimestamp"] - (lab.epoch + 5.0 + 10.0)) < 60


def test_per_shard_order_with_parallelization_factor_1(journal):
    lab, kinesis, lam, arn, uuid = stream_lab(shards=2, BatchSize=3)
    results = put(kinesis, range(20), key=lambda i: f"user-{i % 5}")
    lab.advance(30)
    shard_of = {i: r["ShardId"] for i, r in enumerate(results)}
    for batch in journal["batches"]:
        assert len({shard for shard, _ in batch}) == 1          # a batch never mixes shards
        assert len(batch) <= 3
    for shard in set(shard_of.values()):
        delivered = [i for batch in journal["batches"] for s, i in batch if s == shard]
        assert delivered == sorted(i for i, s in shard_of.items() if s == shard)


def test_one_batch_per_shard_at_a_time(journal):
    handler = ("import esm_test_plan as plan\nimport lambdalab as ll\n"
               "def handler(event, context):\n    plan.handle(event)\n    ll.sleep(2)\n")
    lab, kinesis, lam, arn, uuid = stream_lab(shards=1, BatchSize=2, handler=handler)
    put(kinesis, range(6))
    lab.advance(60)
    invokes = [s for s in lab.trace.filter(component="function", action="run")]
    assert lab.stats("consumer")["max_concurrency"] == 1
    assert [i for batch in journal["batches"] for _, i in batch] == list(range(6))
    assert len(invokes) == 3


def test_failing_batch_blocks_its_shard_and_iterator_age_climbs(journal):
    def fail(records):
        raise RuntimeError("downstream is down")
    journal["fail"] = fail
    lab, kinesis, lam, arn, uuid = stream_lab()
    put(kinesis, [1, 2, 3])
    lab.advance(300)
    ages = [age for _, age in lab.metrics("consumer", "IteratorAge")]
    assert len(ages) >= 4 and ages == sorted(ages) and ages[-1] > 200_000
    assert all(batch == journal["batches"][0] for batch in journal["batches"])     # the same batch, again
    assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "PROBLEM: Function call failed"


def test_exhausted_retries_send_a_failure_record_and_the_shard_moves_on(journal):
    journal["fail"] = lambda records: (_ for _ in ()).throw(ValueError("bad")) if \
        any(kinesis_data(r)["i"] < 3 for r in records) else None
    lab, kinesis, lam, arn, uuid = with_failure_queue(MaximumRetryAttempts=2, BatchSize=3)
    results = put(kinesis, range(5), key=lambda i: "same")
    lab.advance(120)
    first_batch = journal["batches"][0]
    assert journal["batches"][:3] == [first_batch] * 3          # first try + 2 retries
    assert [i for _, i in journal["batches"][3]] == [3, 4]
    record, = failure_records(lab)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:consumer"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    info = record["KinesisBatchInfo"]
    assert info["shardId"] == results[0]["ShardId"] and info["batchSize"] == 3 and info["streamArn"] == arn
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == \
        (results[0]["SequenceNumber"], results[2]["SequenceNumber"])
    assert info["approximateArrivalOfFirstRecord"].endswith("Z") and record["version"] == "1.0"


def test_record_age_limit_gives_up_with_record_age_exceeded(journal):
    def fail(records):
        raise RuntimeError("always")
    journal["fail"] = fail
    lab, kinesis, lam, arn, uuid = with_failure_queue(MaximumRecordAgeInSeconds=60)
    put(kinesis, [1])
    lab.advance(300)
    record, = failure_records(lab)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    give_up = lab.trace.filter(component="event_source_mapping", action="discard")[0]
    assert 60 <= give_up.t - 15 <= 130          # the record was written at t=15 (stream 10 s + mapping 5 s)


def test_bisect_isolates_the_poison_record(journal):
    def fail(records):
        if any(kinesis_data(r)["i"] == 5 for r in records):
            raise ValueError("poison")
    journal["fail"] = fail
    lab, kinesis, lam, arn, uuid = with_failure_queue(BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
                                                      BatchSize=8)
    results = put(kinesis, range(8), key=lambda i: "one-key")
    lab.advance(60)
    record, = failure_records(lab)
    info = record["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == results[5]["SequenceNumber"]
    sizes = [s.detail["batch_size"] for s in lab.trace.filter(component="event_source_mapping", action="invoke")]
    assert sizes[:4] == [8, 4, 4, 2]                         # halving towards the poison record
    succeeded = {i for batch in journal["batches"] if not any(i == 5 for _, i in batch) for _, i in batch}
    assert succeeded == {0, 1, 2, 3, 4, 6, 7}


def test_partial_batch_response_retries_from_the_lowest_failed_sequence_number(journal):
    sent = {}

    def fail(records):
        numbers = [kinesis_data(r)["i"] for r in records]
        if 2 in numbers and sent.setdefault("once", True):
            sent["once"] = False
            return {"batchItemFailures": [{"itemIdentifier": records[numbers.index(3)]["kinesis"]["sequenceNumber"]},
                                          {"itemIdentifier": records[numbers.index(2)]["kinesis"]["sequenceNumber"]}]}
        return {"batchItemFailures": []}
    journal["fail"] = fail
    lab, kinesis, lam, arn, uuid = stream_lab(FunctionResponseTypes=["ReportBatchItemFailures"])
    put(kinesis, range(5), key=lambda i: "k")
    lab.advance(30)
    assert [[i for _, i in b] for b in journal["batches"]] == [[0, 1, 2, 3, 4], [2, 3, 4]]


def test_malformed_batch_item_failures_fail_the_whole_batch(journal):
    calls = []

    def answer(records):
        calls.append(1)
        return {"batchItemFailures": [{"itemIdentifier": ""}]} if len(calls) == 1 else None
    journal["fail"] = answer
    lab, kinesis, lam, arn, uuid = stream_lab(FunctionResponseTypes=["ReportBatchItemFailures"])
    put(kinesis, range(3), key=lambda i: "k")
    lab.advance(30)
    assert [[i for _, i in b] for b in journal["batches"]] == [[0, 1, 2], [0, 1, 2]]


def test_filters_drop_records_the_function_never_sees(journal):
    pattern = json.dumps({"data": {"i": [{"numeric": [">=", 3]}]}})
    lab, kinesis, lam, arn, uuid = stream_lab(FilterCriteria={"Filters": [{"Pattern": pattern}]})
    put(kinesis, range(6))
    lab.advance(30)
    assert sorted(i for b in journal["batches"] for _, i in b) == [3, 4, 5]
    assert lab.event_sources.mappings[uuid].statistics()["filtered"] == 3


def test_batching_window_collects_records_into_one_batch(journal):
    lab, kinesis, lam, arn, uuid = stream_lab(MaximumBatchingWindowInSeconds=5)
    for i in range(4):
        put(kinesis, [i], key=lambda i: "k")
        lab.advance(1)
    lab.advance(20)
    assert [[i for _, i in b] for b in journal["batches"]] == [[0, 1, 2, 3]]
    batch = lab.trace.filter(component="event_source_mapping", action="batch")[0]
    assert batch.detail["reason"] == "window ended"


def test_parallelization_factor_keeps_order_per_partition_key(journal):
    handler = ("import esm_test_plan as plan\nimport lambdalab as ll\n"
               "def handler(event, context):\n    plan.handle(event)\n    ll.sleep(1)\n")
    lab, kinesis, lam, arn, uuid = stream_lab(ParallelizationFactor=4, BatchSize=2, handler=handler)
    keys = {i: f"device-{i % 6}" for i in range(30)}
    put(kinesis, range(30), key=lambda i: keys[i])
    lab.advance(120)
    order = [i for b in journal["batches"] for _, i in b]
    assert sorted(order) == list(range(30))
    for key in set(keys.values()):
        mine = [i for i in order if keys[i] == key]
        assert mine == sorted(mine)
    assert lab.stats("consumer")["max_concurrency"] > 1      # lanes of one shard ran side by side


def test_throttles_back_off_without_using_up_retries(journal):
    lab, kinesis, lam, arn, uuid = with_failure_queue(MaximumRetryAttempts=0)
    lam.put_function_concurrency(FunctionName="consumer", ReservedConcurrentExecutions=0)
    put(kinesis, [1, 2])
    lab.advance(300)
    assert journal["batches"] == [] and failure_records(lab) == []      # throttled, but nothing given up
    waits = [s.detail["delay"] for s in lab.trace.filter(component="event_source_mapping", action="retry")]
    assert waits[:4] == [1, 2, 4, 8] and max(waits) <= 60
    lam.delete_function_concurrency(FunctionName="consumer")
    lab.advance(120)
    assert [i for batch in journal["batches"] for _, i in batch] == [1, 2]


def test_records_already_too_old_are_skipped_without_an_invoke(journal):
    import lambdalab as ll
    lab = ll.Lab(seed=0)
    lab.create_function("consumer", "import esm_test_plan as plan\ndef handler(event, context):\n"
                        "    return plan.handle(event)\n")
    kinesis, lam, sqs = lab.client("kinesis"), lab.client("lambda"), lab.client("sqs")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="events")
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    put(kinesis, [1, 2])
    lab.advance(300)                                   # five minutes old before anyone reads them
    arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                    MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {
                                        "Destination": "arn:aws:sqs:us-east-1:123456789012:failures"}})
    lab.advance(5)
    put(kinesis, [3])
    lab.advance(10)
    assert [[i for _, i in b] for b in journal["batches"]] == [[3]]
    record, = failure_records(lab)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["KinesisBatchInfo"]["batchSize"] == 2
    del url
    assert "responseContext" not in record                 # nothing was invoked, so there is no response


def test_at_timestamp_starts_at_the_first_record_written_at_or_after_it(journal):
    import datetime
    import lambdalab as ll
    lab = ll.Lab(seed=0)
    lab.create_function("consumer", "import esm_test_plan as plan\ndef handler(event, context):\n"
                        "    return plan.handle(event)\n")
    kinesis, lam = lab.client("kinesis"), lab.client("lambda")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="events")
    put(kinesis, [1, 2])
    lab.advance(60)
    moment = datetime.datetime.fromtimestamp(lab.epoch + lab.now, datetime.timezone.utc)
    put(kinesis, [3, 4])
    arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    created = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn,
                                              StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=moment)
    assert created["StartingPositionTimestamp"] == moment
    lab.advance(10)
    assert [i for b in journal["batches"] for _, i in b] == [3, 4]
