"""InvokeConsole: invoking from the notebook feeds the Stepper; mistakes become sentences."""
from __future__ import annotations

import lambdalab as ll
from lambdalab.widgets import InvokeConsole, Stepper


def test_invoke_feeds_the_stepper(lab):
    stepper = Stepper(lab)
    console = InvokeConsole(lab, stepper=stepper)
    assert console.function.options == ("hello",) and console.function.value == "hello"
    before = len(lab.trace)
    console.payload.value = '{"name": "console"}'
    console.invoke_button.click()
    assert "200" in console.result.value and "console" in console.result.value
    assert len(stepper) == len(lab.trace) > before
    assert stepper.position == before
    assert (stepper.current.component, stepper.current.action) == ("client", "invoke")
    stepper.step()
    assert stepper.current.component == "frontend"


def test_console_owns_a_stepper_when_none_is_given():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", None)
    console = InvokeConsole(lab)
    assert console.stepper in console.children
    console.invoke()
    assert console.stepper.current is lab.trace[0]


def test_dry_run_and_function_errors():
    lab = ll.Lab(seed=0)
    lab.create_function("fails", "def handler(event, context):\n    raise KeyError('x')\n")
    console = InvokeConsole(lab)
    console.invocation_type.value = "DryRun"
    console.invoke()
    assert "204" in console.result.value
    console.invocation_type.value = "RequestResponse"
    console.invoke()
    assert "FunctionError: Unhandled" in console.result.value and "KeyError" in console.result.value


def test_bad_json_is_explained_and_nothing_is_sent(lab):
    console = InvokeConsole(lab)
    before = len(lab.trace)
    console.payload.value = "{name: 1"
    console.invoke_button.click()
    assert "not valid JSON" in console.result.value
    assert len(lab.trace) == before


def test_unknown_function_is_explained(lab):
    console = InvokeConsole(lab)
    lab.client("lambda").delete_function(FunctionName="hello")
    console.invoke_button.click()  # the dropdown still offers the deleted function
    assert "ResourceNotFoundException" in console.result.value
    assert "Traceback" not in console.result.value
    assert console.function.options == ()


def test_no_functions_and_not_a_lab():
    console = InvokeConsole(ll.Lab(seed=0))
    assert "create one first" in console.result.value
    console.invoke()
    assert "Pick a function" in console.result.value
    bad = InvokeConsole("not a lab")
    assert "needs a Lab" in bad.result.value and bad.invoke_button.disabled
    assert bad.invoke() is None


def test_event_invoke_runs_the_async_path_and_shows_it():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", "def handler(event, context):\n    print('async', event)\n    return 1\n")
    console = InvokeConsole(lab)
    console.invocation_type.value = "Event"
    console.payload.value = '{"n": 1}'
    console.invoke_button.click()
    assert "202" in console.result.value
    stepper = console.stepper
    assert stepper.position == 0 and stepper.current.action == "invoke"
    components = [step.component for step in lab.trace]
    assert {"async_queue", "poller", "function"} <= set(components)
    enqueue = components.index("async_queue")
    stepper.goto(enqueue)
    assert stepper.metrics.values["queue_depth"] == 1
    assert stepper.diagram.highlighted == "async_queue"
    stepper.goto(len(stepper) - 1)
    assert stepper.metrics.values["queue_depth"] == 0
    assert any("async" in line for line in stepper.logs.shown)
    assert lab.now < 100  # the console ran the lab only until the event was handled
