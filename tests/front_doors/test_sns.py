"""The in-process SNS: topics, lambda and sqs subscriptions, fan-out on publish with AWS's shapes, and copies that
cannot be delivered going to the subscription's dead-letter queue (or being recorded), never lost."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

RECORDER = "import json\ndef handler(event, context):\n    print(json.dumps(event))\n    return 'ok'\n"


@pytest.fixture
def lab():
    lab = ll.Lab(seed=4)
    lab.create_function("worker", RECORDER)
    return lab


def queue(lab, name):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def allow_sns(lab, topic_arn, function="worker"):
    lab.client("lambda").add_permission(FunctionName=function, StatementId="sns", Action="lambda:InvokeFunction",
                                        Principal="sns.amazonaws.com", SourceArn=topic_arn)


def test_topics_are_idempotent_and_listed(lab):
    sns = lab.client("sns")
    arn = sns.create_topic(Name="orders")["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn
    sns.create_topic(Name="audit")
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]] == ["audit", "orders"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.create_topic(Name="no spaces")


def test_publish_fans_out_to_a_function_and_a_queue_with_aws_shapes(lab):
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, queue_arn = queue(lab, "billing")
    allow_sns(lab, topic)
    lambda_sub = sns.subscribe(TopicArn=topic, Protocol="lambda",
                               Endpoint=lab.control_plane.function_arn("worker"))["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    message_id = sns.publish(TopicArn=topic, Message='{"order": 7}', Subject="new order",
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "retail"}})["MessageId"]
    lab.run()
    (event,) = [json.loads(line) for line in lab.logs("worker") if line.startswith("{")]
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == lambda_sub
    note = record["Sns"]
    assert (note["Type"], note["MessageId"], note["TopicArn"], note["Subject"], note["Message"]) == \
        ("Notification", message_id, topic, "new order", '{"order": 7}')
    assert note["MessageAttributes"] == {"kind": {"Type": "String", "Value": "retail"}}
    assert "SigningCertUrl" in note and "UnsubscribeUrl" in note
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Message"] == '{"order": 7}' and envelope["MessageId"] == message_id
    assert "SigningCertURL" in envelope and "UnsubscribeURL" in envelope
    steps = [(s.component, s.action) for s in lab.trace if s.component == "sns"]
    assert steps == [("sns", "publish"), ("sns", "deliver"), ("sns", "deliver")]
    assert lab.metrics("sns:orders", "NumberOfNotificationsDelivered") == [(0.0, 2)]


def test_raw_message_delivery(lab):
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="raw")["TopicArn"]
    url, queue_arn = queue(lab, "raw")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="plain text")
    lab.run()
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "plain text"


def test_without_permission_a_copy_goes_to_the_subscription_dlq_or_is_recorded(lab):
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    dlq_url, dlq_arn = queue(lab, "orders-dlq")
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=lab.control_plane.function_arn("worker"),
                        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="first")
    lab.run()
    assert lab.stats("worker")["requests"] == 0
    (dead,) = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert json.loads(dead["Body"])["Message"] == "first"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue="")
    sns.publish(TopicArn=topic, Message="second")
    lab.run()
    (recorded,) = lab.sns.undelivered
    assert recorded["subscription"] == sub and "sns.amazonaws.com" in recorded["reason"]
    assert lab.metrics("sns:orders", "NumberOfNotificationsFailed") == [(0.0, 2)] or \
        sum(v for _, v in lab.metrics("sns:orders", "NumberOfNotificationsFailed")) == 2


@pytest.mark.parametrize("call, code", [
    (lambda sns, t: sns.subscribe(TopicArn=t, Protocol="carrier-pigeon", Endpoint="x"), "InvalidParameter"),
    (lambda sns, t: sns.subscribe(TopicArn=t, Protocol="lambda", Endpoint="worker"), "InvalidParameter"),
    (lambda sns, t: sns.subscribe(TopicArn=t + "x", Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:1:q"),
     "NotFound"),
    (lambda sns, t: sns.publish(TopicArn=t, Message=""), "InvalidParameter"),
    (lambda sns, t: sns.publish(TopicArn=t, Message="x" * (256 * 1024 + 1)), "InvalidParameter"),
    (lambda sns, t: sns.publish(TopicArn=t, Message="x", Subject="a\nb"), "InvalidParameter"),
    (lambda sns, t: sns.unsubscribe(SubscriptionArn=t + ":nope"), "NotFound"),
])
def test_bad_calls_get_sns_errors_and_change_nothing(lab, call, code):
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    with pytest.raises(ll.ClientError) as caught:
        call(sns, topic)
    assert caught.value.response["Error"]["Code"] == code
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert lab.sns.topics[topic].published == 0


def test_subscribing_twice_returns_the_same_subscription(lab):
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    endpoint = lab.control_plane.function_arn("worker")
    first = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=endpoint)["SubscriptionArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=endpoint)["SubscriptionArn"] == first
    assert len(sns.list_subscriptions()["Subscriptions"]) == 1
    sns.unsubscribe(SubscriptionArn=first)
    assert sns.list_subscriptions()["Subscriptions"] == []
