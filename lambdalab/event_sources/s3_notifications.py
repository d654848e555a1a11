"""S3 bucket notification configurations: what S3 checks when one is written, and how an event is sent.

A configuration lists destinations (``LambdaFunctionConfigurations``, ``QueueConfigurations``,
``TopicConfigurations``), each with the event types it wants (``s3:ObjectCreated:*``, ``s3:ObjectRemoved:Delete``
...) and an optional key filter (at most one ``prefix`` and one ``suffix`` rule). S3 refuses, with
``InvalidArgument`` and before storing anything: an unknown event type, a bad filter rule, two configurations
that could both fire for the same object and event type ("overlap"), and a destination it cannot use (a
function that does not exist or whose resource policy does not allow ``s3.amazonaws.com``, a queue or topic that
does not exist), unless ``SkipDestinationValidation`` is set. Writing a configuration with a queue or topic
sends it an ``s3:TestEvent``.
"""
from __future__ import annotations

import base64
import json

from ..control_plane.errors import aws_error

__all__ = ["validate", "matching", "deliver", "EVENTS"]

KINDS = {"LambdaFunctionConfigurations": "LambdaFunctionArn", "QueueConfigurations": "QueueArn",
         "TopicConfigurations": "TopicArn"}
EVENTS = ("s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
          "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
          "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*", "s3:ObjectRestore:Post",
          "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete", "s3:ReducedRedundancyLostObject",
          "s3:Replication:*", "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
          "s3:LifecycleExpiration:DeleteMarkerCreated", "s3:LifecycleTransition", "s3:IntelligentTiering",
          "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put")


def _invalid(message: str, op: str, **arguments):
    return aws_error("InvalidArgument", message, 400, operation=op, service="s3", **arguments)


def _rules(config: dict, op: str) -> tuple[str, str]:
    """(prefix, suffix) of a configuration's key filter ('' when absent)."""
    rules = ((config.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    found: dict[str, str] = {}
    for rule in rules:
        name = str(rule.get("Name", "")).lower()
        value = rule.get("Value", "")
        if name not in ("prefix", "suffix"):
            raise _invalid("filter rule name must be either prefix or suffix", op, ArgumentName="FilterRule.Name",
                           ArgumentValue=str(rule.get("Name")))
        if name in found:
            raise _invalid(f"Cannot specify more than one {name} rule in a filter.", op,
                           ArgumentName="FilterRule.Name", ArgumentValue=name)
        if not isinstance(value, str) or len(value.encode()) > 1024:
            raise _invalid("filter rule value is too long or not a string", op, ArgumentName="FilterRule.Value",
                           ArgumentValue=str(value)[:64])
        found[name] = value
    return found.get("prefix", ""), found.get("suffix", "")


def _event_types(pattern: str) -> str:
    """'s3:ObjectCreated:*' -> 'ObjectCreated:' (a prefix of the record's eventName)."""
    body = pattern[3:]
    return body[:-1] if body.endswith("*") else body


def _overlap(a: dict, b: dict) -> bool:
    if not any(x.startswith(y) or y.startswith(x) for x in map(_event_types, a["Events"])
               for y in map(_event_types, b["Events"])):
        return False
    (pa, sa), (pb, sb) = a["_rules"], b["_rules"]
    return (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))


def validate(lab, bucket, configuration, skip_destinations: bool, op: str) -> dict:
    """The configuration S3 stores (ids filled in), or raise AWS's error; nothing is stored on a refusal."""
    if not isinstance(configuration, dict):
        raise aws_error("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                        "published schema", 400, operation=op, service="s3")
    stored: dict = {}
    seen: list[dict] = []
    for kind, arn_key in KINDS.items():
        for config in configuration.get(kind) or []:
            events = config.get("Events") or []
            if not events:
                raise _invalid("Event list must not be empty", op, ArgumentName="Event", ArgumentValue="")
            for event in events:
                if event not in EVENTS:
                    raise _invalid("The event is not supported for notifications", op, ArgumentName="Event",
                                   ArgumentValue=str(event))
            item = {"Id": config.get("Id") or base64.b64encode(lab.ids.uuid().encode()).decode()[:48],
                    arn_key: config.get(arn_key), "Events": list(events)}
            if config.get("Filter"):
                item["Filter"] = json.loads(json.dumps(config["Filter"]))
            check = dict(item, _rules=_rules(config, op))
            if any(_overlap(check, other) for other in seen):
                raise _invalid("Configurations overlap. Configurations on the same bucket cannot share a common "
                               "event type.", op, ArgumentName="Event", ArgumentValue=events[0])
            seen.append(check)
            stored.setdefault(kind, []).append(item)
    if not skip_destinations:
        failures = [(arn, why) for kind, arn, why in (
            (kind, item[KINDS[kind]], _unusable(lab, bucket, kind, item[KINDS[kind]]))
            for kind in stored for item in stored[kind]) if why]
        if failures:
            details = {}
            for n, (arn, why) in enumerate(failures, 1):
                details[f"ArgumentName{n}"] = arn
                details[f"ArgumentValue{n}"] = why
            raise _invalid("Unable to validate the following destination configurations", op, **details)
    for kind in ("QueueConfigurations", "TopicConfigurations"):
        for item in stored.get(kind, []):
            _test_event(lab, bucket, kind, item[KINDS[kind]])
    return stored


def _unusable(lab, bucket, kind: str, arn) -> str | None:
    """Why S3 cannot use this destination, or None."""
    if kind == "LambdaFunctionConfigurations":
        return None if _invocable(lab, bucket, arn) is not None else f"Not authorized to invoke function [{arn}]"
    if kind == "QueueConfigurations":
        sqs = getattr(lab, "sqs", None)
        return None if sqs is not None and sqs.queue_by_arn(arn) is not None else \
            f"The destination queue does not exist [{arn}]"
    return None if lab.sns.topic(arn) is not None else f"The destination topic does not exist [{arn}]"


def _invocable(lab, bucket, arn):
    """The function a LambdaFunctionArn names if it exists and its policy lets S3 invoke it for ``bucket``."""
    if not isinstance(arn, str):
        return None
    try:
        fn, qualifier, _ = lab.control_plane.resolve(arn, None)
    except Exception:  # noqa: BLE001 - any refusal (bad ARN, no such function) means "cannot use it"
        return None
    allowed = fn is not None and lab.policies.allows(fn, qualifier, "s3.amazonaws.com", source_arn=bucket.arn,
                                                     source_account=lab.account_id)
    return fn if allowed else None


def _test_event(lab, bucket, kind: str, arn: str) -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": lab.iso_time(lab.now),
                       "Bucket": bucket.name, "RequestId": lab.ids.hex(16).upper(),
                       "HostId": base64.b64encode(lab.ids.hex(32).encode()).decode()})
    if kind == "QueueConfigurations":
        queue = lab.sqs.queue_by_arn(arn)
        if queue is not None:
            queue.send(body)
    else:
        lab.sns.notify(arn, body, "Amazon S3 Notification", None)


