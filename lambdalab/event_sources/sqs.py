"""An in-process Amazon SQS: standard queues with visibility timeouts, receive counts and redrive.

In AWS, SQS stores each message redundantly until a consumer deletes it. A consumer that receives a message
makes it invisible for the queue's ``VisibilityTimeout`` (default 30 s); if it does not delete it in time the
message becomes visible again and its ``ApproximateReceiveCount`` grows. A queue with a ``RedrivePolicy``
moves a message to its dead-letter queue once it has been received ``maxReceiveCount`` times without being
deleted. Messages older than ``MessageRetentionPeriod`` (default 4 days) are deleted. Lambda uses this same
service twice: its own internal queue for asynchronous invocations, and your queues for destinations, DLQs
and event source mappings.

What we simplify: one copy per message and exact counts (AWS's "Approximate" numbers are exact here); receive
returns messages in the order they became visible, never a random sample of servers; a long poll
(``WaitTimeSeconds``) returns what is there now instead of waiting (virtual time does not pass inside a client
call); FIFO queues keep each message group in order (no message of a group is handed out while an earlier
one of that group is in flight) and drop duplicates sent within 5 minutes (same ``MessageDeduplicationId``, or
the same body with ``ContentBasedDeduplication``), but their throughput limits are not modelled; retention is
applied lazily, when the queue is next touched.

Internal Python API (for the async path, destinations and the ESM poller; times are virtual seconds):

- ``lab.sqs.create(name, attributes=None, internal=False) -> Queue``; ``lab.sqs.queue_by_arn(arn)``,
  ``queue_by_url(url)``, ``queue_by_name(name)`` (each returns None when there is no such queue). An
  ``internal`` queue is not listed or reachable through ``lab.client("sqs")`` (Lambda's own async queue).
- ``queue.send(body, attributes=None, delay=None, trace_header=None) -> Message`` (``attributes`` in boto3's
  MessageAttributes shape; ``delay`` seconds, default the queue's DelaySeconds; ``trace_header`` the X-Ray header
  of the request that sent it, kept as the ``AWSTraceHeader`` system attribute).
- ``queue.receive(n=1, visibility=None) -> list[Message]``: up to n visible messages, oldest first; each gets
  a new ``receipt`` handle and becomes invisible for ``visibility`` seconds (default the queue's). Messages
  past ``maxReceiveCount`` are moved to the dead-letter queue instead of being returned.
- ``queue.delete(receipt) -> bool``, ``queue.change_visibility(receipt, seconds)``, ``queue.purge()``.
- ``queue.subscribe(callback) -> unsubscribe``: ``callback(queue)`` runs (inside an engine event) whenever
  messages may have become visible: a send, a delay ending, a visibility timeout expiring. Wake-up events are
  only scheduled while someone is subscribed.
- ``queue.counts() -> (visible, in_flight, delayed)``, ``len(queue)``; the QueueDepth metric
  (``lab.metrics(queue.metric_name, "QueueDepth")``) records the stored message count after every change.
- ``message.record(queue)``: the message as an SQS event record for Lambda (``Records[i]`` of an ESM batch).
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import json
import re
import struct
from collections import deque
from dataclasses import dataclass

from ..control_plane.errors import aws_error
from ..observability.records import Statistics

__all__ = ["SQSService", "Queue", "QueueStatistics", "Message"]

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# attribute -> (default, low, high) for the numeric attributes a queue has
NUMERIC = {
    "DelaySeconds": (0, 0, 900),
    "MaximumMessageSize": (1_048_576, 1024, 1_048_576),     # 1 MiB since Aug 2025 (256 KiB before)
    "MessageRetentionPeriod": (345_600, 60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 0, 20),
    "VisibilityTimeout": (30, 0, 43_200),
}
SETTABLE = set(NUMERIC) | {"RedrivePolicy", "Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                           "SqsManagedSseEnabled", "RedriveAllowPolicy", "FifoQueue", "ContentBasedDeduplication",
                           "DeduplicationScope", "FifoThroughputLimit"}
READ_ONLY = ("QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp")
SYSTEM_ATTRIBUTES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
                     "MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "DeadLetterQueueSourceArn",
                     "AWSTraceHeader")
PURGE_INTERVAL = 60.0
DEDUP_WINDOW = 300.0          # FIFO queues drop a repeated deduplication id within 5 minutes


# SQS's query-era error codes whose modelled exception has another name
_SHAPES = {"AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist", "QueueAlreadyExists": "QueueNameExists"}


def sqs_error(code: str, message: str, status: int = 400, operation: str = "SQS"):
    """An SQS error as botocore shows it: ``Error.Code`` is the wire code, ``Error.Type`` the fault, and the class
    boto3's modelled exception (``Error.QueryErrorCode``).

    SQS speaks a JSON protocol that keeps the old query error codes: a missing queue arrives as
    ``AWS.SimpleQueueService.NonExistentQueue`` and is caught as ``sqs.exceptions.QueueDoesNotExist``.
    """
    shape = _SHAPES.get(code, code.removeprefix("AWS.SimpleQueueService."))
    error = aws_error(code, message, status, operation=operation, service="sqs", shape=shape)
    error.response["Error"]["Type"] = "Sender"
    return error


def no_such_queue(operation: str = "SQS"):
    return sqs_error("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.",
                     operation=operation)


def invalid(message: str, operation: str = "SQS"):
    return sqs_error("InvalidParameterValue", message, operation=operation)


def md5_of_attributes(attributes: dict) -> str:
    """SQS's digest of MessageAttributes: names sorted, each field length-prefixed (big-endian 4 bytes)."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if "StringValue" in value:
            raw = value["StringValue"].encode()
            digest.update(b"\x01" + struct.pack(">I", len(raw)) + raw)
        else:
            raw = bytes(value["BinaryValue"])
            digest.update(b"\x02" + struct.pack(">I", len(raw)) + raw)
    return digest.hexdigest()


