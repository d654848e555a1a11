"""The SQS API over ``lab.sqs``: the backend that answers ``lab.client("sqs")`` and ``lab.serve()``.

One method per SQS operation, named as boto3 names it, taking SQS's parameters. Each checks what SQS checks
(ranges, names, batch sizes, attribute values) before it changes anything, then calls the queue's internal API
(``lambdalab.event_sources.sqs``). botocore has already checked types and required parameters. Errors carry
SQS's codes (``AWS.SimpleQueueService.NonExistentQueue``, ``ReceiptHandleIsInvalid``, ``InvalidParameterValue``
...), which the caller's botocore raises as boto3's modelled classes (``sqs.exceptions.QueueDoesNotExist``...).
A batch call answers each entry on its own: what fails is listed under ``Failed`` with its code, the rest is
done. Lambda's internal async queue is not reachable from here.
"""
from __future__ import annotations

import json

from ..control_plane import errors
from ..control_plane.errors import error_code, error_message
from .sqs import (NUMERIC, PURGE_INTERVAL, QUEUE_NAME, READ_ONLY, SETTABLE, SYSTEM_ATTRIBUTES, SQSService, invalid,
                  no_such_queue, sqs_error)

__all__ = ["SQSAPI", "attach"]

MAX_BATCH = 10


def _check_number(attribute: str, value, operation: str) -> int:
    _, low, high = NUMERIC[attribute]
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or str(value).strip() != str(number) or not low <= number <= high:
        raise sqs_error("InvalidAttributeValue", f"Invalid value for the parameter {attribute}.",
                        operation=operation)
    return number


