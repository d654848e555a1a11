"""isolation="process": each execution environment's Python code in a child process, like a microVM.

What a learner sees change (a real os.environ, module state per environment, a private /tmp of EphemeralStorage,
MemorySize as a limit, crashes that end only the environment, frozen between invokes) and what must not change
(virtual time, determinism, the lifecycle, the lab's answers).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import lambdalab as ll

from .helpers import invoke, reports

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not os.path.exists("/proc/self/statm"),
                                reason="process isolation needs fork and /proc (Linux)")

SAME_IN_BOTH = """
import logging, os, random, time, uuid
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    time.sleep(0.25)
    print("count", COUNT, "at", time.time())
    logging.getLogger().error("seen %s", event.get("n"))
    return {"count": COUNT, "r": random.random(), "id": str(uuid.uuid4()), "left": context.get_remaining_time_in_millis()}
"""


def _lab(**options):
    options.setdefault("seed", 0)
    options.setdefault("wall_guard", 1.0)
    return ll.Lab(isolation="process", **options)


@pytest.fixture
def lab():
    lab = _lab()
    yield lab
    lab.close()


def _run_both(source, calls=3, **create):
    out = {}
    for mode in ("inline", "process"):
        lab = ll.Lab(seed=3, isolation=mode)
        try:
            lab.create_function("f", source, **create)
            answers = [invoke(lab, "f", {"n": i})[1] for i in range(calls)]
            out[mode] = answers, lab.logs("f"), lab.trace.to_json(), lab.now
        finally:
            lab.close()
    return out


def test_both_modes_give_the_same_answers_logs_trace_and_clock():
    out = _run_both(SAME_IN_BOTH)
    assert out["inline"] == out["process"]
    answers, logs, _, _ = out["process"]
    assert [a["count"] for a in answers] == [1, 2, 3] and answers[0]["left"] == 2750
    assert any(line.startswith("[ERROR]\t") and line.endswith("\tseen 1") for line in logs)


def test_code_runs_in_a_child_process_with_the_functions_environment_variables(lab):
    lab.create_function("f", "import os, os.path\n"
                             "def handler(e, c):\n"
                             "    return [os.getpid(), os.getppid(), os.path.expandvars('$GREETING in $AWS_REGION'),\n"
                             "            os.environ['AWS_LAMBDA_FUNCTION_NAME'], os.environ.get('HOME')]\n",
                        environment={"GREETING": "hello"})
    pid, parent, greeting, name, home = invoke(lab, "f")[1]
    assert pid != os.getpid() and parent != os.getpid()          # a child of the lab's forkserver
    assert greeting == "hello in us-east-1" and name == "f" and home is None


def test_each_environment_has_its_own_module_state_and_tmp(lab):
    lab.create_function("f", "import os, logging\n"
                             "def handler(e, c):\n"
                             "    log = logging.getLogger('shared.library')\n"
                             "    before = log.level\n"
                             "    log.setLevel(logging.DEBUG)\n"
                             "    with open('/tmp/mine.txt', 'a') as f:\n        f.write('x')\n"
                             "    return [before, sorted(os.listdir('/tmp')), open('/tmp/mine.txt').read()]\n",
                        timeout=5)
    first = lab.submit(FunctionName="f")
    second = lab.submit(FunctionName="f")       # at the same moment: a second environment
    lab.advance(10)
    answers = [json.loads(inv.response["Payload"].read()) for inv in (first, second)]
    assert answers == [[0, ["mine.txt"], "x"], [0, ["mine.txt"], "x"]]
    assert len({inv.env_id for inv in (first, second)}) == 2
    assert invoke(lab, "f")[1] == [10, ["mine.txt"], "xx"]           # warm: its module state, its /tmp


def test_memory_past_memorysize_is_runtime_out_of_memory(lab):
    lab.create_function("f", "def handler(e, c):\n    return len(bytearray(e['mb'] * 1024 * 1024))\n", memory=128)
    assert invoke(lab, "f", {"mb": 64})[1] == 64 * 1024 * 1024
    response, body = invoke(lab, "f", {"mb": 512})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.OutOfMemory"
    report = reports(lab, "f")[-1]
    assert report["Status"] == "error" and report["Error Type"] == "Runtime.OutOfMemory"
    assert invoke(lab, "f", {"mb": 1})[1] == 1024 * 1024          # a new runtime serves the next invoke


def test_tmp_is_limited_to_ephemeral_storage(lab):
    lab.create_function("f", "def handler(e, c):\n    open('/tmp/big', 'wb').write(bytes(600 * 1024 * 1024))\n",
                        memory=1024, EphemeralStorage={"Size": 512})
    body = invoke(lab, "f")[1]
    assert body["errorType"] == "OSError" and "No space left on device" in body["errorMessage"]


@pytest.mark.parametrize("end, message", [
    ("os._exit(7)", "Runtime exited with error: exit status 7"),
    ("os.kill(os.getpid(), 9)", "Runtime exited with error: signal: killed"),
    ("import ctypes; ctypes.string_at(0)", "Runtime exited with error: signal: segmentation fault"),
])
def test_a_crashing_runtime_ends_its_environment_not_the_lab(lab, end, message):
    lab.create_function("f", f"import os\ndef handler(e, c):\n    if e.get('die'):\n        print('last words')\n"
                             f"        {end}\n    return 'fine'\n")
    assert invoke(lab, "f")[1] == "fine"
    response, body = invoke(lab, "f", {"die": True})
    assert body["errorType"] == "Runtime.ExitError" and body["errorMessage"].endswith(message)
    assert "last words" in lab.logs("f")
    assert invoke(lab, "f")[1] == "fine"


def test_a_dead_forkserver_ends_its_environments_and_the_next_invoke_gets_a_new_one(lab):
    lab.create_function("f", "def handler(e, c):\n    return 'fine'\n")
    assert invoke(lab, "f")[1] == "fine"
    server = lab.isolation_server.server.proc
    os.kill(server.pid, 9)
    server.wait()                                  # (its children are killed as it exits)
    body = invoke(lab, "f")[1]
    assert body["errorType"] == "Runtime.ExitError" and body["errorMessage"].endswith("signal: killed")
    assert invoke(lab, "f")[1] == "fine"


def test_output_the_process_writes_itself_reaches_the_log(lab):
    lab.create_function("f", "import os, subprocess\n"
                             "def handler(e, c):\n"
                             "    os.write(1, b'straight to fd 1\\n')\n"
                             "    subprocess.run(['echo', 'from a subprocess'])\n")
    invoke(lab, "f")
    logs = lab.logs("f")
    assert "straight to fd 1" in logs and "from a subprocess" in logs


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_an_idle_environment_is_frozen_and_its_threads_stand_still(lab):
    lab.create_function("f", "import os, threading, time\n"
                             "ticks = [0]\n"
                             "def tick():\n    while True:\n        time.sleep(0.01)\n        ticks[0] += 1\n"
                             "threading.Thread(target=tick, daemon=True).start()\n"
                             "def handler(e, c):\n    return [os.getpid(), ticks[0]]\n")
    pid, _ = invoke(lab, "f")[1]
    assert _settles(pid, "T")                      # stopped while idle (SIGSTOP takes a moment to land)
    time.sleep(0.3)
    _, before = invoke(lab, "f")[1]
    _, after = invoke(lab, "f")[1]
    assert after - before < 5                      # no ticks while frozen between the two invokes


def test_shutdown_and_close_leave_no_process():
    lab = _lab(idle_timeout=60)
    lab.create_function("f", "import os\ndef handler(e, c):\n    return [os.getpid(), os.getcwd()]\n")
    pid, task = invoke(lab, "f")[1]
    server = lab.isolation_server.server.proc.pid
    lab.advance(120)                               # the idle environment is reclaimed
    assert not _alive(pid) and not os.path.exists(task)
    invoke(lab, "f")
    lab.close()
    assert not _alive(server) and lab.isolation_server is None


def _settles(pid: int, state: str) -> bool:
    deadline = time.monotonic() + 2
    while _state(pid) != state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if _state(pid) == "Z":
                return False
        except OSError:
            return False
        time.sleep(0.02)
    return True


CALLER = """
import json, time
import lambdalab as ll
def handler(event, context):
    time.sleep(0.1)
    answer = ll.client("lambda").invoke(FunctionName="callee", Payload=json.dumps(event))
    try:
        ll.client("lambda").get_function(FunctionName="missing")
    except ll.ClientError as exc:
        missing = exc.response["Error"]["Code"]
    return {"callee": json.loads(answer["Payload"].read()), "missing": missing,
            "left": context.get_remaining_time_in_millis()}
