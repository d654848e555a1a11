"""``lab.serve()`` on the wire itself: what curl sees (status, x-amzn-ErrorType, AWS's error bodies) and the AWS
CLI driving the lab unchanged (``aws --endpoint-url URL lambda create-function --zip-file fileb://...``)."""
from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys

import pytest

import lambdalab as ll
from lambdalab.lab import make_zip

from http_helpers import http_request

from .conftest import ROLE


@pytest.fixture(scope="module")
def served():
    lab = ll.Lab(clock="real")
    lab.create_function("echo", "def handler(event, context):\n    print(event)\n    return {'echo': event}\n")
    try:
        yield lab, lab.serve()
    finally:
        lab.close()


def test_curl_invokes_and_gets_aws_errors(served):
    lab, url = served
    status, headers, body = http_request(url, "POST", "/2015-03-31/functions/echo/invocations", b'{"k": 1}')
    assert status == 200 and json.loads(body) == {"echo": {"k": 1}}
    assert headers["x-amz-executed-version"] == "$LATEST" and headers["x-amzn-requestid"]
    status, headers, body = http_request(url, "GET", "/2015-03-31/functions/missing")
    assert status == 404 and headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert json.loads(body) == {"Type": "User", "Message": "Function not found: "
                                "arn:aws:lambda:us-east-1:123456789012:function:missing:$LATEST"}
    status, headers, body = http_request(url, "POST", "/2015-03-31/functions", b"{not json",
                                    {"Content-Type": "application/json"})
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(body)["message"].startswith("Could not parse request body into json")


