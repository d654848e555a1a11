"""The HTTP faces: the Invoke API for boto3, and a Runtime API that keeps its rules under malformed requests.

For the Runtime API tests the function's bootstrap is a process that never calls the API (``sleep``): the test
itself plays the runtime, so every status code can be provoked on purpose.
"""
from __future__ import annotations

import base64
import json
import socket
import time

import boto3
import botocore.exceptions
import pytest

import lambdalab as ll

from http_helpers import http_request

from .conftest import PY_ERR, PY_OK, create_many


def boto3_lambda(url):
    return boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x",
                        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=30))


@pytest.fixture(scope="module")
def served():
    lab = ll.Lab(clock="real")
    create_many(lab, {"ric-ok": (PY_OK, {"process": True}, {}),
                      "ric-ctx": ("def handler(event, context):\n    return context.client_context.custom\n",
                                  {"process": True}, {}),
                      "inproc-err": (PY_ERR, {}, {}),
                      "manual": (None, {"bootstrap": ["sleep", "60"]}, {"Runtime": "provided.al2023",
                                                                        "Timeout": 30})})
    url = lab.serve()
    yield lab, url
    lab.close()


def test_boto3_invoke_against_lab_serve(served):
    lab, url = served
    client = boto3_lambda(url)
    response = client.invoke(FunctionName="ric-ok", Payload=json.dumps({"a": 1}), LogType="Tail")
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    body = json.loads(response["Payload"].read())
    assert body["event"] == {"a": 1}
    assert "REPORT RequestId" in base64.b64decode(response["LogResult"]).decode()
    error = client.invoke(FunctionName="inproc-err", Payload=b"{}")
    assert error["FunctionError"] == "Unhandled"
    assert json.loads(error["Payload"].read())["errorType"] == "ValueError"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        client.invoke(FunctionName="nope", Payload=b"{}")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found" in missing.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="ric-ok", Payload=b"{not json")
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    seen = client.invoke(FunctionName="ric-ctx", ClientContext=context, Payload=b"{}")
    assert "FunctionError" not in seen and json.loads(seen["Payload"].read()) == {"k": "v"}
    dry = client.invoke(FunctionName="ric-ok", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    steps = lab.trace.filter(component="frontend", action="receive")
    assert len(steps) >= 3


def _raw(address, data: bytes, close_after_send=False, timeout=5.0) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        if close_after_send:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def _env_of(lab, name, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        envs = [e for e in list(lab.fleet.environments.values()) if e.snapshot.name == name]
        if envs and envs[0].runtime is not None:
            return envs[0]
        time.sleep(0.02)
    raise AssertionError(f"no environment for {name}")


def test_runtime_api_rules_and_malformed_requests(served):
    lab, url = served
    inv = lab.submit(FunctionName="manual", Payload=b'{"k": "v"}')
    env = _env_of(lab, "manual")
    address = env.environ["AWS_LAMBDA_RUNTIME_API"]
    status, _, body = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    if env.state == "Init" and not env.runtime.initialising:     # microVM boot + code fetch not over yet
        assert status == 403
    assert lab.realtime.runtime_api("manual") == address          # waits until the runtime has started

    # Extensions register during Init (before the runtime's first /next)
    status, headers, body = http_request(address, "POST", "/2020-01-01/extension/register", b'{"events":["INVOKE"]}',
                                     {"Lambda-Extension-Name": "probe"})
    assert status == 200 and json.loads(body)["functionName"] == "manual"
    ext_id = headers["lambda-extension-identifier"]
    assert http_request(address, "POST", "/2020-01-01/extension/register", b"{bad json",
                    {"Lambda-Extension-Name": "bad"})[0] == 400
    assert http_request(address, "POST", "/2020-01-01/extension/register", b'{"events":["NOPE"]}',
                    {"Lambda-Extension-Name": "bad2"})[0] == 403
    status, _, body = http_request(address, "PUT", "/2022-07-01/telemetry", b"{bad",
                               {"Lambda-Extension-Identifier": ext_id})
    assert status == 400
    status, _, body = http_request(address, "PUT", "/2022-07-01/telemetry",
                               json.dumps({"schemaVersion": "2022-12-13", "types": ["platform"],
                                           "buffering": {"maxItems": 5},
                                           "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:1/"}}
                                          ).encode(), {"Lambda-Extension-Identifier": ext_id})
    assert status == 400 and b"maxItems" in body
    assert http_request(address, "GET", "/2020-01-01/extension/event/next", headers={
        "Lambda-Extension-Identifier": "not-an-id"})[0] == 403

    # the runtime's first /next ends Init and hands over the waiting invocation
    status, headers, event = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 200 and json.loads(event) == {"k": "v"}
    rid = headers["lambda-runtime-aws-request-id"]
    assert headers["content-type"] == "application/json"
    assert int(headers["lambda-runtime-deadline-ms"]) > time.time() * 1000
    assert headers["lambda-runtime-invoked-function-arn"].endswith(":function:manual")
    assert http_request(address, "POST", "/2020-01-01/extension/register", b"{}",
                    {"Lambda-Extension-Name": "late"})[0] == 403          # registration closed

    # wrong request id, oversize, unknown routes, wrong methods, init/error in the wrong state
    status, _, body = http_request(address, "POST", "/2018-06-01/runtime/invocation/not-the-id/response", b"1")
    assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
    status, _, body = http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response",
                               b"x" * (6 * 1024 * 1024 + 101))
    assert status == 413
    assert http_request(address, "GET", "/nowhere")[0] == 404
    assert http_request(address, "PUT", "/2018-06-01/runtime/invocation/next")[0] == 405
    status, _, body = http_request(address, "POST", "/2018-06-01/runtime/init/error", b"{}")
    assert status == 403 and json.loads(body)["errorType"] == "InvalidStateTransition"

    # malformed HTTP: garbage, truncated body, huge headers, too-large body; each gets its 4xx (or a close)
    assert _raw(address, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(address, b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                b"short", close_after_send=True).startswith(b"HTTP/1.1 400")
    assert _raw(address, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")[9:12] == b"431"
    assert _raw(address, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n").startswith(
        b"HTTP/1.1 413")
    assert _raw(address, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n").startswith(b"HTTP/1.1 400")

    # the oversize answer failed that invoke (as in AWS); answering it again is refused by state
    lab.wait_for(lambda: inv.done, limit=lab.now + 5)
    assert json.loads(inv.response["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"
    status, _, body = http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b'{"late":1}')
    assert status == 403 and json.loads(body)["errorType"] == "InvalidStateTransition"

    # still serving: a new invoke goes all the way through, and a second answer is refused by state
    inv = lab.submit(FunctionName="manual", Payload=b'{"k": 2}')
    status, headers, event = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 200 and json.loads(event) == {"k": 2}
    rid = headers["lambda-runtime-aws-request-id"]
    status, _, body = http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b'{"done":1}')
    assert status == 202
    status, _, body = http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b'{"again":1}')
    assert status == 403
    lab.wait_for(lambda: inv.done, limit=lab.now + 5)
    assert inv.response["Payload"].read() == b'{"done":1}'
    # the invoke API refuses bad JSON with Lambda's REST error shape
    host_port = url[len("http://"):]
    status, headers, body = http_request(host_port, "POST", "/2015-03-31/functions/manual/invocations", b"{oops")
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(body)["Type"] == "User"
    steps = [s.action for s in lab.trace.filter(request_id=inv.request_id, component="runtime_api")]
    assert steps == ["next", "response"]


def test_extension_process_gets_invoke_events_and_telemetry_reaches_a_listener():
    """A bash extension sees INVOKE events; a subscriber's HTTP listener receives platform events in batches."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from lambdalab.check.lab07 import LOGGER_EXTENSION

    from .conftest import CURL_BOOTSTRAP
    batches = []

    class Listener(BaseHTTPRequestHandler):
        def do_POST(self):
            batches.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass
    listener = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    lab = ll.Lab(clock="real")
    try:
        create_many(lab, {
            "with-ext": (None, {}, {"Runtime": "provided.al2023", "Environment": {"Variables": {"MODE": "ok"}},
                                    "files": {"bootstrap": CURL_BOOTSTRAP, "extensions/logger": LOGGER_EXTENSION}}),
            "manual": (None, {"bootstrap": ["sleep", "60"]}, {"Runtime": "provided.al2023", "Timeout": 30})})
        lam = lab.client("lambda")
        response = lam.invoke(FunctionName="with-ext", Payload=b'{"n": 1}')
        rid = response["ResponseMetadata"]["RequestId"]
        assert json.loads(response["Payload"].read())["echo"] == {"n": 1}
        end = time.monotonic() + 5
        while not any(rid in line and "[logger]" in line for line in lab.logs("with-ext")) and \
                time.monotonic() < end:
            time.sleep(0.05)
        assert any(rid in line and '"eventType": "INVOKE"' in line for line in lab.logs("with-ext"))
        assert lab.trace.filter(function="with-ext", component="extension", action="register")

        # telemetry: the test plays the extension and the runtime of "manual"
        inv = lab.submit(FunctionName="manual", Payload=b"{}")
        address = lab.realtime.runtime_api("manual")
        status, headers, _ = http_request(address, "POST", "/2020-01-01/extension/register", b'{"events":["INVOKE"]}',
                                      {"Lambda-Extension-Name": "probe"})
        ext_id = headers["lambda-extension-identifier"]
        status, _, body = http_request(address, "PUT", "/2022-07-01/telemetry", json.dumps({
            "schemaVersion": "2022-12-13", "types": ["platform", "function"],
            "buffering": {"timeoutMs": 25, "maxItems": 1000, "maxBytes": 262144},
            "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{listener.server_port}/t"}}
        ).encode(), {"Lambda-Extension-Identifier": ext_id})
        assert status == 200
        status, headers, _ = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
        rid = headers["lambda-runtime-aws-request-id"]
        status, _, event = http_request(address, "GET", "/2020-01-01/extension/event/next",
                                    headers={"Lambda-Extension-Identifier": ext_id})
        assert json.loads(event)["eventType"] == "INVOKE" and json.loads(event)["requestId"] == rid
        time.sleep(0.3)                 # past timeoutMs while the environment is still invoking
        http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b"null")
        lab.wait_for(lambda: inv.done, limit=lab.now + 5)
        end = time.monotonic() + 5
        while not batches and time.monotonic() < end:
            time.sleep(0.05)
        types = [e["type"] for batch in batches for e in batch]
        assert "platform.initStart" in types and "platform.start" in types
        assert all(isinstance(batch, list) for batch in batches)
    finally:
        lab.close()
        listener.shutdown()


def test_a_runtime_that_hangs_up_on_next_does_not_swallow_the_next_invocation(served):
    lab, _ = served
    first = lab.submit(FunctionName="manual", Payload=b'{"n": 1}')
    address = lab.realtime.runtime_api("manual")
    status, headers, _ = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    rid = headers["lambda-runtime-aws-request-id"]
    assert http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b"1")[0] == 202
    lab.wait_for(lambda: first.done, limit=lab.now + 5)
    with pytest.raises(TimeoutError):                   # nothing to hand out: /next blocks; we give up
        http_request(address, "GET", "/2018-06-01/runtime/invocation/next", timeout=0.5)
    time.sleep(0.2)
    second = lab.submit(FunctionName="manual", Payload=b'{"n": 2}')
    status, headers, body = http_request(address, "GET", "/2018-06-01/runtime/invocation/next")
    assert status == 200 and json.loads(body) == {"n": 2}
    rid = headers["lambda-runtime-aws-request-id"]
    assert http_request(address, "POST", f"/2018-06-01/runtime/invocation/{rid}/response", b"2")[0] == 202
    lab.wait_for(lambda: second.done, limit=lab.now + 5)
    assert second.response["Payload"].read() == b"2"
