"""The in-process Kinesis service through ``lab.client("kinesis")``."""
from __future__ import annotations

import datetime
import hashlib

import pytest
from botocore.exceptions import ParamValidationError

import lambdalab as ll


@pytest.fixture
def env():
    lab = ll.Lab(seed=5)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=3)
    return lab, kinesis


def test_stream_is_creating_then_active_with_hash_key_ranges(env):
    lab, kinesis = env
    description = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]
    assert description["StreamStatus"] == "CREATING"
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.put_record(StreamName="clicks", Data=b"x", PartitionKey="k")
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks")
    description = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE" and description["RetentionPeriodHours"] == 24
    assert description["StreamARN"] == "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
              for s in description["Shards"]]
    assert [s["ShardId"] for s in description["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert ranges[0][0] == 0 and ranges[-1][1] == 2 ** 128 - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))


def test_partition_key_md5_picks_the_shard_and_sequence_numbers_grow(env):
    lab, kinesis = env
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks")
    ranges = {s["ShardId"]: (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
              for s in kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["Shards"]}
    last = {}
    for i in range(30):
        key = f"user-{i}"
        out = kinesis.put_record(StreamName="clicks", Data=f"{i}".encode(), PartitionKey=key)
        low, high = ranges[out["ShardId"]]
        assert low <= int(hashlib.md5(key.encode()).hexdigest(), 16) <= high
        assert isinstance(out["SequenceNumber"], str)
        assert int(out["SequenceNumber"]) > last.get(out["ShardId"], 0)
        last[out["ShardId"]] = int(out["SequenceNumber"])


def test_iterators_read_from_each_position(env):
    lab, kinesis = env
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks")
    put = kinesis.put_records(StreamName="clicks", Records=[{"Data": f"{i}".encode(), "PartitionKey": "same"}
                                                            for i in range(4)])
    assert put["FailedRecordCount"] == 0
    shard = put["Records"][0]["ShardId"]
    seqs = [r["SequenceNumber"] for r in put["Records"]]

    def read(kind, **extra):
        it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType=kind,
                                        **extra)["ShardIterator"]
        return [r["Data"].decode() for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert read("TRIM_HORIZON") == ["0", "1", "2", "3"]
    assert read("LATEST") == []
    assert read("AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1]) == ["1", "2", "3"]
    assert read("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1]) == ["2", "3"]
    lab.advance(60)
    kinesis.put_record(StreamName="clicks", Data=b"4", PartitionKey="same")
    moment = datetime.datetime.fromtimestamp(lab.epoch + lab.now - 1, datetime.timezone.utc)
    assert read("AT_TIMESTAMP", Timestamp=moment) == ["4"]
    it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    page = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=2)
    rest = kinesis.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["Data"] for r in page["Records"] + rest["Records"]] == [b"0", b"1", b"2", b"3", b"4"]
    assert page["MillisBehindLatest"] > 0 and rest["MillisBehindLatest"] == 0


def test_records_expire_after_the_retention_period(env):
    lab, kinesis = env
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks")
    shard = kinesis.put_record(StreamName="clicks", Data=b"old", PartitionKey="k")["ShardId"]
    lab.advance(23 * 3600)
    kinesis.put_record(StreamName="clicks", Data=b"new", PartitionKey="k")
    lab.advance(2 * 3600)
    it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]] == [b"new"]


def test_errors_have_aws_codes(env):
    lab, kinesis = env
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException) as caught:
        kinesis.describe_stream(StreamName="nope")
    assert caught.value.response["Error"]["Message"] == "Stream nope under account 123456789012 not found."
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.create_stream(StreamName="clicks", ShardCount=1)
    with pytest.raises(ParamValidationError, match="ShardCount, value: 0, valid min value: 1"):
        kinesis.create_stream(StreamName="zero", ShardCount=0)
    with pytest.raises(ll.ClientError) as caught:          # the service's own check, reached directly
        lab.kinesis.create_stream(StreamName="zero", ShardCount=0)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_shard_iterator(StreamName="clicks", ShardId="shardId-000000000099",
                                   ShardIteratorType="LATEST")
    with pytest.raises(ll.ClientError) as caught:
        kinesis.put_records(StreamName="clicks", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
