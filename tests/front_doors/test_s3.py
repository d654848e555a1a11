"""The in-process S3: buckets and objects with boto3's shapes, notifications that invoke functions (or feed queues
and topics), and the checks S3 makes before it stores a notification configuration."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

RECORDER = "import json\ndef handler(event, context):\n    print(json.dumps(event))\n    return 'ok'\n"


@pytest.fixture
def lab():
    lab = ll.Lab(seed=2)
    lab.create_function("thumbnail", RECORDER)
    lab.client("s3").create_bucket(Bucket="photos")
    return lab


def allow_s3(lab, bucket="photos", function="thumbnail"):
    lab.client("lambda").add_permission(FunctionName=function, StatementId=f"s3-{bucket}",
                                        Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                                        SourceArn=f"arn:aws:s3:::{bucket}", SourceAccount=lab.account_id)


def lambda_config(lab, events=("s3:ObjectCreated:*",), prefix=None, suffix=None, function="thumbnail"):
    config = {"LambdaFunctionArn": lab.control_plane.function_arn(function), "Events": list(events)}
    rules = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v is not None]
    if rules:
        config["Filter"] = {"Key": {"FilterRules": rules}}
    return config


def events_seen(lab, function="thumbnail"):
    return [json.loads(line) for line in lab.logs(function) if line.startswith("{")]


def test_objects_round_trip_with_boto3_shapes(lab):
    s3 = lab.client("s3")
    put = s3.put_object(Bucket="photos", Key="a/cat.jpg", Body=b"meow", ContentType="image/jpeg")
    assert put["ETag"] == '"4a4be40c96ac6314e91d93f38043a634"'
    got = s3.get_object(Bucket="photos", Key="a/cat.jpg")
    assert got["Body"].read() == b"meow" and got["ContentLength"] == 4 and got["ContentType"] == "image/jpeg"
    s3.put_object(Bucket="photos", Key="a/dog.jpg", Body=b"woof")
    s3.put_object(Bucket="photos", Key="b/owl.jpg", Body=b"hoot")
    listing = s3.list_objects_v2(Bucket="photos", Prefix="a/")
    assert [o["Key"] for o in listing["Contents"]] == ["a/cat.jpg", "a/dog.jpg"] and listing["KeyCount"] == 2
    page = s3.list_objects_v2(Bucket="photos", MaxKeys=2)
    assert page["IsTruncated"] and len(page["Contents"]) == 2
    rest = s3.list_objects_v2(Bucket="photos", MaxKeys=2, ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["b/owl.jpg"] and not rest["IsTruncated"]
    s3.delete_object(Bucket="photos", Key="a/cat.jpg")
    s3.delete_object(Bucket="photos", Key="a/cat.jpg")           # deleting twice is fine, as in S3
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="photos", Key="a/cat.jpg")
    assert "Contents" not in s3.list_objects_v2(Bucket="photos", Prefix="zzz")


def test_bucket_errors(lab):
    s3 = lab.client("s3")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.put_object(Bucket="nope", Key="k", Body=b"")
    with pytest.raises(ll.ClientError) as caught:
        s3.create_bucket(Bucket="Bad_Name")
    assert caught.value.response["Error"]["Code"] == "InvalidBucketName"
    assert s3.create_bucket(Bucket="photos")["Location"] == "/photos"     # us-east-1: 200 and nothing done
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["photos"]
    s3.put_object(Bucket="photos", Key="k", Body=b"x")
    with pytest.raises(ll.ClientError) as caught:
        s3.delete_bucket(Bucket="photos")
    assert caught.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_a_notification_needs_the_functions_permission_and_a_refusal_stores_nothing(lab):
    s3 = lab.client("s3")
    config = {"LambdaFunctionConfigurations": [lambda_config(lab)]}
    with pytest.raises(ll.ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration=config)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert s3.get_bucket_notification_configuration(Bucket="photos").get("LambdaFunctionConfigurations") is None
    allow_s3(lab)
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration=config)
    stored = s3.get_bucket_notification_configuration(Bucket="photos")["LambdaFunctionConfigurations"]
    assert stored[0]["Events"] == ["s3:ObjectCreated:*"] and stored[0]["Id"]


def test_a_permission_for_another_bucket_does_not_count(lab):
    allow_s3(lab, bucket="videos")
    with pytest.raises(ll.ClientError):
        lab.client("s3").put_bucket_notification_configuration(
            Bucket="photos", NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_config(lab)]})


def test_put_object_invokes_the_function_asynchronously_with_the_s3_event(lab):
    allow_s3(lab)
    s3 = lab.client("s3")
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [lambda_config(lab, prefix="uploads/", suffix=".jpg")]})
    s3.put_object(Bucket="photos", Key="uploads/my cat.jpg", Body=b"12345")
    s3.put_object(Bucket="photos", Key="uploads/notes.txt", Body=b"no")       # suffix does not match
    s3.put_object(Bucket="photos", Key="other/dog.jpg", Body=b"no")           # prefix does not match
    lab.run()
    (event,) = events_seen(lab)
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventVersion"] == "2.1"
    assert record["eventName"] == "ObjectCreated:Put" and record["awsRegion"] == "us-east-1"
    assert record["s3"]["bucket"] == {"name": "photos", "ownerIdentity": record["s3"]["bucket"]["ownerIdentity"],
                                      "arn": "arn:aws:s3:::photos"}
    obj = record["s3"]["object"]
    assert obj["key"] == "uploads/my+cat.jpg" and obj["size"] == 5 and obj["eTag"] == "827ccb0eea8a706c4c34a16891f84e7b"
    assert record["s3"]["configurationId"] == \
        s3.get_bucket_notification_configuration(Bucket="photos")["LambdaFunctionConfigurations"][0]["Id"]
    steps = [(s.component, s.action) for s in lab.trace if s.component in ("s3", "async_queue")]
    # S3 answers the PutObject first; the notification leaves just after (one event, for the one key matched)
    assert steps[:5] == [("s3", "put_object")] * 3 + [("s3", "notify"), ("async_queue", "enqueue")]
    assert lab.async_invoke.statistics()["succeeded"] == 1


def test_delete_notifications_and_sequencers(lab):
    allow_s3(lab)
    s3 = lab.client("s3")
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [lambda_config(lab, events=["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"])]})
    s3.put_object(Bucket="photos", Key="k", Body=b"1")
    s3.delete_object(Bucket="photos", Key="k")
    lab.run()
    names = [e["Records"][0]["eventName"] for e in events_seen(lab)]
    assert sorted(names) == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
    removed = next(e["Records"][0] for e in events_seen(lab) if e["Records"][0]["eventName"] == "ObjectRemoved:Delete")
    assert set(removed["s3"]["object"]) == {"key", "sequencer"}


@pytest.mark.parametrize("configuration, message", [
    ({"LambdaFunctionConfigurations": [{"Events": ["s3:ObjectEaten:*"]}]}, "The event is not supported"),
    ({"LambdaFunctionConfigurations": [{"Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [
        {"Name": "middle", "Value": "x"}]}}}]}, "filter rule name must be either prefix or suffix"),
    ({"LambdaFunctionConfigurations": [{"Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [
        {"Name": "prefix", "Value": "a"}, {"Name": "prefix", "Value": "b"}]}}}]}, "more than one prefix rule"),
    ({"LambdaFunctionConfigurations": [{"Events": ["s3:ObjectCreated:*"]}, {"Events": ["s3:ObjectCreated:Put"]}]},
     "Configurations overlap"),
])
def test_malformed_configurations_are_refused_and_change_nothing(lab, configuration, message):
    allow_s3(lab)
    s3 = lab.client("s3")
    good = {"LambdaFunctionConfigurations": [lambda_config(lab, prefix="keep/")]}
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration=good)
    before = s3.get_bucket_notification_configuration(Bucket="photos")["LambdaFunctionConfigurations"]
    for config in configuration["LambdaFunctionConfigurations"]:
        config["LambdaFunctionArn"] = lab.control_plane.function_arn("thumbnail")
    with pytest.raises(ll.ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration=configuration)
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    assert message in caught.value.response["Error"]["Message"]
    assert s3.get_bucket_notification_configuration(Bucket="photos")["LambdaFunctionConfigurations"] == before


def test_non_overlapping_filters_on_one_event_type_are_fine(lab):
    allow_s3(lab)
    lab.client("s3").put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [lambda_config(lab, prefix="a/"), lambda_config(lab, prefix="b/")]})


def test_a_notification_that_can_no_longer_be_delivered_is_recorded_not_lost(lab):
    allow_s3(lab)
    s3 = lab.client("s3")
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [lambda_config(lab)]})
    lab.client("lambda").remove_permission(FunctionName="thumbnail", StatementId="s3-photos")
    s3.put_object(Bucket="photos", Key="k", Body=b"1")
    lab.run()
    assert events_seen(lab) == []
    (dropped,) = lab.s3.undelivered
    assert dropped["destination"].endswith(":function:thumbnail") and "policy" in dropped["reason"]
    assert lab.trace.filter(component="s3", action="undeliverable")


def test_queue_and_topic_destinations(lab):
    sqs, s3 = lab.client("sqs"), lab.client("s3")
    url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
    test_event, = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url)["Messages"]]
    assert test_event["Event"] == "s3:TestEvent" and test_event["Bucket"] == "photos"
    s3.put_object(Bucket="photos", Key="k", Body=b"1")
    lab.run()
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [b["Records"][0]["eventName"] for b in bodies if "Records" in b] == ["ObjectCreated:Put"]
    with pytest.raises(ll.ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": "arn:aws:sns:us-east-1:123456789012:none",
                                     "Events": ["s3:ObjectCreated:*"]}]})
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
