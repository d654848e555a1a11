"""Where an asynchronous event goes when it is over: destinations and the dead-letter queue.

A destination receives an *invocation record*: a JSON document with the request (its id, the qualified function
ARN, the condition that ended it and how many times it ran), the original payload, and the last response. On
success it goes to ``OnSuccess``, on final failure to ``OnFailure``. The older dead-letter queue
(``DeadLetterConfig.TargetArn``) receives only the original event body, with three message attributes that say
why: ``ErrorCode``, ``ErrorMessage`` and ``RequestID``.

We deliver for real to SQS queues of the lab (the message body is the record) and to Lambda functions (an
asynchronous invoke with the record as payload). SNS topics, EventBridge buses and S3 buckets do not exist in
the lab: a record for one of them is kept in ``lab.async_invoke.outbox[arn]`` and counts as delivered. A
missing queue or function counts as a failed delivery (metric ``DestinationDeliveryFailures``, or
``DeadLetterErrors`` for the DLQ), as it does in AWS when the target is gone or not allowed.

Lambda stops recursive loops (a function whose records invoke, directly or through others, the same chain
again) after about 16 hops. We count the hops of function destinations only: an event created by a
destination carries its source's count plus one, and at ``LOOP_LIMIT`` the record is not sent.
"""
from __future__ import annotations

import json

from ..control_plane.errors import error_code

__all__ = ["invocation_record", "Delivery", "LOOP_LIMIT"]

LOOP_LIMIT = 16


def _json_or_text(data: bytes | str | None):
    if data in (None, b"", ""):
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def invocation_record(lab, event, condition: str) -> dict:
    """The destination record of REFERENCE.md §6 for ``event`` ending with ``condition``."""
    record = {
        "version": "1.0",
        "timestamp": lab.iso_time(lab.now),
        "requestContext": {"requestId": event.request_id, "functionArn": event.function_arn,
                           "condition": condition, "approximateInvokeCount": event.invoke_count},
        "requestPayload": _json_or_text(event.payload) if event.payload else {},
    }
    if event.invoke_count:
        # only an event that ran has a response to report
        context = {"statusCode": 200, "executedVersion": event.executed_version}
        if condition != "Success":
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(event.response)
    return record


class Delivery:
    """Sends records and dead letters; each method returns True when the target took it."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.outbox: dict[str, list] = {}
        self.chain = 0           # handed to the event the next destination invoke creates (see accept)

    def send(self, arn: str, body: str, event, kind: str, attributes: dict | None = None) -> bool:
        """Deliver ``body`` to ``arn`` (an SQS queue, a Lambda function, or an outbox-only service)."""
        lab = self.lab
        service = arn.split(":")[2]
        ok, where = False, arn
        if service == "sqs":
            queue = lab.sqs.queue_by_arn(arn)
            if queue is not None and not queue.internal and not queue.fifo:
                queue.send(body, attributes)
                ok, where = True, f"SQS queue {queue.name}"
        elif service == "lambda":
            if kind == "dead-letter queue":
                ok = False                  # a DLQ must be a queue or a topic
            elif event.chain + 1 >= LOOP_LIMIT:
                ok, where = False, "a recursive loop: Lambda stopped it"
            else:
                self.chain = event.chain + 1
                inv = lab.frontend.submit({"FunctionName": arn, "InvocationType": "Event", "Payload": body},
                                          source="destination")
                self.chain = 0
                ok = inv.error is None
                where = f"function {arn.split(':')[6]}" if ok else f"the invoke was refused ({error_code(inv.error)})"
        else:
            self.outbox.setdefault(arn, []).append({"body": body, "attributes": attributes or {}})
            ok, where = True, arn
        if lab.trace.full:
            if ok:
                lab.trace.emit("destination", "deliver", f"Deliver the {kind} record of {event.request_id[:8]} to "
                               f"{where}", request_id=event.request_id, function=event.function_name, arn=arn,
                               kind=kind)
            else:
                why = where if where != arn else "it does not exist in this lab or cannot take this record"
                lab.trace.emit("destination", "fail", f"Could not deliver to {arn}: {why}", request_id=event.request_id,
                               function=event.function_name, arn=arn, kind=kind)
        return ok

    def dead_letter(self, arn: str, event, error_message: str) -> bool:
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": event.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error_message[:1024] or "Unknown"},
        }
        body = event.payload.decode("utf-8", "replace") if event.payload else "{}"
        return self.send(arn, body, event, "dead-letter queue", attributes)