"""
CALLEE = "import time\ndef handler(e, c):\n    time.sleep(e['sleep'])\n    return e['sleep'] * 2\n"


def test_ll_client_in_a_child_calls_the_lab_as_inline_code_does():
    out = {}
    for mode in ("inline", "process"):
        lab = ll.Lab(seed=5, isolation=mode)
        try:
            lab.create_function("callee", CALLEE, timeout=10)
            lab.create_function("caller", CALLER, timeout=2)
            answers = [invoke(lab, "caller", {"sleep": s})[1] for s in (0.5, 5)]
            out[mode] = answers, lab.logs("caller"), lab.trace.to_json(), lab.now
        finally:
            lab.close()
    assert out["inline"] == out["process"]
    (first, second), *_ = out["process"]
    assert first["callee"] == 1.0 and first["missing"] == "ResourceNotFoundException"
    assert 0 < first["left"] <= 2000 - 100 - 500                # the call's time (a cold start too) is the caller's
    assert second["errorType"] == "Sandbox.Timedout"            # its deadline passed while it waited


def test_a_child_can_ask_the_lab_for_operations_only(lab):
    lab.create_function("f", "import lambdalab as ll\n"
                             "def handler(e, c):\n"
                             "    client, out = ll.client('lambda'), []\n"
                             "    for name in ('close', '_make_api_call', 'list_functions'):\n"
                             "        try:\n            out.append(sorted(getattr(client, name)()))\n"
                             "        except Exception as exc:\n            out.append(type(exc).__name__)\n"
                             "    return out\n")
    assert invoke(lab, "f")[1] == ["RuntimeError", "AttributeError", ["Functions"]]


OUT_OF_DESCRIPTORS = """
import json, resource
import lambdalab as ll
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (48, hard))        # room for a few environments' descriptors
lab = ll.Lab(seed=0, isolation="process")
lab.create_function("f", "def handler(e, c):\\n    return 1\\n", timeout=30)
for _ in range(40):
    lab.submit(FunctionName="f")
