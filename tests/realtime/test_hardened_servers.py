"""What learner code (or a careless client) sends to the lab's servers is bounded and answered as AWS answers.

Oversized bodies are never held in memory and get AWS's 413 in the API's own words; idle connections cannot
pile up; a telemetry subscription cannot make the lab contact another machine.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import time

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

import lambdalab as ll
from lambdalab.realtime import http as H

from http_helpers import http_request

from .conftest import create_many

MB = 1024 * 1024


@pytest.fixture(scope="module")
def served():
    lab = ll.Lab(clock="real")
    create_many(lab, {"echo": ("def handler(event, context):\n    return event\n", {}, {}),
                      "manual": (None, {"bootstrap": ["sleep", "60"]}, {"Runtime": "provided.al2023",
                                                                        "Timeout": 30}),
                      "probe": (None, {"bootstrap": ["sleep", "60"]}, {"Runtime": "provided.al2023",
                                                                       "Timeout": 30})})
    url = lab.serve()
    yield lab, url
    lab.close()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("size", [7 * MB, 100 * MB])
def test_an_invoke_body_over_6_mb_is_413_request_entity_too_large(served, size):
    lab, url = served
    status, headers, body = http_request(url, "POST", "/2015-03-31/functions/echo/invocations", b"x" * size,
                                         timeout=30)
    assert status == 413
    assert headers["x-amzn-errortype"].startswith("RequestEntityTooLargeException")
    assert json.loads(body)["message"] == \
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    # the connection pool and the function are fine afterwards
    status, _, body = http_request(url, "POST", "/2015-03-31/functions/echo/invocations", b'{"ok": 1}', timeout=30)
    assert status == 200 and json.loads(body) == {"ok": 1}


def test_boto3_sees_the_413_as_its_client_error(served):
    lab, url = served
    client = _boto3(url)
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="echo", Payload=b'"' + b"x" * (8 * MB) + b'"')
    assert caught.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_a_deployment_package_over_6_mb_still_uploads(served):
    """CreateFunction's limit is the 50 MB zip (70,167,211 bytes of request), not the invoke's 6 MB."""
    lab, url = served
    from lambdalab.lab import DEFAULT_ROLE, make_zip
    package = make_zip({"lambda_function.py": "def handler(event, context):\n    return 'big'\n",
                        "data.bin": os.urandom(8 * MB)})
    created = _boto3(url).create_function(FunctionName="big", Runtime="python3.12", Handler="lambda_function.handler",
                                          Role=DEFAULT_ROLE.format(account=lab.account_id),
                                          Code={"ZipFile": package})
    assert created["CodeSize"] == len(package) > 8 * MB


def _boto3(url: str):
    return boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=botocore.config.Config(retries={"max_attempts": 1}))


def test_a_runtime_response_over_the_limit_is_413_and_the_caller_gets_response_size_too_large(served):
    lab, url = served
    inv = lab.submit(FunctionName="manual", Payload=b"{}")
    address = lab.realtime.runtime_api("manual")
    status, headers, _ = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 200
    rid = headers["lambda-runtime-aws-request-id"]
    status, _, body = http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b"x" * (20 * MB),
                                   timeout=30)
    assert status == 413 and json.loads(body)["errorType"] == "RequestEntityTooLarge"
    lab.wait_for(lambda: inv.done, limit=lab.now + 5)
    error = json.loads(inv.response["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert error["errorMessage"] == "Response payload size exceeded maximum allowed payload size (6291556 bytes)."


def test_600_idle_connections_do_not_exhaust_file_descriptors(served):
    lab, url = served
    port = int(url.rsplit(":", 1)[1])
    server = lab.realtime.invoke_servers[0].http
    before = _open_fds()
    idle = []
    try:
        for _ in range(600):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        # the test holds 600 client sockets; the server side stays at its connection cap (one fd each)
        assert _open_fds() - before <= 600 + H.MAX_CONNECTIONS + 8
        status, _, body = http_request(url, "POST", "/2015-03-31/functions/echo/invocations", b'{"still": "serving"}',
                                       timeout=30)
        assert status == 200 and json.loads(body) == {"still": "serving"}
        reaped = sum(1 for s in idle if _closed_by_peer(s))
        assert reaped >= 600 - H.MAX_CONNECTIONS
    finally:
        for s in idle:
            s.close()
    assert len(server.connections) <= H.MAX_CONNECTIONS and server.reaped >= 600 - H.MAX_CONNECTIONS


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_a_telemetry_destination_off_the_sandbox_is_refused_and_never_contacted(served):
    lab, url = served
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    lab.submit(FunctionName="probe", Payload=b"{}")          # its environment's Init waits for the runtime
    address = lab.realtime.runtime_api("probe")
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("POST", "/2020-01-01/extension/register", b'{"events":["INVOKE"]}', {"Lambda-Extension-Name": "x"})
    response = conn.getresponse()
    ext = response.getheader("Lambda-Extension-Identifier")
    response.read()
    for uri in (f"http://10.1.2.3:{listener.getsockname()[1]}/", "http://example.com:80/", "ftp://localhost:21/",
                f"http://{socket.gethostname()}:{listener.getsockname()[1]}/"):
        conn.request("PUT", "/2022-07-01/telemetry", json.dumps({
            "schemaVersion": "2022-12-13", "types": ["platform"],
            "destination": {"protocol": "HTTP", "URI": uri}}).encode(), {"Lambda-Extension-Identifier": ext})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 400 and body["errorType"] == "ValidationError", (uri, body)
    conn.close()
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()
