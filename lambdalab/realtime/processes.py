"""Process runtimes: a custom ``bootstrap`` or the unmodified ``awslambdaric`` as a real child process.

In AWS a runtime is a process in the microVM that talks to the Runtime API over HTTP. ``provided.al2023`` runs
the package's ``bootstrap`` executable; the managed Python runtime runs the Runtime Interface Client. Here:

- ``create_function(..., runtime="provided.al2023", bootstrap=[cmd, ...])`` runs that command (a string is
  written to ``bootstrap`` in the task directory and run with bash); without ``bootstrap=``, a ``bootstrap``
  file in the package is run, as AWS does.
- ``create_function(..., runtime="python3.12", process=True)`` runs ``python -m awslambdaric <Handler>``.
- Executables in the package under ``extensions/`` start as external extensions (AWS runs ``/opt/extensions/*``
  from layers; we have no layers, so the package stands in for ``/opt``).

Each environment gets its own task directory (the code, extracted) as ``LAMBDA_TASK_ROOT``, working directory
and ``PYTHONPATH`` (followed by a stand-in ``lambdalab`` package whose ``sleep`` is ``time.sleep``, so handler
code written for the virtual-time labs runs in a process, in real time). The other variables are the
environment's (REFERENCE.md §3), with ``AWS_LAMBDA_RUNTIME_API`` pointing at the environment's own server and
``TMPDIR`` at its private ``/tmp``. stdout and stderr go to the environment's log stream line by line; when
the runtime posts a response or error, what it wrote before is read from its pipes first (AWS reads the runtime's
output before it reports the invoke), so those lines are in the Tail before END.

Lifecycle, driven by the execution environment through a few hooks:
Init ends when the process first calls ``/next`` (or fails on ``/init/error``, on exit, or at the 10 s Init
limit). Each invoke has a deadline timer: at the function timeout the process gets SIGTERM, then SIGKILL after a
short grace, and the next invoke starts a fresh process (a suppressed Init inside that invoke). A process that
exits during an invoke gives ``Runtime.ExitError``. Processes run in their own session so a bootstrap's
children (``curl``) die with it. ``lab.close()`` stops them all and waits for them. Extension processes start
first, and the runtime once every one of them has registered (as AWS starts the runtime after extension init).

Between invokes the environment is frozen, as AWS freezes the microVM: once it is idle and the runtime waits
on ``/next``, the runtime's process group and the extensions' get SIGSTOP (a background thread or a
``sleep`` loop of theirs stops too); the next invoke, or the Shutdown, sends SIGCONT first.

Simplified: no microVM and no isolation (the processes run as you, on this machine). Invoke-phase ends and
REPORT do not wait for extensions, so an extension still working after the response is frozen mid-way and
carries on at the next thaw.
"""
from __future__ import annotations

import array
import asyncio
import fcntl
import json
import os
import shutil
import signal
import stat
import sys
import termios

import anyio

from ..sandbox import scratch

__all__ = ["ProcessRuntime", "is_process_runtime", "stop_process"]

TERM_GRACE = 0.3           # SIGTERM -> SIGKILL, as AWS gives a runtime 300 ms at shutdown


def is_process_runtime(snapshot) -> bool:
    model = snapshot.model
    if model.get("bootstrap") or model.get("process"):
        return True
    return snapshot.runtime.startswith("provided") and "bootstrap" in snapshot.files


