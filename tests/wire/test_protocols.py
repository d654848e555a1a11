"""The dispatcher's four protocols and event streams, driven by botocore through both doors.

rest-xml and query are exercised with small stand-in backends for S3 and SNS registered on the lab (a backend
registered later answers before the lab's own), so these tests check the wire, not a service's semantics.
"""
from __future__ import annotations

import datetime as _dt
import json

import pytest

from lambdalab.control_plane.errors import aws_error
from lambdalab.wire.eventstream import EventStream


class StandInS3:
    """Just enough S3 to put every rest-xml member location on the wire."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict] = {}
        self.notifications: dict[str, dict] = {}

    def _bucket(self, name: str, op: str) -> dict:
        if name not in self.buckets:
            error = aws_error("NoSuchBucket", "The specified bucket does not exist", 404, operation=op, service="s3")
            error.response["Error"]["BucketName"] = name
            raise error
        return self.buckets[name]

    def create_bucket(self, *, Bucket, **_) -> dict:
        self.buckets.setdefault(Bucket, {})
        return {"Location": f"/{Bucket}"}

    def put_object(self, *, Bucket, Key, Body=b"", ContentType=None, Metadata=None, **_) -> dict:
        self._bucket(Bucket, "PutObject")[Key] = (bytes(Body), ContentType or "binary/octet-stream", Metadata or {})
        return {"ETag": '"etag-%d"' % len(Body)}

    def get_object(self, *, Bucket, Key, **_) -> dict:
        found = self._bucket(Bucket, "GetObject").get(Key)
        if found is None:
            raise aws_error("NoSuchKey", "The specified key does not exist.", 404, operation="GetObject", service="s3")
        body, content_type, metadata = found
        return {"Body": body, "ContentLength": len(body), "ContentType": content_type, "Metadata": metadata,
                "ETag": '"etag-%d"' % len(body), "LastModified": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)}

    def list_objects_v2(self, *, Bucket, Prefix="", MaxKeys=1000, **_) -> dict:
        keys = sorted(k for k in self._bucket(Bucket, "ListObjectsV2") if k.startswith(Prefix))
        shown = keys[:MaxKeys]
        return {"Name": Bucket, "Prefix": Prefix, "KeyCount": len(shown), "MaxKeys": MaxKeys,
                "IsTruncated": len(shown) < len(keys),
                "Contents": [{"Key": k, "Size": len(self.buckets[Bucket][k][0]),
                              "LastModified": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)} for k in shown]}

    def delete_object(self, *, Bucket, Key, **_) -> dict:
        self._bucket(Bucket, "DeleteObject").pop(Key, None)
        return {}

    def put_bucket_notification_configuration(self, *, Bucket, NotificationConfiguration, **_) -> dict:
        self._bucket(Bucket, "PutBucketNotificationConfiguration")
        self.notifications[Bucket] = NotificationConfiguration
        return {}

    def get_bucket_notification_configuration(self, *, Bucket, **_) -> dict:
        self._bucket(Bucket, "GetBucketNotificationConfiguration")
        return self.notifications.get(Bucket, {})


class StandInSNS:
    """Just enough SNS to put the query protocol's lists, maps and errors on the wire."""

    def __init__(self) -> None:
        self.topics: dict[str, dict] = {}
        self.published: list[dict] = []

    def create_topic(self, *, Name, Attributes=None, Tags=None, **_) -> dict:
        arn = f"arn:aws:sns:us-east-1:123456789012:{Name}"
        self.topics[arn] = {"attributes": dict(Attributes or {}), "tags": list(Tags or [])}
        return {"TopicArn": arn}

    def list_topics(self, *, NextToken=None) -> dict:
        return {"Topics": [{"TopicArn": arn} for arn in sorted(self.topics)]}

    def get_topic_attributes(self, *, TopicArn) -> dict:
        if TopicArn not in self.topics:
            raise aws_error("NotFound", "Topic does not exist", 404, operation="GetTopicAttributes", service="sns")
        return {"Attributes": {"TopicArn": TopicArn, **self.topics[TopicArn]["attributes"]}}

    def publish(self, *, Message, TopicArn=None, Subject=None, MessageAttributes=None, **_) -> dict:
        self.published.append({"TopicArn": TopicArn, "Message": Message, "Subject": Subject,
                               "MessageAttributes": MessageAttributes or {}})
        return {"MessageId": f"msg-{len(self.published)}"}


class StreamingLambda:
    """InvokeWithResponseStream from a list (read eagerly) or from an EventStream filled in the lab's time."""

    def __init__(self, lab) -> None:
        self.lab = lab

    def invoke_with_response_stream(self, *, FunctionName, Payload=b"", **_):
        if FunctionName == "listed":
            events = [{"PayloadChunk": {"Payload": b"hello "}}, {"PayloadChunk": {"Payload": b"world"}},
                      {"InvokeComplete": {"LogResult": "bG9n"}}]
        else:
            events = EventStream(self.lab)
            for i, t in enumerate((0.5, 1.0, 1.5)):
                self.lab.engine.schedule(t, events.push, {"PayloadChunk": {"Payload": f"chunk{i} ".encode()}})
            self.lab.engine.schedule(2.0, events.push, {"InvokeComplete": {}})
            self.lab.engine.schedule(2.0, events.end)
        return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "EventStream": events}


