"""Process runtimes against the real Runtime API: the unmodified awslambdaric and a bash + curl bootstrap."""
from __future__ import annotations

import base64
import json
import os
import shutil
import threading
import time

import pytest

import lambdalab as ll

from .conftest import (CURL_BOOTSTRAP, PY_CRASH, PY_ERR, PY_INITERR, PY_OK, PY_SLEEP, create_many, pid_alive)

pytestmark = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="needs bash and curl")

CURL = {"Runtime": "provided.al2023", "files": {"bootstrap": CURL_BOOTSTRAP}}


@pytest.fixture(scope="module")
def lab():
    lab = ll.Lab(clock="real")
    specs = {
        "ric-ok": (PY_OK, {"process": True}, {}),
        "ric-err": (PY_ERR, {"process": True}, {}),
        "ric-initerr": (PY_INITERR, {"process": True}, {}),
        "ric-sleep": (PY_SLEEP, {"process": True}, {"Timeout": 1}),
        "ric-crash": (PY_CRASH, {"process": True}, {}),
        "ric-big": ("def handler(event, context):\n    return 'x' * 20_000_000\n", {"process": True}, {}),
        "ric-print": ("import sys\ndef handler(event, context):\n    print('out', event['i'])\n"
                      "    print('err', event['i'], file=sys.stderr)\n    return event['i']\n", {"process": True}, {}),
        "ric-llsleep": ("import lambdalab as ll\ndef handler(event, context):\n    ll.sleep(0.2)\n    return 'slept'\n",
                        {"process": True}, {}),
    }
    for mode in ("ok", "err", "initerr", "sleep", "crash"):
        specs[f"curl-{mode}"] = (None, {}, {**CURL, "files": dict(CURL["files"]), "Timeout": 1,
                                            "Environment": {"Variables": {"MODE": mode}}})
    create_many(lab, specs)
    yield lab
    lab.close()


def invoke(lab, name, event=None, **params):
    lam = lab.client("lambda")
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **params)
    return response, json.loads(response["Payload"].read() or b"null")


def test_awslambdaric_success_runs_in_its_own_process_with_lambda_variables(lab):
    response, body = invoke(lab, "ric-ok", {"n": 1}, LogType="Tail")
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body["event"] == {"n": 1} and body["fn"] == "ric-ok"
    assert body["pid"] != os.getpid()
    assert body["api"].startswith("127.0.0.1:") and body["api"] != "127.0.0.1:9001"
    assert body["cwd"] == body["root"] and os.path.isdir(body["root"])
    assert 0 < body["remaining"] <= 3000
    tail = base64.b64decode(response["LogResult"]).decode()
    assert f"handling {response['ResponseMetadata']['RequestId']}" in tail      # stdout captured, before END
    assert tail.index("handling") < tail.index("END RequestId")
    response2, body2 = invoke(lab, "ric-ok", {"n": 2})
    assert body2["pid"] == body["pid"] and body2["count"] == 2                # warm: same process, globals kept
    actions = [(s.component, s.action) for s in lab.trace.filter(request_id=response["ResponseMetadata"]["RequestId"])]
    assert ("runtime_api", "next") in actions and ("runtime_api", "response") in actions


def test_what_the_runtime_printed_before_its_response_is_logged_before_end_every_time(lab):
    """The runtime writes its output, then posts its response: as in AWS, that output is read before the invoke
    is reported (its pipes are drained when the POST arrives), so it is in the Tail before END on every invoke,
    cold ones included, not only when the loop happened to read the pipe first (about one cold invoke in three
    missed it under load). Concurrent invokes start cold environments side by side."""
    tails = {}

    def one(i):
        response, body = invoke(lab, "ric-print", {"i": i}, LogType="Tail")
        tails[i] = (body, base64.b64decode(response["LogResult"]).decode())
    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tails) == list(range(8))
    for i, (body, tail) in tails.items():
        assert body == i and tail.index(f"out {i}") < tail.index("END RequestId"), tail
        assert tail.index(f"err {i}") < tail.index("END RequestId"), tail


def test_virtual_lab_handler_code_runs_in_a_process_with_real_sleep(lab):
    """``import lambdalab as ll; ll.sleep(x)`` works in a process runtime too: there it is a real sleep."""
    start = time.monotonic()
    _, body = invoke(lab, "ric-llsleep")
    assert body == "slept" and time.monotonic() - start >= 0.2


def test_an_invoke_without_payload_reaches_the_runtime_as_an_empty_object(lab):
    response = lab.client("lambda").invoke(FunctionName="ric-ok")
    assert "FunctionError" not in response and json.loads(response["Payload"].read())["event"] == {}


def test_a_response_over_6_mb_fails_the_invoke(lab):
    response, body = invoke(lab, "ric-big")
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Function.ResponseSizeTooLarge"


def test_awslambdaric_handler_error(lab):
    response, body = invoke(lab, "ric-err")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom"
    steps = lab.trace.filter(request_id=response["ResponseMetadata"]["RequestId"], component="runtime_api")
    assert [s.action for s in steps] == ["next", "error"]


