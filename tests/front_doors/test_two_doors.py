"""The event-driven front doors through both doors (tests/wire's ``door``): the same boto3 calls against
``lab.client(...)`` in virtual time and against ``boto3.client(..., endpoint_url=lab.serve())`` over real HTTP in
real time: resource policies, S3 notifications, SNS fan-out, function URL configs, recursion configs and
InvokeWithResponseStream, with AWS's errors for bad input and nothing changed by a refused call."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from wire.conftest import door  # noqa: F401  (the fixture: in-process and http)

RECORDER = "import json\ndef handler(event, context):\n    print(json.dumps(event))\n    return 'ok'\n"
TICKS = '''
import time
def handler(event, context):
    for i in range(3):
        time.sleep(0.1)
        yield f"tick {i};"
'''


def code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def function(door, source=RECORDER, prefix="fn") -> tuple[str, str]:
    name = door.name(prefix)
    return name, door.lab.create_function(name, source, timeout=10)["FunctionArn"]


def settle(door, done) -> None:
    """Let the lab work until ``done()``: virtual time jumps, real time waits (bounded)."""
    if door.url is None:
        door.lab.advance(10)
    else:
        door.lab.wait_for(done, limit=door.lab.now + 10)
    assert done()


def events_seen(door, name) -> list[dict]:
    return [json.loads(line) for line in door.lab.logs(name) if line.startswith("{")]


def test_permissions_round_trip_and_bad_ones_change_nothing(door):
    lam = door.client("lambda")
    name, arn = function(door)
    assert code(lambda: lam.get_policy(FunctionName=name)) == "ResourceNotFoundException"
    added = lam.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                               Principal="sns.amazonaws.com", SourceArn="arn:aws:sns:us-east-1:123456789012:t")
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Resource"] == arn
    policy = lam.get_policy(FunctionName=name)
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["sns"]
    for bad, error in ((dict(StatementId="sns", Principal="*"), "ResourceConflictException"),   # the same id
                       (dict(StatementId="x", Principal="nobody"), "InvalidParameterValueException"),
                       (dict(StatementId="bad id!", Principal="*"), "ValidationException")):
        assert code(lambda: lam.add_permission(FunctionName=name, Action="lambda:InvokeFunction", **bad)) == error
    after = lam.get_policy(FunctionName=name)
    assert (after["Policy"], after["RevisionId"]) == (policy["Policy"], policy["RevisionId"])
    assert code(lambda: lam.remove_permission(FunctionName=name, StatementId="nope")) == \
        "ResourceNotFoundException"
    lam.remove_permission(FunctionName=name, StatementId="sns")
    assert code(lambda: lam.get_policy(FunctionName=name)) == "ResourceNotFoundException"


def test_an_s3_notification_needs_the_policy_and_then_invokes_with_the_s3_event(door):
    lam, s3 = door.client("lambda"), door.client("s3")
    name, arn = function(door)
    bucket = door.name("uploads")
    s3.create_bucket(Bucket=bucket)
    config = {"LambdaFunctionConfigurations": [{
        "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}]}}}]}
    assert code(lambda: s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=config)) == "InvalidArgument"
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    bad = {"LambdaFunctionConfigurations": [{**config["LambdaFunctionConfigurations"][0], "Events": ["s3:Nope"]}]}
    lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}")
    assert code(lambda: s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=bad)) == "InvalidArgument"
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    s3.put_object(Bucket=bucket, Key="out/skip.csv", Body=b"no")
    s3.put_object(Bucket=bucket, Key="in/march sales.csv", Body=b"a,b\n")
    settle(door, lambda: events_seen(door, name))
    (event,) = events_seen(door, name)
    (record,) = event["Records"]
    assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert record["s3"]["object"]["key"] == "in/march+sales.csv" and record["s3"]["object"]["size"] == 4


def test_sns_fans_out_to_a_queue_and_to_a_function_that_allows_it(door):
    lam, sns, sqs = door.client("lambda"), door.client("sns"), door.client("sqs")
    name, arn = function(door)
    topic = sns.create_topic(Name=door.name("orders"))["TopicArn"]
    queue_url = sqs.create_queue(QueueName=door.name("shipping"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    assert code(lambda: sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x")) == \
        "InvalidParameter"
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 2
    sns.publish(TopicArn=topic, Message="first")                 # no policy yet: the function's copy is recorded
    settle(door, lambda: any(u["subscription"] == sub for u in door.lab.sns.undelivered))
    lam.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=topic)
    sns.publish(TopicArn=topic, Message="second", Subject="new order")
    settle(door, lambda: events_seen(door, name))
    (event,) = events_seen(door, name)
    note = event["Records"][0]["Sns"]
    assert (note["TopicArn"], note["Message"], note["Subject"]) == (topic, "second", "new order")
    bodies = [json.loads(m["Body"])["Message"] for m in sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(bodies) == ["first", "second"]


def test_function_url_configs_and_bad_ones(door):
    lam = door.client("lambda")
    name, arn = function(door)
    created = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201 and created["FunctionArn"] == arn
    url_id = created["FunctionUrl"].split("//")[1].split(".")[0]
    assert len(url_id) == 32 and url_id.isalnum() and url_id.islower()
    assert created["FunctionUrl"].endswith(".lambda-url.us-east-1.on.aws/")
    assert code(lambda: lam.create_function_url_config(FunctionName=name, AuthType="NONE")) == \
        "ResourceConflictException"
    assert code(lambda: lam.update_function_url_config(FunctionName=name, AuthType="SOMETIMES")) == \
        "ValidationException"
    assert code(lambda: lam.update_function_url_config(FunctionName=name, Cors={"AllowMethods": ["FETCH"]})) == \
        "InvalidParameterValueException"
    got = lam.get_function_url_config(FunctionName=name)
    assert (got["AuthType"], got["InvokeMode"]) == ("AWS_IAM", "BUFFERED") and "Cors" not in got
    lam.update_function_url_config(FunctionName=name, InvokeMode="RESPONSE_STREAM",
                                   Cors={"AllowOrigins": ["https://example.com"]})
    (listed,) = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert listed["InvokeMode"] == "RESPONSE_STREAM" and listed["Cors"]["AllowOrigins"] == ["https://example.com"]
    lam.delete_function_url_config(FunctionName=name)
    assert lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    assert code(lambda: lam.get_function_url_config(FunctionName=name)) == "ResourceNotFoundException"


def test_recursion_config(door):
    lam = door.client("lambda")
    name, _ = function(door)
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"
    assert code(lambda: lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Sometimes")) == \
        "ValidationException"
    assert lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"
    assert code(lambda: lam.get_function_recursion_config(FunctionName=door.name("missing"))) == \
        "ResourceNotFoundException"


def test_invoke_with_response_stream(door):
    lam = door.client("lambda")
    name, _ = function(door, TICKS)
    events = list(lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")["EventStream"])
    assert [e["PayloadChunk"]["Payload"] for e in events[:-1]] == [b"tick 0;", b"tick 1;", b"tick 2;"]
    assert events[-1]["InvokeComplete"].get("ErrorCode") is None
    assert code(lambda: lam.invoke_with_response_stream(FunctionName=name, InvocationType="Event")) == \
        "ValidationException"
