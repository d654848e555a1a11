#!/usr/bin/env python3
"""How fast do the event source mapping pollers move records? An SQS backlog and a Kinesis backlog, drained.

    PYTHONPATH=. python bench/event_sources.py [records]
    bench: esm_sqs messages=20000 seconds=... messages_per_s=... batches=... max_concurrency=...
    bench: esm_kinesis records=20000 seconds=... records_per_s=... batches=... retries=...

SQS: a backlog with BatchSize 10, every tenth message reported as a batch item failure (so redelivery is on the
measured path). Kinesis: four shards, BatchSize 100, every 50th batch fails once. Trace mode "off".
"""
from __future__ import annotations

import json
import sys
import time

import lambdalab as ll

SQS_HANDLER = """
import json

def handler(event, context):
    bad = [r["messageId"] for r in event["Records"]
           if json.loads(r["body"])["n"] % 10 == 0 and r["attributes"]["ApproximateReceiveCount"] == "1"]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in bad]}
"""

KINESIS_HANDLER = """
calls = [0]

def handler(event, context):
    calls[0] += 1
    if calls[0] % 50 == 0:
        raise RuntimeError("every 50th batch fails once")
"""


def sqs(count: int) -> str:
    lab = ll.Lab(seed=0, trace="off")
    lab.create_function("fn", SQS_HANDLER, duration=ll.Exponential(0.05))
    client, lam = lab.client("sqs"), lab.client("lambda")
    url = client.create_queue(QueueName="backlog")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for start in range(0, count, 10):
        client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": i})}
                                                         for i in range(start, min(count, start + 10))])
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arn,
                                           FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    began = time.perf_counter()
    lab.advance(3600)
    seconds = time.perf_counter() - began
    stats = lab.event_sources.mappings[uuid].statistics()
    assert stats["deleted"] == count, stats
    return (f"bench: esm_sqs messages={count} seconds={seconds:.2f} messages_per_s={count / seconds:.0f} "
            f"batches={stats['batches']} max_concurrency={lab.stats('fn')['max_concurrency']}")


def kinesis(count: int) -> str:
    lab = ll.Lab(seed=0, trace="off")
    lab.create_function("fn", KINESIS_HANDLER, duration=ll.Exponential(0.05))
    client, lam = lab.client("kinesis"), lab.client("lambda")
    client.create_stream(StreamName="backlog", ShardCount=4)
    client.get_waiter("stream_exists").wait(StreamName="backlog")
    for start in range(0, count, 500):
        client.put_records(StreamName="backlog", Records=[{"Data": b"{}", "PartitionKey": f"k{i}"}
                                                         for i in range(start, min(count, start + 500))])
    arn = client.describe_stream(StreamName="backlog")["StreamDescription"]["StreamARN"]
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                           BatchSize=100)["UUID"]
    began = time.perf_counter()
    lab.advance(3600)
    seconds = time.perf_counter() - began
    stats = lab.event_sources.mappings[uuid].statistics()
    return (f"bench: esm_kinesis records={count} seconds={seconds:.2f} records_per_s={count / seconds:.0f} "
            f"batches={stats['batches']} retries={stats['retries']}")


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 20_000
    print(sqs(count))
    print(kinesis(count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
