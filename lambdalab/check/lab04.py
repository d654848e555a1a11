"""Checks for labs/04_event_source_mappings.ipynb: why a batch left, a poison batch, a blocked shard, bisect.

The scenario checks replay the exact code the notebook shows (``SHOP_CODE``, ``FARM_CODE``) in a fresh
namespace and read the answer from the engine, so a check follows the model if its numbers change.
"""
from __future__ import annotations

import functools
import hashlib

from . import register, words

#: Section 2: a queue whose batches contain one poison message (the notebook's generator embeds this text).
SHOP_CODE = '''\
import json

ALL_OR_NOTHING = """
import json

def handler(event, context):
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order["poison"]:
            raise ValueError(f"order {order['order']} cannot be parsed")
        print("processed order", order["order"])
"""

PARTIAL = """
import json

def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order["poison"]:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        print("processed order", order["order"])
    return {"batchItemFailures": failures}
"""


def run_shop(handler_code, **mapping_options):
    """Five orders (order 2 is poison) on a queue with a DLQ after 3 receives; return the lab and the DLQ."""
    shop = ll.Lab(seed=0)
    shop.create_function("checkout", handler_code, timeout=10)
    sqs, lam = shop.client("sqs"), shop.client("lambda")
    dlq_url = sqs.create_queue(QueueName="checkout-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    url = sqs.create_queue(QueueName="checkout",
                           Attributes={"VisibilityTimeout": "20", "RedrivePolicy": redrive})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(FunctionName="checkout", EventSourceArn=arn, BatchSize=5, **mapping_options)
    shop.advance(5)                                   # Creating -> Enabled
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": n, "poison": n == 2}))
    shop.advance(120)                                 # room for three receives, 20 s visibility timeout each
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    return shop, sorted(json.loads(m["Body"])["order"] for m in dead)
'''

#: Sections 3 and 4: sixteen sensors write to a two-shard stream; one reading is bad.
FARM_CODE = '''\
import json

SENSOR = """
import base64, json

def handler(event, context):
    for record in event["Records"]:
        reading = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if reading["celsius"] is None:
            raise ValueError(f"sensor {reading['sensor']} sent no temperature")
"""

farm = ll.Lab(seed=0)
farm.create_function("thermostat", SENSOR)
kinesis, flam = farm.client("kinesis"), farm.client("lambda")
kinesis.create_stream(StreamName="readings", ShardCount=2)
kinesis.get_waiter("stream_exists").wait(StreamName="readings")
stream_arn = kinesis.describe_stream(StreamName="readings")["StreamDescription"]["StreamARN"]
esm = flam.create_event_source_mapping(FunctionName="thermostat", EventSourceArn=stream_arn,
                                       StartingPosition="TRIM_HORIZON", BatchSize=10)
farm.advance(5)


def one_minute_of_readings(minute, bad=(1, 4)):
    """Each of 16 sensors sends a reading; the sensor and minute named by ``bad`` send none. Then a minute passes."""
    for sensor in range(16):
        celsius = None if (minute, sensor) == bad else 20 + sensor % 5
        put = kinesis.put_record(StreamName="readings", PartitionKey=f"sensor-{sensor}",
                                 Data=json.dumps({"sensor": sensor, "minute": minute, "celsius": celsius}))
        if celsius is None:
            bad_record.update(put)
    farm.advance(60)


bad_record = {}
for minute in range(10):
    one_minute_of_readings(minute)
'''

#: Section 4: unblock the shard (the notebook runs this after FARM_CODE).
BISECT_CODE = '''\
failed_url = farm.client("sqs").create_queue(QueueName="thermostat-failures")["QueueUrl"]
failed_arn = farm.client("sqs").get_queue_attributes(
    QueueUrl=failed_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
flam.update_event_source_mapping(UUID=esm["UUID"], BisectBatchOnFunctionError=True, MaximumRetryAttempts=2,
                                 DestinationConfig={"OnFailure": {"Destination": failed_arn}})
with farm.scene("bisect corners the bad record") as bisect_scene:
    one_minute_of_readings(10)                        # the sensors keep sending
for minute in range(11, 14):
    one_minute_of_readings(minute)
'''


def _replay(code: str, namespace: dict | None = None) -> dict:
    import lambdalab as ll

    namespace = {"ll": ll} if namespace is None else namespace
    exec(code, namespace)   # noqa: S102 - our own constants, the same text the lab shows
    return namespace


@functools.lru_cache(maxsize=1)
def shop_reference() -> dict:
    namespace = _replay(SHOP_CODE)
    shop, dead = namespace["run_shop"](namespace["ALL_OR_NOTHING"])
    return {"dead": dead, "processed": sum("processed order" in line for line in shop.logs("checkout"))}


