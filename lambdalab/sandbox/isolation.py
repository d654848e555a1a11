"""``isolation="process"``: each execution environment's Python code in a child process of its own.

In AWS an execution environment is a microVM: nothing its code does can reach another environment or the
service. Inline (the default) the code runs inside the notebook's kernel, guarded but sharing the process; with
``Lab(isolation="process")`` or ``create_function(..., isolation="process")`` every environment of a Python
function gets a child process instead (``microvm``), made by the lab's forkserver in milliseconds
(``forkserver``), and ``IsolatedRuntime`` is the environment's runtime on the lab's side. It drives the child
through the same runtime seam as the inline runtime (``sandbox.runtimes``: ``init``/``invoke`` return an
``Outcome``; ``freeze``/``thaw``/``reset``/``shutdown``), so the lifecycle, the trace and virtual time are the
lab's as always: the child runs the code eagerly under the budget the lab sends and answers with the virtual
seconds it used, and the lab keeps the clock. The same seed gives the same trace in both modes.

What the child changes for the learner: a real ``os.environ`` with the function's and Lambda's variables that
every library sees; module state of its own (a library's too); ``/tmp`` private for everything in it;
MemorySize as a real limit (past it: ``Runtime.OutOfMemory``); ``os._exit``, ``os.kill(os.getpid(), 9)``,
``os.fork``, closing every file descriptor, a segfault: the child dies, the lab reads how, and the invoke
ends with ``Runtime.ExitError`` (``Runtime exited with error: signal: killed``); between invokes the child is
stopped (SIGSTOP, as the microVM is frozen: threads it started do not run) and thawed (SIGCONT) by the next.

The lab enforces real time too: the child has the inline wall-clock guard, and if it does not answer within
``wall_guard`` + ``GRACE`` seconds the lab kills it and reports a timeout at the virtual deadline.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import time

from . import remote_calls, scratch
from .forkserver import Closed, ForkServer, recv, send
from .python_runtime import Outcome, exit_body

__all__ = ["IsolatedRuntime", "Isolation", "attach", "MODES", "GRACE"]

MODES = ("inline", "process")
GRACE = 2.0                  # real seconds past the wall-clock guard before the lab kills a silent child


def attach(lab) -> None:
    """Give the lab its choice of isolation: environments of Python functions whose mode is "process" (the
    function's ``isolation``, else the lab's) get an ``IsolatedRuntime``."""
    lab.runtimes.add(lambda env: _factory(lab, env))


def _factory(lab, env):
    model = env.snapshot.model
    mode = model.get("isolation") or lab.isolation
    if mode != "process" or model.get("bootstrap") or model.get("process") or model.get("synthetic"):
        return None
    if not str(env.snapshot.runtime or "").startswith("python"):
        return None
    if lab.isolation_server is None:
        lab.isolation_server = Isolation(lab)
    return IsolatedRuntime(env, lab.isolation_server)


class Isolation:
    """A lab's forkserver (started with the first child) and its live children (all stopped at ``lab.close()``)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.server: ForkServer | None = None
        self.runtimes: set = set()
        lab.on_close(self.close)

    def start(self) -> ForkServer:
        """The forkserver, started now if it is not running (a dead one, with all its children, is replaced)."""
        if self.server is not None and self.server.proc.poll() is not None:
            self.server.close()
            self.server = None
        if self.server is None:
            self.server = ForkServer("lambdalab.sandbox.microvm")
        return self.server

    def spawn(self, fds: list[int]) -> int:
        return self.start().spawn(fds)

    def close(self) -> None:
        for runtime in list(self.runtimes):
            runtime.reset()
        if self.server is not None:
            self.server.close()
        self.lab.isolation_server = None


class _Child:
    """One live child process: its pid (and pidfd), control socket and output pipe."""

    __slots__ = ("pid", "pidfd", "sock", "out")

    def __init__(self, pid: int, sock: socket.socket, out: int) -> None:
        self.pid, self.sock, self.out = pid, sock, out
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def signal(self, sig: int) -> None:
        """Signal the child itself (race-free through its pidfd: never a recycled pid)."""
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        self.sock.close()
        os.close(self.out)
        if self.pidfd is not None:
            os.close(self.pidfd)


