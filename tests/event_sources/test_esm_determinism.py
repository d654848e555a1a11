"""Same seed, same calls: the same event source mapping trace; and every step uses the trace vocabulary."""
from __future__ import annotations

import json

from lambdalab.engine.vocabulary import ACTIONS

from .esm_helpers import install_plan, stream_lab, queue_lab


def _scenario(kind: str):
    def handle(event):
        if any("poison" in (r.get("body") or "") for r in event["Records"]):
            raise ValueError("poison")
        return None

    install_plan(handle)
    if kind == "sqs":
        lab, sqs, lam, url, uuid = queue_lab(BatchSize=3, MaximumBatchingWindowInSeconds=2)
        for n in range(7):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n, "poison" if n == 4 else "ok": 1}))
    else:
        lab, kinesis, lam, arn, uuid = stream_lab(shards=2, BatchSize=3, BisectBatchOnFunctionError=True,
                                                  MaximumRetryAttempts=1)
        for n in range(9):
            kinesis.put_record(StreamName="events", Data=json.dumps({"n": n}).encode(), PartitionKey=f"p{n}")
    lab.advance(120)
    return lab


def test_same_seed_same_trace():
    for kind in ("sqs", "kinesis"):
        first, second = _scenario(kind), _scenario(kind)
        assert first.trace.to_json() == second.trace.to_json()
        assert first.stats("consumer") == second.stats("consumer")


def test_every_mapping_step_uses_the_vocabulary():
    for kind in ("sqs", "kinesis"):
        lab = _scenario(kind)
        steps = lab.trace.filter(component=("event_source_mapping", "destination"))
        assert {s.action for s in steps} >= {"invoke", "checkpoint", "batch", "state"}
        for step in lab.trace:
            assert step.action in ACTIONS[step.component], (step.component, step.action)