class Message:
    """One stored message. ``state`` is delayed | visible | in_flight; ``token`` invalidates old heap entries."""

    __slots__ = ("id", "body", "md5", "attributes", "md5_attributes", "sent", "first_receive", "receive_count",
                 "visible_at", "receipt", "receipts", "state", "token", "seq", "group_id", "dedup_id", "source_arn",
                 "sender", "trace_header")

    def __init__(self, msg_id: str, body: str, attributes: dict, sent: float, seq: int, sender: str) -> None:
        self.id = msg_id
        self.body = body
        self.md5 = hashlib.md5(body.encode("utf-8")).hexdigest()
        self.attributes = attributes
        self.md5_attributes = md5_of_attributes(attributes) if attributes else None
        self.sent = sent
        self.first_receive = None
        self.receive_count = 0
        self.visible_at = sent
        self.receipt = None
        self.receipts: set[str] = set()
        self.state = "visible"
        self.token = 0
        self.seq = seq
        self.group_id = self.dedup_id = self.source_arn = None
        self.sender = sender
        self.trace_header = None      # the X-Ray header of the request that sent it (AWSTraceHeader)

    def system_attributes(self, epoch: float) -> dict:
        """The message's system attributes as SQS returns them (strings; timestamps in epoch milliseconds)."""
        out = {"SenderId": self.sender, "SentTimestamp": str(int((epoch + self.sent) * 1000)),
               "ApproximateReceiveCount": str(self.receive_count)}
        if self.first_receive is not None:
            out["ApproximateFirstReceiveTimestamp"] = str(int((epoch + self.first_receive) * 1000))
        if self.group_id is not None:
            out["MessageGroupId"] = self.group_id
        if self.dedup_id is not None:
            out["MessageDeduplicationId"] = self.dedup_id
        if self.source_arn is not None:
            out["DeadLetterQueueSourceArn"] = self.source_arn
        if self.trace_header is not None:
            out["AWSTraceHeader"] = self.trace_header
        return out

    def record(self, queue: "Queue") -> dict:
        """This message as one record of the event Lambda's SQS event source mapping passes to a handler."""
        attrs = {k: v for k, v in self.system_attributes(queue.service.lab.epoch).items()
                 if k != "DeadLetterQueueSourceArn"}
        message_attributes = {}
        for name, value in self.attributes.items():
            if "BinaryValue" in value:     # JSON carries binary values as base64 text
                key, data = "binaryValue", base64.b64encode(bytes(value["BinaryValue"])).decode()
            else:
                key, data = "stringValue", value.get("StringValue")
            message_attributes[name] = {key: data,
                                        "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        out = {"messageId": self.id, "receiptHandle": self.receipt, "body": self.body, "attributes": attrs,
               "messageAttributes": message_attributes, "md5OfBody": self.md5}
        if self.md5_attributes:
            out["md5OfMessageAttributes"] = self.md5_attributes
        out.update({"eventSource": "aws:sqs", "eventSourceARN": queue.arn, "awsRegion": queue.service.lab.region})
        return out

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.state} received={self.receive_count}>"


