"""Invoke failures: handler errors, the timeout, a crashed runtime, and what survives them."""
from __future__ import annotations

import pytest

from .helpers import invoke, lines_starting, make_lab, reports

STATEFUL = """import time, os
COUNT = 0
time.sleep(0.3)
def handler(event, context):
    global COUNT
    COUNT += 1
    if os.path.exists('/tmp/marker'):
        note = open('/tmp/marker').read()
    else:
        note = None
        open('/tmp/marker', 'w').write('written before the failure')
    if event.get('sleep'):
        time.sleep(event['sleep'])
    if event.get('exit') is not None:
        import sys
        sys.exit(event['exit'])
    return {'count': COUNT, 'tmp': note}
"""


def test_handler_exception_is_unhandled_with_class_name_request_id_and_stack():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    raise ZeroDivisionError('division by zero')\n")
    response, body = invoke(lab, "f")
    rid = response["ResponseMetadata"]["RequestId"]
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ZeroDivisionError" and body["requestId"] == rid
    assert body["errorMessage"] == "division by zero"
    assert any("in handler" in frame for frame in body["stackTrace"])
    assert any(l.startswith("[ERROR] ZeroDivisionError: division by zero") for l in lab.logs("f"))
    assert reports(lab, "f")[0]["Error Type"] == "ZeroDivisionError"


def test_timeout_gives_sandbox_timedout_with_aws_message_and_log_line():
    lab = make_lab()
    lab.create_function("f", STATEFUL, timeout=2)
    response, body = invoke(lab, "f", {"sleep": 5})
    rid = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {rid} Error: Task timed out after 2.00 seconds"}
    (line,) = [l for l in lab.logs("f") if "Task timed out" in l]
    assert line.endswith(f"Z {rid} Task timed out after 2.00 seconds")
    report = reports(lab, "f")[0]
    assert report["Duration"] == pytest.approx(2000) and report["Status"] == "timeout"


def test_after_a_timeout_globals_are_reset_tmp_is_kept_and_the_suppressed_init_is_in_duration():
    lab = make_lab()
    lab.create_function("f", STATEFUL, timeout=2)
    _, first = invoke(lab, "f")
    assert first == {"count": 1, "tmp": None}
    _, second = invoke(lab, "f")
    assert second["count"] == 2                       # warm: globals live on
    invoke(lab, "f", {"sleep": 5})                    # times out: the runtime is reset
    _, after = invoke(lab, "f")
    assert after == {"count": 1, "tmp": "written before the failure"}
    assert len(lab.fleet.environments) == 1           # same environment, same /tmp
    durations = [r["Duration"] for r in reports(lab, "f")]
    # module code (0.3 s) + runtime bootstrap (0.15 s) ran again inside the fourth invoke
    assert durations[3] == pytest.approx(450)
    assert durations[1] == pytest.approx(0)
    assert lab.trace.filter(component="environment", action="reset")


def test_sys_exit_in_the_handler_is_runtime_exit_error_and_resets_the_runtime():
    lab = make_lab()
    lab.create_function("f", STATEFUL)
    invoke(lab, "f")
    response, body = invoke(lab, "f", {"exit": 3})
    rid = response["ResponseMetadata"]["RequestId"]
    assert body == {"errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: exit status 3"}
    assert f"RequestId: {rid} Error: Runtime exited with error: exit status 3\nRuntime.ExitError" in lab.logs("f")
    assert reports(lab, "f")[1]["Error Type"] == "Runtime.ExitError"
    _, after = invoke(lab, "f")
    assert after["count"] == 1 and after["tmp"] == "written before the failure"


def test_sys_exit_zero_exits_without_a_reason():
    lab = make_lab()
    lab.create_function("f", "import sys\ndef handler(e, c):\n    sys.exit(0)\n")
    response, body = invoke(lab, "f")
    rid = response["ResponseMetadata"]["RequestId"]
    assert body["errorMessage"] == f"RequestId: {rid} Error: Runtime exited without providing a reason"


def test_deadline_and_remaining_time_follow_the_timeout():
    lab = make_lab()
    lab.create_function("f", "import time\ndef handler(e, c):\n    a = c.get_remaining_time_in_millis()\n"
                             "    time.sleep(1.25)\n    return [a, c.get_remaining_time_in_millis()]\n", timeout=7)
    _, body = invoke(lab, "f")
    assert body == [7000, 5750]
    invoke_step = lab.trace.filter(component="runtime_api", action="next")[0]
    start = lab.trace.filter(component="environment", action="invoke")[0].t
    deadline = int(invoke_step.detail["headers"]["Lambda-Runtime-Deadline-Ms"])
    assert deadline == int((lab.epoch + start + 7) * 1000)


def test_a_failed_invoke_keeps_the_environment_warm_for_the_next_one():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    if e.get('fail'):\n        raise ValueError('no')\n"
                             "    return 'yes'\n")
    invoke(lab, "f", {"fail": True})
    _, body = invoke(lab, "f")
    assert body == "yes"
    assert len(lines_starting(lab, "f", "INIT_START")) == 1
    assert not lab.trace.filter(component="environment", action="reset")


def test_each_invoke_sees_its_own_trace_id_in_the_environment():
    lab = make_lab()
    lab.create_function("f", "import os\ndef handler(e, c):\n    return os.environ.get('_X_AMZN_TRACE_ID')\n")
    _, first = invoke(lab, "f")
    _, second = invoke(lab, "f")
    assert first.startswith("Root=1-") and second.startswith("Root=1-") and first != second


def test_the_recursion_limit_and_working_directory_a_handler_sets_are_its_own_not_the_kernels():
    """Learner code that raises the recursion limit or changes directory keeps that between its own invokes,
    as a runtime process would, while the notebook kernel keeps its settings. (A directory under /tmp would be
    the environment's own /tmp, so the test uses /usr.)"""
    import os
    import sys
    lab = make_lab()
    code = ("import os, sys\nsys.setrecursionlimit(4321)\nos.chdir('/usr')\n"
            "def handler(e, c):\n    return [sys.getrecursionlimit(), os.getcwd()]\n")
    lab.create_function("f", code)
    kernel = sys.getrecursionlimit(), os.getcwd()
    _, first = invoke(lab, "f")
    assert (sys.getrecursionlimit(), os.getcwd()) == kernel
    _, second = invoke(lab, "f")                      # warm: module code does not run again
    assert first == second == [4321, "/usr"]
    assert (sys.getrecursionlimit(), os.getcwd()) == kernel
