"""The real-time driver: the lab's clock follows the wall clock and everything runs on one loop thread."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request

import lambdalab as ll
from lambdalab.engine.vocabulary import ACTIONS


def test_virtual_lab_has_no_driver_and_serve_explains_why():
    from lambdalab.driver import VirtualDriver
    lab = ll.Lab()
    assert lab.realtime is None and type(lab.driver) is VirtualDriver
    try:
        lab.serve()
    except RuntimeError as error:
        assert "clock='real'" in str(error)
    else:
        raise AssertionError("serve() on a virtual lab must refuse")


def test_clock_follows_the_wall_and_events_run_on_time_on_the_loop_thread(real_lab):
    lab = real_lab
    driver = lab.realtime.driver
    ran = []

    def record(tag):
        ran.append((tag, time.monotonic(), threading.get_ident()))
    t0 = time.monotonic()
    driver.call(lab.engine.schedule, 0.3, record, "late")
    driver.call(lab.engine.schedule, 0.1, record, "early")      # earlier than the alarm: the driver must wake
    lab.wait_for(lambda: len(ran) == 2, limit=lab.now + 3)
    assert [tag for tag, *_ in ran] == ["early", "late"]
    assert 0.08 <= ran[0][1] - t0 <= 0.25 and 0.28 <= ran[1][1] - t0 <= 0.5
    assert {ident for *_, ident in ran} == {driver.thread_id} != {threading.get_ident()}
    before = lab.now
    lab.advance(0.2)
    assert 0.19 <= lab.now - before <= 0.5


def test_in_process_handler_sleeps_take_real_time_and_trace_uses_the_vocabulary(real_lab):
    lab = real_lab
    lab.create_function("nap", "import lambdalab as ll\ndef handler(event, context):\n    ll.sleep(0.2)\n"
                        "    return 'rested'\n", timeout=3)
    lam = lab.client("lambda")
    lam.invoke(FunctionName="nap")                 # cold
    start = time.monotonic()
    response = lam.invoke(FunctionName="nap")
    assert response["Payload"].read() == b'"rested"'
    assert 0.19 <= time.monotonic() - start <= 1.5
    assert lab.stats("nap")["invocations"] == 2
    for step in lab.trace:
        assert step.action in ACTIONS[step.component], (step.component, step.action)


def test_concurrent_callers_from_threads_are_marshalled(real_lab):
    lab = real_lab
    lab.create_function("quick", "def handler(event, context):\n    return event['i']\n")
    results = {}

    def call(i):
        results[i] = lab.client("lambda").invoke(FunctionName="quick", Payload=f'{{"i": {i}}}')["Payload"].read()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert results == {i: str(i).encode() for i in range(6)}


def test_importing_lambdalab_does_not_import_anyio():
    import subprocess
    code = "import lambdalab, sys; lambdalab.Lab(); print('anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_no_lab_method_is_replaced_and_no_environment_private_is_called(real_lab):
    """The real-time session plugs into the driver and runtime seams: it patches nothing and calls no
    environment internals."""
    import ast
    import pathlib
    from lambdalab.lab import Lab
    for name in dir(Lab):
        if not name.startswith("__") and callable(getattr(Lab, name)):
            assert name not in vars(real_lab), f"lab.{name} was replaced"
    root = pathlib.Path(ll.__file__).parent / "realtime"
    found = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = ast.unparse(node.value)
                if owner.split(".")[-1] in ("env", "environment", "lab", "api", "frontend", "fleet", "engine"):
                    found.append(f"{path.name}:{node.lineno} {owner}.{node.attr}")
    assert not found, found


def test_a_wait_whose_condition_calls_the_lab_ends_and_the_lab_keeps_serving(real_lab):
    # lab.stats() inside the condition catches up, which checks the waiters again: this used to recurse until
    # the loop died, and with it every server of the lab.
    lab = real_lab
    lab.create_function("counted", "def handler(event, context):\n    return 1\n")
    base = lab.serve()
    lab.client("lambda").invoke(FunctionName="counted", InvocationType="Event", Payload=b"{}")
    lab.wait_for(lambda: lab.stats("counted")["invocations"] >= 1, limit=lab.now + 5)
    assert lab.stats("counted")["invocations"] == 1
    with urllib.request.urlopen(base + "/2015-03-31/functions/", timeout=10) as answer:
        assert [f["FunctionName"] for f in json.loads(answer.read())["Functions"]] == ["counted"]


def test_a_condition_that_raises_ends_the_wait_with_its_error_in_the_caller(real_lab):
    lab = real_lab
    calls = []

    def condition():
        calls.append(1)
        if len(calls) > 1:                   # the first check (on entry) passes; a later one, on the loop, fails
            raise KeyError("no such thing")
        return False
    lab.realtime.driver.call(lab.engine.schedule, 0.1, lambda: None)
    try:
        lab.wait_for(condition, limit=lab.now + 3)
    except KeyError as error:
        assert "no such thing" in str(error)
    else:
        raise AssertionError("the condition's error must reach the caller")
    assert lab.realtime.driver.call(lambda: lab.now) > 0          # the loop is alive
