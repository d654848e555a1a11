"""The cold-then-warm scenario, hop by hop: the path every lab builds on (issue 2, "Must show")."""
import json

import lambdalab as ll

HANDLER = '''
import lambdalab as ll
calls = 0

def handler(event, context):
    global calls
    calls += 1
    ll.sleep(0.003)
    return {"stream": context.log_stream_name, "calls": calls}
'''

COLD = [
    ("client", "invoke"), ("frontend", "receive"), ("frontend", "dispatch"), ("worker_manager", "request"),
    ("placement", "add_worker"), ("placement", "place"), ("environment", "create"), ("worker", "boot"),
    ("environment", "fetch_code"), ("environment", "init_start"), ("extension", "init"), ("runtime", "init"),
    ("function", "init"), ("environment", "init_done"), ("runtime_api", "next"), ("environment", "invoke"),
    ("runtime", "call"), ("function", "run"), ("runtime_api", "response"), ("environment", "freeze"),
    ("worker_manager", "release"), ("frontend", "return"), ("client", "response"),
]
WARM = [
    ("client", "invoke"), ("frontend", "receive"), ("frontend", "dispatch"), ("worker_manager", "claim"),
    ("environment", "thaw"), ("runtime_api", "next"), ("environment", "invoke"), ("runtime", "call"),
    ("function", "run"), ("runtime_api", "response"), ("environment", "freeze"), ("worker_manager", "release"),
    ("frontend", "return"), ("client", "response"),
]


def run_scenario():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", HANDLER)
    lam = lab.client("lambda")
    first = lam.invoke(FunctionName="hello", Payload=b'{"n": 1}')
    second = lam.invoke(FunctionName="hello", Payload=b'{"n": 2}')
    return lab, first, second


def test_cold_then_warm_golden_trace():
    lab, first, second = run_scenario()
    rid1, rid2 = first["ResponseMetadata"]["RequestId"], second["ResponseMetadata"]["RequestId"]
    # every hop of the cold start, Init included, is tagged with the request it serves
    assert [(s.component, s.action) for s in lab.trace.filter(request_id=rid1)] == COLD
    assert [(s.component, s.action) for s in lab.trace.filter(request_id=rid2)] == WARM
    # time only passes where something takes time
    steps = {(s.component, s.action): s for s in lab.trace.filter(request_id=rid1)}
    assert steps[("worker", "boot")].detail["duration"] == 0.125
    assert steps[("environment", "fetch_code")].detail["tier"] == "s3"
    assert steps[("client", "response")].t == steps[("function", "run")].t + 0.003
    assert all(s.t <= t.t for s, t in zip(lab.trace, list(lab.trace)[1:]))


def test_second_invoke_reuses_environment_globals_and_stream():
    lab, first, second = run_scenario()
    a, b = json.loads(first["Payload"].read()), json.loads(second["Payload"].read())
    assert a["stream"] == b["stream"] and (a["calls"], b["calls"]) == (1, 2)
    assert lab.stats()["cold_starts"] == 1 and lab.stats()["warm_starts"] == 1
    reports = [line for line in lab.logs("hello") if line.startswith("REPORT")]
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    assert "Duration: 3.00 ms" in reports[1] and "Billed Duration: 3 ms" in reports[1]
    assert list(lab.log_streams("hello")) == [a["stream"]]
    assert a["stream"].startswith("2026/01/01/[$LATEST]") and len(a["stream"].split("]")[1]) == 32


def test_logs_follow_cloudwatch_format():
    lab, first, _ = run_scenario()
    lines = lab.logs("hello")
    assert lines[0].startswith("INIT_START Runtime Version: python:3.12.")
    assert "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:" in lines[0]
    rid = first["ResponseMetadata"]["RequestId"]
    assert lines[1] == f"START RequestId: {rid} Version: $LATEST"
    assert lines[2] == f"END RequestId: {rid}"
    fields = lines[3].split("\t")
    assert fields[0] == f"REPORT RequestId: {rid}"
    assert [f.split(":")[0] for f in fields[1:]] == ["Duration", "Billed Duration", "Memory Size",
                                                    "Max Memory Used", "Init Duration"]
