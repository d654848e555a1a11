"""The event-driven front doors in a real-time lab: function URLs served by lab.serve() (path and Host forms,
streamed with chunked encoding), InvokeWithResponseStream over HTTP, a custom runtime streaming through the real
Runtime API (chunked POST, error trailers), and runtime processes reaching the lab with plain boto3."""
from __future__ import annotations

import http.client
import json
import time

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import create_many

STREAMING_BOOTSTRAP = r'''#!/usr/bin/env python3
# A custom runtime that streams: a chunked POST to /response with the streaming response mode, written piece by
# piece as the work goes on; a failure part-way is reported in the trailers.
import base64, http.client, json, os, time
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
while True:
    api = http.client.HTTPConnection(host, int(port))
    api.request("GET", "/2018-06-01/runtime/invocation/next")
    got = api.getresponse()
    event, rid = json.loads(got.read() or b"{}"), got.getheader("Lambda-Runtime-Aws-Request-Id")
    api.putrequest("POST", f"/2018-06-01/runtime/invocation/{rid}/response")
    api.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
    api.putheader("Transfer-Encoding", "chunked")
    api.putheader("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    api.endheaders()
    for i in range(3):
        piece = f"piece {i};".encode()
        api.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        time.sleep(0.3)
    trailer = b""
    if event.get("fail"):
        body = base64.b64encode(json.dumps({"errorMessage": "gave up", "errorType": "Stream.Broken"}).encode())
        trailer = b"Lambda-Runtime-Function-Error-Type: Stream.Broken\r\nLambda-Runtime-Function-Error-Body: " + \
            body + b"\r\n"
    api.send(b"0\r\n" + trailer + b"\r\n")
    api.getresponse().read()
    api.close()
'''

TICKS = '''
import time
def handler(event, context):
    yield {"statusCode": 200, "headers": {"content-type": "text/plain", "x-kind": "ticks"}}
    for i in range(3):
        time.sleep(0.3)
        yield f"tick {i}\\n"
'''
HELLO = '''
def handler(event, context):
    return {"statusCode": 200, "body": "hello " + event["rawPath"], "cookies": ["a=1", "b=2"]}
'''
LOOPER = '''
import json
import boto3
def handler(event, context):
    n = event.get("n", 0)
    boto3.client("lambda").invoke(FunctionName="looper", InvocationType="Event", Payload=json.dumps({"n": n + 1}))
    return n
'''
BROKEN = "def handler(event, context):\n    raise RuntimeError('no')\n"
SENDER = '''
import os
import boto3
def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="from-process")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="sent by " + os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    return os.environ["AWS_ENDPOINT_URL"]
'''


@pytest.fixture
def lab(real_lab):
    create_many(real_lab, {
        "streamer": (None, {"bootstrap": ["python3", "bootstrap"]},
                     {"Runtime": "provided.al2023", "files": {"bootstrap": STREAMING_BOOTSTRAP}, "Timeout": 10}),
        "ticks": (TICKS, {}, {"Timeout": 10}),
        "hello": (HELLO, {}, {}),
        "broken": (BROKEN, {}, {}),
        "sender": (SENDER, {"process": True}, {"Timeout": 10}),
    })
    return real_lab


def public_url(lab, name, mode="BUFFERED"):
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    return url


def get(base: str, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    return conn.getresponse()


def test_lab_serve_answers_function_urls_in_path_and_host_form(lab):
    url = public_url(lab, "hello")
    url_id = url.split("//")[1].split(".")[0]
    base = lab.serve()
    response = get(base, f"/lambda-url/{url_id}/items?x=1")
    assert response.status == 200 and response.read() == b"hello /items"
    assert sorted(v for k, v in response.getheaders() if k.lower() == "set-cookie") == ["a=1", "b=2"]
    by_host = get(base, "/other", {"Host": url.split("//")[1].rstrip("/")})
    assert by_host.status == 200 and by_host.read() == b"hello /other"
    assert get(base, "/lambda-url/" + "z" * 32 + "/").status == 404


def test_a_streaming_url_sends_chunks_as_the_function_writes_them(lab):
    url_id = public_url(lab, "ticks", "RESPONSE_STREAM").split("//")[1].split(".")[0]
    base = lab.serve()
    response = get(base, f"/lambda-url/{url_id}/")
    assert response.status == 200 and response.getheader("x-kind") == "ticks"
    assert response.getheader("Transfer-Encoding") == "chunked"
    arrivals, body = [], b""
    while True:
        piece = response.read1(65536)
        if not piece:
            break
        arrivals.append(time.monotonic())
        body += piece
    assert body == b"tick 0\ntick 1\ntick 2\n"
    assert len(arrivals) >= 2 and arrivals[-1] - arrivals[0] > 0.3      # pieces came apart, not at the end


def test_invoke_with_response_stream_over_http_and_a_runtime_streaming_through_the_runtime_api(lab):
    client = boto3.client("lambda", endpoint_url=lab.serve(), region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    response = client.invoke_with_response_stream(FunctionName="streamer", Payload=b"{}")
    arrivals, payload, complete = [], b"", None
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            arrivals.append(time.monotonic())
            payload += event["PayloadChunk"]["Payload"]
        else:
            complete = event["InvokeComplete"]
    assert payload == b"piece 0;piece 1;piece 2;" and complete.get("ErrorCode") is None
    assert len(arrivals) == 3 and arrivals[2] - arrivals[0] > 0.4
    steps = [s for s in lab.trace if (s.component, s.action) == ("runtime_api", "stream")]
    assert len(steps) == 3


def test_an_error_trailer_ends_the_stream_as_a_failure(lab):
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="streamer",
                                                                   Payload=b'{"fail": true}')["EventStream"])
    assert [e["PayloadChunk"]["Payload"] for e in events[:-1]] == [b"piece 0;", b"piece 1;", b"piece 2;"]
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Stream.Broken" and json.loads(complete["ErrorDetails"])["errorMessage"] == \
        "gave up"


