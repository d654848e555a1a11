"""The child process of ``isolation="process"``: one execution environment's Python runtime, like a microVM.

In AWS each execution environment is a Firecracker microVM: its runtime is a process of its own, with the
function's and Lambda's environment variables in a real ``os.environ``, its own module state, a private
``/tmp`` of EphemeralStorage, MemorySize of memory (past it the runtime is killed: Runtime.OutOfMemory), and it
is frozen between invokes. This module is the code such a child runs (forked by ``forkserver``, driven by
``isolation.IsolatedRuntime`` in the lab over a socket):

1. set up the "microVM": a session of its own (so the lab can freeze, thaw and kill the whole group), its output
   (fd 1 and 2) into a pipe the lab reads, ``os.environ`` replaced by the environment's variables, the address
   space limited to what the process maps now plus MemorySize (``RLIMIT_AS``), each file under EphemeralStorage
   (``RLIMIT_FSIZE``), and ``/tmp`` made private: the environment's directory is bind-mounted over ``/tmp`` in
   a mount namespace of its own where the machine allows it (so every library sees it), else ``/tmp`` paths are
   mapped by the code loader as inline (also when Python itself or its packages live under ``/tmp``, e.g. a
   venv in a checkout under ``/tmp``: hiding them would make every later import fail);
2. load the deployment package and answer ``init`` and ``invoke`` requests with the very runtime the kernel
   uses inline (``python_runtime.PythonRuntime`` with ``inline = False``: no confinement is needed in a
   process of one's own), under the same virtual-time budget rules: the lab sends the budget, the child sends
   back the outcome (status, virtual seconds used, body, error type, lines with their virtual times), and each
   line as it is printed, so a runtime that dies mid-invoke still leaves its output;
3. die as the runtime would: after an outcome that ends the runtime (``sys.exit``, a fatal signal, a
   ``MemoryError``) the process exits for real; ``os._exit``, ``os.kill(os.getpid(), 9)`` or a segfault simply end
   it, and the lab reads the exit status.

``ll.client(service)`` in the child asks the lab to make each call (``remote_calls``), so handler code calls its
lab's services as inline. Simplified: ``/var/task`` is not a real directory (the package is loaded from memory; the working directory is a private
copy of the package); SIGTERM at shutdown is not given to the code (the lab ends the process at once); a
``MemoryError`` the code catches itself does not kill it.
"""
from __future__ import annotations

import ctypes
import datetime as _dt
import os
import resource
import signal
import socket
import sys
import types

from . import remote_calls, vtime
from .forkserver import Closed, adopt_orphans, die_with_parent, recv, send
from .python_runtime import LambdaContext, PythonRuntime

__all__ = ["main"]

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


class _Namespace(types.SimpleNamespace):
    pass


class ChildRuntime(PythonRuntime):
    inline = False


class _Environment:
    """What ``PythonRuntime`` reads of its execution environment, rebuilt in the child from the lab's spec."""

    def __init__(self, spec: dict, files: dict) -> None:
        self.id = spec["env_id"]
        self.environ = os.environ
        self.opt_path = spec.get("opt_path")
        self.runtime_starts = spec["runtime_starts"] - 1      # (PythonRuntime._view counts this start)
        self.tmp_path = spec["tmp"]
        epoch = spec["epoch"]

        def iso_time(t: float, millis: bool = True, offset: str = "Z") -> str:
            moment = _dt.datetime.fromtimestamp(epoch + t, _dt.timezone.utc)
            text = moment.strftime("%Y-%m-%dT%H:%M:%S")
            return text + (f".{moment.microsecond // 1000:03d}" if millis else "") + offset
        self.lab = _Namespace(seed=spec["seed"], wall_guard=spec["wall_guard"], iso_time=iso_time,
                              on_close=lambda closer, **_: None, epoch=epoch)
        self.snapshot = _Namespace(handler=spec["handler"], files=files, memory=spec["memory"],
                                   config={"EphemeralStorage": {"Size": spec["storage"]}}, runtime=spec["runtime"],
                                   name=spec["function"], version=spec["version"])

    def tmp_dir(self) -> str:
        return self.tmp_path