def test_awslambdaric_init_error_is_reported_and_retried_in_the_invoke(lab):
    response, body = invoke(lab, "ric-initerr")
    assert response["FunctionError"] == "Unhandled"
    assert "broken at import" in body["errorMessage"]
    logs = "\n".join(lab.logs("ric-initerr"))
    assert "INIT_REPORT Init Duration" in logs and "Status: error" in logs
    assert lab.trace.filter(function="ric-initerr", component="runtime_api", action="init_error")


def test_awslambdaric_timeout_kills_the_process_and_the_next_invoke_starts_a_new_one(lab):
    _, first = invoke(lab, "ric-sleep")
    t = time.monotonic()
    response, body = invoke(lab, "ric-sleep", {"sleep": 20})
    assert time.monotonic() - t < 5
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    deadline = time.monotonic() + 5
    while pid_alive(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(first["pid"])
    _, after = invoke(lab, "ric-sleep")
    assert after["pid"] != first["pid"]


def test_awslambdaric_crash_is_runtime_exit_error(lab):
    _, first = invoke(lab, "ric-crash")
    response, body = invoke(lab, "ric-crash", {"crash": True})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    _, after = invoke(lab, "ric-crash")
    assert after["pid"] != first["pid"]


def test_curl_bootstrap_success_and_warm_reuse(lab):
    response, body = invoke(lab, "curl-ok", {"x": 1})
    assert response["StatusCode"] == 200 and body["echo"] == {"x": 1}
    _, again = invoke(lab, "curl-ok", {"x": 2})
    assert again["pid"] == body["pid"]
    assert any("bootstrap ready in ok mode" in line for line in lab.logs("curl-ok"))


def test_curl_bootstrap_error(lab):
    response, body = invoke(lab, "curl-err")
    assert response["FunctionError"] == "Unhandled" and body == {"errorMessage": "oops", "errorType": "Function.Oops"}


def test_curl_bootstrap_init_error(lab):
    response, body = invoke(lab, "curl-initerr")
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.BadConfig"
    assert any("Error Type: Runtime.BadConfig" in line for line in lab.logs("curl-initerr"))


def test_curl_bootstrap_timeout_and_crash(lab):
    response, body = invoke(lab, "curl-sleep")
    assert body["errorType"] == "Sandbox.Timedout"
    response, body = invoke(lab, "curl-crash")
    assert body["errorType"] == "Runtime.ExitError" and "exit status 7" in body["errorMessage"]


def test_eight_concurrent_invokes_get_eight_environments_and_processes(lab):
    results = []

    def call(i):
        results.append(invoke(lab, "ric-sleep", {"sleep": 0.3})[1])
    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 8
    assert len({r["pid"] for r in results}) == 8


PY_TICKER = """
import threading
import time
TICKS = [0]
def _tick():
    while True:
        time.sleep(0.02)
        TICKS[0] += 1
threading.Thread(target=_tick, daemon=True).start()
def handler(event, context):
    before = TICKS[0]
    time.sleep(event.get("work", 0))
    return {"before": before, "after": TICKS[0], "pid": __import__("os").getpid()}
"""


def test_between_invokes_the_runtime_process_is_frozen():
    """As AWS freezes the microVM, an idle environment's processes are stopped: a background thread that
    ticks while an invoke runs makes no progress between invokes (about 50 ticks in the second it is idle)."""
    lab = ll.Lab(clock="real")
    try:
        create_many(lab, {"ticker": (PY_TICKER, {"process": True}, {})})
        _, first = invoke(lab, "ticker", {"work": 0.3})
        assert first["after"] - first["before"] >= 5
        time.sleep(1.0)
        (env,) = lab.fleet.environments.values()
        assert env.state == "Idle" and env.runtime.frozen
        with open(f"/proc/{first['pid']}/stat") as fh:
            assert fh.read().rsplit(")", 1)[1].split()[0] == "T"      # stopped
        _, second = invoke(lab, "ticker")
        assert second["pid"] == first["pid"] and second["before"] - first["after"] < 10
    finally:
        lab.close()


def test_close_leaves_no_process():
    lab = ll.Lab(clock="real")
    create_many(lab, {"p": (PY_SLEEP, {"process": True}, {}),
                      "c": (None, {}, {**CURL, "files": dict(CURL["files"]),
                                       "Environment": {"Variables": {"MODE": "ok"}}})})
    invoke(lab, "p")
    invoke(lab, "c")
    pids = list(lab.realtime.all_pids)
    assert len(pids) >= 2 and all(pid_alive(p) for p in pids)
    lab.close()
    assert not any(pid_alive(p) for p in pids)


def test_process_trace_uses_the_shared_vocabulary(lab):
    from lambdalab.engine.vocabulary import ACTIONS
    assert len(lab.trace) > 50
    for step in lab.trace:
        assert step.action in ACTIONS[step.component], (step.component, step.action)
    init = [s.action for s in lab.trace.filter(function="ric-ok", component=("environment", "runtime", "function"))]
    assert init.index("init_start") < init.index("init") < init.index("init_done")