def test_a_runtime_process_reaches_the_lab_with_plain_boto3(lab):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="from-process")["QueueUrl"]
    answer = json.loads(lab.client("lambda").invoke(FunctionName="sender")["Payload"].read())
    assert answer.startswith("http://127.0.0.1:")
    (message,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert message["Body"] == "sent by sender"
    assert "Lineage=" in message["Attributes"]["AWSTraceHeader"]      # botocore sent _X_AMZN_TRACE_ID on


def test_a_urls_refusals_over_http_are_awss_and_reach_no_function(lab):
    lam = lab.client("lambda")
    base = lab.serve()
    url_id = lam.create_function_url_config(FunctionName="hello", AuthType="NONE")["FunctionUrl"].split("//")[1][:32]
    denied = get(base, f"/lambda-url/{url_id}/")                       # AuthType NONE, but no policy statement
    assert denied.status == 403 and json.loads(denied.read()) == {"Message": "Forbidden"}
    lam.update_function_url_config(FunctionName="hello", AuthType="AWS_IAM")
    assert get(base, f"/lambda-url/{url_id}/").status == 403                        # unsigned
    request = AWSRequest(method="GET", url=f"{base}/lambda-url/{url_id}/signed")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "lambda", "us-east-1").add_auth(request)
    signed = get(base, f"/lambda-url/{url_id}/signed", dict(request.headers.items()))
    assert signed.status == 200 and signed.read() == b"hello /signed"
    too_big = get(base, f"/lambda-url/{url_id}/", dict(request.headers.items()), "POST", b"x" * (6 * 1024 * 1024 + 1))
    assert too_big.status == 413
    broken = public_url(lab, "broken").split("//")[1][:32]
    failed = get(base, f"/lambda-url/{broken}/")
    assert failed.status == 502 and failed.read() == b"Internal Server Error"
    lam.put_function_concurrency(FunctionName="broken", ReservedConcurrentExecutions=0)
    throttled = get(base, f"/lambda-url/{broken}/")
    assert throttled.status == 429 and throttled.getheader("x-amzn-ErrorType") == "TooManyRequestsException"
    assert lab.stats("hello")["invocations"] == 1       # only the signed request ran
    assert (lab.stats("broken")["invocations"], lab.stats("broken")["throttles"]) == (1, 1)


def test_cors_preflight_over_http_is_answered_by_the_url(lab):
    lam = lab.client("lambda")
    url_id = public_url(lab, "hello").split("//")[1][:32]
    lam.update_function_url_config(FunctionName="hello", Cors={"AllowOrigins": ["https://shop.example"],
                                                                "AllowMethods": ["GET"], "MaxAge": 60})
    base = lab.serve()
    preflight = get(base, f"/lambda-url/{url_id}/", {"Origin": "https://shop.example",
                                                     "Access-Control-Request-Method": "GET"}, "OPTIONS")
    assert preflight.status == 200 and preflight.getheader("access-control-allow-origin") == "https://shop.example"
    assert preflight.getheader("access-control-max-age") == "60" and lab.stats("hello")["requests"] == 0
    answer = get(base, f"/lambda-url/{url_id}/", {"Origin": "https://shop.example"})
    assert answer.status == 200 and answer.getheader("access-control-allow-origin") == "https://shop.example"


def test_a_notification_configuration_that_is_not_xml_is_malformed_xml_and_changes_nothing(lab):
    s3 = boto3.client("s3", endpoint_url=lab.serve(), region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="x")
    s3.create_bucket(Bucket="uploads")
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, "
                               "SignedHeaders=host, Signature=0"}
    for body in (b"<NotificationConfiguration><CloudFunctionConfiguration>", b"not xml at all"):
        answer = get(lab.serve(), "/uploads?notification", signed, "PUT", body)
        assert answer.status == 400 and b"<Code>MalformedXML</Code>" in answer.read()
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket="uploads")


def test_a_loop_through_plain_boto3_in_a_runtime_process_is_stopped_after_16(real_lab):
    # the process's boto3 sends _X_AMZN_TRACE_ID's lineage on (X-Amzn-Trace-Id), so the chain is followed
    lab = real_lab
    create_many(lab, {"looper": (LOOPER, {"process": True}, {"Timeout": 10})})
    lab.client("lambda").invoke(FunctionName="looper", InvocationType="Event", Payload=b"{}")

    def dropped():
        return sum(v for _, v in lab.metrics("looper", "RecursiveInvocationsDropped"))
    lab.wait_for(lambda: dropped() >= 1 and lab.stats("looper")["invocations"] >= 16, limit=lab.now + 60)
    assert (lab.stats("looper")["invocations"], dropped()) == (16, 1)
    (event,) = [e for e in lab.async_invoke.events.values() if e.condition == "RecursiveInvocationException"]
    assert event.state == "dropped"