@pytest.fixture(scope="module")
def stand_ins(door):
    s3, sns = StandInS3(), StandInSNS()
    door.lab.register_backend("s3", s3)
    door.lab.register_backend("sns", sns)
    door.lab.register_backend("lambda", StreamingLambda(door.lab))
    return s3, sns


def test_rest_xml_objects_headers_payloads_and_errors(door, stand_ins):
    s3 = door.client("s3")
    bucket = door.name("bucket")
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"hello", ContentType="text/plain",
                        Metadata={"owner": "ada"})
    assert put["ETag"] == '"etag-5"'
    got = s3.get_object(Bucket=bucket, Key="dir/a b.txt")
    assert got["Body"].read() == b"hello"
    assert (got["ContentType"], got["ContentLength"], got["Metadata"]) == ("text/plain", 5, {"owner": "ada"})
    assert got["LastModified"] == _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    s3.put_object(Bucket=bucket, Key="dir/b", Body=b"xy")
    s3.put_object(Bucket=bucket, Key="other", Body=b"z")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b.txt", "dir/b"]
    assert (listed["KeyCount"], listed["IsTruncated"], listed["Contents"][1]["Size"]) == (2, False, 2)
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    assert sum(p["KeyCount"] for p in pages) == 3
    assert s3.delete_object(Bucket=bucket, Key="other")["ResponseMetadata"]["HTTPStatusCode"] == 204
    config = {"LambdaFunctionConfigurations": [
        {"Id": "on-upload", "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
         "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "dir/"}]}}}]}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert stand_ins[0].notifications[bucket] == config                       # the XML payload read back
    back = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert back["LambdaFunctionConfigurations"] == config["LambdaFunctionConfigurations"]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="missing")
    with pytest.raises(s3.exceptions.NoSuchBucket) as info:
        s3.list_objects_v2(Bucket="no-such-bucket")
    error = info.value.response
    assert error["Error"]["BucketName"] == "no-such-bucket"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404 and error["ResponseMetadata"]["RequestId"]


def test_query_protocol_lists_maps_and_errors(door, stand_ins):
    sns = door.client("sns")
    name = door.name("topic")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Orders", "FifoTopic": "false"},
                           Tags=[{"Key": "team", "Value": "blue"}])["TopicArn"]
    assert stand_ins[1].topics[arn] == {"attributes": {"DisplayName": "Orders", "FifoTopic": "false"},
                                        "tags": [{"Key": "team", "Value": "blue"}]}
    assert {"TopicArn": arn} in sns.list_topics()["Topics"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Orders"
    sent = sns.publish(TopicArn=arn, Message="hi", Subject="s",
                       MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    assert sent["MessageId"].startswith("msg-") and sent["ResponseMetadata"]["RequestId"]
    assert stand_ins[1].published[-1]["MessageAttributes"] == {"kind": {"DataType": "String",
                                                                         "StringValue": "order"}}
    with pytest.raises(sns.exceptions.NotFoundException) as info:
        sns.get_topic_attributes(TopicArn=arn + "-gone")
    assert info.value.response["Error"]["Code"] == "NotFound"
    assert info.value.response["Error"]["Type"] == "Sender"


@pytest.mark.parametrize("function", ["listed", "streamed"])
def test_event_stream_responses_are_framed_as_aws_does(door, stand_ins, function):
    lam = door.client("lambda")
    start = door.lab.now
    response = lam.invoke_with_response_stream(FunctionName=function, Payload=b"{}")
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    events = list(response["EventStream"])
    chunks = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
    assert chunks == (b"hello world" if function == "listed" else b"chunk0 chunk1 chunk2 ")
    assert "InvokeComplete" in events[-1]
    if function == "streamed" and door.url is None:
        assert door.lab.now == start + 2.0                 # the stream ended when its last event was pushed


def test_event_stream_frames_match_botocores_decoder():
    from botocore.eventstream import EventStreamBuffer

    from lambdalab.wire.eventstream import encode
    buffer = EventStreamBuffer()
    buffer.add_data(encode({":message-type": "event", ":event-type": "PayloadChunk"}, b"\x00\x01data"))
    message = next(iter(buffer))
    assert message.headers == {":message-type": "event", ":event-type": "PayloadChunk"}
    assert message.payload == b"\x00\x01data"


def test_json_body_timestamps_round_trip(door):
    lam = door.client("lambda")
    name = door.name("async-config")
    door.create(lam, name)
    out = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert isinstance(out["LastModified"], _dt.datetime) and out["LastModified"].tzinfo is not None
    assert json.loads(json.dumps(out["DestinationConfig"])) == {"OnSuccess": {}, "OnFailure": {}}
