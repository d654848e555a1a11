"""Code that never yields (a busy loop, a real blocking call) is stopped by the wall-clock guard."""
from __future__ import annotations

import signal
import time

import pytest

from lambdalab.sandbox import guard

from .helpers import invoke, lines_starting, make_lab, reports

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="the guard needs POSIX interval timers")


def run_bounded(lab, name, payload=None):
    t0 = time.monotonic()
    result = invoke(lab, name, payload)
    return result, time.monotonic() - t0


def test_busy_loop_is_reported_as_a_timeout_and_the_lab_keeps_working():
    lab = make_lab(wall_guard=0.2)
    lab.create_function("f", "def handler(e, c):\n    if e.get('spin'):\n        while True:\n            pass\n"
                             "    return 'alive'\n", timeout=4)
    (response, body), real = run_bounded(lab, "f", {"spin": True})
    assert real < 2.0
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 4.00 seconds")
    assert reports(lab, "f")[0]["Duration"] == pytest.approx(4000)
    assert any("wall-clock guard" in line for line in lab.logs("f"))
    _, again = invoke(lab, "f")
    assert again == "alive"


@pytest.mark.parametrize("blocking", [
    "import select\n    select.select([], [], [], 100)",
    "import socket\n    a, b = socket.socketpair()\n    a.recv(16)",
])
def test_a_real_blocking_call_is_interrupted(blocking):
    lab = make_lab(wall_guard=0.2)
    lab.create_function("f", f"def handler(e, c):\n    {blocking}\n")
    (_, body), real = run_bounded(lab, "f")
    assert real < 2.0
    assert body["errorType"] == "Sandbox.Timedout"


def test_a_busy_loop_at_import_is_an_init_timeout():
    lab = make_lab(wall_guard=0.2)
    lab.create_function("f", "while True:\n    pass\ndef handler(e, c):\n    return 1\n", timeout=3)
    (_, body), real = run_bounded(lab, "f")
    assert real < 2.0
    assert lines_starting(lab, "f", "INIT_REPORT") == [
        "INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"]
    assert body["errorType"] == "Sandbox.Timedout"     # the retry inside the invoke loops too


def test_code_that_catches_exception_cannot_swallow_the_guard():
    lab = make_lab(wall_guard=0.2)
    lab.create_function("f", "import select\ndef handler(e, c):\n    while True:\n        try:\n"
                             "            select.select([], [], [], 100)\n        except Exception:\n"
                             "            pass\n")
    (_, body), real = run_bounded(lab, "f")
    assert real < 2.0 and body["errorType"] == "Sandbox.Timedout"


def test_the_guard_restores_the_previous_sigalrm_handler_and_disarms_the_timer():
    before = signal.getsignal(signal.SIGALRM)
    lab = make_lab(wall_guard=0.2)
    lab.create_function("f", "def handler(e, c):\n    while True:\n        pass\n")
    invoke(lab, "f")
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_alarm_outside_learner_code_is_ignored():
    frame = __import__("sys")._getframe()
    guard._raise(signal.SIGALRM, frame)                    # this test file is not under /var/task: no raise
    learner = {}
    exec(compile("import sys\ndef f():\n    return sys._getframe()\n", "/var/task/app.py", "exec"), learner)
    with pytest.raises(guard.WallClockExceeded):
        guard._raise(signal.SIGALRM, learner["f"]())


def test_guard_off_means_no_timer():
    with guard.wall_guard(None):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