def matching(stored: dict, event_name: str, key: str) -> list[tuple[str, dict]]:
    """The configurations an event (eventName without 's3:', e.g. 'ObjectCreated:Put') on ``key`` fires."""
    out = []
    for kind in KINDS:
        for item in stored.get(kind, []):
            if not any(event_name.startswith(_event_types(e)) for e in item["Events"]):
                continue
            prefix, suffix = _rules(item, "")
            if key.startswith(prefix) and key.endswith(suffix):
                out.append((kind, item))
    return out


def deliver(s3, bucket, kind: str, config: dict, record: dict, header: str | None) -> None:
    """Send one event record to one destination (an engine event, just after the object changed)."""
    lab = s3.lab
    record = json.loads(json.dumps(record))
    record["s3"]["configurationId"] = config["Id"]
    body = json.dumps({"Records": [record]})
    arn = config[KINDS[kind]]
    key = record["s3"]["object"]["key"]
    what = f"{record['eventName']} s3://{bucket.name}/{key}"
    if kind == "LambdaFunctionConfigurations":
        fn = _invocable(lab, bucket, arn)
        if fn is None:
            _undelivered(s3, arn, what, "the function is gone or its policy no longer allows s3.amazonaws.com")
            return
        step = None
        if lab.trace.full:
            step = len(lab.trace)
            lab.trace.emit("s3", "notify", "{}: send the event to {} (asynchronous invoke)", what, fn.name,
                           function=fn.name, bucket=bucket.name, key=key, target="frontend")
        inv = lab.frontend.submit({"FunctionName": arn, "InvocationType": "Event", "Payload": body},
                                  source="s3", trace_header=header)
        if step is not None:
            lab.trace.attach_request_id(step, inv.request_id)
        if inv.error is not None:
            _undelivered(s3, arn, what, f"the invoke was refused ({inv.error.response['Error']['Code']})")
            return
    elif kind == "QueueConfigurations":
        queue = lab.sqs.queue_by_arn(arn)
        if queue is None:
            _undelivered(s3, arn, what, "the queue is gone")
            return
        if lab.trace.full:
            lab.trace.emit("s3", "notify", "{}: send the event to SQS queue {}", what, queue.name, bucket=bucket.name,
                           key=key, queue=queue.name)
        queue.send(body, trace_header=header)
    else:
        if lab.sns.topic(arn) is None:
            _undelivered(s3, arn, what, "the topic is gone")
            return
        if lab.trace.full:
            lab.trace.emit("s3", "notify", "{}: publish the event to SNS topic {}", what, arn.rsplit(':', 1)[-1],
                           bucket=bucket.name, key=key, target="sns")
        lab.sns.notify(arn, body, "Amazon S3 Notification", header)
    s3.delivered += 1


def _undelivered(s3, arn: str, what: str, why: str) -> None:
    lab = s3.lab
    s3.undelivered.append({"t": lab.now, "destination": arn, "event": what, "reason": why})
    if lab.trace.full:
        lab.trace.emit("s3", "undeliverable", "{}: cannot be delivered to {}: {}", what, arn, why, arn=arn, reason=why)
