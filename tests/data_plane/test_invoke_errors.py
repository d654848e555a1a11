"""Payloads and errors of the Invoke API (REFERENCE.md §1)."""
import base64
import json

import pytest

import lambdalab as ll


@pytest.fixture
def lab():
    return ll.Lab(seed=1)


def invoke(lab, name, payload=b"", **kw):
    return lab.client("lambda").invoke(FunctionName=name, Payload=payload, **kw)


def test_no_payload_gives_an_empty_event(lab):
    lab.create_function("echo", "def handler(event, context):\n    return event\n")
    r = invoke(lab, "echo")
    assert (r["StatusCode"], r["ExecutedVersion"], r["Payload"].read()) == (200, "$LATEST", b"{}")
    assert "FunctionError" not in r


def test_handler_exception_is_a_200_with_unhandled(lab):
    lab.create_function("boom", "def handler(event, context):\n    raise ValueError('bad input')\n")
    r = invoke(lab, "boom")
    body = json.loads(r["Payload"].read())
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad input"
    assert body["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert "raise ValueError" in "".join(body["stackTrace"])


def test_import_error_reports_runtime_import_module_error(lab):
    lab.create_function("imp", "import not_a_real_module\ndef handler(event, context):\n    return 1\n")
    r = invoke(lab, "imp")
    body = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled" and body["requestId"] == ""
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Unable to import module 'lambda_function': No module named")
    assert any("INIT_REPORT" in line and "Status: error" in line for line in lab.logs("imp"))


def test_exception_at_import_keeps_its_class_name(lab):
    lab.create_function("imp", "raise KeyError('cfg')\ndef handler(event, context):\n    return 1\n")
    body = json.loads(invoke(lab, "imp")["Payload"].read())
    assert body["errorType"] == "KeyError" and body["requestId"] == ""


def test_timeout_message_and_shape(lab):
    lab.create_function("slow", "import lambdalab as ll\ndef handler(event, context):\n    ll.sleep(5)\n    "
                        "return 'never'\n", timeout=1)
    r = invoke(lab, "slow")
    body = json.loads(r["Payload"].read())
    rid = r["ResponseMetadata"]["RequestId"]
    assert r["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {rid} Error: Task timed out after 1.00 seconds"}
    assert any(line.endswith("Task timed out after 1.00 seconds") for line in lab.logs("slow"))


def test_response_too_large(lab):
    lab.create_function("big", "def handler(event, context):\n    return 'x' * 6_300_000\n")
    r = invoke(lab, "big")
    body = json.loads(r["Payload"].read())
    assert r["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Function.ResponseSizeTooLarge", "errorMessage":
                    "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}


def test_unknown_function_404_names_the_qualifier(lab):
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.invoke(FunctionName="ghost")
    assert info.value.response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:ghost:$LATEST"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_function_not_active_is_a_conflict(lab):
    lam = lab.client("lambda")
    lam.create_function(FunctionName="new", Role="r", Runtime="python3.12", Handler="lambda_function.handler",
                        Code={"ZipFile": __import__("lambdalab.lab", fromlist=["make_zip"]).make_zip(
                            {"lambda_function.py": "def handler(e, c):\n    return 1\n"})})
    with pytest.raises(lam.exceptions.ResourceConflictException) as info:
        lam.invoke(FunctionName="new")
    assert info.value.response["Error"]["Message"].endswith(
        "The function is currently in the following state: Pending")


def test_payload_not_json(lab):
    lab.create_function("f", None)
    with pytest.raises(ll.ClientError) as info:
        invoke(lab, "f", b"{not json")
    assert info.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert info.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_request_over_6mb_sync_and_1mb_async(lab):
    lab.create_function("f", None)
    big = json.dumps("x" * (6 * 1024 * 1024)).encode()
    with pytest.raises(ll.ClientError) as info:
        invoke(lab, "f", big)
    assert info.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    inv = lab.submit(FunctionName="f", InvocationType="Event", Payload=json.dumps("x" * 1_100_000).encode())
    assert inv.error.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert lab.stats("f")["requests"] == 0


def test_dry_run_is_204_and_runs_nothing(lab):
    lab.create_function("f", None)
    r = invoke(lab, "f", InvocationType="DryRun")
    assert r["StatusCode"] == 204 and r["Payload"].read() == b""
    assert lab.stats("f")["invocations"] == 0 and lab.fleet.environments == {}


def test_log_tail_is_base64_of_the_invocation_log(lab):
    lab.create_function("f", "def handler(event, context):\n    print('hello from f')\n    return 1\n")
    r = invoke(lab, "f", LogType="Tail")
    tail = base64.b64decode(r["LogResult"]).decode()
    assert tail.startswith("START RequestId:") and "hello from f" in tail and "REPORT RequestId:" in tail
    assert "Init Duration" in tail


def test_handler_sees_aws_context_and_environment(lab):
    src = ("import os\n"
           "def handler(event, context):\n"
           "    return {'name': context.function_name, 'mem': context.memory_limit_in_mb,\n"
           "            'left': context.get_remaining_time_in_millis(), 'arn': context.invoked_function_arn,\n"
           "            'env': {k: os.environ[k] for k in ('AWS_LAMBDA_FUNCTION_NAME', 'AWS_REGION', 'TZ',\n"
           "                    'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_EXECUTION_ENV', 'MY_VAR')}}\n")
    lab.create_function("ctx", src, environment={"MY_VAR": "42"}, timeout=7)
    out = json.loads(invoke(lab, "ctx")["Payload"].read())
    assert out["name"] == "ctx" and out["mem"] == "128" and out["left"] == 7000
    assert out["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    assert out["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "ctx", "AWS_REGION": "us-east-1", "TZ": ":UTC",
                          "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                          "MY_VAR": "42"}


def test_tmp_is_private_per_environment(lab):
    src = ("import os\n"
           "def handler(event, context):\n"
           "    if event.get('write'):\n"
           "        open('/tmp/note.txt', 'w').write(event['write'])\n"
           "    return open('/tmp/note.txt').read() if os.path.exists('/tmp/note.txt') else None\n")
    lab.create_function("tmp", src, duration=1)
    a = lab.submit(FunctionName="tmp", Payload=b'{"write": "A"}')
    b = lab.submit(FunctionName="tmp", Payload=b'{"write": "B"}')
    lab.run(until=lab.now + 10)
    assert a.response["Payload"].read() == b'"A"' and b.response["Payload"].read() == b'"B"'
    assert a.env_id != b.env_id


def test_concurrent_submits_get_separate_environments(lab):
    lab.create_function("f", None, duration=2)
    invs = [lab.submit(FunctionName="f") for _ in range(5)]
    lab.run()
    assert len({i.env_id for i in invs}) == 5
    assert all(i.response["StatusCode"] == 200 for i in invs)
    assert lab.stats("f")["max_concurrency"] == 5


def test_client_side_parameter_checks_like_botocore(lab):
    from lambdalab.control_plane.errors import ParamValidationError
    lab.create_function("f", None)
    lam = lab.client("lambda")
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Foo"'):
        lam.invoke(FunctionName="f", Foo=1)
    with pytest.raises(ParamValidationError, match="Invalid type for parameter FunctionName"):
        lam.invoke(FunctionName=3)
    assert lab.stats()["requests"] == 0


def test_an_arn_of_another_region_or_account_is_not_found_here(lab):
    lab.create_function("f", None)
    lam = lab.client("lambda")
    assert lam.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f")["StatusCode"] == 200
    for arn in ("arn:aws:lambda:eu-west-1:123456789012:function:f", "arn:aws:lambda:us-east-1:999999999999:function:f"):
        with pytest.raises(lam.exceptions.ResourceNotFoundException, match="Function not found: " + arn + ":"):
            lam.invoke(FunctionName=arn)


def test_control_plane_calls_do_not_shift_request_ids():
    def run(peek):
        lab = ll.Lab(seed=5)
        lab.create_function("f", None)
        lam = lab.client("lambda")
        if peek:
            lam.get_function(FunctionName="f")
            lam.list_functions()
        return [lam.invoke(FunctionName="f")["ResponseMetadata"]["RequestId"] for _ in range(3)]
    assert run(False) == run(True)


def test_stack_traces_show_the_failing_function_own_source(lab):
    lab.create_function("fussy", "def handler(event, context):\n    raise ValueError('fussy')\n")
    lab.create_function("other", "def handler(event, context):\n    x = 1\n    return x\n")
    invoke(lab, "fussy")                       # fussy's module is loaded first ...
    invoke(lab, "other")                       # ... then other's, at the same /var/task path
    body = json.loads(invoke(lab, "fussy")["Payload"].read())
    assert "raise ValueError('fussy')" in "".join(body["stackTrace"])