class IsolatedRuntime:
    """The runtime of one environment whose code runs in a child process (see the module docstring)."""

    external = False
    freezes = True
    inline = False

    def __init__(self, env, isolation: Isolation) -> None:
        self.env = env
        self.isolation = isolation
        self.child: _Child | None = None
        self.ready = False               # the handler module is loaded in the child
        self.frozen = False
        self.task_dir = None

    @property
    def needs_init(self) -> bool:
        return not self.ready

    # --- the child's life ---------------------------------------------------------------------------------
    def _spawn(self) -> None:
        env, lab = self.env, self.env.lab
        env.runtime_starts = getattr(env, "runtime_starts", 0) + 1
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            out_r, out_w = os.pipe()
        except OSError:
            ours.close()
            theirs.close()
            raise
        try:
            pid = self.isolation.spawn([theirs.fileno(), out_w])
        except BaseException:
            ours.close()
            os.close(out_r)
            raise
        finally:
            theirs.close()
            os.close(out_w)
        os.set_blocking(out_r, False)
        self.child = _Child(pid, ours, out_r)
        self.isolation.runtimes.add(self)
        snap = env.snapshot
        files = snap.files
        spec = {"env_id": env.id, "function": snap.name, "version": snap.version, "handler": snap.handler,
                "runtime": snap.runtime, "memory": snap.memory, "environ": dict(env.environ),
                "storage": snap.config.get("EphemeralStorage", {}).get("Size", 512), "tmp": env.tmp_dir(),
                "task": self._task_dir(), "opt_path": getattr(env, "opt_path", None), "seed": lab.seed,
                "wall_guard": lab.wall_guard, "epoch": lab.epoch, "runtime_starts": env.runtime_starts,
                "files": [(path, len(data)) for path, data in files.items()]}
        send(ours, spec, b"".join(files.values()))
        header, _ = recv(ours)
        if header.get("op") != "ready":
            raise ValueError(f"the child answered {header!r:.80} to its set-up")

    def _task_dir(self) -> str:
        """A private copy of the package, the child's working directory (as /var/task is in AWS)."""
        if self.task_dir is None:
            self.task_dir = root = scratch.make_directory(self.env.lab, f"task-{self.env.id}-")
            for path, data in self.env.snapshot.files.items():
                target = os.path.normpath(os.path.join(root, path))
                if target.startswith(root + os.sep):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(data)
        return self.task_dir

    def _end(self) -> int | None:
        """Kill the child (its whole group) if it lives, and return how it ended."""
        child, self.child = self.child, None
        self.ready = self.frozen = False
        if child is None:
            return None
        self.isolation.runtimes.discard(self)
        server = self.isolation.server
        try:
            server.kill(child.pid, signal.SIGKILL)
            code = server.status(child.pid)
        except (OSError, Closed, ValueError, KeyError):
            code = None                   # the forkserver is gone, and its children died with it
        child.close()
        return code

    def reset(self) -> None:
        """A fresh runtime: the child goes; the next invoke starts another (a suppressed init)."""
        self._end()

    def shutdown(self) -> None:
        self._end()
        if self.task_dir is not None:
            shutil.rmtree(self.task_dir, ignore_errors=True)
            self.task_dir = None

    def freeze(self) -> None:
        if self.child is not None and not self.frozen:
            self.child.signal(signal.SIGSTOP)
            self.frozen = True

    def thaw(self) -> None:
        if self.child is not None and self.frozen:
            self.child.signal(signal.SIGCONT)
            self.frozen = False

    # --- the runtime seam ----------------------------------------------------------------------------------
    def init(self, budget) -> Outcome:
        self.thaw()
        if self.child is None:
            try:
                self._spawn()
            except (OSError, Closed, ValueError) as exc:
                return self._unborn(budget, exc)
        outcome = self._ask({"op": "init"}, b"", budget, "")
        self.ready = outcome.status == "ok"
        return outcome

    def invoke(self, payload: bytes, context, budget) -> Outcome:
        self.thaw()
        if not self.ready:
            init = self.init(budget)
            if init.status != "ok":
                return init
        ctx = {"request_id": context.aws_request_id, "function_name": context.function_name,
               "function_version": context.function_version, "arn": context.invoked_function_arn,
               "memory": context.memory_limit_in_mb, "log_group": context.log_group_name,
               "log_stream": context.log_stream_name, "client_context": context.raw_client_context}
        trace = self.env.environ.get("_X_AMZN_TRACE_ID")
        return self._ask({"op": "invoke", "context": ctx, "environ": {"_X_AMZN_TRACE_ID": trace} if trace else {}},
                         payload or b"", budget, context.aws_request_id)

    def _ask(self, request: dict, blob: bytes, budget, request_id: str) -> Outcome:
        """Send one request and wait for its outcome (printing lines stream in meanwhile), within real time."""
        child = self.child
        request.update(start=budget.start, limit=budget.limit, epoch=budget.epoch)
        streamed: list = []
        output: list[bytes] = []
        wall = self.env.lab.wall_guard
        deadline = time.monotonic() + wall + GRACE if wall else None
        try:
            send(child.sock, request, blob)
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([child.sock, child.out], [], [], left)
                if not ready:
                    return self._silent(budget, streamed, output, wall)
                if child.out in ready:
                    _drain(child.out, output)
                if child.sock in ready:
                    header, data = recv(child.sock)
                    if header["op"] == "line":
                        streamed.append((header["t"], header["line"]))
                        continue
                    if header["op"] == "call":            # ll.client in the child: the lab makes the call
                        began = time.monotonic()
                        send(child.sock, remote_calls.answer(self.env, header, budget))
                        if deadline is not None:      # (paused meanwhile: the call's real time is the lab's)
                            deadline += time.monotonic() - began
                        continue
                    return self._outcome(header, data, budget, output)
        except (Closed, OSError, ValueError, KeyError, TypeError, IndexError):
            # gone, or talking nonsense (its code broke the runtime's own modules): a dead runtime either way
            return self._died(budget, streamed, output, request_id)
        except BaseException:
            self._end()                   # (the user's Ctrl-C while the child runs: it goes, the lab stops)
            raise

    def _outcome(self, header: dict, data: bytes, budget, output: list) -> Outcome:
        budget.elapsed = header["elapsed"]
        size = header["body"]
        lines = [tuple(pair) for pair in header["lines"]] + _lines(self.child.out, output, budget.now)
        outcome = Outcome(header["status"], header["elapsed"], data[:size], header["error_type"], lines)
        if header["chunks"]:
            outcome.chunks, at = [], size
            for t, n in header["chunks"]:
                outcome.chunks.append((t, data[at:at + n]))
                at += n
        if outcome.status == "exit":
            self._end()                   # the runtime died with it (the child exits)
        return outcome

    def _died(self, budget, streamed: list, output: list, request_id: str) -> Outcome:
        """The child ended without answering (os._exit, a fatal signal, a crash): Runtime.ExitError."""
        lines = streamed + _lines(self.child.out, output, budget.now)
        code = self._end()
        if code is None:
            code = -signal.SIGKILL         # (with the forkserver: its children die with it)
        status = f"signal: {signal.strsignal(-code).lower()}" if code < 0 else code
        return Outcome("exit", budget.elapsed, exit_body(None, request_id, status=status), "Runtime.ExitError", lines)

    def _unborn(self, budget, exc: BaseException) -> Outcome:
        """No process could be made for the environment (out of file descriptors, processes or memory): its
        runtime never starts, and the lab goes on."""
        self._end()
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        line = (f"lambdalab: no process could be started for this environment ({why}); isolation=\"process\" "
                f"runs one process per environment ({len(self.isolation.runtimes)} running): use fewer at once, or "
                "isolation=\"inline\"")
        return Outcome("exit", 0.0, exit_body(None, "", status=1), "Runtime.ExitError", [(budget.now, line)])

    def _silent(self, budget, streamed: list, output: list, wall: float) -> Outcome:
        """No answer within the real-time allowance: the lab kills the child; a timeout at the deadline."""
        lines = streamed + _lines(self.child.out, output, budget.now)
        self._end()
        budget.elapsed = budget.limit
        lines.append((budget.now, f"lambdalab: the runtime process did not answer within {wall + GRACE:g} real "
                                  "seconds and was stopped"))
        return Outcome("timeout", budget.limit, lines=lines)


def _drain(fd: int, output: list) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            return
        output.append(data)


def _lines(fd: int, output: list, t: float) -> list:
    """What the child wrote straight to its stdout/stderr (C code, subprocesses, its threads), at time ``t``."""
    _drain(fd, output)
    text = b"".join(output).decode("utf-8", "replace")
    output.clear()
    return [(t, line) for line in text.splitlines()]
