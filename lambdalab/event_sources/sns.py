"""An in-process Amazon SNS: topics, subscriptions, and fan-out to Lambda functions and SQS queues.

In AWS a publisher sends one message to a topic and SNS pushes a copy to every subscription: a Lambda function
is invoked asynchronously with an ``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}`` event (if the
function's resource policy allows ``sns.amazonaws.com`` for this topic), an SQS queue receives the message
wrapped in a JSON envelope (or the bare message with ``RawMessageDelivery``). Subscriptions of these two
protocols are confirmed at once. A copy that cannot be delivered goes to the subscription's dead-letter queue
(``RedrivePolicy``), if it has one.

Here ``lab.client("sns")`` answers CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes, Subscribe,
Unsubscribe, ListSubscriptions(ByTopic), Get/SetSubscriptionAttributes and Publish, for standard topics with
``lambda`` and ``sqs`` subscriptions. What we simplify: each copy leaves the moment the message is published and
is delivered exactly once; a Lambda delivery the function's policy refuses is not retried over days as SNS
does, it goes to the subscription's DLQ at once or is recorded in ``lab.sns.undelivered``; no FIFO topics,
filter policies, signatures (the fields are there, with placeholder values) or queue access policies.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from ..control_plane.errors import aws_error
from ..observability.records import Statistics

__all__ = ["SNS", "SNSStatistics", "Topic", "attach"]

TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_MESSAGE_BYTES = 256 * 1024
PROTOCOLS = ("lambda", "sqs")
MODELLED_ONLY = ("http", "https", "email", "email-json", "sms", "application", "firehose")
SUBSCRIPTION_ATTRIBUTES = ("RawMessageDelivery", "RedrivePolicy", "FilterPolicy", "FilterPolicyScope",
                           "DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy")
PAGE = 100


def invalid(what: str, op: str):
    return aws_error("InvalidParameter", f"Invalid parameter: {what}", 400, operation=op, service="sns")


def not_found(what: str, op: str):
    return aws_error("NotFound", f"{what} does not exist", 404, operation=op, service="sns")


class Topic:
    def __init__(self, arn: str, name: str, attributes: dict) -> None:
        self.arn, self.name = arn, name
        self.attributes = dict(attributes)
        self.subscriptions: dict[str, dict] = {}      # subscription ARN -> record
        self.published = 0


class SNS:
    """``lab.sns``: the SNS backend (one method per operation, as boto3 names them)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.topics: dict[str, Topic] = {}            # by ARN
        self.undelivered: list[dict] = []
        self.delivered = 0

    def topic(self, arn) -> Topic | None:
        return self.topics.get(arn) if isinstance(arn, str) else None

    def _topic(self, arn, op: str) -> Topic:
        topic = self.topic(arn)
        if topic is None:
            raise not_found("Topic", op)
        return topic

    def _subscription(self, arn, op: str) -> tuple[Topic, dict]:
        topic = self.topic(arn.rsplit(":", 1)[0]) if isinstance(arn, str) and arn.count(":") == 6 else None
        if topic is None or arn not in topic.subscriptions:
            raise not_found("Subscription", op)
        return topic, topic.subscriptions[arn]

    # --- topics ---------------------------------------------------------------------------------------------
    def create_topic(self, *, Name, Attributes=None, Tags=None, DataProtectionPolicy=None) -> dict:
        op = "CreateTopic"
        if not isinstance(Name, str) or not TOPIC_NAME.match(Name):
            raise invalid("Topic Name", op)
        if (Attributes or {}).get("FifoTopic") == "true":
            raise invalid("Attributes Reason: FIFO topics are not modelled in lambdalab", op)
        arn = f"arn:aws:sns:{self.lab.region}:{self.lab.account_id}:{Name}"
        if arn not in self.topics:
            self.topics[arn] = Topic(arn, Name, Attributes or {})
        return {"TopicArn": arn}

    def delete_topic(self, *, TopicArn) -> dict:
        self.topics.pop(TopicArn, None)          # deleting a topic that does not exist is not an error
        return {}

    def list_topics(self, *, NextToken=None) -> dict:
        arns = sorted(self.topics)
        start = _page_start(NextToken, "ListTopics")
        out = {"Topics": [{"TopicArn": arn} for arn in arns[start:start + PAGE]]}
        if start + PAGE < len(arns):
            out["NextToken"] = base64.b64encode(str(start + PAGE).encode()).decode()
        return out

    def get_topic_attributes(self, *, TopicArn) -> dict:
        topic = self._topic(TopicArn, "GetTopicAttributes")
        confirmed = str(len(topic.subscriptions))
        return {"Attributes": {**topic.attributes, "TopicArn": topic.arn, "Owner": self.lab.account_id,
                               "DisplayName": topic.attributes.get("DisplayName", ""),
                               "SubscriptionsConfirmed": confirmed, "SubscriptionsPending": "0",
                               "SubscriptionsDeleted": "0"}}

    # --- subscriptions --------------------------------------------------------------------------------------
    def subscribe(self, *, TopicArn, Protocol, Endpoint=None, Attributes=None, ReturnSubscriptionArn=False) -> dict:
        op = "Subscribe"
        topic = self._topic(TopicArn, op)
        if Protocol not in PROTOCOLS:
            if Protocol in MODELLED_ONLY:
                raise invalid(f"lambdalab delivers to lambda and sqs subscriptions only, not {Protocol}", op)
            raise invalid(f"Amazon SNS does not support this protocol string: {Protocol}", op)
        if Protocol == "lambda" and not (isinstance(Endpoint, str) and Endpoint.startswith("arn:aws:lambda:")):
            raise invalid("Lambda endpoint ARN", op)
        if Protocol == "sqs" and not (isinstance(Endpoint, str) and Endpoint.startswith("arn:aws:sqs:")):
            raise invalid("SQS endpoint ARN", op)
        attributes = self._check_attributes(Attributes or {}, op)
        for arn, sub in topic.subscriptions.items():
            if sub["Protocol"] == Protocol and sub["Endpoint"] == Endpoint:
                return {"SubscriptionArn": arn}
        arn = f"{topic.arn}:{self.lab.ids.uuid()}"
        topic.subscriptions[arn] = {"SubscriptionArn": arn, "Owner": self.lab.account_id, "Protocol": Protocol,
                                    "Endpoint": Endpoint, "TopicArn": topic.arn, "attributes": attributes}
        return {"SubscriptionArn": arn}

    def _check_attributes(self, attributes: dict, op: str) -> dict:
        for name, value in attributes.items():
            if value in ("", None):
                continue                  # an empty value removes the attribute
            if name not in SUBSCRIPTION_ATTRIBUTES:
                raise invalid(f"Attributes Reason: Unknown attribute {name}", op)
            if name == "RawMessageDelivery" and str(value).lower() not in ("true", "false"):
                raise invalid("Attributes Reason: RawMessageDelivery: Invalid value [{}]. Must be true or false."
                              .format(value), op)
            if name == "RedrivePolicy":
                try:
                    target = json.loads(value)["deadLetterTargetArn"]
                except (ValueError, KeyError, TypeError):
                    raise invalid("RedrivePolicy: Invalid RedrivePolicy syntax", op) from None
                if not str(target).startswith("arn:aws:sqs:"):
                    raise invalid("RedrivePolicy: deadLetterTargetArn is an invalid arn", op)
            if name == "FilterPolicy":
                raise invalid("Attributes Reason: filter policies are not modelled in lambdalab", op)
        return {k: str(v) for k, v in attributes.items() if v not in ("", None)}

    def unsubscribe(self, *, SubscriptionArn) -> dict:
        topic, _ = self._subscription(SubscriptionArn, "Unsubscribe")
        del topic.subscriptions[SubscriptionArn]
        return {}

    def list_subscriptions(self, *, NextToken=None) -> dict:
        subs = [s for t in sorted(self.topics) for s in self.topics[t].subscriptions.values()]
        return self._subscription_page(subs, NextToken, "ListSubscriptions")

    def list_subscriptions_by_topic(self, *, TopicArn, NextToken=None) -> dict:
        topic = self._topic(TopicArn, "ListSubscriptionsByTopic")
        return self._subscription_page(list(topic.subscriptions.values()), NextToken, "ListSubscriptionsByTopic")

    @staticmethod
    def _subscription_page(subs: list, token, op: str) -> dict:
        start = _page_start(token, op)
        fields = ("SubscriptionArn", "Owner", "Protocol", "Endpoint", "TopicArn")
        out = {"Subscriptions": [{k: s[k] for k in fields} for s in subs[start:start + PAGE]]}
        if start + PAGE < len(subs):
            out["NextToken"] = base64.b64encode(str(start + PAGE).encode()).decode()
        return out

    def get_subscription_attributes(self, *, SubscriptionArn) -> dict:
        topic, sub = self._subscription(SubscriptionArn, "GetSubscriptionAttributes")
        return {"Attributes": {"SubscriptionArn": sub["SubscriptionArn"], "TopicArn": topic.arn,
                               "Owner": sub["Owner"], "Protocol": sub["Protocol"], "Endpoint": sub["Endpoint"],
                               "ConfirmationWasAuthenticated": "true", "PendingConfirmation": "false",
                               "RawMessageDelivery": "false", **sub["attributes"]}}

    def set_subscription_attributes(self, *, SubscriptionArn, AttributeName, AttributeValue=None) -> dict:
        op = "SetSubscriptionAttributes"
        _, sub = self._subscription(SubscriptionArn, op)
        if AttributeName not in SUBSCRIPTION_ATTRIBUTES:
            raise invalid("AttributeName", op)
        sub["attributes"].pop(AttributeName, None)
        sub["attributes"].update(self._check_attributes({AttributeName: AttributeValue}, op))
        return {}

    # --- publishing -----------------------------------------------------------------------------------------
    def publish(self, *, Message, TopicArn=None, TargetArn=None, Subject=None, MessageStructure=None,
                MessageAttributes=None, PhoneNumber=None, MessageDeduplicationId=None, MessageGroupId=None) -> dict:
        op = "Publish"
        if PhoneNumber is not None:
            raise invalid("lambdalab does not send SMS", op)
        arn = TopicArn or TargetArn
        if arn is None:
            raise invalid("TopicArn or TargetArn Reason: no value for required parameter", op)
        topic = self._topic(arn, op)
        if not isinstance(Message, str) or not Message:
            raise invalid("Empty message", op)
        if len(Message.encode()) > MAX_MESSAGE_BYTES:
            raise invalid("Message too long", op)
        if Subject is not None and (not isinstance(Subject, str) or not 0 < len(Subject) <= 100 or
                                    any(c in Subject for c in "\n\r")):
            raise invalid("Subject", op)
        if MessageStructure is not None:
            if MessageStructure != "json":
                raise invalid("MessageStructure", op)
            try:
                per_protocol = json.loads(Message)
                Message = per_protocol["default"]
            except (ValueError, KeyError, TypeError):
                raise invalid("Message Structure - No default entry in JSON message body", op) from None
        for name, value in (MessageAttributes or {}).items():
            if not isinstance(value, dict) or "DataType" not in value:
                raise invalid(f"The message attribute '{name}' must contain non-empty message attribute type.",
                              op)
        message_id = self._fan_out(topic, Message, Subject, MessageAttributes or {}, self.lab.calls.header)
        return {"MessageId": message_id}

    def notify(self, arn: str, message: str, subject: str | None, header: str | None) -> str | None:
        """Publish from inside AWS (an S3 notification, a destination record); None if there is no such topic."""
        topic = self.topic(arn)
        if topic is None:
            return None
        return self._fan_out(topic, message, subject, {}, header)

    def _fan_out(self, topic: Topic, message: str, subject, attributes: dict, header) -> str:
        lab = self.lab
        message_id = lab.ids.uuid()
        topic.published += 1
        if lab.trace.full:
            lab.trace.emit("sns", "publish", "Publish to {}: {} subscription(s) get a copy", topic.name,
                           len(topic.subscriptions), topic=topic.name, subscriptions=len(topic.subscriptions),
                           size=len(message.encode()), message_id=message_id)
        lab.counters.put(f"sns:{topic.name}", "NumberOfMessagesPublished", 1)
        notification = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic.arn,
                        "Subject": subject, "Message": message, "Timestamp": lab.iso_time(lab.now),
                        "SignatureVersion": "1",
                        "Signature": base64.b64encode(message_id.encode()).decode(),
                        "MessageAttributes": {k: _attribute(v) for k, v in attributes.items()}}
        for sub in list(topic.subscriptions.values()):
            lab.engine.at(lab.now, self._deliver, topic, sub, notification, attributes, header)
        return message_id

    def _deliver(self, topic: Topic, sub: dict, notification: dict, attributes: dict, header) -> None:
        from . import sns_delivery
        sns_delivery.deliver(self, topic, sub, notification, attributes, header)

    def statistics(self) -> "SNSStatistics":
        return SNSStatistics(len(self.topics), sum(len(t.subscriptions) for t in self.topics.values()),
                             self.delivered, len(self.undelivered))


@dataclass(frozen=True)
class SNSStatistics(Statistics):
    topics: int
    subscriptions: int
    delivered: int          # deliveries to subscribers
    undelivered: int        # deliveries that failed (kept with the reason in ``lab.sns.undelivered``)


def _attribute(value: dict) -> dict:
    if "BinaryValue" in value:
        return {"Type": value["DataType"], "Value": base64.b64encode(bytes(value["BinaryValue"])).decode()}
    return {"Type": value["DataType"], "Value": value.get("StringValue")}


def _page_start(token, op: str) -> int:
    if token is None:
        return 0
    try:
        return int(base64.b64decode(token, validate=True).decode())
    except ValueError:
        raise invalid("NextToken", op) from None


def attach(lab) -> None:
    lab.sns = SNS(lab)
    lab.register_backend("sns", lab.sns)
