"""Hostile but realistic learner code: the mistakes learners make, and a few made on purpose.

Each ``Case`` is one function's code and what the caller must see (AWS's error type, or ``"ok"``; where the two
modes differ because a process of its own behaves as a real runtime process, ``process`` says what that one
gives).
``stand_in.py`` runs each case in a fresh process standing in for the Jupyter kernel and checks that the
process lives, that the lab still works afterwards and that nothing of the kernel changed.

``inline=False`` marks what cannot be contained inside the kernel (the code reaches the real process behind the
sandbox's stand-ins, or a library reads the real process state): with ``isolation="inline"`` those are expected
to fail, with ``isolation="process"`` they must pass. ``check(lab, responses, mode)`` adds case-specific checks
(it returns a list of problems).
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import Callable

EXIT = "Runtime.ExitError"
TIMEOUT = "Sandbox.Timedout"
OOM = "Runtime.OutOfMemory"


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    expect: str | tuple = "ok"          # errorType of the (first) invoke, "ok", or a tuple of acceptable ones
    process: str | tuple | None = None  # ... with isolation="process", where it differs
    memory: int = 128
    timeout: int = 3
    invokes: int = 1
    inline: bool = True                 # can isolation="inline" contain it?
    environment: dict = field(default_factory=dict)
    storage: int = 512
    wall: float = 0.5                   # the lab's wall_guard (real seconds)
    check: Callable | None = None


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def log_has(needle: str, function: str = "case"):
    def check(lab, responses, mode):
        return [] if any(needle in line for line in lab.logs(function)) else [f"no log line with {needle!r}"]
    return check


def payload_is(value):
    def check(lab, responses, mode):
        got = responses[0]["payload"]
        return [] if got == value else [f"payload {got!r}, expected {value!r}"]
    return check


def same_again(lab, responses, mode):
    """The environment's runtime restarts and the next invoke meets the same end (no hang, no other error)."""
    first, last = responses[0]["error"], responses[-1]["error"]
    return [] if first == last else [f"the next invoke gave {last}, not {first} again"]


def _tmp_is_private(lab, responses, mode):
    from lambdalab.lab import make_zip  # noqa: F401 (the lab is importable here)
    lab.create_function("snoop", code("""
        import os
        def handler(event, context):
            found = []
            for where in ("/tmp", "/tmp/..", "/tmp/../tmp"):
                try:
                    for name in os.listdir(where):
                        for path in (f"{where}/{name}/secret.txt", f"{where}/{name}"):
                            try:
                                with open(path) as f:
                                    if "s3cr3t" in f.read():
                                        found.append(path)
                            except OSError:
                                pass
                except OSError:
                    pass
            return found
        """))
    response = lab.client("lambda").invoke(FunctionName="snoop")
    found = json.loads(response["Payload"].read())
    return [f"another environment read {found}"] if found else []


def _state_is_per_environment(lab, responses, mode):
    lab.create_function("other", CASES_BY_NAME["library_module_state"].source)
    seen = json.loads(lab.client("lambda").invoke(FunctionName="other")["Payload"].read())
    first = responses[0]["payload"]
    return [] if seen == first else [f"another environment saw the first one's library state ({seen!r})"]