class Queue:
    """One queue: its attributes, its messages and the two heaps that order them by visibility time."""

    def __init__(self, service: "SQSService", name: str, attributes: dict, internal: bool = False) -> None:
        lab = service.lab
        self.service = service
        self.name = name
        self.internal = internal
        self.url = f"https://sqs.{lab.region}.amazonaws.com/{lab.account_id}/{name}"
        self.arn = f"arn:aws:sqs:{lab.region}:{lab.account_id}:{name}"
        self.fifo = name.endswith(".fifo")
        self.attributes = {k: str(d) for k, (d, _, _) in NUMERIC.items()}
        self.attributes.update({k: str(v) for k, v in attributes.items()})
        if self.fifo:
            self.attributes["FifoQueue"] = "true"
        self.created = self.modified = lab.now
        self.messages: dict[str, Message] = {}
        self._order: deque[Message] = deque()   # messages in arrival order, for retention (a dict's first
        #                                         item is O(deleted) to reach, a deque's is O(1))
        self._ready: list = []           # [visible_at, seq, message, token] of visible messages
        self._waiting: list = []         # the same for delayed / in-flight messages, by when they turn visible
        self.visible = self.in_flight = self.delayed = 0
        self._listeners: list = []
        self._wake = None                # the engine event that will notify listeners
        self._soon = False               # a notification for messages visible now is already scheduled
        self._receipts: dict[str, Message] = {}
        self.last_purge = None
        self._groups_in_flight: dict[str, int] = {}
        self._dedup: dict[str, tuple[float, Message]] = {}   # FIFO deduplication key -> (sent, message)
        self.metric_name = f"sqs:{name}" if not internal else name
        self.sent_total = self.deleted_total = self.redriven_total = 0

    # --- attributes -----------------------------------------------------------------------------------------
    def number(self, attribute: str) -> int:
        return int(self.attributes[attribute])

    @property
    def redrive(self) -> tuple["Queue | None", int] | None:
        policy = self.attributes.get("RedrivePolicy")
        if not policy:
            return None
        policy = json.loads(policy)
        return self.service.queue_by_arn(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])

    # --- bookkeeping ----------------------------------------------------------------------------------------
    def _set_state(self, msg: Message, state: str) -> None:
        self._count(msg.state, -1)
        self._count(state, 1)
        if msg.group_id is not None and (msg.state == "in_flight") != (state == "in_flight"):
            groups = self._groups_in_flight
            groups[msg.group_id] = groups.get(msg.group_id, 0) + (1 if state == "in_flight" else -1)
        msg.state = state

    def _ready_push(self, entry: list) -> None:
        if self.fifo:
            entry[0] = 0.0                  # a FIFO queue hands out strictly in send order
        heapq.heappush(self._ready, entry)

    def _count(self, state: str, delta: int) -> None:
        if state == "visible":
            self.visible += delta
        elif state == "in_flight":
            self.in_flight += delta
        elif state == "delayed":
            self.delayed += delta

    def _place(self, msg: Message, visible_at: float, state: str) -> None:
        """Put ``msg`` on the heap matching its new state; older entries of it turn stale via ``token``."""
        msg.token += 1
        msg.visible_at = visible_at
        now = self.service.lab.now
        if visible_at <= now:
            self._set_state(msg, "visible")
            self._ready_push([visible_at, msg.seq, msg, msg.token])
            self._notify_soon()
        else:
            self._set_state(msg, state)
            heapq.heappush(self._waiting, [visible_at, msg.seq, msg, msg.token])
            self._arm()

    def _promote(self) -> None:
        """Move messages whose delay or visibility timeout has ended onto the ready heap; apply retention."""
        now = self.service.lab.now
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            entry = heapq.heappop(waiting)
            msg = entry[2]
            if entry[3] == msg.token and msg.id in self.messages:
                self._set_state(msg, "visible")
                self._ready_push(entry)
        retention = self.number("MessageRetentionPeriod")
        order = self._order
        while order:
            oldest = order[0]
            if self.messages.get(oldest.id) is not oldest:
                order.popleft()             # already deleted: forget it
            elif oldest.sent + retention <= now:
                order.popleft()
                self._remove(oldest)
            else:
                break

    def _remove(self, msg: Message) -> None:
        del self.messages[msg.id]
        self._set_state(msg, "gone")
        msg.token += 1
        for receipt in msg.receipts:
            self._receipts.pop(receipt, None)
        self._depth()

    def _depth(self) -> None:
        self.service.lab.counters.put(self.metric_name, "QueueDepth", len(self.messages))

    # --- notifications for pollers --------------------------------------------------------------------------
    def subscribe(self, callback) -> callable:
        """Call ``callback(queue)`` whenever messages may have become visible; returns an unsubscribe function."""
        self._listeners.append(callback)
        self._arm()
        if self.visible:
            self._notify_soon()
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _notify_soon(self) -> None:
        # one pending notification at a time: sends in the same instant reach the poller as one batch
        if self._listeners and not self._soon:
            self._soon = True
            self.service.lab.engine.at(self.service.lab.now, self._notify_now)

    def _notify_now(self) -> None:
        self._soon = False
        self._notify()

    def _arm(self) -> None:
        """Keep one engine event at the time the next waiting message turns visible (only while subscribed)."""
        if not self._listeners:
            return
        waiting = self._waiting
        while waiting and (waiting[0][3] != waiting[0][2].token or waiting[0][2].id not in self.messages):
            heapq.heappop(waiting)
        if not waiting:
            return
        when = waiting[0][0]
        if self._wake is not None and self._wake[2] is not None and self._wake[0] <= when:
            return
        self.service.lab.engine.cancel(self._wake)
        self._wake = self.service.lab.engine.at(when, self._on_wake)

    def _on_wake(self) -> None:
        self._wake = None
        self._notify()
        self._arm()

    def _notify(self) -> None:
        self._promote()
        if self.visible:
            for callback in list(self._listeners):
                callback(self)

    # --- the operations -------------------------------------------------------------------------------------
    def send(self, body: str, attributes: dict | None = None, delay: float | None = None, *,
             group_id: str | None = None, dedup_id: str | None = None, trace_header: str | None = None) -> Message:
        lab = self.service.lab
        self._promote()
        if self.fifo:
            key = dedup_id
            if key is None and self.attributes.get("ContentBasedDeduplication") == "true":
                key = hashlib.sha256(body.encode("utf-8")).hexdigest()
            duplicate = self._deduplicate(key)
            if duplicate is not None:
                return duplicate
        self.service.seq += 1
        msg = Message(lab.ids.uuid(), body, dict(attributes or {}), lab.now, self.service.seq, lab.account_id)
        msg.group_id, msg.dedup_id, msg.trace_header = group_id, dedup_id, trace_header
        msg.state = "new"
        self.messages[msg.id] = msg
        self._order.append(msg)
        if self.fifo and key is not None:
            self._dedup[key] = (lab.now, msg)
        self.sent_total += 1
        delay = self.number("DelaySeconds") if delay is None else delay
        self._place(msg, lab.now + delay, "delayed")
        self._depth()
        return msg

    def _deduplicate(self, key: str | None) -> Message | None:
        """The message already sent with this deduplication key in the last 5 minutes, if any."""
        now = self.service.lab.now
        dedup = self._dedup
        while dedup:
            oldest = next(iter(dedup))
            if now - dedup[oldest][0] < DEDUP_WINDOW:
                break
            del dedup[oldest]
        return dedup[key][1] if key in dedup else None

    def _adopt(self, msg: Message, source: "Queue") -> None:
        """Take a message redriven from ``source``: same id, body and SentTimestamp; a fresh receive count."""
        self.service.seq += 1
        msg.seq = self.service.seq
        msg.receive_count, msg.first_receive, msg.receipt = 0, None, None
        msg.receipts = set()
        msg.source_arn = source.arn
        msg.state = "new"
        self.messages[msg.id] = msg
        self._order.append(msg)
        self._place(msg, self.service.lab.now, "visible")
        self._depth()

    def receive(self, n: int = 1, visibility: float | None = None) -> list[Message]:
        """Up to ``n`` visible messages, oldest first, each made invisible for ``visibility`` seconds."""
        lab = self.service.lab
        self._promote()
        visibility = self.number("VisibilityTimeout") if visibility is None else visibility
        redrive = self.redrive
        out: list[Message] = []
        ready = self._ready
        blocked = {g for g, count in self._groups_in_flight.items() if count > 0}
        held = []                           # FIFO messages whose group is busy: they wait their turn
        while ready and len(out) < n:
            entry = heapq.heappop(ready)
            msg = entry[2]
            if entry[3] != msg.token or msg.id not in self.messages:
                continue
            if msg.group_id in blocked:
                held.append(entry)
                continue
            if redrive is not None and redrive[0] is not None and msg.receive_count >= redrive[1]:
                self._remove(msg)
                self.redriven_total += 1
                redrive[0]._adopt(msg, self)
                continue
            msg.token += 1                  # taken: its ready entry is stale from now on
            out.append(msg)
        for entry in held:
            heapq.heappush(ready, entry)
        # re-timed only after the loop, so a zero visibility timeout cannot hand out a message twice at once
        for msg in out:
            msg.receive_count += 1
            if msg.first_receive is None:
                msg.first_receive = lab.now
            msg.receipt = self._new_receipt(msg)
            self._place(msg, lab.now + visibility, "in_flight")
        return out

    def _new_receipt(self, msg: Message) -> str:
        receipt = f"AQEB{self.service.lab.ids.hex(48)}{msg.id.replace('-', '')}"
        msg.receipts.add(receipt)
        self._receipts[receipt] = msg
        return receipt

    def message_for(self, receipt: str, operation: str = "DeleteMessage") -> Message | None:
        """The message a receipt handle belongs to; None if that message is already gone (not an error in SQS)."""
        if not isinstance(receipt, str) or not receipt.startswith("AQEB") or len(receipt) < 52:
            raise sqs_error("ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not a valid '
                            "receipt handle.", operation=operation)
        return self._receipts.get(receipt)

    def delete(self, receipt: str) -> bool:
        """Delete the message; True if it was still stored. Deleting twice is fine, as in SQS."""
        msg = self.message_for(receipt)
        if msg is None or msg.id not in self.messages:
            return False
        self._remove(msg)
        self.deleted_total += 1
        return True

    def change_visibility(self, receipt: str, seconds: float) -> None:
        op = "ChangeMessageVisibility"
        msg = self.message_for(receipt, op)
        if msg is not None:
            self._promote()
        if msg is None or msg.id not in self.messages or msg.state != "in_flight":
            raise sqs_error("AWS.SimpleQueueService.MessageNotInflight", "Message does not exist or is not "
                            "available for visibility timeout change.", operation=op)
        self._place(msg, self.service.lab.now + seconds, "in_flight")

    def purge(self) -> int:
        for msg in list(self.messages.values()):
            self._remove(msg)
        self._ready.clear()
        self._waiting.clear()
        self._order.clear()
        self.last_purge = self.service.lab.now
        return 0

    def counts(self) -> tuple[int, int, int]:
        """(visible, in flight, delayed) right now."""
        self._promote()
        return self.visible, self.in_flight, self.delayed

    def __len__(self) -> int:
        return len(self.messages)

    def statistics(self) -> "QueueStatistics":
        return QueueStatistics(self.name, *self.counts(), self.sent_total, self.deleted_total, self.redriven_total)

    def __repr__(self) -> str:
        visible, in_flight, delayed = self.counts()
        return f"<Queue {self.name} visible={visible} in_flight={in_flight} delayed={delayed}>"