lab.advance(5)
stats = lab.stats("f")
lines = [line for line in lab.logs("f") if "no process could be started" in line]
lab.close()
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
lab = ll.Lab(seed=0, isolation="process")
lab.create_function("f", "def handler(e, c):\\n    return 1\\n")
again = json.loads(lab.client("lambda").invoke(FunctionName="f")["Payload"].read())
lab.close()
print(json.dumps([stats["invocations"], stats["errors"], len(lines), again]))
"""


def test_environments_that_get_no_process_fail_alone_and_the_lab_goes_on():
    run = subprocess.run([sys.executable, "-c", OUT_OF_DESCRIPTORS], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    invocations, errors, lines, again = json.loads(run.stdout.splitlines()[-1])
    assert invocations == 40 and 0 < errors < 40 and lines >= errors and again == 1     # (Init is retried once)


def test_a_function_can_choose_its_isolation_in_an_inline_lab():
    lab = ll.Lab(seed=0)
    try:
        lab.create_function("inline", "import os\ndef handler(e, c):\n    return os.getpid()\n")
        lab.create_function("child", "import os\ndef handler(e, c):\n    return os.getpid()\n", isolation="process")
        assert invoke(lab, "inline")[1] == os.getpid() != invoke(lab, "child")[1]
    finally:
        lab.close()


def test_an_unknown_isolation_is_refused():
    with pytest.raises(ValueError, match="isolation"):
        ll.Lab(isolation="vm")
