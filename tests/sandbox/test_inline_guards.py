"""Inline guards a user can see beyond the hostile suite: Ctrl-C still stops the lab, a runtime's own alarm
fires in virtual time, patches and settings stay with their runtime, threads are reported and stopped."""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import pytest

from .helpers import invoke, make_lab

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="the guards need POSIX timers")


def test_the_users_ctrl_c_during_a_handler_stops_the_lab_like_any_cell():
    lab = make_lab(wall_guard=5)
    lab.create_function("spin", "def handler(e, c):\n    while True:\n        pass\n")
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        invoke(lab, "spin")
    assert time.monotonic() - started < 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_keyboard_interrupt_the_code_raises_ends_its_runtime_not_the_lab():
    lab = make_lab()
    lab.create_function("f", "def handler(e, c):\n    raise KeyboardInterrupt\n")
    response, body = invoke(lab, "f")
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Runtime exited with error: exit status 1")
    assert any(line.endswith("KeyboardInterrupt") for line in lab.logs("f"))


def test_signal_alarm_fires_after_its_virtual_seconds_of_sleep():
    lab = make_lab()
    lab.create_function("f", "import signal, time\n"
                             "fired = []\n"
                             "def handler(e, c):\n"
                             "    signal.signal(signal.SIGALRM, lambda s, f: fired.append(time.monotonic()))\n"
                             "    start = time.monotonic()\n"
                             "    signal.setitimer(signal.ITIMER_REAL, 0.25, 0.5)\n"
                             "    time.sleep(1.5)\n"
                             "    return [round(t - start, 3) for t in fired]\n", timeout=5)
    _, fired = invoke(lab, "f")
    assert fired == [0.25, 0.75, 1.25]
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_runtimes_patch_of_json_lasts_in_its_environment_and_nowhere_else():
    lab = make_lab()
    lab.create_function("patcher", "import json\njson.dumps = lambda *a, **k: '\"patched\"'\n"
                                   "def handler(e, c):\n    return json.dumps({})\n")
    lab.create_function("plain", "import json\ndef handler(e, c):\n    return json.dumps({'a': 1})\n")
    assert invoke(lab, "patcher")[1] == "patched"
    assert invoke(lab, "patcher")[1] == "patched"          # warm: the module-level patch is still there
    assert invoke(lab, "plain")[1] == '{"a": 1}'
    assert json.dumps({"a": 1}) == '{"a": 1}'


def test_logging_is_a_fresh_process_root_in_each_runtime():
    """As in AWS: the root logger has the runtime's handler and level WARNING, so basicConfig does nothing and
    logger.info prints only after setLevel; the kernel's logging setup is untouched."""
    kernel = logging.root.level, list(logging.root.handlers)
    lab = make_lab()
    lab.create_function("f", "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
                             "def handler(e, c):\n    logging.info('dropped')\n"
                             "    logging.getLogger().setLevel(logging.INFO)\n    logging.info('kept')\n")
    invoke(lab, "f")
    lines = lab.logs("f")
    assert any(line.startswith("[INFO]\t") and line.endswith("\tkept") for line in lines)
    assert not any("dropped" in line for line in lines)
    assert (logging.root.level, list(logging.root.handlers)) == kernel


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")   # (SystemExit stops it)
def test_threads_the_code_leaves_running_are_reported_and_stopped_with_the_lab():
    lab = make_lab()
    lab.create_function("f", "import threading, time\n"
                             "def loop():\n    while True:\n        time.sleep(0.01)\n"
                             "def handler(e, c):\n    threading.Thread(target=loop, name='poller').start()\n")
    before = threading.active_count()
    invoke(lab, "f")
    assert threading.active_count() == before + 1
    assert any("left 1 thread(s) running (poller)" in line for line in lab.logs("f"))
    lab.close()
    deadline = time.monotonic() + 2
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_tmp_paths_cannot_leave_the_environments_directory():
    lab = make_lab()
    lab.create_function("f", "import os\n"
                             "def handler(e, c):\n"
                             "    with open('/tmp/../tmp/./a.txt', 'w') as f:\n        f.write('x')\n"
                             "    return [os.listdir('/tmp'), os.path.exists('/tmp/a.txt'), c.tmp_dir]\n")
    _, (listing, exists, tmp_dir) = invoke(lab, "f")
    assert listing == ["a.txt"] and exists
    assert os.path.isfile(os.path.join(tmp_dir, "a.txt"))


def test_handler_names_that_are_no_function_are_handler_not_found():
    lab = make_lab()
    for name, handler in (("dunder", "lambda_function.__init__"), ("value", "lambda_function.VALUE")):
        lab.create_function(name, "VALUE = 3\ndef handler(e, c):\n    return 1\n", Handler=handler)
        _, body = invoke(lab, name)
        assert body["errorType"] == "Runtime.HandlerNotFound", body
    assert json.loads(json.dumps(body))["errorMessage"] == "Handler 'VALUE' missing on module 'lambda_function'"
