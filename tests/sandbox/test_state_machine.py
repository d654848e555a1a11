"""The execution environment's state machine: every legal transition happens, nothing else can."""
from __future__ import annotations

import pytest

from lambdalab.sandbox.environment import TRANSITIONS, ExecutionEnvironment, IllegalTransition

from .helpers import invoke, make_lab

STATES = tuple(TRANSITIONS)


@pytest.fixture
def recorded(monkeypatch):
    """Record every (from, to) transition any environment makes (every change of its ``state``)."""
    seen = []

    slot = ExecutionEnvironment.state         # (where an environment keeps it)

    class Spy:
        def __get__(self, env, owner=None):
            return slot.__get__(env, owner)

        def __set__(self, env, new):
            before = getattr(env, "state", None)
            slot.__set__(env, new)
            if before is not None and before != new:
                seen.append((before, new))

    monkeypatch.setattr(ExecutionEnvironment, "state", Spy(), raising=False)
    return seen


@pytest.mark.parametrize("mode", ["full", "off"])
def test_each_transition_of_the_table_is_taken_by_some_lifecycle(recorded, mode):
    lab = make_lab(idle_timeout=60, trace=mode)
    lam = lab.client("lambda")
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    lab.create_function("synthetic", None, duration=0.5)
    for _ in range(2):
        lam.invoke(FunctionName="synthetic")
    invoke(lab, "f")                      # Init -> Invoking -> Idle
    invoke(lab, "f")                      # Idle -> Invoking -> Idle
    lab.advance(120)                      # Idle -> Shutdown -> Gone (idle expiry)
    lab.create_function("pc", "def handler(e, c):\n    return 1\n")
    version = lam.publish_version(FunctionName="pc")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier=version, ProvisionedConcurrentExecutions=1)
    lab.advance(5)                        # Init -> Idle (pre-initialised)
    lab.create_function("bad", "raise RuntimeError('no')\ndef handler(e, c):\n    return 1\n")
    version = lam.publish_version(FunctionName="bad")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="bad", Qualifier=version, ProvisionedConcurrentExecutions=1)
    lab.advance(5)                        # Init -> Shutdown (provisioned Init failed)
    lab.create_function("slow", "import time\ndef handler(e, c):\n    time.sleep(5)\n", timeout=10)
    inv = lab.submit(FunctionName="slow")
    lab.advance(1)
    busy = next(e for e in lab.fleet.environments.values() if e.snapshot.name == "slow")
    assert busy.state == "Invoking" and not inv.done
    busy.shutdown("failure")              # Invoking -> Shutdown (e.g. the host is lost)
    lab.advance(10)
    assert busy.state == "Gone"
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert set(recorded) == legal
    assert inv.done and inv.response["FunctionError"] == "Unhandled"
    assert b"Runtime.ExitError" in inv.response["Payload"].read()


@pytest.mark.parametrize("state", STATES)
def test_every_move_outside_the_table_raises_and_changes_nothing(state):
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    for target in STATES:
        env.state = state
        if target in TRANSITIONS[state]:
            continue
        with pytest.raises(IllegalTransition):
            env.transition(target)
        assert env.state == state


def test_gone_is_final_and_a_dead_environment_cannot_be_thawed():
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    lab.advance(30)
    assert env.state == "Gone"
    assert TRANSITIONS["Gone"] == set()
    with pytest.raises(IllegalTransition):
        env.thaw(object())
    with pytest.raises(IllegalTransition):
        env.shutdown("spindown")


def test_trace_states_come_from_the_vocabulary():
    from lambdalab.engine.vocabulary import ENV_STATES
    lab = make_lab(idle_timeout=10)
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    invoke(lab, "f")
    invoke(lab, "f")
    lab.advance(30)
    states = [s.detail["state"] for s in lab.trace.filter(component="environment") if "state" in s.detail]
    assert set(states) <= set(ENV_STATES)
    assert {"init", "invoking", "frozen", "shutdown", "gone"} <= set(states)
    freezes = lab.trace.filter(component="environment", action="freeze")
    assert freezes and all(s.detail["state"] == "frozen" for s in freezes)   # an Idle environment is frozen


@pytest.mark.parametrize("mode", ["full", "off"])
def test_shutting_down_under_a_running_invoke_answers_it_once(mode):
    lab = make_lab(trace=mode)
    lab.create_function("slow", None, duration=5, timeout=10)
    inv = lab.submit(FunctionName="slow")
    lab.advance(1)
    (env,) = lab.fleet.environments.values()
    env.shutdown("failure")
    answers = []
    inv.callbacks.append(answers.append)
    lab.advance(20)
    assert inv.done and inv.status == "exit" and answers == []   # answered at the shutdown, not again later
    assert env.state == "Gone"
    assert lab.stats("slow")["invocations"] == 1
