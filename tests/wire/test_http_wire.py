"""``lab.serve()`` on the wire itself: what curl sees (status, x-amzn-ErrorType, AWS's error bodies) and the AWS
CLI driving the lab unchanged (``aws --endpoint-url URL lambda create-function --zip-file fileb://...``)."""
from __future__ import annotations

import http.client
import json
import os
import pathlib
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

import lambdalab as ll
from lambdalab.lab import make_zip

from .conftest import ROLE


@pytest.fixture(scope="module")
def served():
    lab = ll.Lab(clock="real")
    lab.create_function("echo", "def handler(event, context):\n    return {'echo': event}\n")
    try:
        yield lab, lab.serve()
    finally:
        lab.close()


def request(url, method, path, body=b"", headers=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_curl_invokes_and_gets_aws_errors(served):
    lab, url = served
    status, headers, body = request(url, "POST", "/2015-03-31/functions/echo/invocations", b'{"k": 1}')
    assert status == 200 and json.loads(body) == {"echo": {"k": 1}}
    assert headers["x-amz-executed-version"] == "$LATEST" and headers["x-amzn-requestid"]
    status, headers, body = request(url, "GET", "/2015-03-31/functions/missing")
    assert status == 404 and headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert json.loads(body) == {"Type": "User", "Message": "Function not found: "
                                "arn:aws:lambda:us-east-1:123456789012:function:missing:$LATEST"}
    status, headers, body = request(url, "POST", "/2015-03-31/functions", b"{not json",
                                    {"Content-Type": "application/json"})
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(body)["message"].startswith("Could not parse request body into json")


def test_unknown_and_unserved_operations_get_aws_shaped_errors(served):
    lab, url = served
    status, headers, body = request(url, "GET", "/2015-03-31/no-such-thing")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert json.loads(body)["message"] == "Unknown operation GET /2015-03-31/no-such-thing"
    status, headers, body = request(url, "POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.MakeCoffee",
                                                              "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and json.loads(body)["__type"] == "UnknownOperationException"
    # an operation Lambda has and the lab does not model: 501, with its name
    status, headers, body = request(url, "GET", "/2020-04-22/code-signing-configs/")
    assert status == 501 and headers["x-amzn-errortype"] == "NotImplemented"
    assert "ListCodeSigningConfigs" in json.loads(body)["message"]


def test_query_errors_name_the_action(served):
    from .test_protocols import StandInSNS
    lab, url = served
    if not any(isinstance(b, StandInSNS) for b in lab.backends("sns")):
        lab.register_backend("sns", StandInSNS())
    status, headers, body = request(url, "POST", "/", b"Action=MakeCoffee&Version=2010-03-31",
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


def test_the_aws_cli_drives_the_lab_unchanged(served, tmp_path):
    lab, url = served
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
    queue = json.loads(_aws(url, tmp_path, "sqs", "create-queue", "--queue-name", "cli-queue").stdout)["QueueUrl"]
    _aws(url, tmp_path, "sqs", "send-message", "--queue-url", queue, "--message-body", "hello from the CLI")
    got = json.loads(_aws(url, tmp_path, "sqs", "receive-message", "--queue-url", queue).stdout)
    assert got["Messages"][0]["Body"] == "hello from the CLI"
    _aws(url, tmp_path, "kinesis", "create-stream", "--stream-name", "cli-stream", "--shard-count", "1")
    _aws(url, tmp_path, "kinesis", "wait", "stream-exists", "--stream-name", "cli-stream")
    put = json.loads(_aws(url, tmp_path, "kinesis", "put-record", "--stream-name", "cli-stream",
                          "--partition-key", "k", "--data", "aGVsbG8=").stdout)
    assert put["ShardId"] == "shardId-000000000000"