def _unpack(header: dict, blob: bytes) -> dict[str, bytes]:
    files, at = {}, 0
    for path, size in header["files"]:
        files[path] = blob[at:at + size]
        at += size
    return files


def _python_lives_in_tmp() -> bool:
    """Whether the interpreter, its packages or the working directory are under /tmp (binding over /tmp would
    hide them from every import the code makes later)."""
    paths = [sys.prefix, sys.exec_prefix, os.getcwd(), *(p for p in sys.path if p)]
    return any(real == "/tmp" or real.startswith("/tmp/") for real in map(os.path.realpath, paths))


def _private_tmp(directory: str) -> bool:
    """Bind the environment's directory over /tmp in a mount namespace of this process's own (False where the
    machine does not allow it, or where Python lives under /tmp: then the code loader maps /tmp paths instead)."""
    if _python_lives_in_tmp():
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        return False
    try:
        if uid != 0:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            return False
        return libc.mount(directory.encode(), b"/tmp", None, MS_BIND, None) == 0
    except OSError:
        return False


def _setup(spec: dict, out_fd: int) -> str:
    """The microVM around the runtime; returns what /tmp is for the code (``/tmp`` itself when private)."""
    os.setsid()
    die_with_parent()
    adopt_orphans()                                   # (what its processes orphan stays in the environment)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(devnull)
    os.close(out_fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.environ.clear()
    os.environ.update(spec["environ"])
    os.chdir(spec["task"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a file past EphemeralStorage: EFBIG, not a kill
    storage = spec["storage"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (storage, storage))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # a crash leaves no core file (of the process's size)
    with open("/proc/self/statm", "rb") as f:
        mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = mapped + spec["memory"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return "/tmp" if _private_tmp(spec["tmp"]) else spec["tmp"]


def main(ctl_fd: int, out_fd: int) -> None:
    """The child's life: set up, then answer the lab until it goes or the runtime dies. Never returns."""
    code = 0
    try:
        sock = socket.socket(fileno=ctl_fd)
        header, blob = recv(sock)
        spec = header
        files = _unpack(header, blob)
        spec["tmp"] = _setup(spec, out_fd)

        def ask(header: dict) -> dict:
            send(sock, header)
            return recv(sock)[0]
        remote_calls.connect(ask)
        runtime = ChildRuntime(_Environment(spec, files))
        runtime.line_sink = lambda t, line: send(sock, {"op": "line", "t": t, "line": line})
        send(sock, {"op": "ready", "pid": os.getpid()})
        while True:
            code = _serve(sock, runtime, *recv(sock))
            if code is not None:
                break
    except (Closed, OSError):
        pass
    finally:
        os._exit(code or 0)


def _serve(sock, runtime: ChildRuntime, request: dict, blob: bytes):
    """One request; returns an exit code once the runtime has died (the process then ends)."""
    budget = vtime.Budget(request["start"], request["limit"], request["epoch"])
    if request["op"] == "init":
        outcome = runtime.init(budget)
    else:
        os.environ.update(request.get("environ", {}))
        c = request["context"]
        context = LambdaContext(c["request_id"], c["function_name"], c["function_version"], c["arn"], c["memory"],
                                c["log_group"], c["log_stream"], budget, runtime.env.tmp_dir, c.get("client_context"))
        outcome = runtime.invoke(blob, context, budget)
    chunks = outcome.chunks or []
    send(sock, {"op": "outcome", "status": outcome.status, "elapsed": outcome.elapsed, "error_type":
                outcome.error_type, "lines": outcome.lines, "body": len(outcome.body),
                "chunks": [(t, len(data)) for t, data in chunks]},
         outcome.body + b"".join(data for _, data in chunks))
    if outcome.status == "exit":
        return 1                                   # the runtime is dead: so is its process
    return None
