"""Between invokes an environment is frozen; a reuse thaws it."""
from __future__ import annotations

from .helpers import invoke, make_lab, steps


def test_each_invoke_ends_in_a_freeze_and_a_reuse_starts_with_a_thaw_of_the_same_environment():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    r1, _ = invoke(lab, "f")
    lab.advance(60)
    r2, _ = invoke(lab, "f")
    first = lab.trace.filter(request_id=r1["ResponseMetadata"]["RequestId"], component="environment")
    second = lab.trace.filter(request_id=r2["ResponseMetadata"]["RequestId"], component="environment")
    assert first[-1].action == "freeze" and first[-1].detail["state"] == "frozen"
    assert second[0].action == "thaw" and second[0].detail["state"] == "invoking"
    assert first[-1].env_id == second[0].env_id
    env = lab.fleet.environments[first[-1].env_id]
    assert env.state == "Idle"


def test_nothing_happens_in_a_frozen_environment():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    return 1\n")
    invoke(lab, "f")
    env = next(iter(lab.fleet.environments.values()))
    before = len(lab.trace)
    lab.advance(300)                                  # less than idle_timeout (600 s)
    assert len(lab.trace) == before
    assert env.state == "Idle"


def test_overlapping_requests_need_separate_environments_each_serving_one_at_a_time():
    lab = make_lab()
    lab.create_function("f", "import time\ndef handler(e, c):\n    time.sleep(1)\n    return 1\n")
    a = lab.submit(FunctionName="f")
    b = lab.submit(FunctionName="f")
    lab.run(until=lab.now + 5)
    assert a.done and b.done and a.env_id != b.env_id
    c = lab.submit(FunctionName="f")
    lab.run(until=lab.now + 5)
    assert c.env_id in (a.env_id, b.env_id) and not c.cold
    assert "environment.thaw" in steps(lab, request_id=c.request_id)


def test_reuse_takes_the_most_recently_frozen_environment_by_default():
    lab = make_lab()
    lab.create_function("f", "import time\ndef handler(e, c):\n    time.sleep(e.get('t', 0))\n    return 1\n")
    long_one = lab.submit(FunctionName="f", Payload=b'{"t": 2}')
    short_one = lab.submit(FunctionName="f", Payload=b'{"t": 1}')
    lab.run(until=lab.now + 5)
    nxt = lab.submit(FunctionName="f")
    lab.run(until=lab.now + 5)
    assert nxt.env_id == long_one.env_id != short_one.env_id