class SQSAPI:
    """The SQS operations of one Lab (registered as the ``sqs`` backend)."""

    def __init__(self, lab) -> None:
        self._lab = lab
        self._sqs = lab.sqs

    # --- helpers --------------------------------------------------------------------------------------------
    def _queue(self, url, operation: str):
        queue = self._sqs.queue_by_url(url)
        if queue is None:
            raise no_such_queue(operation)
        return queue

    def _attributes(self, attributes: dict, operation: str, fifo_name: bool | None = None) -> dict:
        """Validate settable queue attributes; return them as SQS stores them (strings)."""
        out = {}
        for key, value in (attributes or {}).items():
            if key not in SETTABLE:
                raise sqs_error("InvalidAttributeName", f"Unknown Attribute {key}.", operation=operation)
            if key in NUMERIC:
                out[key] = str(_check_number(key, value, operation))
            elif key == "RedrivePolicy":
                out[key] = self._redrive_policy(value, operation)
            else:
                out[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if fifo_name is not None and out.get("FifoQueue", "false") == "true" and not fifo_name:
            raise invalid("The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                          "underscores, must end with .fifo suffix and be 1 to 80 in length.", operation)
        return out

    def _redrive_policy(self, value, operation: str) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        if text == "":
            return ""
        reason = None
        try:
            policy = json.loads(text)
            count = int(policy["maxReceiveCount"])
            target = policy["deadLetterTargetArn"]
        except (ValueError, KeyError, TypeError):
            reason = "Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount."
        else:
            if not 1 <= count <= 1000:
                reason = "Invalid value for maxReceiveCount: {}, valid values are from 1 to 1000 both " \
                         "inclusive.".format(count)
            elif self._sqs.queue_by_arn(target) is None or self._sqs.queue_by_arn(target).internal:
                reason = "Dead letter target does not exist."
        if reason:
            raise invalid(f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}", operation)
        return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count}, separators=(",", ":"))

    def _message_attributes(self, attributes, operation: str) -> dict:
        attributes = attributes or {}
        if len(attributes) > 10:
            raise invalid(f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].",
                          operation)
        for name, value in attributes.items():
            data_type = (value or {}).get("DataType", "")
            base = data_type.split(".", 1)[0]
            if base not in ("String", "Number", "Binary"):
                raise invalid(f"The type of message (user) attribute '{name}' is invalid. You must use only the "
                              "following supported type prefixes: Binary, Number, String.", operation)
            key = "BinaryValue" if base == "Binary" else "StringValue"
            if key not in value:
                raise invalid(f"The message (user) attribute '{name}' must contain a non-empty value of message "
                              f"attribute type '{base}'.", operation)
        return {name: dict(value) for name, value in attributes.items()}

    def _check_send(self, queue, body, delay, attributes, group_id, dedup_id, operation: str):
        if not isinstance(body, str) or body == "":
            raise sqs_error("MissingParameter", "The request must contain the parameter MessageBody.",
                            operation=operation)
        attributes = self._message_attributes(attributes, operation)
        size = len(body.encode("utf-8")) + sum(len(k) + len(json.dumps(v)) for k, v in attributes.items())
        limit = queue.number("MaximumMessageSize")
        if size > limit:
            raise invalid(f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
                          operation)
        if delay is not None:
            if queue.fifo:
                raise invalid(f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include "
                              "parameter that is not valid for this queue type.", operation)
            if not isinstance(delay, int) or not 0 <= delay <= 900:
                raise invalid(f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
                              ">= 0 and <= 900.", operation)
        if queue.fifo:
            if not group_id:
                raise sqs_error("MissingParameter", "The request must contain the parameter MessageGroupId.",
                                operation=operation)
            if not dedup_id and queue.attributes.get("ContentBasedDeduplication") != "true":
                raise invalid("The queue should either have ContentBasedDeduplication enabled or "
                              "MessageDeduplicationId provided explicitly", operation)
        elif group_id is not None:
            raise invalid("Value for parameter MessageGroupId is invalid. Reason: The request include parameter "
                          "that is not valid for this queue type.", operation)
        return attributes

    @staticmethod
    def _sent(msg) -> dict:
        out = {"MD5OfMessageBody": msg.md5, "MessageId": msg.id}
        if msg.md5_attributes:
            out["MD5OfMessageAttributes"] = msg.md5_attributes
        if msg.group_id is not None:
            out["SequenceNumber"] = f"{msg.seq:020d}"
        return out

    @staticmethod
    def _check_batch(entries, operation: str, entry_name: str) -> None:
        if not entries:
            raise sqs_error("AWS.SimpleQueueService.EmptyBatchRequest", f"There should be at least one "
                            f"{entry_name} in the request.", operation=operation)
        if len(entries) > MAX_BATCH:
            raise sqs_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per "
                            f"request are {MAX_BATCH}. You have sent {len(entries)}.",
                            operation=operation)
        seen = set()
        for entry in entries:
            if entry["Id"] in seen:
                raise sqs_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", f"Id {entry['Id']} repeated.",
                                operation=operation)
            seen.add(entry["Id"])

    # --- queues ---------------------------------------------------------------------------------------------
    def create_queue(self, *, QueueName, Attributes=None, tags=None) -> dict:
        op = "CreateQueue"
        fifo = QueueName.endswith(".fifo") if isinstance(QueueName, str) else False
        base = QueueName[:-5] if fifo else QueueName
        if not isinstance(QueueName, str) or not QUEUE_NAME.match(base) or len(QueueName) > 80:
            raise invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
                          op)
        attributes = self._attributes(Attributes, op, fifo_name=fifo)
        if fifo and attributes.get("FifoQueue") != "true":
            raise invalid("The name of a FIFO queue must be created with the FifoQueue attribute set to true.", op)
        existing = self._sqs.queue_by_name(QueueName)
        if existing is not None:
            different = sorted(k for k, v in attributes.items() if existing.attributes.get(k) != v)
            if different:
                raise sqs_error("QueueAlreadyExists", "A queue already exists with the same name and a different "
                                f"value for attribute {', '.join(different)}", operation=op)
            return {"QueueUrl": existing.url}
        return {"QueueUrl": self._sqs.create(QueueName, attributes).url}

    def get_queue_url(self, *, QueueName, QueueOwnerAWSAccountId=None) -> dict:
        queue = self._sqs.queue_by_name(QueueName)
        if queue is None or (QueueOwnerAWSAccountId not in (None, self._lab.account_id)):
            raise no_such_queue("GetQueueUrl")
        return {"QueueUrl": queue.url}

    def list_queues(self, *, QueueNamePrefix="", MaxResults=None, NextToken=None) -> dict:
        urls = [q.url for name, q in sorted(self._sqs.queues.items()) if name.startswith(QueueNamePrefix)]
        start = int(NextToken) if NextToken else 0
        end = len(urls) if MaxResults is None else start + MaxResults
        out = {"QueueUrls": urls[start:end]} if urls[start:end] else {}
        if MaxResults is not None and end < len(urls):
            out["NextToken"] = str(end)
        return out

    def delete_queue(self, *, QueueUrl) -> dict:
        self._sqs.remove(self._queue(QueueUrl, "DeleteQueue"))
        return {}

    def get_queue_attributes(self, *, QueueUrl, AttributeNames=None) -> dict:
        op = "GetQueueAttributes"
        queue = self._queue(QueueUrl, op)
        names = list(AttributeNames or [])
        for name in names:
            if name != "All" and name not in SETTABLE and name not in READ_ONLY:
                raise sqs_error("InvalidAttributeName", f"Unknown Attribute {name}.", operation=op)
        visible, in_flight, delayed = queue.counts()
        epoch = self._lab.epoch
        every = {"QueueArn": queue.arn, "ApproximateNumberOfMessages": str(visible),
                 "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                 "ApproximateNumberOfMessagesDelayed": str(delayed),
                 "CreatedTimestamp": str(int(epoch + queue.created)),
                 "LastModifiedTimestamp": str(int(epoch + queue.modified)),
                 "SqsManagedSseEnabled": "true"}
        every.update({k: v for k, v in queue.attributes.items() if v != ""})
        if "All" in names:
            return {"Attributes": every}
        picked = {name: every[name] for name in names if name in every}
        return {"Attributes": picked} if picked else {}

    def set_queue_attributes(self, *, QueueUrl, Attributes) -> dict:
        op = "SetQueueAttributes"
        queue = self._queue(QueueUrl, op)
        attributes = self._attributes(Attributes, op)
        if "FifoQueue" in attributes:
            raise sqs_error("InvalidAttributeName", "Unknown Attribute FifoQueue.", operation=op)
        queue.attributes.update(attributes)
        queue.modified = self._lab.now
        return {}

    def purge_queue(self, *, QueueUrl) -> dict:
        queue = self._queue(QueueUrl, "PurgeQueue")
        if queue.last_purge is not None and self._lab.now - queue.last_purge < PURGE_INTERVAL:
            raise sqs_error("AWS.SimpleQueueService.PurgeQueueInProgress", f"Only one PurgeQueue operation on "
                            f"{queue.name} is allowed every 60 seconds.",
                            operation="PurgeQueue")
        queue.purge()
        return {}

    # --- messages -------------------------------------------------------------------------------------------
    def send_message(self, *, QueueUrl, MessageBody, DelaySeconds=None, MessageAttributes=None,
                     MessageSystemAttributes=None, MessageDeduplicationId=None, MessageGroupId=None) -> dict:
        op = "SendMessage"
        queue = self._queue(QueueUrl, op)
        attributes = self._check_send(queue, MessageBody, DelaySeconds, MessageAttributes, MessageGroupId,
                                      MessageDeduplicationId, op)
        msg = queue.send(MessageBody, attributes, DelaySeconds, group_id=MessageGroupId,
                         dedup_id=MessageDeduplicationId, trace_header=self._trace_header(MessageSystemAttributes))
        return self._sent(msg)

    def _trace_header(self, system_attributes) -> str | None:
        """AWSTraceHeader: the one given, else the X-Ray header the request carried (control_plane.recursion)."""
        given = (system_attributes or {}).get("AWSTraceHeader") or {}
        return given.get("StringValue") or self._lab.calls.header

    def send_message_batch(self, *, QueueUrl, Entries) -> dict:
        op = "SendMessageBatch"
        queue = self._queue(QueueUrl, op)
        self._check_batch(Entries, op, "SendMessageBatchRequestEntry")
        successful, failed = [], []
        for entry in Entries:
            try:
                attributes = self._check_send(queue, entry.get("MessageBody"), entry.get("DelaySeconds"),
                                              entry.get("MessageAttributes"), entry.get("MessageGroupId"),
                                              entry.get("MessageDeduplicationId"), op)
            except errors.ClientError as error:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": error_code(error),
                               "Message": error_message(error)})
                continue
            msg = queue.send(entry["MessageBody"], attributes, entry.get("DelaySeconds"),
                             group_id=entry.get("MessageGroupId"), dedup_id=entry.get("MessageDeduplicationId"),
                             trace_header=self._trace_header(entry.get("MessageSystemAttributes")))
            successful.append({"Id": entry["Id"], **self._sent(msg)})
        out = {"Successful": successful}
        if failed:
            out["Failed"] = failed
        return out

    def receive_message(self, *, QueueUrl, AttributeNames=None, MessageSystemAttributeNames=None,
                        MessageAttributeNames=None, MaxNumberOfMessages=1, VisibilityTimeout=None,
                        WaitTimeSeconds=None, ReceiveRequestAttemptId=None) -> dict:
        op = "ReceiveMessage"
        queue = self._queue(QueueUrl, op)
        if not isinstance(MaxNumberOfMessages, int) or not 1 <= MaxNumberOfMessages <= 10:
            raise invalid(f"Value {MaxNumberOfMessages} for parameter MaxNumberOfMessages is invalid. Reason: Must "
                          "be between 1 and 10, if provided.", op)
        if VisibilityTimeout is not None and (not isinstance(VisibilityTimeout, int)
                                              or not 0 <= VisibilityTimeout <= 43_200):
            raise invalid(f"Value {VisibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
                          ">= 0 and <= 43200, if provided.", op)
        if WaitTimeSeconds is not None and (not isinstance(WaitTimeSeconds, int) or not 0 <= WaitTimeSeconds <= 20):
            raise invalid(f"Value {WaitTimeSeconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
                          "and <= 20, if provided.", op)
        wanted = set(AttributeNames or []) | set(MessageSystemAttributeNames or [])
        names = list(MessageAttributeNames or [])
        messages = []
        for msg in queue.receive(MaxNumberOfMessages, VisibilityTimeout):
            item = {"MessageId": msg.id, "ReceiptHandle": msg.receipt, "MD5OfBody": msg.md5, "Body": msg.body}
            if wanted:
                system = msg.system_attributes(self._lab.epoch)
                keep = SYSTEM_ATTRIBUTES if "All" in wanted else wanted
                picked = {k: v for k, v in system.items() if k in keep}
                if picked:
                    item["Attributes"] = picked
            if names and msg.attributes:
                picked = {k: v for k, v in msg.attributes.items()
                          if "All" in names or ".*" in names or k in names
                          or any(n.endswith(".*") and k.startswith(n[:-2]) for n in names)}
                if picked:
                    item["MD5OfMessageAttributes"] = msg.md5_attributes
                    item["MessageAttributes"] = picked
            messages.append(item)
        return {"Messages": messages} if messages else {}

    def delete_message(self, *, QueueUrl, ReceiptHandle) -> dict:
        self._queue(QueueUrl, "DeleteMessage").delete(ReceiptHandle)
        return {}

    def delete_message_batch(self, *, QueueUrl, Entries) -> dict:
        op = "DeleteMessageBatch"
        queue = self._queue(QueueUrl, op)
        self._check_batch(Entries, op, "DeleteMessageBatchRequestEntry")
        successful, failed = [], []
        for entry in Entries:
            try:
                queue.delete(entry.get("ReceiptHandle"))
            except errors.ClientError as error:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": error_code(error),
                               "Message": error_message(error)})
                continue
            successful.append({"Id": entry["Id"]})
        out = {"Successful": successful}
        if failed:
            out["Failed"] = failed
        return out

    def change_message_visibility(self, *, QueueUrl, ReceiptHandle, VisibilityTimeout) -> dict:
        op = "ChangeMessageVisibility"
        queue = self._queue(QueueUrl, op)
        if not isinstance(VisibilityTimeout, int) or not 0 <= VisibilityTimeout <= 43_200:
            raise invalid(f"Value {VisibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
                          ">= 0 and <= 43200, if provided.", op)
        queue.change_visibility(ReceiptHandle, VisibilityTimeout)
        return {}


def attach(lab) -> None:
    """Give the lab its SQS service (once) and the ``sqs`` API backend."""
    if getattr(lab, "sqs", None) is None:
        lab.sqs = SQSService(lab)
        lab.register_backend("sqs", SQSAPI(lab))
