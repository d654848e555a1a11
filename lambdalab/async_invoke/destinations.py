"""Where an asynchronous event goes when it is over: destinations and the dead-letter queue.

A destination receives an *invocation record*: a JSON document with the request (its id, the qualified function
ARN, the condition that ended it and how many times it ran), the original payload, and the last response. On
success it goes to ``OnSuccess``, on final failure to ``OnFailure``. The older dead-letter queue
(``DeadLetterConfig.TargetArn``) receives only the original event body, with three message attributes that say
why: ``ErrorCode``, ``ErrorMessage`` and ``RequestID``.

We deliver for real to SQS queues of the lab (the message body is the record), SNS topics of the lab (a
published message) and Lambda functions (an asynchronous invoke with the record as payload); each carries the
event's trace header on, so a loop through destinations is one request chain that Lambda's recursion
detection stops (``control_plane.recursion``). EventBridge buses, S3 buckets and SNS topics the lab does not
have: a record for one of them is kept in ``lab.async_invoke.outbox[arn]`` and counts as delivered. A missing
queue or function counts as a failed delivery (metric ``DestinationDeliveryFailures``, or ``DeadLetterErrors``
for the DLQ), as it does in AWS when the target is gone or not allowed.
"""
from __future__ import annotations

import json

from ..control_plane.errors import error_code

__all__ = ["invocation_record", "Delivery"]


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

    def send(self, arn: str, body: str, event, kind: str, attributes: dict | None = None) -> bool:
        """Deliver ``body`` to ``arn`` (an SQS queue, a Lambda function, or an outbox-only service)."""
        lab = self.lab
        service = arn.split(":")[2]
        ok, where = False, arn
        if service == "sqs":
            queue = lab.sqs.queue_by_arn(arn)
            if queue is not None and not queue.internal and not queue.fifo:
                queue.send(body, attributes, trace_header=event.trace_id)
                ok, where = True, f"SQS queue {queue.name}"
        elif service == "lambda":
            if kind == "dead-letter queue":
                ok = False                  # a DLQ must be a queue or a topic
            else:
                inv = lab.frontend.submit({"FunctionName": arn, "InvocationType": "Event", "Payload": body},
                                          source="destination", trace_header=event.trace_id)
                ok = inv.error is None
                where = f"function {arn.split(':')[6]}" if ok else f"the invoke was refused ({error_code(inv.error)})"
        elif service == "sns" and lab.sns.topic(arn) is not None:
            lab.sns.notify(arn, body, None, event.trace_id)
            ok, where = True, f"SNS topic {arn.rsplit(':', 1)[-1]}"
        else:
            self.outbox.setdefault(arn, []).append({"body": body, "attributes": attributes or {}})
            ok, where = True, arn
        if lab.trace.full:
            if ok:
                lab.trace.emit("destination", "deliver", "Deliver the {} record of {} to {}", kind,
                               event.request_id[:8], where, request_id=event.request_id, function=event.function_name,
                               arn=arn, kind=kind)
            else:
                why = where if where != arn else "it does not exist in this lab or cannot take this record"
                lab.trace.emit("destination", "fail", "Could not deliver to {}: {}", arn, why,
                               request_id=event.request_id, function=event.function_name, arn=arn, kind=kind)
        return ok

    def dead_letter(self, arn: str, event, error_message: str) -> bool:
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": event.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error_message[:1024] or "Unknown"},
        }
        body = event.payload.decode("utf-8", "replace") if event.payload else "{}"
        return self.send(arn, body, event, "dead-letter queue", attributes)
