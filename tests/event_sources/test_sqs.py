"""The in-process SQS service seen through ``lab.client("sqs")`` and through its internal API."""
from __future__ import annotations

import hashlib
import json

import pytest

import lambdalab as ll


@pytest.fixture
def lab():
    return ll.Lab(seed=1)


@pytest.fixture
def sqs(lab):
    return lab.client("sqs")


def arn_of(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_queue_url_arn_and_default_attributes(sqs):
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url == "https://sqs.us-east-1.amazonaws.com/123456789012/orders"
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["DelaySeconds"] == "0"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    # creating it again with the same attributes is idempotent; different ones are refused
    assert sqs.create_queue(QueueName="orders")["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists) as info:
        sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "5"})
    assert info.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert sqs.list_queues()["QueueUrls"] == [url]


def test_send_receive_delete_with_md5_and_counts(lab, sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="hello",
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    assert "MD5OfMessageAttributes" in sent
    lab.advance(2)
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    assert len(got) == 1 and got[0]["MessageId"] == sent["MessageId"] and got[0]["Body"] == "hello"
    assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "greeting"
    attrs = got[0]["Attributes"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert int(attrs["ApproximateFirstReceiveTimestamp"]) - int(attrs["SentTimestamp"]) == 2000
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                    "ApproximateNumberOfMessagesNotVisible"])
    assert counts["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    lab.advance(60)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_visibility_timeout_returns_the_message_with_a_higher_receive_count(lab, sqs):
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    lab.advance(9.5)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    lab.advance(0.5)
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # a per-receive VisibilityTimeout overrides the queue's, and ChangeMessageVisibility moves it again
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=100)["Messages"][0]
    lab.advance(50)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.MessageNotInflight):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"], VisibilityTimeout=5)


def test_delay_seconds_counts_as_delayed_until_due(lab, sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=5)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1" and attrs["ApproximateNumberOfMessages"] == "0"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    lab.advance(5)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "later"


def test_redrive_to_dead_letter_queue_after_max_receive_count(lab, sqs):
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["MessageId"] == sent["MessageId"]
        lab.advance(1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)   # the third receive moves it instead
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"] and moved["Body"] == "poison"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, url)


def test_errors_have_sqs_codes_and_change_nothing(lab, sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.send_message(QueueUrl=url + "x", MessageBody="a")
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ll.ClientError) as info:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    with pytest.raises(ll.ClientError) as info:
        sqs.create_queue(QueueName="bad name!")
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ll.ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeValue"
    with pytest.raises(ll.ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:missing", "maxReceiveCount": 3})})
    assert "Dead letter target does not exist" in info.value.response["Error"]["Message"]
    with pytest.raises(ll.ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x" * (1024 * 1024 + 1))
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "30" and "RedrivePolicy" not in attrs
    assert attrs["ApproximateNumberOfMessages"] == "0"


def test_batches_and_purge(lab, sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    out = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}, {"Id": "c", "MessageBody": "3",
                                                                          "DelaySeconds": 1000}])
    assert [e["Id"] for e in out["Successful"]] == ["a", "b"]
    assert out["Failed"][0]["Id"] == "c" and out["Failed"][0]["SenderFault"] is True
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}] * 2)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["1", "2"]
    done = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"]},
                                                           {"Id": "y", "ReceiptHandle": "junk"}])
    assert done["Successful"] == [{"Id": "x"}] and done["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    sqs.purge_queue(QueueUrl=url)
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="q")


def test_internal_api_notifies_subscribers_when_messages_turn_visible(lab):
    queue = lab.sqs.create("internal-q", internal=True)
    assert lab.sqs.queue_by_name("internal-q") is None          # not visible through the client
    assert lab.sqs.queue_by_arn(queue.arn) is queue
    seen = []
    queue.subscribe(lambda q: seen.append((lab.now, q.counts()[0])))
    queue.send("a")
    queue.send("b", delay=3)
    lab.run()
    assert seen == [(0.0, 1), (3.0, 2)]
    (first,) = queue.receive(1, visibility=5)
    lab.run()
    assert seen[-1] == (8.0, 2)       # the unacknowledged message came back after its visibility timeout
    assert first.record(queue)["eventSourceARN"] == queue.arn


def test_queue_depth_metric_follows_sends_and_deletes(lab):
    queue = lab.sqs.create("depth")
    for _ in range(3):
        queue.send("x")
    lab.advance(61)
    for msg in queue.receive(10):
        queue.delete(msg.receipt)
    lab.advance(60)
    queue.send("y")
    # QueueDepth is a Maximum per minute: 3 stored in minute 0; 2, 1, 0 in minute 1; 1 in minute 2
    assert lab.metrics(queue.metric_name, "QueueDepth") == [(0.0, 3), (60.0, 2), (120.0, 1)]


def test_zero_visibility_timeout_never_returns_a_message_twice_in_one_receive(lab, sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="only one")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                              AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert len(got) == 1 and got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"     # visible again at once


def test_md5_of_message_attributes_matches_the_digest_sqs_documents(lab, sqs):
    url = sqs.create_queue(QueueName="books")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="bestseller", MessageAttributes={
        "Author": {"DataType": "String", "StringValue": "John Grisham"},
        "Title": {"DataType": "String", "StringValue": "The Whistler"},
        "WeeksOn": {"DataType": "Number", "StringValue": "6"},
    })
    # the digest in AWS's own SendMessage example for these three attributes
    assert sent["MD5OfMessageAttributes"] == "d25a6aea97eb8f585bfa92d314504a92"


def test_fifo_keeps_each_group_in_order_and_drops_duplicates(lab, sqs):
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "10",
                                                                "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.send_message(QueueUrl=url, MessageBody="a3", MessageGroupId="a")
    again = sqs.send_message(QueueUrl=url, MessageBody="a3", MessageGroupId="a")   # same body: a duplicate
    assert again["MessageId"] == first["MessageId"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in got] == ["a1", "b1"]
    # a1 and b1 are in flight: nothing else of groups a and b may be handed out before they are done
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a2", "a3"]
    lab.advance(10)                      # b1 was never deleted: it comes back before b2
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "b1"
    with pytest.raises(ll.ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    assert info.value.response["Error"]["Code"] == "MissingParameter"
