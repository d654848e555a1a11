"""How SNS hands one copy of a message to one subscription: a Lambda invoke or an SQS message.

A ``lambda`` subscription gets an asynchronous invoke with the SNS event (REFERENCE §11), allowed only when the
function's resource policy lets ``sns.amazonaws.com`` invoke it for this topic. An ``sqs`` subscription gets the
notification as a JSON envelope (``SigningCertURL``/``UnsubscribeURL``, where the Lambda event says
``SigningCertUrl``/``UnsubscribeUrl``), or the bare message and its attributes with ``RawMessageDelivery``. A
copy that cannot be delivered goes to the subscription's dead-letter queue (its ``RedrivePolicy``) or is
recorded in ``lab.sns.undelivered``: it is never silently lost.
"""
from __future__ import annotations

import json

__all__ = ["deliver", "lambda_event", "sqs_envelope"]

CERT_URL = "https://sns.{region}.amazonaws.com/SimpleNotificationService-lambdalab.pem"
UNSUBSCRIBE_URL = "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={arn}"


def lambda_event(lab, sub: dict, notification: dict) -> dict:
    sns = dict(notification)
    sns["SigningCertUrl"] = CERT_URL.format(region=lab.region)
    sns["UnsubscribeUrl"] = UNSUBSCRIBE_URL.format(region=lab.region, arn=sub["SubscriptionArn"])
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": sub["SubscriptionArn"], "Sns": sns}]}


def sqs_envelope(lab, sub: dict, notification: dict) -> str:
    envelope = {k: v for k, v in notification.items() if k != "MessageAttributes" and (k != "Subject" or v)}
    envelope["SigningCertURL"] = CERT_URL.format(region=lab.region)
    envelope["UnsubscribeURL"] = UNSUBSCRIBE_URL.format(region=lab.region, arn=sub["SubscriptionArn"])
    if notification["MessageAttributes"]:
        envelope["MessageAttributes"] = notification["MessageAttributes"]
    return json.dumps(envelope)


def deliver(sns, topic, sub: dict, notification: dict, attributes: dict, header) -> None:
    lab = sns.lab
    if sub["SubscriptionArn"] not in topic.subscriptions or sns.topic(topic.arn) is not topic:
        return                    # unsubscribed (or the topic deleted) before this copy left
    endpoint = sub["Endpoint"]
    if sub["Protocol"] == "lambda":
        problem = _invoke(sns, topic, sub, notification, header)
    else:
        problem = _enqueue(sns, topic, sub, notification, attributes, header)
    if problem is None:
        sns.delivered += 1
        lab.counters.put(f"sns:{topic.name}", "NumberOfNotificationsDelivered", 1)
        return
    lab.counters.put(f"sns:{topic.name}", "NumberOfNotificationsFailed", 1)
    dlq = json.loads(sub["attributes"].get("RedrivePolicy") or "{}").get("deadLetterTargetArn")
    queue = lab.sqs.queue_by_arn(dlq) if dlq and getattr(lab, "sqs", None) else None
    if queue is not None:
        queue.send(sqs_envelope(lab, sub, notification), trace_header=header)
        where = f"its dead-letter queue {queue.name}"
    else:
        sns.undelivered.append({"t": lab.now, "topic": topic.arn, "subscription": sub["SubscriptionArn"],
                                "endpoint": endpoint, "message_id": notification["MessageId"], "reason": problem})
        where = "lab.sns.undelivered (no dead-letter queue)"
    if lab.trace.full:
        lab.trace.emit("sns", "undeliverable", "Cannot deliver to {}: {}; the copy goes to {}", endpoint, problem,
                       where, topic=topic.name, endpoint=endpoint, reason=problem)


def _invoke(sns, topic, sub: dict, notification: dict, header) -> str | None:
    lab = sns.lab
    arn = sub["Endpoint"]
    try:
        fn, qualifier, _ = lab.control_plane.resolve(arn, None)
    except Exception:  # noqa: BLE001 - any refusal means the endpoint cannot be invoked
        return "the function does not exist"
    if not lab.policies.allows(fn, qualifier, "sns.amazonaws.com", source_arn=topic.arn,
                               source_account=lab.account_id):
        return "the function's resource policy does not allow sns.amazonaws.com (AccessDeniedException)"
    step = None
    if lab.trace.full:
        step = len(lab.trace)
        lab.trace.emit("sns", "deliver", "Deliver a copy of {} to {} (asynchronous invoke)",
                       notification['MessageId'][:8], fn.name, topic=topic.name, function=fn.name,
                       target="frontend")
    payload = json.dumps(lambda_event(lab, sub, notification))
    inv = lab.frontend.submit({"FunctionName": arn, "InvocationType": "Event", "Payload": payload}, source="sns",
                              trace_header=header)
    if step is not None:
        lab.trace.attach_request_id(step, inv.request_id)
    if inv.error is not None:
        return f"the invoke was refused ({inv.error.response['Error']['Code']})"
    return None


def _enqueue(sns, topic, sub: dict, notification: dict, attributes: dict, header) -> str | None:
    lab = sns.lab
    queue = lab.sqs.queue_by_arn(sub["Endpoint"]) if getattr(lab, "sqs", None) else None
    if queue is None:
        return "the queue does not exist"
    if sub["attributes"].get("RawMessageDelivery") == "true":
        body, message_attributes = notification["Message"], attributes
    else:
        body, message_attributes = sqs_envelope(lab, sub, notification), None
    if lab.trace.full:
        lab.trace.emit("sns", "deliver", "Deliver a copy of {} to SQS queue {}", notification['MessageId'][:8],
                       queue.name, topic=topic.name, queue=queue.name)
    queue.send(body, message_attributes, trace_header=header)
    return None
