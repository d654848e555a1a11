"""Shared set-up for the event source mapping tests: a lab with a stream or a queue and a mapping on it."""
from __future__ import annotations

import base64
import json
import sys
import types

import lambdalab as ll

# A handler that takes its orders from a shared "plan" module, so that every execution environment (each has
# its own module namespace) sees the same failure plan and writes to the same journal.
PLAN_HANDLER = '''
import base64, json
import esm_test_plan as plan

def handler(event, context):
    return plan.handle(event)
'''


def install_plan(handle) -> types.ModuleType:
    """Make ``import esm_test_plan`` inside handlers give a module whose ``handle(event)`` is ``handle``."""
    module = types.ModuleType("esm_test_plan")
    module.handle = handle
    sys.modules["esm_test_plan"] = module
    return module


def kinesis_data(record: dict) -> dict:
    return json.loads(base64.b64decode(record["kinesis"]["data"]))


def stream_lab(shards: int = 1, seed: int = 0, handler: str = PLAN_HANDLER, **mapping):
    """(lab, kinesis client, lambda client, stream ARN, mapping UUID) with the mapping already Enabled."""
    lab = ll.Lab(seed=seed)
    lab.create_function("consumer", handler, timeout=30)
    kinesis, lam = lab.client("kinesis"), lab.client("lambda")
    kinesis.create_stream(StreamName="events", ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName="events")
    arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    mapping.setdefault("StartingPosition", "TRIM_HORIZON")
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn, **mapping)["UUID"]
    lab.advance(5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    return lab, kinesis, lam, arn, uuid


def queue_lab(seed: int = 0, handler: str = PLAN_HANDLER, queue_attributes: dict | None = None, **mapping):
    """(lab, sqs client, lambda client, queue URL, mapping UUID) with the mapping already Enabled."""
    lab = ll.Lab(seed=seed)
    lab.create_function("consumer", handler, timeout=30)
    sqs, lam = lab.client("sqs"), lab.client("lambda")
    url = sqs.create_queue(QueueName="jobs", Attributes=queue_attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn, **mapping)["UUID"]
    lab.advance(5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    return lab, sqs, lam, url, uuid
