"""Function URLs: the configuration API with AWS's shapes and errors, and lab.http through the URL front door
(payload format 2.0 events, the result mapping, 403 / 502 / 429, CORS)."""
from __future__ import annotations

import base64
import json
import re

import pytest

import lambdalab as ll

ECHO = '''
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
'''


@pytest.fixture
def lab():
    lab = ll.Lab(seed=5)
    lab.create_function("api", ECHO)
    return lab


def public_url(lab, function="api", **params):
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName=function, AuthType="NONE", **params)["FunctionUrl"]
    lam.add_permission(FunctionName=function, StatementId="public-url", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")
    return url


def echoed(response) -> dict:
    assert response["status"] == 200, response
    return json.loads(response["body"])


def test_create_returns_aws_shape_and_a_32_character_url_id(lab):
    lam = lab.client("lambda")
    config = lam.create_function_url_config(FunctionName="api", AuthType="AWS_IAM")
    assert config["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(r"https://[a-z0-9]{32}\.lambda-url\.us-east-1\.on\.aws/", config["FunctionUrl"])
    assert (config["AuthType"], config["InvokeMode"]) == ("AWS_IAM", "BUFFERED")
    assert config["FunctionArn"] == lab.control_plane.function_arn("api")
    got = lam.get_function_url_config(FunctionName="api")
    assert got["FunctionUrl"] == config["FunctionUrl"] and "LastModifiedTime" in got


def test_update_list_and_delete(lab):
    lam = lab.client("lambda")
    lam.publish_version(FunctionName="api")
    lam.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    first = lam.create_function_url_config(FunctionName="api", AuthType="NONE")["FunctionUrl"]
    second = lam.create_function_url_config(FunctionName="api", Qualifier="live", AuthType="NONE")
    assert second["FunctionArn"].endswith(":live") and second["FunctionUrl"] != first
    updated = lam.update_function_url_config(FunctionName="api", AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM",
                                             Cors={"AllowOrigins": ["*"], "MaxAge": 60})
    assert (updated["AuthType"], updated["InvokeMode"], updated["Cors"]["MaxAge"]) == \
        ("AWS_IAM", "RESPONSE_STREAM", 60)
    listed = lam.list_function_url_configs(FunctionName="api")["FunctionUrlConfigs"]
    assert sorted(c["FunctionUrl"] for c in listed) == sorted([first, second["FunctionUrl"]])
    assert lam.delete_function_url_config(FunctionName="api")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName="api")
    assert lab.http("GET", first)["status"] == 404


@pytest.mark.parametrize("params, code", [
    ({"AuthType": "OPEN"}, "ValidationException"),
    ({"AuthType": "NONE", "InvokeMode": "CHUNKED"}, "ValidationException"),
    ({"AuthType": "NONE", "Qualifier": "1"}, "ValidationException"),
    ({"AuthType": "NONE", "Qualifier": "missing"}, "ResourceNotFoundException"),
    ({"AuthType": "NONE", "Cors": {"MaxAge": 90000}}, "ValidationException"),
    ({"AuthType": "NONE", "Cors": {"AllowMethods": ["FETCH"]}}, "InvalidParameterValueException"),
])
def test_malformed_url_configs_get_aws_errors_and_store_nothing(lab, params, code):
    lam = lab.client("lambda")
    lam.publish_version(FunctionName="api")
    with pytest.raises(ll.ClientError) as caught:
        lam.create_function_url_config(FunctionName="api", **params)
    assert caught.value.response["Error"]["Code"] == code
    assert lam.list_function_url_configs(FunctionName="api")["FunctionUrlConfigs"] == []


def test_a_second_url_for_the_same_function_is_a_conflict(lab):
    lam = lab.client("lambda")
    lam.create_function_url_config(FunctionName="api", AuthType="NONE")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_function_url_config(FunctionName="api", AuthType="AWS_IAM")
    assert lam.get_function_url_config(FunctionName="api")["AuthType"] == "NONE"


def test_auth_type_none_needs_the_public_statement(lab):
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName="api", AuthType="NONE")["FunctionUrl"]
    denied = lab.http("GET", url)
    assert denied["status"] == 403 and json.loads(denied["body"]) == {"Message": "Forbidden"}
    assert lab.stats("api")["requests"] == 0
    lam.add_permission(FunctionName="api", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    assert lab.http("GET", url)["status"] == 200


def test_aws_iam_refuses_unsigned_requests(lab):
    url = lab.client("lambda").create_function_url_config(FunctionName="api", AuthType="AWS_IAM")["FunctionUrl"]
    assert lab.http("GET", url)["status"] == 403
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/lambda/aws4_request, "
                               "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64}
    event = echoed(lab.http("GET", url, headers=signed))
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == lab.account_id


def test_the_event_is_payload_format_2(lab):
    url = public_url(lab)
    response = lab.http("POST", url + "orders/7?size=L&tag=a&tag=b",
                        headers={"Content-Type": "application/json", "X-Custom": "yes", "Cookie": "s=1; t=2"},
                        body=b'{"qty": 2}')
    event = echoed(response)
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/orders/7")
    assert event["rawQueryString"] == "size=L&tag=a&tag=b"
    assert event["queryStringParameters"] == {"size": "L", "tag": "a,b"}
    assert event["headers"]["x-custom"] == "yes" and "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"qty": 2}', False)
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["protocol"]) == ("POST", "/orders/7", "HTTP/1.1")
    assert event["requestContext"]["domainPrefix"] == url.split("//")[1].split(".")[0]
    binary = echoed(lab.http("PUT", url, headers={"Content-Type": "image/png"}, body=b"\x89PNG\x00"))
    assert binary["isBase64Encoded"] and base64.b64decode(binary["body"]) == b"\x89PNG\x00"