async def stop_process(proc, grace: float = TERM_GRACE) -> None:
    """SIGTERM the process's group (a bootstrap's children too), SIGKILL it after ``grace`` s, and reap it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            os.killpg(proc.pid, signal.SIGCONT)   # a frozen group only sees SIGTERM once it runs again
        except (ProcessLookupError, PermissionError):
            pass
        with anyio.move_on_after(wait):
            await proc.wait()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class ProcessRuntime:
    """The runtime of one environment as a real process: an external runtime of ``sandbox.runtimes``' seam."""

    external = True                    # it talks to the Runtime API over HTTP itself
    freezes = True                     # SIGSTOP / SIGCONT while the environment is idle

    def __init__(self, session, env, server) -> None:
        self.session = session
        self.driver = session.driver
        self.lab = env.lab
        self.env = env
        self.server = server
        self.address = server.address  # AWS_LAMBDA_RUNTIME_API
        server.runtime = self
        self.task_dir = self._extract()
        self.generation = 0            # bumps each time the process is stopped: stale exits are ignored
        self.proc = None
        self.pids: list[int] = []      # every pid this runtime started (tests check they are gone)
        self.extension_procs: list = []
        self.starting = False
        self.initialising = False      # between process start and its first /next
        self.first_init = True
        self._init_timer = None
        self._extensions_waiting = 0
        self._partial = {}
        self.frozen = False            # its processes are SIGSTOPped (the environment is idle)
        self.outputs = ()              # the runtime process's stdout and stderr (_Output)

    # --- files and command ----------------------------------------------------------------------------------
    def _extract(self) -> str:
        root = scratch.make_directory(self.lab, f"task-{self.env.id}-")
        for path, data in self.env.snapshot.files.items():
            target = os.path.join(root, path)
            if not os.path.abspath(target).startswith(root + os.sep):
                continue                # never write outside the task directory
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(data if isinstance(data, bytes) else str(data).encode())
            if path == "bootstrap" or path.startswith("extensions/") or path.endswith(".sh"):
                os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR | stat.S_IXGRP)
        return root

    def command(self) -> list[str]:
        model = self.env.snapshot.model
        boot = model.get("bootstrap")
        if isinstance(boot, str):
            path = os.path.join(self.task_dir, "bootstrap")
            with open(path, "w") as fh:
                fh.write(boot)
            os.chmod(path, 0o755)
            return ["bash", path]
        if boot:
            return [str(part) for part in boot]
        if model.get("process") and not self.env.snapshot.runtime.startswith("provided"):
            return [sys.executable, "-m", "awslambdaric", self.env.snapshot.handler]
        return [os.path.join(self.task_dir, "bootstrap")]

    def environ(self) -> dict:
        env = dict(self.env.environ)
        env["LAMBDA_TASK_ROOT"] = self.task_dir
        env["PYTHONPATH"] = os.pathsep.join([self.task_dir, self.session.shim_dir()])
        env["TMPDIR"] = self.env.tmp_dir()
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), self.task_dir, env.get("PATH", ""),
                                       os.environ.get("PATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        env["AWS_ENDPOINT_URL"] = self.session.endpoint()     # plain boto3 in the process reaches this lab
        return {k: str(v) for k, v in env.items()}

    # --- hooks called by the execution environment --------------------------------------------------------
    def start_init(self, used: float) -> None:
        """Init, runtime part: start the process (and extensions). Init ends at its first /next."""
        env = self.env
        cmd = self.command()
        env.emit("runtime", "init", "Runtime init: start the runtime process `{}`", ' '.join(cmd)[:80],
                 phase="runtime_init", command=cmd)
        self.initialising = True
        self._extensions_waiting = self._start_extensions()
        if not self._extensions_waiting:
            self._spawn()
        limit = max(0.0, self.lab.cost.init_limit - used)
        self._init_timer = self.lab.engine.schedule(limit, self._init_timed_out)

    def extension_registered(self) -> None:
        """An extension registered (or exited before it could): the runtime starts once all have."""
        if self._extensions_waiting > 0:
            self._extensions_waiting -= 1
            if self._extensions_waiting == 0 and self.initialising and self.proc is None and not self.starting:
                self._spawn()

    def deliver(self, inv, rinv) -> None:
        """An invoke starts: (re)start the process if it is gone (the environment keeps the deadline)."""
        if self.proc is None and not self.starting:
            self.env.api.restart(rinv)  # a fresh process starts its protocol from Started, the invoke waiting
            self._spawn()

    def reset(self) -> None:
        """The runtime restarts (timeout, crash, failed Init): stop this process; the next invoke starts anew."""
        self._stop_process()

    def freeze(self) -> None:
        """The environment is idle: once the runtime waits on /next, stop every process of it (SIGSTOP). (Called
        by the environment as it goes idle, and by the server when the idle runtime's /next arrives.)"""
        if not self.frozen and self.proc is not None and self.env.state == "Idle" and \
                self.env.api.waiter is not None:
            self.frozen = True
            self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """An invoke (or the Shutdown) comes: let the processes run again (SIGCONT)."""
        if self.frozen:
            self.frozen = False
            self._signal(signal.SIGCONT)

    def _signal(self, sig) -> None:
        for proc in (self.proc, *self.extension_procs):
            if proc is not None and proc.returncode is None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def shutdown(self) -> None:
        """Shutdown (the environment already sent SHUTDOWN to extensions): SIGTERM to the runtime now, to the
        extensions after the 2 s cap, SIGKILL after a grace; then the server closes."""
        lab = self.lab
        self.thaw()
        self._stop_process()
        procs, self.extension_procs = self.extension_procs, []
        for proc in procs:
            self.driver.spawn(self._stop, proc, lab.cost.shutdown_cap)
        self.driver.spawn(self._close_later, lab.cost.shutdown_cap)
        self.session.forget(self)

    async def _close_later(self, delay: float) -> None:
        await anyio.sleep(delay + TERM_GRACE)
        self.server.close()
        shutil.rmtree(self.task_dir, ignore_errors=True)

    # --- hooks called by the HTTP layer -------------------------------------------------------------------
    def before_next(self) -> None:
        """The process calls /next. The first call of a process ends its Init."""
        if not self.initialising:
            return
        self.initialising = False
        self.lab.engine.cancel(self._init_timer)
        env = self.env
        if env.state == "Init" and self.first_init:
            from ..sandbox.python_runtime import Outcome
            self.first_init = False
            seconds = self.lab.now - env.init_started_at
            env.emit("function", "init",
                     "Function init done: the runtime process asks for work ({:.2f} ms after INIT_START)",
                     seconds * 1000, phase="function_init", status="ok")
            env.init_finished(Outcome("ok", seconds), seconds)

    def after_route(self, request, result) -> None:
        """A Runtime API call was answered: react to init errors and to the end of an invoke."""
        status = result[0]
        path = request.path
        if status == 413 and path.endswith("/response"):
            self._response_too_large(path.split("/")[-2])
            return
        if status == 202 and path.endswith("/init/error"):
            error_type = request.headers.get("lambda-runtime-function-error-type") or "Runtime.Unknown"
            self._init_failed(request.body, error_type)

    # --- failures -----------------------------------------------------------------------------------------
    def _response_too_large(self, request_id: str) -> None:
        """The runtime's answer is over 6 MB: the invoke fails as Function.ResponseSizeTooLarge, as in AWS."""
        from ..sandbox.runtime_api import MAX_RESPONSE_BYTES
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        body = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
        self.env.api.post_error(request_id, body, "Function.ResponseSizeTooLarge")

    def _init_failed(self, body: bytes, error_type: str, status: str = "error") -> None:
        from ..sandbox.python_runtime import Outcome
        env = self.env
        self.initialising = False
        self.lab.engine.cancel(self._init_timer)
        if env.state == "Init":
            seconds = self.lab.now - env.init_started_at
            self.first_init = False
            env.init_finished(Outcome(status, seconds, body, error_type), seconds)
        elif env.state == "Invoking" and env.current is not None and not env.current.done:
            inv = env.current            # the suppressed Init inside an invoke failed: so does the invoke
            env.reset_runtime("Init failed again", "failure")
            env.complete(inv, "error", body, error_type)
        else:
            self._stop_process()

    def _init_timed_out(self) -> None:
        self._init_timer = None
        if not self.initialising:
            return
        self._init_failed(b"", "Sandbox.Timedout", status="timeout")

    def _exited(self, generation: int, code: int) -> None:
        """The process ended on its own (we did not stop it)."""
        if generation != self.generation:
            return
        self.driver.catch_up()
        self.proc = None
        env = self.env
        message = f"Runtime exited with error: exit status {code}" if code >= 0 else \
            f"Runtime exited with error: signal: {signal.Signals(-code).name.lower()}"
        if self.initialising:
            self.initialising = False
            env.api.state = "InitError"         # no /init/error was posted: keep the trace honest
            self._init_failed(json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode(),
                              "Runtime.ExitError")
        elif env.state == "Invoking" and env.current is not None and not env.current.done:
            inv = env.current
            body = json.dumps({"errorType": "Runtime.ExitError",
                               "errorMessage": f"RequestId: {inv.request_id} Error: {message}"}).encode()
            env.crash(inv, body)
        self.generation += 1
        self.driver.check_waiters()

    def drain_output(self) -> None:
        """Log what the process wrote before its call that is still in its pipes (the server calls this when a
        POST arrives: the process wrote that output first, so the Tail has it before END)."""
        for output in self.outputs:
            output.drain()

    # --- processes ----------------------------------------------------------------------------------------
    def _spawn(self) -> None:
        self.generation += 1
        self.starting = True
        self.initialising = True
        self.driver.spawn(self._run, self.generation, self.command())

    async def _open(self, cmd: list[str], kind: str):
        """Start ``cmd`` with its stdout and stderr on two pipes read into the log stream; returns the process
        and its two outputs (``kind``: telemetry type ``function`` for the runtime, ``extension``)."""
        outputs = (_Output(self, kind), _Output(self, kind))
        try:
            proc = await anyio.open_process(cmd, stdin=None, stdout=outputs[0].write_fd,
                                            stderr=outputs[1].write_fd, cwd=self.task_dir, env=self.environ(),
                                            start_new_session=True)
        except OSError:
            for output in outputs:
                output.close()
            raise
        for output in outputs:
            output.start()
        return proc, outputs

    async def _run(self, generation: int, cmd: list[str]) -> None:
        try:
            proc, outputs = await self._open(cmd, "function")
        except OSError as exc:
            if generation == self.generation:
                self.starting = False
            self.env.log(f"lambdalab: could not start the runtime process {cmd!r}: {exc}")
            self._exited(generation, 127)
            return
        self.pids.append(proc.pid)
        self.session.track(proc)
        try:
            if generation != self.generation:     # stopped before it even started (a newer start owns `starting`)
                await self._stop(proc)
                return
            self.proc, self.outputs = proc, outputs
            self.starting = False
            code = await proc.wait()
            for output in outputs:
                await output.ended.wait()     # a child of the process may still hold the pipe
        finally:
            for output in outputs:
                output.close()
        self.session.untrack(proc)
        if self.proc is proc:
            self._exited(generation, code)

    def _log_lines(self, lines: list[bytes], kind: str) -> None:
        self.driver.catch_up()
        env = self.env
        inv = env.current
        now = self.lab.now
        texts = [(now, raw.decode("utf-8", "replace").rstrip("\r")) for raw in lines]
        if kind == "function":
            env.output(texts, inv if inv is not None and not inv.done else None)
        else:
            for _, line in texts:
                env.log(line)
                if env.telemetry is not None:
                    env.telemetry.publish(kind, line)

    def _stop_process(self) -> None:
        self.drain_output()
        self.outputs = ()
        self.thaw()
        self.generation += 1
        self.starting = False                 # a start still in flight is stale now: _run stops it
        self.initialising = False
        proc, self.proc = self.proc, None
        if proc is not None:
            self.driver.spawn(self._stop, proc)

    async def _stop(self, proc, grace: float = TERM_GRACE) -> None:
        await stop_process(proc, grace)
        self.session.untrack(proc)

    def _start_extensions(self) -> int:
        """Start every executable under extensions/ (AWS: /opt/extensions); returns how many started."""
        folder = os.path.join(self.task_dir, "extensions")
        if not os.path.isdir(folder):
            return 0
        names = [n for n in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, n))]
        for name in names:
            path = os.path.join(folder, name)
            self.env.emit("extension", "init", "Start the extension process {}", name, phase="extension_init",
                          extension=name)
            self.driver.spawn(self._run_extension, [path] if os.access(path, os.X_OK) else ["bash", path])
        return len(names)

    async def _run_extension(self, cmd: list[str]) -> None:
        try:
            proc, outputs = await self._open(cmd, "extension")
        except OSError as exc:
            self.env.log(f"lambdalab: could not start the extension {cmd!r}: {exc}")
            self.extension_registered()
            return
        self.pids.append(proc.pid)
        self.extension_procs.append(proc)
        self.session.track(proc)
        try:
            await proc.wait()
            for output in outputs:
                await output.ended.wait()
        finally:
            for output in outputs:
                output.close()
        self.session.untrack(proc)
        if self.initialising and self.proc is None:
            self.extension_registered()          # it exited during Init: do not keep the runtime waiting

    # the in-process runtime's methods, for code that calls them on any runtime
    def init(self, budget):
        raise RuntimeError("a process runtime initialises through its own process (start_init)")

    needs_init = False


