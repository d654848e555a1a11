"""Property: under any pattern of failures a stream mapping loses no record and keeps each shard's order.

With ParallelizationFactor 1 the order holds for the whole shard; above 1 it holds per partition key.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from .esm_helpers import install_plan, kinesis_data, stream_lab

FAILURES = "arn:aws:sqs:us-east-1:123456789012:failures"

scenarios = st.fixed_dictionaries({
    "fails": st.lists(st.integers(0, 3), min_size=1, max_size=24),
    "keys": st.integers(1, 4),
    "shards": st.integers(1, 2),
    "batch": st.integers(1, 6),
    "bisect": st.booleans(),
    "report": st.booleans(),
    "retries": st.sampled_from([-1, 0, 1, 2]),
    "factor": st.sampled_from([1, 1, 2, 3]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_no_record_lost_or_reordered_within_a_shard(s):
    remaining = dict(enumerate(s["fails"]))
    processed: list[tuple[str, int]] = []       # (shard, sequence number) in the order the function did them

    def handle(event):
        for record in event["Records"]:
            i = kinesis_data(record)["i"]
            if remaining[i] > 0:                # this record fails now: stop here, as an in-order consumer does
                remaining[i] -= 1
                if s["report"]:
                    return {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
                raise RuntimeError(f"record {i} failed")
            processed.append((record["eventID"].split(":")[0], int(record["kinesis"]["sequenceNumber"]),
                              record["kinesis"]["partitionKey"]))
        return {"batchItemFailures": []} if s["report"] else None

    install_plan(handle)
    mapping = {"BatchSize": s["batch"], "BisectBatchOnFunctionError": s["bisect"],
               "MaximumRetryAttempts": s["retries"], "ParallelizationFactor": s["factor"], "DestinationConfig": {"OnFailure": {"Destination": FAILURES}}}
    if s["report"]:
        mapping["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    lab, kinesis, lam, arn, uuid = stream_lab(shards=s["shards"], **mapping)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    written = [kinesis.put_record(StreamName="events", Data=json.dumps({"i": i}).encode(),
                                  PartitionKey=f"key-{i % s['keys']}") for i in range(len(s["fails"]))]
    lab.advance(3600)

    given_up = []                                # (shard, first, last) from the failure records
    for _ in range(len(written) + 1):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for m in messages:
            info = json.loads(m["Body"])["KinesisBatchInfo"]
            given_up.append((info["shardId"], int(info["startSequenceNumber"]), int(info["endSequenceNumber"])))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    done = {(shard, seq) for shard, seq, _ in processed}
    for w in written:
        key = (w["ShardId"], int(w["SequenceNumber"]))
        covered = any(shard == key[0] and lo <= key[1] <= hi for shard, lo, hi in given_up)
        assert key in done or covered, f"record {key} was neither processed nor reported"
    if s["retries"] == -1:
        assert not given_up and len(done) == len(written)
    # the order unit: the shard, or (shard, partition key) when the shard is split into lanes
    unit = (lambda shard, key: shard) if s["factor"] == 1 else (lambda shard, key: (shard, key))
    first_seen: dict = {}
    for shard, seq, key in processed:
        seen = first_seen.setdefault(unit(shard, key), [])
        if seq not in seen:
            seen.append(seq)
    for name, seqs in first_seen.items():
        assert seqs == sorted(seqs), f"{name} was processed out of order"
