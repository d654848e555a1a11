"""Init failures: the 10 s limit, exceptions at import, and Init tried again inside the next invoke."""
from __future__ import annotations

import pytest

from .helpers import invoke, lines_starting, make_lab, reports

COUNTING = "COUNT = 0\n"


def test_init_over_10_s_is_reported_as_timeout_and_retried_inside_the_first_invoke():
    lab = make_lab()
    lab.create_function("f", "import time\nprint('init runs')\ntime.sleep(12)\n"
                             "def handler(e, c):\n    return 'ok'\n", timeout=30)
    response, body = invoke(lab, "f")
    assert body == "ok" and "FunctionError" not in response
    init_report = lines_starting(lab, "f", "INIT_REPORT")
    assert init_report == ["INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"]
    report = reports(lab, "f")[0]
    assert "Init Duration" not in report
    # the suppressed init (runtime bootstrap 150 ms + 12 s of module code) is inside this invoke's Duration
    assert report["Duration"] == pytest.approx(12150)
    assert lab.logs("f").count("init runs") == 2
    suppressed = [s for s in lab.trace if s.detail.get("suppressed")]
    assert [f"{s.component}.{s.action}" for s in suppressed] == ["runtime.init", "function.init"]
    assert lab.trace.filter(component="environment", action="init_failed")[0].detail["status"] == "timeout"


def test_an_init_that_also_outlasts_the_function_timeout_times_the_invoke_out():
    lab = make_lab()
    lab.create_function("f", "import time\ntime.sleep(12)\ndef handler(e, c):\n    return 'ok'\n", timeout=5)
    response, body = invoke(lab, "f")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 5.00 seconds")
    assert reports(lab, "f")[0]["Status"] == "timeout"


def test_exception_at_import_gives_the_class_name_empty_request_id_and_init_report_error():
    lab = make_lab()
    lab.create_function("f", "raise KeyError('DB_URL')\ndef handler(e, c):\n    return 1\n")
    response, body = invoke(lab, "f")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "KeyError"
    assert body["requestId"] == ""
    assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert any("lambda_function.py" in frame for frame in body["stackTrace"])
    (line,) = lines_starting(lab, "f", "INIT_REPORT")
    assert line.endswith("\tPhase: init\tStatus: error\tError Type: KeyError")
    (error_step,) = lab.trace.filter(component="function", action="error")
    assert error_step.detail["error_type"] == "KeyError" and "DB_URL" in error_step.text
    report = reports(lab, "f")[0]
    assert report["Status"] == "error" and report["Error Type"] == "KeyError"


def test_missing_module_is_runtime_import_module_error():
    lab = make_lab()
    lab.create_function("f", "import requests_oauth_nope\ndef handler(e, c):\n    return 1\n")
    _, body = invoke(lab, "f")
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == ("Unable to import module 'lambda_function': No module named "
                                    "'requests_oauth_nope'")
    assert body["requestId"] == "" and body["stackTrace"] == []
    assert lines_starting(lab, "f", "INIT_REPORT")[0].endswith("Error Type: Runtime.ImportModuleError")


def test_after_an_init_error_every_invoke_tries_init_again_in_the_same_environment():
    lab = make_lab()
    lab.create_function("f", "print('importing')\nraise ValueError('bad config')\ndef handler(e, c):\n    return 1\n")
    for _ in range(3):
        invoke(lab, "f")
    assert lab.logs("f").count("importing") == 4          # Init, then once inside each of the 3 invokes
    assert len(lines_starting(lab, "f", "INIT_START")) == 1
    assert len(lab.fleet.environments) == 1
    assert len(lines_starting(lab, "f", "INIT_REPORT")) == 1


def test_init_that_recovers_on_retry_serves_normally_afterwards():
    lab = make_lab()
    lab.create_function("f", "import os\nif not os.path.exists('/tmp/ready'):\n"
                             "    open('/tmp/ready', 'w').write('x')\n    raise RuntimeError('first boot')\n"
                             "def handler(e, c):\n    return 'served'\n")
    first, body1 = invoke(lab, "f")
    second, body2 = invoke(lab, "f")
    assert first.get("FunctionError") is None and body1 == "served"   # Init failed, the retry inside worked
    assert body2 == "served"
    assert lines_starting(lab, "f", "INIT_REPORT")[0].endswith("Error Type: RuntimeError")


def test_sys_exit_at_import_is_runtime_exit_error():
    lab = make_lab()
    lab.create_function("f", "import sys\nsys.exit(2)\ndef handler(e, c):\n    return 1\n")
    _, body = invoke(lab, "f")
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 2")


def test_extensions_that_use_up_the_init_limit_leave_no_time_for_the_module():
    from lambdalab.sandbox.extensions import Extension
    lab = make_lab()
    lab.create_function("f", "print('module ran')\ndef handler(e, c):\n    return 1\n",
                        extensions=[Extension("heavy", init=11)])
    _, body = invoke(lab, "f")
    (line,) = lines_starting(lab, "f", "INIT_REPORT")
    assert line == "INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"
    # the retry inside the invoke starts the extension again, and 11 s do not fit in the 3 s timeout either
    assert body["errorType"] == "Sandbox.Timedout"
    assert "module ran" not in lab.logs("f")