CASES = [
    # --- the runtime process ends ------------------------------------------------------------------------------
    Case("os_exit", code("""
        import os
        def handler(event, context):
            os._exit(3)
        """), EXIT, invokes=2, check=same_again),
    Case("posix_exit", code("""
        import posix
        def handler(event, context):
            posix._exit(3)          # the C-level exit, past the os stand-in
        """), EXIT, inline=False),
    Case("sys_exit", code("""
        import sys
        def handler(event, context):
            sys.exit("bye")
        """), EXIT, invokes=2, check=same_again),
    Case("exit_at_import", code("""
        raise SystemExit(0)
        def handler(event, context):
            return 1
        """), EXIT),
    Case("kill_self_9", code("""
        import os
        def handler(event, context):
            os.kill(os.getpid(), 9)
        """), EXIT, invokes=2, check=same_again),
    Case("kill_self_term", code("""
        import os, signal
        def handler(event, context):
            os.kill(os.getpid(), signal.SIGTERM)
        """), EXIT),
    Case("abort", code("""
        import os
        def handler(event, context):
            os.abort()
        """), EXIT),
    Case("keyboard_interrupt", code("""
        def handler(event, context):
            raise KeyboardInterrupt
        """), EXIT),
    Case("base_exception", code("""
        class Boom(BaseException):
            pass
        def handler(event, context):
            raise Boom("not an Exception")
        """), EXIT),
    Case("execv", code("""
        import os
        def handler(event, context):
            os.execv("/bin/true", ["true"])
        """), EXIT),
    # --- signals and timers ------------------------------------------------------------------------------------
    Case("ignore_sigalrm_and_loop", code("""
        import signal
        def handler(event, context):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                pass
        """), TIMEOUT),
    Case("setitimer_zero_and_loop", code("""
        import signal
        def handler(event, context):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.alarm(0)
            while True:
                pass
        """), TIMEOUT),
    Case("ignore_sigint", code("""
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        def handler(event, context):
            return signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        """), "ok", check=payload_is(True)),
    Case("own_alarm_timeout", code("""
        import signal, time
        class Slow(Exception):
            pass
        def on_alarm(signum, frame):
            raise Slow("gave up after 1 s")
        def handler(event, context):
            signal.signal(signal.SIGALRM, on_alarm)
            signal.alarm(1)
            time.sleep(2)           # the runtime's own alarm fires after 1 (virtual) second
        """), "Slow"),
    Case("swallow_everything_loop", code("""
        import select
        def handler(event, context):
            while True:
                try:
                    select.select([], [], [], 100)
                except BaseException:
                    pass
        """), TIMEOUT),
    # --- error formatting --------------------------------------------------------------------------------------
    Case("looping_str", code("""
        class Weird(Exception):
            def __str__(self):
                while True:
                    pass
        def handler(event, context):
            raise Weird()
        """), TIMEOUT),
    Case("looping_repr_in_args", code("""
        class Loopy:
            def __repr__(self):
                while True:
                    pass
        def handler(event, context):
            raise ValueError(Loopy())
        """), TIMEOUT),
    Case("raising_str", code("""
        class Rude(Exception):
            def __str__(self):
                raise RuntimeError("no message for you")
        def handler(event, context):
            raise Rude()
        """), EXIT),
    Case("recursion_limit_raised", code("""
        import sys
        sys.setrecursionlimit(10**6)
        def down(n):
            return down(n + 1)
        def handler(event, context):
            return down(0)
        """), "RecursionError", process=("RecursionError", TIMEOUT), memory=1024),
    # (10**6 Python frames take a while; 1 GB so that the frames fit in a process of its own, where at 128 MB the
    # outcome raced between the timeout and running out of memory, as OutOfMemory or CPython's SystemError)
    Case("deep_recursion_in_c", code("""
        import sys
        sys.setrecursionlimit(10**6)
        class Node:
            def __init__(self, depth):
                self.depth = depth
            def __repr__(self):
                return repr(Node(self.depth + 1))
        def handler(event, context):
            return repr(Node(0))
        """), "RecursionError", process=EXIT),      # a process of its own overflows its C stack, as in AWS
    # --- monkey-patches ----------------------------------------------------------------------------------------
    Case("patch_time_sleep", code("""
        import time
        time.sleep = lambda seconds: None          # "make the tests fast"
        def handler(event, context):
            time.sleep(100)
            return "done"
        """), "ok"),
    Case("patch_builtins", code("""
        import builtins
        builtins.print = lambda *args, **kwargs: None
        builtins.len = lambda obj: 42
        def handler(event, context):
            return len([])
        """), "ok", check=payload_is(42)),
    Case("patch_json", code("""
        import json
        json.dumps = lambda *args, **kwargs: '"patched"'
        json.loads = lambda *args, **kwargs: "patched"
        json.JSONEncoder.default = lambda self, o: str(o)
        def handler(event, context):
            return {"a": 1}
        """), "ok"),
    Case("patch_logging_and_warnings", code("""
        import logging, warnings, gc, socket
        logging.basicConfig(level=logging.DEBUG)
        logging.getLogger().setLevel(logging.INFO)
        warnings.simplefilter("error")
        gc.disable()
        socket.setdefaulttimeout(0.001)
        def handler(event, context):
            logging.info("hello from the handler")
            return 1
        """), "ok", check=log_has("hello from the handler")),
    Case("settrace_and_profile", code("""
        import sys
        sys.setprofile(lambda *a: None)
        def handler(event, context):
            sys.settrace(lambda *a: None)
            return 1
        """), "ok"),
    Case("chdir", code("""
        import os
        os.chdir("/")
        def handler(event, context):
            return os.getcwd()
        """), "ok", check=payload_is("/")),
    # --- processes and threads ---------------------------------------------------------------------------------
    Case("fork", code("""
        import os
        def handler(event, context):
            pid = os.fork()
            if pid == 0:
                return "child"      # a second kernel would go on from here
            os.waitpid(pid, 0)
            return "parent"
        """), "ok", check=payload_is("parent")),
    Case("fork_and_spin", code("""
        import os
        def handler(event, context):
            if os.fork() == 0:
                while True:
                    pass
            return "parent"
        """), "ok", check=payload_is("parent")),
    Case("fork_bomb", code("""
        import os, select
        def handler(event, context):
            for _ in range(5):
                os.fork()           # 32 processes, each then blocks for ever
            select.select([], [], [])
        """), TIMEOUT),
    Case("setsid_daemon", code("""
        import _signal, os, select
        def handler(event, context):
            if os.fork() == 0:
                os.setsid()                                     # out of the runtime's process group
                _signal.signal(14, _signal.SIG_IGN)             # and deaf to every alarm, the real one too
                select.select([], [], [])
            return "parent"
        """), "ok", inline=False, check=payload_is("parent")),
    Case("daemon_thread", code("""
        import threading, time
        ticks = []
        def tick():
            while True:
                time.sleep(0.05)
                ticks.append(1)
                print("tick")
        threading.Thread(target=tick, daemon=True).start()
        def handler(event, context):
            return "started"
        """), "ok", check=lambda lab, responses, mode: log_has("thread(s) running")(lab, responses, mode)
        if mode == "inline" else []),
    Case("busy_thread", code("""
        import threading
        def spin():
            while True:
                pass
        def handler(event, context):
            threading.Thread(target=spin).start()
            return "started"
        """), "ok"),
    Case("close_all_fds", code("""
        import os
        def handler(event, context):
            os.closerange(3, 4096)      # the classic daemonize step
            return 1
        """), "ok", process=EXIT, inline=False),    # (a runtime that cuts its Runtime API connection dies)
    # --- memory, disk, output, size ------------------------------------------------------------------------
    Case("allocate_2gb", code("""
        def handler(event, context):
            block = bytearray(2 * 1024 ** 3)
            return len(block)
        """), OOM, invokes=2, check=same_again),
    Case("grow_until_oom", code("""
        def handler(event, context):
            hoard = []
            while True:
                hoard.append(b"x" * 10 ** 6)
        """), (OOM, TIMEOUT)),
    Case("infinite_list", code("""
        import itertools
        def handler(event, context):
            return list(itertools.count())
        """), (OOM, TIMEOUT)),
    Case("infinite_generator_returned", code("""
        import itertools
        def handler(event, context):
            return (i for i in itertools.count())
        """), "Runtime.MarshalError"),
    Case("fill_tmp", code("""
        def handler(event, context):
            video = bytes(600 * 1024 * 1024)          # a download bigger than EphemeralStorage (512 MB)
            with open("/tmp/video.mp4", "wb") as f:
                f.write(video)
        """), "OSError", memory=1024, check=log_has("No space left on device")),
    Case("tmp_escape", code("""
        def handler(event, context):
            with open("/tmp/secret.txt", "w") as f:
                f.write("s3cr3t")
            return 1
        """), "ok", check=_tmp_is_private),
    Case("huge_output", code("""
        def handler(event, context):
            for _ in range(200):
                print("x" * 100_000)
            return 1
        """), "ok", check=log_has("more bytes of output were not kept")),
    Case("huge_response", code("""
        def handler(event, context):
            return "x" * 7_000_000
        """), "Function.ResponseSizeTooLarge"),
    Case("input_call", code("""
        def handler(event, context):
            return input("name? ")
        """), "EOFError"),
    Case("breakpoint_left_in", code("""
        def handler(event, context):
            breakpoint()
            return 1
        """), "ok"),
    # --- what a process of its own gives (isolation="process") ----------------------------------------------
    Case("env_vars_seen_by_libraries", code("""
        import os.path
        def handler(event, context):
            return os.path.expandvars("$GREETING from $AWS_REGION")   # posixpath reads the real os.environ
        """), "ok", inline=False, environment={"GREETING": "hello"},
        check=payload_is("hello from us-east-1")),
    Case("library_module_state", code("""
        import logging
        def handler(event, context):
            log = logging.getLogger("shared.library")      # one object every importer shares in a process
            before = log.level
            log.setLevel(logging.DEBUG)
            return before
        """), "ok", inline=False, check=_state_is_per_environment),
]
CASES_BY_NAME = {case.name: case for case in CASES}
