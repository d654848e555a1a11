"""SQS (AWS's json protocol with query-era error codes) and Kinesis, as boto3 sees them, through both doors."""
from __future__ import annotations

import pytest


def test_sqs_batches_report_failed_entries_and_do_the_rest(door):
    sqs = door.client("sqs")
    url = sqs.create_queue(QueueName=door.name("batch"))["QueueUrl"]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "hello"},
        {"Id": "empty", "MessageBody": ""},
        {"Id": "late", "MessageBody": "x", "DelaySeconds": 901},
    ])
    assert [e["Id"] for e in sent["Successful"]] == ["ok"]
    assert sent["Successful"][0]["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    failed = {e["Id"]: e for e in sent["Failed"]}
    assert failed["empty"]["Code"] == "MissingParameter" and failed["empty"]["SenderFault"] is True
    assert failed["late"]["Code"] == "InvalidParameterValue"
    assert "DelaySeconds must be >= 0 and <= 900" in failed["late"]["Message"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["hello"] and got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"]}, {"Id": "b", "ReceiptHandle": "not-a-handle"}])
    assert [e["Id"] for e in deleted["Successful"]] == ["a"]
    assert [(e["Id"], e["Code"]) for e in deleted["Failed"]] == [("b", "ReceiptHandleIsInvalid")]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                    "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_sqs_errors_keep_their_query_codes_and_modelled_classes(door):
    sqs = door.client("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="no-such-queue")
    error = info.value.response["Error"]
    assert (error["Code"], error["Type"], error["QueryErrorCode"]) == \
        ("AWS.SimpleQueueService.NonExistentQueue", "Sender", "QueueDoesNotExist")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    url = sqs.create_queue(QueueName=door.name("twin"))["QueueUrl"]
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=url.rsplit("/", 1)[1], Attributes={"VisibilityTimeout": "5"})
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeValue"


def test_sqs_list_queues_pages_with_next_token(door):
    sqs = door.client("sqs")
    prefix = door.name("listed")
    for i in range(3):
        sqs.create_queue(QueueName=f"{prefix}-{i}")
    pages = list(sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix,
                                                           PaginationConfig={"PageSize": 2}))
    assert [len(p["QueueUrls"]) for p in pages] == [2, 1]


def test_kinesis_records_round_trip_with_timestamps_and_blobs(door):
    kinesis = door.client("kinesis")
    name = door.name("stream")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1 if door.url else 10})
    shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
    assert len(shards) == 2
    put = kinesis.put_records(StreamName=name, Records=[{"Data": b"\x00\xffbinary", "PartitionKey": "k"},
                                                        {"Data": b"text", "PartitionKey": "k"}])
    assert put["FailedRecordCount"] == 0
    shard = put["Records"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [r["Data"] for r in records] == [b"\x00\xffbinary", b"text"]
    assert records[0]["ApproximateArrivalTimestamp"].tzinfo is not None
    assert name in kinesis.list_streams()["StreamNames"]
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName=name + "-missing")
