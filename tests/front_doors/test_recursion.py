"""Recursive loop detection across SQS, SNS, S3 and Lambda: a request chain that keeps invoking one function is
stopped after 16 invocations, the event accounted for (DLQ, on-failure destination, or the caller's error), the
RecursiveInvocationsDropped metric counts it, and RecursiveLoop=Allow lets a function loop on purpose."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

SQS_LOOP = '''
import lambdalab as ll
def handler(event, context):
    sqs = ll.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="loop")["QueueUrl"], MessageBody="again")
'''
SNS_LOOP = '''
import lambdalab as ll
def handler(event, context):
    topic = event["Records"][0]["Sns"]["TopicArn"]
    ll.client("sns").publish(TopicArn=topic, Message="again")
'''
S3_LOOP = '''
import lambdalab as ll
def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    ll.client("s3").put_object(Bucket="loop", Key=key + "x", Body=b"again")
'''
SELF_CALL = '''
import json
import lambdalab as ll
def handler(event, context):
    depth = event.get("depth", 0)
    if depth >= 30:
        return depth
    return json.loads(ll.client("lambda").invoke(FunctionName="deep", Payload=json.dumps({"depth": depth + 1}))
                      ["Payload"].read())
'''


@pytest.fixture
def lab():
    return ll.Lab(seed=8)


def queue(lab, name, **attributes):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def dropped(lab, name):
    return sum(v for _, v in lab.metrics(name, "RecursiveInvocationsDropped"))


def test_an_sqs_loop_stops_after_16_and_the_message_ends_in_the_dlq(lab):
    lab.create_function("looper", SQS_LOOP)
    dlq_url, dlq_arn = queue(lab, "loop-dlq")
    url, arn = queue(lab, "loop", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    lab.client("lambda").create_event_source_mapping(FunctionName="looper", EventSourceArn=arn, BatchSize=1)
    lab.advance(5)
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="start")
    lab.advance(600)
    assert lab.stats("looper")["invocations"] == 16
    assert dropped(lab, "looper") == 2            # the message came back once more before SQS moved it
    sqs = lab.client("sqs")
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, MessageSystemAttributeNames=["All"])["Messages"]
    assert dead["Body"] == "again" and dead["Attributes"]["AWSTraceHeader"].endswith(":16")
    rejects = lab.trace.filter(component="frontend", action="reject")
    assert rejects and "RecursiveInvocationException" in rejects[0].text


def test_an_sns_loop_stops_and_the_event_goes_to_the_on_failure_destination(lab):
    lab.create_function("echo", SNS_LOOP)
    sns, lam = lab.client("sns"), lab.client("lambda")
    topic = sns.create_topic(Name="loop")["TopicArn"]
    lam.add_permission(FunctionName="echo", StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=topic)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=lab.control_plane.function_arn("echo"))
    failures_url, failures_arn = queue(lab, "failures")
    lam.put_function_event_invoke_config(FunctionName="echo", DestinationConfig={
        "OnFailure": {"Destination": failures_arn}})
    sns.publish(TopicArn=topic, Message="start")
    lab.run()
    assert lab.stats("echo")["invocations"] == 16 and dropped(lab, "echo") == 1
    (record,) = [json.loads(m["Body"]) for m in lab.client("sqs").receive_message(QueueUrl=failures_url)["Messages"]]
    assert record["requestContext"]["condition"] == "RecursiveInvocationException"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert lab.trace.filter(component="poller", action="stop_loop")


def test_an_s3_loop_stops(lab):
    lab.create_function("rewriter", S3_LOOP)
    s3, lam = lab.client("s3"), lab.client("lambda")
    s3.create_bucket(Bucket="loop")
    lam.add_permission(FunctionName="rewriter", StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::loop")
    s3.put_bucket_notification_configuration(Bucket="loop", NotificationConfiguration={"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": lab.control_plane.function_arn("rewriter"), "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="loop", Key="k", Body=b"start")
    lab.run()
    assert lab.stats("rewriter")["invocations"] == 16 and dropped(lab, "rewriter") == 1
    assert len(s3.list_objects_v2(Bucket="loop")["Contents"]) == 17
    (event,) = [e for e in lab.async_invoke.events.values() if e.condition == "RecursiveInvocationException"]
    assert event.state == "dropped" and "no OnFailure destination or DLQ" in event.reason


def test_a_function_calling_itself_synchronously_gets_recursive_invocation_exception(lab):
    lab.create_function("deep", SELF_CALL, timeout=60)
    response = lab.client("lambda").invoke(FunctionName="deep")
    error = json.loads(response["Payload"].read())        # the 16th handler's error, handed back up the chain
    assert error["errorType"] == "RecursiveInvocationException"
    reports = [line for line in lab.logs("deep") if line.startswith("REPORT")]
    assert sum("Error Type: RecursiveInvocationException" in line for line in reports) == 1
    assert lab.stats("deep")["invocations"] == 16 and dropped(lab, "deep") == 1


def test_recursive_loop_allow_lets_a_function_loop_on_purpose(lab):
    lab.create_function("deep", SELF_CALL, timeout=60)
    lam = lab.client("lambda")
    assert lam.get_function_recursion_config(FunctionName="deep")["RecursiveLoop"] == "Terminate"
    assert lam.put_function_recursion_config(FunctionName="deep", RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert json.loads(lam.invoke(FunctionName="deep")["Payload"].read()) == 30
    assert lab.stats("deep")["invocations"] == 31 and dropped(lab, "deep") == 0
    lam.put_function_recursion_config(FunctionName="deep", RecursiveLoop="Terminate")
    assert lam.get_function_recursion_config(FunctionName="deep")["RecursiveLoop"] == "Terminate"


def test_recursion_config_errors(lab):
    lam = lab.client("lambda")
    lab.create_function("f", "def handler(event, context):\n    return 1\n")
    with pytest.raises(ll.ClientError) as caught:
        lam.put_function_recursion_config(FunctionName="f", RecursiveLoop="Sometimes")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert lam.get_function_recursion_config(FunctionName="f")["RecursiveLoop"] == "Terminate"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_recursion_config(FunctionName="missing")


def test_chains_are_counted_per_function_and_do_not_leak_between_requests(lab):
    lab.create_function("deep", SELF_CALL.replace(">= 30", ">= 10"), timeout=60)
    lam = lab.client("lambda")
    for _ in range(3):                           # 11 invocations per chain, three chains: never stopped
        assert json.loads(lam.invoke(FunctionName="deep")["Payload"].read()) == 10
    assert dropped(lab, "deep") == 0