class SQSService:
    """All queues of the lab's region. The SQS client is a thin boto3-shaped layer over this."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.queues: dict[str, Queue] = {}       # by name, client-visible queues only
        self._by_arn: dict[str, Queue] = {}      # every queue, internal ones included
        self.seq = 0

    def create(self, name: str, attributes: dict | None = None, internal: bool = False) -> Queue:
        queue = Queue(self, name, attributes or {}, internal)
        if not internal:
            self.queues[name] = queue
        self._by_arn[queue.arn] = queue
        return queue

    def remove(self, queue: Queue) -> None:
        self.queues.pop(queue.name, None)
        self._by_arn.pop(queue.arn, None)

    def queue_by_arn(self, arn: str) -> Queue | None:
        return self._by_arn.get(arn)

    def queue_by_name(self, name: str) -> Queue | None:
        return self.queues.get(name)

    def queue_by_url(self, url) -> Queue | None:
        if not isinstance(url, str):
            return None
        queue = self.queues.get(url.rstrip("/").rsplit("/", 1)[-1])
        return queue if queue is not None and queue.url == url.rstrip("/") else None

    def statistics(self) -> dict[str, "QueueStatistics"]:
        """Each queue's record, by name."""
        return {name: q.statistics() for name, q in self.queues.items()}


@dataclass(frozen=True)
class QueueStatistics(Statistics):
    name: str
    visible: int            # messages a receive can get now
    in_flight: int          # ... received and not yet deleted or visible again
    delayed: int            # ... not yet visible (DelaySeconds)
    sent: int               # totals since the queue was made
    deleted: int
    redriven: int           # ... moved to the dead-letter queue
