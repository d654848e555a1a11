"""Extensions: registration rules, INVOKE events, time in Init / Invoke, response before the extension is done."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll
from lambdalab.sandbox.extensions import MAX_EXTENSIONS, Extension, ExtensionsAPI

from .helpers import invoke, make_lab, reports

CODE = "def handler(e, c):\n    return 'done'\n"


def api():
    counter = iter(range(1000))
    return ExtensionsAPI("f", "$LATEST", "lambda_function.handler", lambda: f"id-{next(counter)}")


def test_register_returns_an_identifier_and_the_function_details():
    status, body, headers = api().register(Extension("shipper"))
    assert status == 200
    assert headers["Lambda-Extension-Identifier"] == "id-0"
    assert json.loads(body) == {"functionName": "f", "functionVersion": "$LATEST",
                                "handler": "lambda_function.handler"}


@pytest.mark.parametrize("setup, extension, error_type", [
    (lambda a: [a.register(Extension(f"e{i}")) for i in range(MAX_EXTENSIONS)], Extension("one-more"),
     "Extension.TooManyExtensions"),
    (lambda a: a.register(Extension("twin")), Extension("twin"), "Extension.AlreadyRegistered"),
    (lambda a: a.close(), Extension("late"), "Extension.RegistrationClosed"),
    (lambda a: None, Extension("agent", internal=True, events=["INVOKE", "SHUTDOWN"]), "Extension.InvalidEventType"),
    (lambda a: None, Extension("odd", events=["RESTORE"]), "Extension.InvalidEventType"),
])
def test_registration_rules(setup, extension, error_type):
    a = api()
    setup(a)
    status, body, _ = a.register(extension)
    assert status == 403
    assert json.loads(body)["errorType"] == error_type


def test_internal_extension_asking_for_shutdown_is_refused_with_aws_reason():
    _, body, _ = api().register(Extension("agent", internal=True, events=["SHUTDOWN"]))
    assert "ShutdownEventNotSupportedForInternalExtension" in json.loads(body)["errorMessage"]


def test_registration_closes_at_the_runtimes_first_next():
    lab = make_lab()
    lab.create_function("f", CODE, extensions=[Extension("shipper")])
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    assert env.extensions_api.closed
    status, body, _ = env.extensions_api.register(Extension("latecomer"))
    assert status == 403 and json.loads(body)["errorType"] == "Extension.RegistrationClosed"


def test_an_eleventh_extension_fails_to_register_and_takes_no_part():
    many = [Extension(f"ext{i}", init=0.01) for i in range(11)]
    lab = make_lab()
    lab.create_function("f", CODE, extensions=many)
    invoke(lab, "f")
    registered = lab.trace.filter(component="extension", action="register")
    assert [s.detail["status"] for s in registered] == [200] * 10 + [403]
    assert not any(env_id for env_id, _ in many[10].received)


def test_extension_init_is_part_of_init_duration_and_extensions_start_in_parallel():
    lab = make_lab()
    lab.create_function("f", CODE, extensions=[Extension("a", init=0.2), Extension("b", init=0.05)])
    invoke(lab, "f")
    step = lab.trace.filter(component="extension", action="init")[0]
    assert step.detail["duration"] == pytest.approx(0.2)
    assert reports(lab, "f")[0]["Init Duration"] == pytest.approx(200 + 150)


def test_every_invoke_sends_an_invoke_event_with_aws_fields():
    ext = Extension("shipper")
    lab = make_lab()
    lab.create_function("f", CODE, extensions=[ext], timeout=5)
    response, _ = invoke(lab, "f")
    rid = response["ResponseMetadata"]["RequestId"]
    (env_id, event), = ext.received
    assert set(event) == {"eventType", "deadlineMs", "requestId", "invokedFunctionArn", "tracing"}
    assert event["eventType"] == "INVOKE" and event["requestId"] == rid
    assert event["invokedFunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:f"
    start = lab.trace.filter(component="environment", action="invoke")[0].t
    assert event["deadlineMs"] == int((lab.epoch + start + 5) * 1000)


def test_a_log_shipping_extension_lengthens_duration_but_not_the_callers_wait():
    lab = make_lab()
    lab.create_function("plain", "import time\ndef handler(e, c):\n    time.sleep(0.1)\n    return 1\n")
    lab.create_function("shipped", "import time\ndef handler(e, c):\n    time.sleep(0.1)\n    return 1\n",
                        extensions=[Extension("shipper", invoke=0.25)])
    for name in ("plain", "plain", "shipped"):
        invoke(lab, name)
    lab.advance(1)
    t0 = lab.now
    invoke(lab, "shipped")
    waited = lab.now - t0
    assert waited == pytest.approx(0.1)               # the caller has its answer when the handler is done
    assert reports(lab, "plain")[1]["Duration"] == pytest.approx(100)
    assert len(reports(lab, "shipped")) == 1          # its REPORT is not written yet: the extension still works
    lab.advance(1)
    assert reports(lab, "shipped")[1]["Duration"] == pytest.approx(350)
    report_time = [t for t, _, line in lab.log_events("shipped") if line.startswith("REPORT")][1]
    assert report_time == pytest.approx(t0 + 0.35)


def test_the_environment_is_busy_until_the_extension_finishes():
    lab = make_lab()
    lab.create_function("f", CODE, extensions=[Extension("shipper", invoke=0.5)])
    invoke(lab, "f")
    invoke(lab, "f")                                   # arrives while the extension still works: a second env
    lab.advance(1)
    assert lab.stats("f")["cold_starts"] == 2
    invoke(lab, "f")
    lab.advance(1)
    assert lab.stats("f")["cold_starts"] == 2 and lab.stats("f")["invocations"] == 3


def test_extensions_are_not_in_the_public_top_level_api():
    assert "Extension" not in ll.__all__


def test_create_function_refuses_something_that_is_not_an_extension():
    lab = make_lab()
    with pytest.raises(TypeError, match="Extension objects"):
        lab.create_function("f", CODE, extensions=["log-shipper"])