LINE_LIMIT = 256 * 1024        # a line without end is logged in pieces of this size


class _Output:
    """One output pipe of a process (its stdout or stderr), copied into the log stream one line at a time.

    Read by the loop when the pipe is readable (``add_reader``, no task), and at once by ``drain`` when the
    process calls the Runtime API: a ``select``-style peek cannot order them, since asyncio's own subprocess
    pipes hand what they read to the stream one loop turn later."""

    __slots__ = ("runtime", "kind", "read_fd", "write_fd", "buffer", "ended", "loop")

    def __init__(self, runtime: ProcessRuntime, kind: str) -> None:
        self.runtime, self.kind = runtime, kind
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.buffer = b""
        self.ended = anyio.Event()
        self.loop = None

    def start(self) -> None:
        """The process has its end of the pipe: close ours and read as output comes."""
        os.close(self.write_fd)
        self.write_fd = -1
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.read_fd, self.read)

    def read(self, size: int = LINE_LIMIT) -> int:
        """Read up to ``size`` bytes now and log the whole lines; returns how many bytes came."""
        if self.read_fd < 0:
            return 0
        try:
            chunk = os.read(self.read_fd, size)
        except BlockingIOError:
            return 0
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return 0
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        if len(self.buffer) > LINE_LIMIT:
            lines.append(self.buffer)
            self.buffer = b""
        if lines:
            self.runtime._log_lines(lines, self.kind)
        return len(chunk)

    def drain(self) -> None:
        """Read what the pipe holds now (bounded by that amount: a writer that never stops cannot keep us)."""
        if self.read_fd < 0:
            return
        held = array.array("i", [0])
        fcntl.ioctl(self.read_fd, termios.FIONREAD, held)
        left = held[0]
        while left > 0:
            got = self.read(left)
            if not got:
                break
            left -= got

    def close(self) -> None:
        """End of output (or the process is gone): log a last line without end, release the pipe."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1
        if self.read_fd >= 0:
            if self.loop is not None:
                self.loop.remove_reader(self.read_fd)
            os.close(self.read_fd)
            self.read_fd = -1
            if self.buffer:
                buffer, self.buffer = self.buffer, b""
                self.runtime._log_lines([buffer], self.kind)
        self.ended.set()