@functools.lru_cache(maxsize=1)
def farm_reference() -> dict:
    namespace = _replay(FARM_CODE)
    farm = namespace["farm"]
    blocked = namespace["bad_record"]["ShardId"]
    _replay(BISECT_CODE, namespace)
    bisects = len(farm.trace.filter(component="event_source_mapping", action="bisect"))
    return {"blocked": blocked, "bisects": bisects, "bad": namespace["bad_record"]["SequenceNumber"]}


# -- 1. why the second batch left ----------------------------------------------------------------------------

def _reason_hint(value) -> str:
    w = words(value)
    if "full" in w:
        return "the first batch was full (5 of 5). How many messages were left for the second one?"
    if "6" in w or "mb" in w or "payload" in w:
        return "seven small orders are a few hundred bytes, nowhere near 6 MB."
    return 'read the text of the second "batch" step: a batch leaves when full, when the window ends, or at 6 MB.'


register(
    "lab04.second_batch_reason",
    verify=lambda v: words(v) in {"window ended", "window", "batching window", "window ends",
                                  "batching window ended", "maximumbatchingwindowinseconds", "window expired",
                                  "timeout", "the batching window ended"},
    hint=_reason_hint,
    right=["window ended", "the batching window", "MaximumBatchingWindowInSeconds"],
    wrong=["full", "6 MB payload limit", "throttled"],
    explain="two orders never fill a batch of 5, so the poller waited out MaximumBatchingWindowInSeconds (3 s) "
            "from the moment the first of them arrived, then sent what it had.",
)


# -- 2. a poison message without partial batch responses -------------------------------------------------------

def _dead_orders(value) -> list:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise TypeError("a count, not a list")
    return sorted(int(v) for v in value)


def _dead_hint(value) -> str:
    try:
        dead = _dead_orders(value)
    except (TypeError, ValueError):
        return "give the list of order numbers that ended up in the dead-letter queue, e.g. [7, 8]."
    if dead == [2]:
        return "that is what *should* happen. Without partial batch responses, what happens to the batch as a whole?"
    return "each failed receive returns the whole batch to the queue. Which messages reached maxReceiveCount?"


register(
    "lab04.dead_orders",
    verify=lambda v: _dead_orders(v) == shop_reference()["dead"],
    hint=_dead_hint,
    right=[[0, 1, 2, 3, 4], (4, 3, 2, 1, 0)],
    wrong=[[2], [0, 1, 2], 5],
    explain="the handler raised, so every message of the batch came back after the visibility timeout; after "
            "three receives SQS moved all five to the DLQ, good orders included (0 and 1 were even processed "
            "three times).",
)


# -- 3. the blocked shard ----------------------------------------------------------------------------------------

def _shard_id(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"shardId-{value:012d}"
    return str(value).strip()


def _shard_hint(value) -> str:
    shard = _shard_id(value)
    if not shard.startswith("shardId-"):
        return 'give a shard id in the form "shardId-000000000042" (twelve digits).'
    return ("that shard kept up: its checkpoint moved on. Look for the shard named in the event_source_mapping "
            "retry steps.")


def _register_blocked() -> None:
    # The right shard depends on the MD5 of "sensor-4"; compute it from the service instead of writing it down.
    from ..event_sources.kinesis import HASH_SPACE

    value = int.from_bytes(hashlib.md5(b"sensor-4").digest(), "big")
    index = min(value // (HASH_SPACE // 2), 1)
    right_id = f"shardId-{index:012d}"
    other = f"shardId-{1 - index:012d}"
    register(
        "lab04.blocked_shard",
        verify=lambda v: _shard_id(v) == farm_reference()["blocked"],
        hint=_shard_hint,
        right=[right_id, index],
        wrong=[other, "shard-9"],
        explain="the bad reading's partition key hashes to that shard; its batch fails every time and, since a "
                "shard is processed strictly in order, nothing behind the bad record moves while the other shard "
                "carries on.",
    )


_register_blocked()


# -- 4. bisect -------------------------------------------------------------------------------------------------

def _bisect_hint(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "give a whole number of splits."
    if n == 0:
        return "look for event_source_mapping steps whose action is 'bisect' after the update."
    return "count the 'bisect' steps in farm.trace: each one halves the failing batch until the bad record is alone."


register(
    "lab04.bisects",
    verify=lambda v: int(v) == farm_reference()["bisects"],
    hint=_bisect_hint,
    right=[farm_reference()["bisects"]],      # one replay of the lab's scenario, cached for the checks
    wrong=[0, 99],
    explain="each split halves the failing batch and retries both halves; the halves with only good records "
            "succeed, so after about log2(batch size) splits the bad record is alone and its retries run out.",
)

__all__ = ["SHOP_CODE", "FARM_CODE", "BISECT_CODE", "shop_reference", "farm_reference"]
