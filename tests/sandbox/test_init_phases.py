"""A cold start's Init sub-steps, INIT_START, Init Duration and the initialization type."""
from __future__ import annotations

import pytest

from lambdalab.fleet.cost_model import CostModel

from .helpers import invoke, lines_starting, make_lab, reports, steps

SLOW_IMPORT = "import time\ntime.sleep(0.2)\ndef handler(e, c):\n    return 1\n"

COLD_ORDER = ["worker.boot", "environment.fetch_code", "environment.init_start", "extension.init", "runtime.init",
              "function.init", "environment.init_done", "runtime_api.next", "environment.invoke", "runtime.call",
              "function.run", "runtime_api.response", "environment.freeze"]


def env_steps(lab, names):
    return [s for s in lab.trace if f"{s.component}.{s.action}" in names and s.env_id]


def test_cold_invoke_shows_each_init_sub_step_in_order_with_its_duration():
    lab = make_lab()
    lab.create_function("f", SLOW_IMPORT)
    invoke(lab, "f")
    seen = [f"{s.component}.{s.action}" for s in lab.trace if s.env_id and f"{s.component}.{s.action}" in COLD_ORDER]
    assert seen == COLD_ORDER
    by = {f"{s.component}.{s.action}": s for s in lab.trace}
    cost = CostModel()
    assert by["worker.boot"].detail["duration"] == pytest.approx(cost.microvm_boot)
    assert by["worker.boot"].detail["phase"] == "microvm"
    assert by["environment.fetch_code"].detail["phase"] == "code"
    assert by["runtime.init"].detail["duration"] == pytest.approx(cost.runtime_bootstrap("python3.12"))
    assert by["function.init"].detail["duration"] == pytest.approx(0.2)
    # each step starts when the previous timed one ends
    boot, fetch = by["worker.boot"], by["environment.fetch_code"]
    assert fetch.t == pytest.approx(boot.t + boot.detail["duration"])
    assert by["function.init"].t == pytest.approx(by["runtime.init"].t + by["runtime.init"].detail["duration"])
    assert by["environment.init_done"].t == pytest.approx(by["function.init"].t + 0.2)


def test_init_duration_covers_extension_runtime_and_function_init_and_appears_only_in_the_first_report():
    lab = make_lab()
    lab.create_function("f", SLOW_IMPORT)
    invoke(lab, "f")
    invoke(lab, "f")
    first, second = reports(lab, "f")
    assert first["Init Duration"] == pytest.approx(150 + 200)
    assert "Init Duration" not in second
    assert lines_starting(lab, "f", "INIT_START Runtime Version: python:3.12.")
    assert lab.logs("f")[0].startswith("INIT_START")
    assert "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:" in lab.logs("f")[0]


def test_warm_invoke_is_thaw_invoke_freeze_with_no_init_step():
    lab = make_lab()
    lab.create_function("f", SLOW_IMPORT)
    invoke(lab, "f")
    response, _ = invoke(lab, "f")
    rid = response["ResponseMetadata"]["RequestId"]
    names = steps(lab, request_id=rid)
    assert "environment.thaw" in names
    assert names.index("environment.thaw") < names.index("environment.invoke") < names.index("environment.freeze")
    assert not any(n.endswith(".init") or n in ("worker.boot", "environment.fetch_code") for n in names)


def test_code_fetch_walks_down_the_cache_tiers_as_the_fleet_warms():
    lab = make_lab(idle_timeout=1)
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    invoke(lab, "f")
    lab.advance(5)
    invoke(lab, "f")
    tiers = [s.detail["tier"] for s in lab.trace.filter(component="environment", action="fetch_code")]
    assert tiers == ["s3", "local"]


def test_initialization_type_and_environment_variables_seen_by_the_code():
    lab = make_lab()
    lab.create_function("f", "import os\nTYPE = os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
                             "def handler(e, c):\n    return {k: os.environ[k] for k in ('AWS_LAMBDA_FUNCTION_NAME',"
                             " 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_LOG_STREAM_NAME')}"
                             " | {'type': TYPE}\n", memory=256)
    _, body = invoke(lab, "f")
    assert body["type"] == "on-demand"
    assert body["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert body["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert body["AWS_LAMBDA_LOG_STREAM_NAME"] in lab.log_streams("f")


def test_a_modelled_init_duration_replaces_the_whole_cold_start():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    return 1\n", init_duration=0.8)
    t0 = lab.now
    invoke(lab, "f")
    assert lab.now - t0 == pytest.approx(0.8)
    assert reports(lab, "f")[0]["Init Duration"] == pytest.approx(800)
    assert not lab.trace.filter(component="worker", action="boot")


def test_module_level_output_goes_to_the_log_between_init_start_and_start():
    lab = make_lab()
    lab.create_function("f", "print('loading model')\ndef handler(e, c):\n    print('serving')\n    return 1\n")
    invoke(lab, "f")
    logs = lab.logs("f")
    assert logs.index("loading model") < next(i for i, l in enumerate(logs) if l.startswith("START"))
    assert logs.index("serving") > next(i for i, l in enumerate(logs) if l.startswith("START"))
