"""Run hostile cases, each in a process standing in for the Jupyter kernel.

    python tests/hostile/stand_in.py --modes inline,process [--jobs 3] [--limit 30] [case ...]

The runner imports lambdalab once, then forks one child per (mode, case): the child is the "kernel". It
records the kernel's process-wide state, creates a lab, makes the hostile function and invokes it, then creates
and invokes a canary function (virtual sleep, print, logging, a JSON result), closes the lab and compares the
kernel's state with the record. It writes one JSON result to a pipe and exits 0. The runner gives each child a
wall-clock limit (then SIGKILL), reports how the child ended and whether it left processes behind (each child
leads its own process group; they get 3 s to end), and prints one JSON line per case at the end.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import CASES, CASES_BY_NAME  # noqa: E402

import lambdalab as ll  # noqa: E402

CANARY = """
import logging, time
def handler(event, context):
    start = time.time()
    time.sleep(1)
    print("canary printed")
    logging.getLogger().warning("canary logged")
    return {"slept": time.time() - start, "echo": event}
"""
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGHUP)


def kernel_state() -> dict:
    """What learner code must not change in the kernel (compared by identity or value)."""
    import builtins
    import json as json_module
    import time as time_module
    try:
        import resource
        rlimit = resource.getrlimit(resource.RLIMIT_AS)
    except ImportError:
        rlimit = None
    return {
        "signals": [repr(signal.getsignal(s)) for s in SIGNALS],
        "itimer": signal.getitimer(signal.ITIMER_REAL),
        "trace": repr(sys.gettrace()), "profile": repr(sys.getprofile()),
        "recursion": sys.getrecursionlimit(), "cwd": os.getcwd(), "gc": gc.isenabled(),
        "builtins": sorted((k, id(v)) for k, v in vars(builtins).items()),
        "json": [id(json_module.dumps), id(json_module.loads), id(json_module.JSONEncoder.default)],
        "time": [id(time_module.sleep), id(time_module.time)],
        "streams": [id(sys.stdout), id(sys.stderr), id(sys.stdin)],
        "logging": [logging.root.level, [id(h) for h in logging.root.handlers]],
        "warnings": repr(warnings.filters), "socket": socket.getdefaulttimeout(),
        "environ": dict(os.environ), "rlimit_as": rlimit,
    }


def invoke(lab, name: str) -> dict:
    response = lab.client("lambda").invoke(FunctionName=name, Payload=b'{"n": 1}')
    raw = response["Payload"].read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    error = payload.get("errorType") if response.get("FunctionError") and isinstance(payload, dict) else None
    return {"status": response["StatusCode"], "error": error, "payload": payload if error is None else None,
            "message": payload.get("errorMessage") if error else None}


def run_case(case, mode: str) -> dict:
    before = kernel_state()
    threads_before = threading.active_count()
    problems = []
    lab = ll.Lab(seed=0, wall_guard=case.wall, **({"isolation": mode} if mode != "inline" else {}))
    params = {"EphemeralStorage": {"Size": case.storage}}
    lab.create_function("case", case.source, memory=case.memory, timeout=case.timeout,
                        environment=case.environment or None, **params)
    responses = [invoke(lab, "case") for _ in range(case.invokes)]
    got = responses[0]["error"] or "ok"
    expect = case.process if mode == "process" and case.process is not None else case.expect
    expected = expect if isinstance(expect, tuple) else (expect,)
    if got not in expected:
        problems.append(f"first invoke gave {got} ({responses[0]['message']}), expected {' or '.join(expected)}")
    if case.check is not None:
        problems += case.check(lab, responses, mode)
    lab.create_function("canary", CANARY)
    canary = invoke(lab, "canary")
    if canary["error"] or canary["payload"] != {"slept": 1.0, "echo": {"n": 1}}:
        problems.append(f"the canary failed: {canary}")
    logs = lab.logs("canary")
    if not any(line == "canary printed" for line in logs) or not any("canary logged" in line for line in logs):
        problems.append("the canary's output is missing from its logs")
    lab.close()
    left = children_left(3.0)
    if left:
        problems.append(f"{len(left)} process(es) still running after lab.close(): {list(left.values())[:3]}")
        for pid in left:
            os.kill(pid, signal.SIGKILL)            # (the test machine is not left with them)
    deadline = time.monotonic() + 2.0
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    if threading.active_count() > threads_before:
        problems.append(f"{threading.active_count() - threads_before} thread(s) still running after lab.close()")
    after = kernel_state()
    problems += [f"the kernel's {key} changed: {before[key]!r:.120} -> {after[key]!r:.120}"
                 for key in before if before[key] != after[key]]
    return {"got": got, "responses": responses, "problems": problems}


def children_left(grace: float) -> dict[int, str]:
    """The stand-in's children still running after ``grace`` seconds: as a child subreaper it inherits every
    process its lab's processes left behind (a forkserver's children, the forks of learner code)."""
    me, deadline = str(os.getpid()), time.monotonic() + grace
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        left = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[1] == me and fields[0] != "Z":
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        left[int(pid)] = f.read().replace(b"\0", b" ").decode(errors="replace")[:80]
            except OSError:
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def child(case, mode: str, fd: int) -> None:
    os.setpgid(0, 0)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)         # PR_SET_CHILD_SUBREAPER: orphans come to the "kernel"
    except (OSError, AttributeError):
        pass
    try:
        result = run_case(case, mode)
    except BaseException as exc:  # noqa: BLE001 - report whatever escaped into the "kernel"
        result = {"got": None, "problems": [f"{type(exc).__name__} escaped into the kernel: {exc!s:.300}"]}
    result["pid"] = os.getpid()
    os.write(fd, json.dumps(result, default=repr).encode())
    os.close(fd)
    os._exit(0)


def warm_up() -> None:
    """Import and load, before forking, what a lab loads lazily (botocore's models, ...): the children start
    faster and their 'before' state is the kernel's after a first lab, as in a notebook."""
    lab = ll.Lab(seed=0)
    lab.create_function("warm", CANARY)
    invoke(lab, "warm")
    lab.close()


def lingering(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="inline")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    warm_up()
    names = args.cases or [case.name for case in CASES]
    todo = [(mode, CASES_BY_NAME[name]) for mode in args.modes.split(",") for name in names]
    running: dict[int, tuple] = {}
    finished: list[dict] = []
    while todo or running:
        while todo and len(running) < args.jobs:
            mode, case = todo.pop(0)
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                child(case, mode, write)
            os.close(write)
            running[pid] = (mode, case, read, time.monotonic(), [])
        for pid, (mode, case, read, started, chunks) in list(running.items()):
            while select.select([read], [], [], 0)[0]:
                chunk = os.read(read, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            done, status = os.waitpid(pid, os.WNOHANG)
            late = time.monotonic() - started > args.limit
            if not done and not late:
                continue
            if not done:
                os.killpg(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            while select.select([read], [], [], 1.0)[0]:      # (a process it left may hold the pipe open)
                chunk = os.read(read, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(read)
            del running[pid]
            line = {"mode": mode, "case": case.name, "seconds": round(time.monotonic() - started, 2),
                    "exit": os.waitstatus_to_exitcode(status), "killed_at_limit": late, "group": pid}
            try:
                line["result"] = json.loads(b"".join(chunks)) if chunks else None
            except ValueError:
                line["result"] = None
            finished.append(line)
        time.sleep(0.01)
    # processes a child left in its group get a few seconds to end (a fork's own guard), then count as leftovers
    deadline = time.monotonic() + 3.0
    while any(lingering(line["group"]) for line in finished) and time.monotonic() < deadline:
        time.sleep(0.05)
    for line in finished:
        line["leftover_processes"] = lingering(line["group"])
        if line["leftover_processes"]:
            os.killpg(line["group"], signal.SIGKILL)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
