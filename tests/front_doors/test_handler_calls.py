"""Handler code calling its lab's services with ll.client: at the handler's own virtual moment, the wait counted in
its duration (and bill), the request chain carried on, the caller and callee linked in the trace."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

CALLEE = "import time\ndef handler(event, context):\n    print('callee runs')\n    time.sleep(0.4)\n" \
         "    return {'doubled': event['n'] * 2}\n"
CALLER = '''
import json, time
import lambdalab as ll
def handler(event, context):
    print('caller starts')
    time.sleep(0.1)
    answer = ll.client("lambda").invoke(FunctionName="callee", Payload=json.dumps({"n": 21}))
    print('caller got', answer["Payload"].read().decode())
    time.sleep(0.1)
    return "done"
'''


@pytest.fixture
def lab():
    lab = ll.Lab(seed=7)
    lab.create_function("callee", CALLEE)
    lab.create_function("caller", CALLER, timeout=5)
    lab.client("lambda").invoke(FunctionName="caller")       # both warm: durations are the handlers' own
    return lab


def durations(lab, name):
    return [float(line.split("Duration: ")[1].split(" ms")[0]) for line in lab.logs(name)
            if line.startswith("REPORT")]


def test_a_synchronous_call_counts_in_the_callers_duration_and_both_are_billed(lab):
    lab.client("lambda").invoke(FunctionName="caller")
    caller, = durations(lab, "caller")[-1:]
    callee = durations(lab, "callee")[-1]
    assert callee == pytest.approx(400.0)
    assert caller == pytest.approx(100.0 + 400.0 + 100.0)     # its own work and, in between, all of the callee's
    assert lab.stats("caller")["billed_gb_seconds"] > lab.stats("callee")["billed_gb_seconds"]


def test_each_functions_output_stays_in_its_own_log(lab):
    lab.client("lambda").invoke(FunctionName="caller")
    caller_lines = [line for line in lab.logs("caller") if not line.startswith(("START", "END", "REPORT", "INIT"))]
    callee_lines = [line for line in lab.logs("callee") if not line.startswith(("START", "END", "REPORT", "INIT"))]
    assert caller_lines == ["caller starts", 'caller got {"doubled": 42}'] * 2
    assert callee_lines == ["callee runs", "callee runs"]


def test_the_trace_links_caller_and_callee(lab):
    with lab.scene("call") as scene:
        lab.client("lambda").invoke(FunctionName="caller")
    call = next(s for s in scene.steps if (s.component, s.action) == ("function", "call"))
    receive = [s for s in scene.steps if (s.component, s.action) == ("frontend", "receive")][1]
    assert call.function == "caller" and call.detail["operation"] == "Invoke" and call.detail["target"] == "frontend"
    assert receive.function == "callee" and receive.detail["caller"] == call.request_id
    assert receive.t == pytest.approx(call.t) and call.t - scene.steps[0].t == pytest.approx(0.1)
    caller_header = lab.trace.filter(request_id=call.request_id, component="runtime_api", action="next")[-1]
    root = caller_header.detail["headers"]["Lambda-Runtime-Trace-Id"].split(";")[0]
    assert root == "Root=" + receive.detail["trace_root"]      # one X-Ray trace for the whole chain


def test_a_caller_whose_deadline_passes_while_waiting_times_out_and_the_callee_runs_on(lab):
    lab.create_function("impatient", CALLER.replace('"callee"', '"slowpoke"'), timeout=1)
    lab.create_function("slowpoke", "import time\ndef handler(event, context):\n    time.sleep(2)\n    return 1\n",
                        timeout=5)
    start = lab.now
    response = lab.client("lambda").invoke(FunctionName="impatient")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    report = [line for line in lab.logs("impatient") if line.startswith("REPORT")][-1]
    assert "Duration: 1000.00 ms" in report and "Status: timeout" in report
    lab.run()
    assert lab.stats("slowpoke")["invocations"] == 1 and lab.stats("slowpoke")["errors"] == 0
    assert lab.now - start > 2


def test_messages_and_events_carry_the_callers_trace_header(lab):
    lab.create_function("producer", '''
import lambdalab as ll
def handler(event, context):
    sqs = ll.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="work")["QueueUrl"], MessageBody="job")
    ll.client("s3").put_object(Bucket="files", Key="out.txt", Body=b"x")
    return "ok"
''')
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    lab.client("s3").create_bucket(Bucket="files")
    request_id = lab.client("lambda").invoke(FunctionName="producer")["ResponseMetadata"]["RequestId"]
    (message,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    header = message["Attributes"]["AWSTraceHeader"]
    assert header.startswith("Root=1-") and header.endswith(":1") and "Lineage=" in header
    assert lab.client("s3").get_object(Bucket="files", Key="out.txt")["Body"].read() == b"x"
    assert lab.trace.filter(request_id=request_id, component="function", action="call")


def test_ll_client_outside_handler_code_says_what_to_use():
    with pytest.raises(RuntimeError, match="lab.client"):
        ll.client("sqs")


def test_calls_from_handlers_do_not_change_a_labs_determinism():
    def run():
        lab = ll.Lab(seed=11)
        lab.create_function("callee", CALLEE)
        lab.create_function("caller", CALLER, timeout=5)
        for _ in range(3):
            lab.submit(FunctionName="caller")
        lab.run()
        return lab.trace.to_json(), lab.logs("caller"), lab.stats()
    assert run() == run()


def test_a_callee_that_never_returns_is_stopped_by_its_own_guard_and_the_caller_carries_on():
    lab = ll.Lab(seed=12, wall_guard=0.3)
    lab.create_function("spinner", "def handler(event, context):\n    while True:\n        pass\n", timeout=1)
    lab.create_function("patient", '''
import json
import lambdalab as ll
def handler(event, context):
    answer = ll.client("lambda").invoke(FunctionName="spinner")
    return {"callee_error": answer.get("FunctionError"), "then": "carried on"}
''', timeout=5)
    result = json.loads(lab.client("lambda").invoke(FunctionName="patient")["Payload"].read())
    assert result == {"callee_error": "Unhandled", "then": "carried on"}
    assert lab.stats("spinner")["timeouts"] == 1 and lab.stats("patient")["errors"] == 0


def test_the_callers_wall_clock_guard_sleeps_during_its_calls_and_wakes_after_them():
    import time
    lab = ll.Lab(seed=13, wall_guard=0.3)
    lab.create_function("busy", "def handler(event, context):\n"
                                "    n = 0\n"
                                "    for _ in range(1_500_000):\n"
                                "        n += 1\n"
                                "    return n\n")
    lab.create_function("orchestrator", '''
import lambdalab as ll
def handler(event, context):
    lam = ll.client("lambda")
    codes = [lam.invoke(FunctionName="busy")["StatusCode"] for _ in range(8)]
    print("calls done", codes)
    for _ in range(60_000_000):   # the caller's own long loop (seconds of real time): its guard must stop it
        pass
''', timeout=5)
    started = time.monotonic()
    response = lab.client("lambda").invoke(FunctionName="orchestrator")
    took = time.monotonic() - started
    assert "calls done [200, 200, 200, 200, 200, 200, 200, 200]" in lab.logs("orchestrator")
    assert lab.stats("busy")["invocations"] == 8 and lab.stats("busy")["timeouts"] == 0
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    assert took > 0.3 + 0.3      # the calls took longer than the caller's guard allows, and it still ran after