def test_unknown_and_unserved_operations_get_aws_shaped_errors(served):
    lab, url = served
    status, headers, body = http_request(url, "GET", "/2015-03-31/no-such-thing")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert json.loads(body)["message"] == "Unknown operation GET /2015-03-31/no-such-thing"
    status, headers, body = http_request(url, "POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.MakeCoffee",
                                                              "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and json.loads(body)["__type"] == "UnknownOperationException"
    # an operation Lambda has and the lab does not model: 501, with its name
    status, headers, body = http_request(url, "GET", "/2020-04-22/code-signing-configs/")
    assert status == 501 and headers["x-amzn-errortype"] == "NotImplemented"
    assert "ListCodeSigningConfigs" in json.loads(body)["message"]


def test_query_errors_name_the_action(served):
    lab, url = served
    status, headers, body = http_request(url, "POST", "/", b"Action=MakeCoffee&Version=2010-03-31",
                                    {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body and b"The action MakeCoffee is not valid" in body


def _aws(url, tmp_path, *args, check=True):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "learner", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_PAGER": ""}
    env.pop("AWS_PROFILE", None)
    cli = pathlib.Path(sys.executable).with_name("aws")
    done = subprocess.run([str(cli), "--endpoint-url", url, "--output", "json", *args], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _lambda_commands(url, tmp_path):
    (tmp_path / "code.zip").write_bytes(make_zip({"app.py": "def handler(event, context):\n    return 'cli'\n"}))
    created = json.loads(_aws(url, tmp_path, "lambda", "create-function", "--function-name", "from-cli",
                              "--runtime", "python3.12", "--role", ROLE, "--handler", "app.handler",
                              "--zip-file", "fileb://code.zip", "--tags", "team=cli").stdout)
    assert created["FunctionName"] == "from-cli" and created["State"] == "Pending"
    _aws(url, tmp_path, "lambda", "wait", "function-active-v2", "--function-name", "from-cli")
    out = json.loads(_aws(url, tmp_path, "lambda", "invoke", "--function-name", "from-cli", "out.json").stdout)
    assert out["StatusCode"] == 200 and (tmp_path / "out.json").read_text() == '"cli"'
    listed = json.loads(_aws(url, tmp_path, "lambda", "list-functions", "--page-size", "1").stdout)
    assert {"echo", "from-cli"} <= {f["FunctionName"] for f in listed["Functions"]}    # the CLI followed markers
    first = json.loads(_aws(url, tmp_path, "lambda", "list-functions", "--max-items", "1").stdout)
    assert len(first["Functions"]) == 1 and first["NextToken"]
    missing = _aws(url, tmp_path, "lambda", "get-function", "--function-name", "nope", check=False)
    assert missing.returncode == 255 and "ResourceNotFoundException" in missing.stderr   # (CLI v1: 255)


def _sqs_commands(url, tmp_path):
    queue = json.loads(_aws(url, tmp_path, "sqs", "create-queue", "--queue-name", "cli-queue").stdout)["QueueUrl"]
    _aws(url, tmp_path, "sqs", "send-message", "--queue-url", queue, "--message-body", "hello from the CLI")
    got = json.loads(_aws(url, tmp_path, "sqs", "receive-message", "--queue-url", queue).stdout)
    assert got["Messages"][0]["Body"] == "hello from the CLI"


def _kinesis_commands(url, tmp_path):
    _aws(url, tmp_path, "kinesis", "create-stream", "--stream-name", "cli-stream", "--shard-count", "1")
    _aws(url, tmp_path, "kinesis", "wait", "stream-exists", "--stream-name", "cli-stream")
    put = json.loads(_aws(url, tmp_path, "kinesis", "put-record", "--stream-name", "cli-stream",
                          "--partition-key", "k", "--data", "aGVsbG8=").stdout)
    assert put["ShardId"] == "shardId-000000000000"


def _s3_commands(url, tmp_path):
    (tmp_path / "hello.txt").write_text("hello s3\n")
    assert "make_bucket: cli-bucket" in _aws(url, tmp_path, "s3", "mb", "s3://cli-bucket").stdout
    _aws(url, tmp_path, "s3", "cp", "hello.txt", "s3://cli-bucket/dir/hello.txt")     # PutObject
    listed = _aws(url, tmp_path, "s3", "ls", "s3://cli-bucket/dir/").stdout           # ListObjectsV2, Delimiter=/
    assert listed.split()[-2:] == ["9", "hello.txt"]
    _aws(url, tmp_path, "s3", "cp", "s3://cli-bucket/dir/hello.txt", "back.txt")      # HeadObject, GetObject
    assert (tmp_path / "back.txt").read_text() == "hello s3\n"
    missing = _aws(url, tmp_path, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "nope", check=False)
    assert missing.returncode == 255 and "An error occurred (404) when calling the HeadObject operation: Not Found" \
        in missing.stderr


def _sns_commands(url, tmp_path):
    topic = json.loads(_aws(url, tmp_path, "sns", "create-topic", "--name", "cli-topic").stdout)["TopicArn"]
    _aws(url, tmp_path, "lambda", "add-permission", "--function-name", "echo", "--statement-id", "from-sns",
         "--action", "lambda:InvokeFunction", "--principal", "sns.amazonaws.com", "--source-arn", topic)
    _aws(url, tmp_path, "sns", "subscribe", "--topic-arn", topic, "--protocol", "lambda", "--notification-endpoint",
         "arn:aws:lambda:us-east-1:123456789012:function:echo")
    assert json.loads(_aws(url, tmp_path, "sns", "publish", "--topic-arn", topic, "--message",
                           "published by the CLI").stdout)["MessageId"]
    missing = _aws(url, tmp_path, "sns", "publish", "--topic-arn", topic + "-gone", "--message", "x", check=False)
    assert missing.returncode == 255 and "(NotFound)" in missing.stderr and "Topic does not exist" in missing.stderr


def test_the_aws_cli_drives_the_lab_unchanged(served, tmp_path):
    """Each service's commands in their own directory; the services' chains run side by side (each CLI start
    costs ~2 s of CPU, and Kinesis' stream-exists waiter sleeps 10 s between polls, as against AWS)."""
    lab, url = served
    chains = [_lambda_commands, _sqs_commands, _kinesis_commands, _s3_commands, _sns_commands]
    for chain in chains:
        (tmp_path / chain.__name__).mkdir()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        running = [pool.submit(chain, url, tmp_path / chain.__name__) for chain in chains]
        for done in running:
            done.result()
    delivered = lambda: any("published by the CLI" in line for line in lab.logs("echo"))   # noqa: E731
    lab.wait_for(delivered, lab.now + 30)                   # SNS invokes the function asynchronously
    assert delivered()