def test_the_host_header_names_the_url_too(lab):
    url = public_url(lab)
    host = url.split("//")[1].rstrip("/")
    event = echoed(lab.http("GET", "http://127.0.0.1:9/lambda-url/ignored/path", headers={"Host": host}))
    assert event["rawPath"] == "/lambda-url/ignored/path"


@pytest.mark.parametrize("result, status, body, content_type", [
    ({"statusCode": 404, "body": "no such order", "headers": {"Content-Type": "text/plain"}}, 404,
     b"no such order", "text/plain"),
    ({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, 200,
     b"\x00\x01", "application/json"),
    ({"message": "hello"}, 200, b'{"message": "hello"}', "application/json"),
    ("just text", 200, b"just text", "application/json"),
    (42, 200, b"42", "application/json"),
    ({"statusCode": "teapot"}, 502, b"Internal Server Error", "text/plain"),
])
def test_results_map_to_http_as_aws_does(lab, result, status, body, content_type):
    lab.create_function("shaped", f"def handler(event, context):\n    return {result!r}\n")
    response = lab.http("GET", public_url(lab, "shaped"))
    assert (response["status"], response["body"], response["headers"]["content-type"]) == \
        (status, body, content_type)


def test_cookies_in_the_result_become_set_cookie_headers(lab):
    lab.create_function("login", "def handler(event, context):\n"
                                 "    return {'statusCode': 204, 'cookies': ['id=1; Secure', 'theme=dark']}\n")
    response = lab.http("POST", public_url(lab, "login"))
    assert response["status"] == 204 and response["headers"]["set-cookie"] == ["id=1; Secure", "theme=dark"]


def test_a_function_error_is_a_502_and_a_throttle_a_429(lab):
    lab.create_function("broken", "def handler(event, context):\n    raise RuntimeError('no')\n")
    url = public_url(lab, "broken")
    assert lab.http("GET", url)["status"] == 502
    lab.client("lambda").put_function_concurrency(FunctionName="broken", ReservedConcurrentExecutions=0)
    throttled = lab.http("GET", url)
    assert throttled["status"] == 429 and throttled["headers"]["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_a_request_over_6_mb_is_413(lab):
    response = lab.http("POST", public_url(lab), body=b"x" * (6 * 1024 * 1024 + 1))
    assert response["status"] == 413 and lab.stats("api")["requests"] == 0


def test_cors_preflight_is_answered_by_the_url_and_responses_carry_cors_headers(lab):
    url = public_url(lab, Cors={"AllowOrigins": ["https://shop.example"], "AllowMethods": ["GET", "POST"],
                                "AllowHeaders": ["Content-Type"], "ExposeHeaders": ["X-Order"], "MaxAge": 300})
    preflight = lab.http("OPTIONS", url, headers={"Origin": "https://shop.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert preflight["status"] == 200 and lab.stats("api")["requests"] == 0
    assert preflight["headers"]["access-control-allow-origin"] == "https://shop.example"
    assert preflight["headers"]["access-control-allow-methods"] == "GET,POST"
    assert preflight["headers"]["access-control-max-age"] == "300"
    response = lab.http("GET", url, headers={"Origin": "https://shop.example"})
    assert response["headers"]["access-control-allow-origin"] == "https://shop.example"
    assert response["headers"]["access-control-expose-headers"] == "x-order"
    stranger = lab.http("GET", url, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger["headers"]


def test_each_request_is_steppable(lab):
    url = public_url(lab)
    with lab.scene("a URL request") as scene:
        lab.http("GET", url)
    steps = [(s.component, s.action) for s in scene.steps]
    assert steps[:4] == [("client", "http"), ("url", "request"), ("url", "invoke"), ("frontend", "receive")]
    assert steps[-1] == ("url", "respond")
    assert lab.now > 0


@pytest.mark.parametrize("method, headers, body, error", [
    (None, {}, b"", ValueError), ("GET /x", {}, b"", ValueError), ("", {}, b"", ValueError),
    ("GET", {"bad name": "x"}, b"", ValueError), ("GET", {"X-Split": "a\r\nInjected: 1"}, b"", ValueError),
    ("GET", {"X-Number": 5}, b"", ValueError), ("GET", [("X", "y")], b"", TypeError),
    ("POST", {}, {"not": "bytes"}, TypeError),
])
def test_a_request_no_http_client_could_send_is_refused_before_anything_runs(lab, method, headers, body, error):
    url = public_url(lab)
    steps = len(lab.trace)
    with pytest.raises(error):
        lab.http(method, url, headers=headers, body=body)
    assert len(lab.trace) == steps and lab.stats("api")["requests"] == 0
    assert echoed(lab.http("POST", url, body="a str body is sent as UTF-8"))["body"] == "a str body is sent as UTF-8"
