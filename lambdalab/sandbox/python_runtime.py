"""The managed Python runtime: loads a function's code into an environment and runs its handler.

In AWS the python3.x runtime is a process inside the microVM: it imports the handler module once (the function
part of Init) and then loops on the Runtime API, calling ``handler(event, context)`` for each invocation. Module
globals and ``/tmp`` therefore live as long as the environment.

``PythonRuntime`` does that inside the kernel (``isolation="inline"``, the default): the code is loaded by a
``CodeLoader`` (a private module namespace, with stand-ins for what a process would own) and each run of it
(module init, one invocation) happens under guards, so no learner code can stop, hang or corrupt the kernel:
virtual time (``vtime``), real seconds and memory (``guard``), and the process-wide state the code changes kept
with its runtime (``confine``). Whatever the code does becomes an ``Outcome`` with AWS's error types:

- it returns: ``ok`` with the JSON body (marshalled inside the guards: a result whose ``items()`` loops is
  stopped like any loop; one JSON cannot encode is ``Runtime.MarshalError``);
- it raises an ``Exception``: ``error``, with errorMessage / errorType / stackTrace formatted inside the guards
  (an exception whose ``__str__`` loops is a timeout; one whose ``__str__`` raises kills the runtime, as it
  kills ``awslambdaric``);
- its sleeps reach the deadline, or the wall-clock guard stops it: ``timeout``;
- it exits (``sys.exit``, ``os._exit``), sends its own process a fatal signal, raises a ``BaseException`` that is
  not an ``Exception`` (``KeyboardInterrupt``...): ``exit``, ``Runtime.ExitError``, as when the runtime process
  dies in AWS; a ``MemoryError`` (its address space grew past MemorySize): ``exit``, ``Runtime.OutOfMemory``.
A Ctrl-C that the user sends while learner code runs stops the lab as it would any cell.

What cannot be contained inside the kernel: code that reaches the real process behind the stand-ins
(``posix._exit``, a C extension that aborts, a library that closes the kernel's file descriptors), library
module state shared by every environment, libraries reading the real ``os.environ``. ``isolation="process"``
(``sandbox.isolation``) runs the same code in a child process per environment for that.

Error bodies follow the AWS Python runtime (errorMessage, errorType, requestId, stackTrace;
Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound, Runtime.MalformedHandlerName,
Runtime.MarshalError). Output goes to CloudWatch lines with the virtual time it was written at: at most
``MAX_LINE`` bytes a line (CloudWatch's event size) and ``MAX_OUTPUT`` bytes an invocation (we keep logs in
memory; the rest is counted, not kept).
"""
from __future__ import annotations

import base64
import json
import logging
import signal
import sys
import threading
import traceback
import types

from . import confine, vtime
from .code_loader import TASK_ROOT, CodeLoader, RuntimeDeath
from .guard import WallClockExceeded, memory_limit, user_interrupted, wall_guard
from .learner_code import LearnerRun
from .response_stream import StreamedResult, call_handler

__all__ = ["PythonRuntime", "NullRuntime", "Outcome", "LambdaContext", "exit_body", "error_body"]

MAX_LINE = 256 * 1024
MAX_OUTPUT = 1024 * 1024


class Outcome:
    __slots__ = ("status", "elapsed", "body", "error_type", "lines", "chunks")

    def __init__(self, status: str, elapsed: float, body: bytes = b"", error_type: str | None = None,
                 lines: list | None = None) -> None:
        self.status = status            # "ok" | "error" | "timeout" | "exit"
        self.elapsed = elapsed
        self.body = body
        self.error_type = error_type
        self.lines = lines if lines is not None else []
        self.chunks = None              # a streamed response's [(virtual seconds, bytes)] (response_stream)

    def __repr__(self) -> str:
        return f"<Outcome {self.status} {self.elapsed:.3f}s {self.error_type or ''}>"


class ClientContext:
    """``context.client_context`` as the Python runtime builds it from the base64 JSON a mobile SDK sends."""

    def __init__(self, data: dict) -> None:
        client = data.get("client") or None
        self.client = types.SimpleNamespace(**client) if isinstance(client, dict) else client
        self.custom = data.get("custom")
        self.env = data.get("env")

    @classmethod
    def parse(cls, raw: str | None):
        if not raw:
            return None
        try:
            data = json.loads(base64.b64decode(raw))
        except ValueError:
            return None
        return cls(data) if isinstance(data, dict) else None


class LambdaContext:
    """The ``context`` argument, with the AWS Python runtime's attributes."""

    def __init__(self, request_id, function_name, function_version, invoked_function_arn, memory_mb,
                 log_group_name, log_stream_name, budget, tmp_dir_factory, client_context=None, identity=None):
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_mb)
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.client_context = ClientContext.parse(client_context)
        self.raw_client_context = client_context      # (as the Runtime API header carries it)
        self.identity = identity
        self._budget = budget
        self._tmp = tmp_dir_factory

    def get_remaining_time_in_millis(self) -> int:
        b = self._budget
        return max(0, int(round((b.limit - b.elapsed) * 1000)))

    @property
    def tmp_dir(self) -> str:
        """This environment's private directory that ``/tmp`` maps to."""
        return self._tmp()

    def __repr__(self) -> str:
        return f"<LambdaContext {self.function_name}:{self.function_version} {self.aws_request_id}>"


class _Capture:
    """A stdout/stderr stand-in that stamps each finished line with the virtual time it was written.

    Only the thread running the code is captured; a thread the code started writes to the kernel's stream.
    """

    def __init__(self, budget: vtime.Budget, lines: list, kernel_stream, sink=None) -> None:
        self.budget, self.lines, self.partial = budget, lines, ""
        self.kernel, self.owner = kernel_stream, threading.get_ident()
        self.kept = self.dropped = 0
        self.sink = sink                    # also told each line as it is written (a child process's pipe)

    def write(self, text: str) -> int:
        if threading.get_ident() != self.owner:
            return self.kernel.write(text)
        text = self.partial + str(text)
        *done, self.partial = text.split("\n")
        for line in done:
            self.add(line)
        if len(self.partial) > MAX_LINE:
            self.add(self.partial)
            self.partial = ""
        return len(text)

    def add(self, line: str) -> None:
        if len(line) > MAX_LINE:
            self.dropped += len(line) - MAX_LINE
            line = line[:MAX_LINE]
        if self.kept + len(line) > MAX_OUTPUT:
            self.dropped += len(line)
            return
        self.kept += len(line)
        self.lines.append((self.budget.now, line))
        if self.sink is not None:
            self.sink(self.budget.now, line)

    def flush(self) -> None:
        if threading.get_ident() != self.owner:
            return
        if self.partial:
            self.add(self.partial)
            self.partial = ""

    def close(self) -> None:
        self.flush()
        if self.dropped:
            self.lines.append((self.budget.now, f"lambdalab: {self.dropped:,} more bytes of output were not kept "
                                                f"(at most {MAX_LINE // 1024} KiB a line and {MAX_OUTPUT // 1024} "
                                                "KiB an invocation)"))

    def isatty(self) -> bool:
        return False


class _LambdaLogHandler(logging.Handler):
    """Formats log records as the AWS Python runtime does: ``[LEVEL]\\t<ISO time>\\t<request id>\\t<msg>``.

    One per runtime (a Handler costs a lock to make); each run points it at its capture and request id.
    """

    def __init__(self, iso) -> None:
        super().__init__()
        self.iso = iso
        self.capture, self.request_id = None, ""

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() != self.capture.owner:
            return
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        self.capture.add(f"[{record.levelname}]\t{self.iso(self.capture.budget.now)}\t{self.request_id}\t{msg}")


class _MarshalError(Exception):
    pass


def _user_stack(tb) -> list[str]:
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith((TASK_ROOT, "/opt"))]
    return traceback.format_list(frames)


def error_body(exc: BaseException, request_id: str, error_type: str | None = None,
               message: str | None = None, stack: list | None = None) -> bytes:
    return json.dumps({
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": stack if stack is not None else _user_stack(exc.__traceback__),
    }).encode()


class _Failure:
    """A learner exception, described while the guards still hold (``str(exc)`` is learner code too)."""

    __slots__ = ("exc", "error_type", "message", "stack")

    def __init__(self, exc: BaseException, error_type: str | None = None, message: str | None = None,
                 stack: list | None = None) -> None:
        self.exc = exc
        self.error_type = error_type or getattr(exc, "_lambda_error_type", None) or type(exc).__name__
        self.message = str(exc) if message is None else message
        self.stack = _user_stack(exc.__traceback__) if stack is None else stack

    def body(self, request_id: str) -> bytes:
        return json.dumps({"errorMessage": self.message, "errorType": self.error_type, "requestId": request_id,
                           "stackTrace": self.stack}).encode()

    def log_line(self) -> str:
        line = f"[ERROR] {self.error_type}: {self.message}"
        if self.stack:
            line += "\nTraceback (most recent call last):\n" + "".join(self.stack).rstrip()
        return line


class _View:
    """What a runtime's code may know of its environment (``CodeLoader``'s ``env``): its variables, its /tmp
    (and its limit in bytes), the merged layers under /opt (``opt_path``, and ``snapshot.runtime`` for the
    import roots there), the seed of its random streams, and whether it runs inside the kernel."""

    __slots__ = ("environ", "tmp_dir", "tmp_limit", "opt_path", "snapshot", "seed", "inline")

    def __init__(self, environ, tmp_dir, tmp_limit: int, opt_path, snapshot, seed: str, inline: bool) -> None:
        self.environ, self.tmp_dir, self.tmp_limit = environ, tmp_dir, tmp_limit
        self.opt_path, self.snapshot, self.seed, self.inline = opt_path, snapshot, seed, inline


class PythonRuntime:
    """The python3.x managed runtime of one environment, running inside the kernel (``inline``), or, with
    ``inline = False``, in a process of its own (``sandbox.microvm``), which needs no confinement."""

    inline = True
    line_sink = None                        # called with (virtual time, line) as the code prints (microvm)

    def __init__(self, environment) -> None:
        self.env = environment
        self.handler = None
        self.loader: CodeLoader | None = None
        self.seed: str | None = None      # the seed of its code's random streams (see _view)
        self.init_error: bytes | None = None
        self.init_error_type: str | None = None
        self.process = confine.ProcessState()   # what its code changed process-wide (kept between its runs)
        self.threads: list[threading.Thread] = []
        self.log_handler = _LambdaLogHandler(environment.lab.iso_time)

    @property
    def needs_init(self) -> bool:
        return self.handler is None

    def reset(self) -> None:
        """A fresh runtime process: globals go, /tmp stays (it belongs to the environment)."""
        self.handler = None
        self.loader = None
        self.process = confine.ProcessState()
        self.shutdown()

    def shutdown(self) -> None:
        """The runtime's process ends: threads its code left running are stopped."""
        confine.stop_threads(self.threads)
        self.threads = []

    def _view(self) -> _View:
        env = self.env
        env.runtime_starts = getattr(env, "runtime_starts", 0) + 1
        storage = env.snapshot.config.get("EphemeralStorage", {}).get("Size", 512)
        # a SnapStart restore continues the snapshot's random stream (the same in every restored environment)
        seed, env.restore_seed = getattr(env, "restore_seed", None) or \
            f"{env.lab.seed}-{env.id}-{env.runtime_starts}", None
        self.seed = seed                  # (a SnapStart snapshot keeps it)
        return _View(env.environ, env.tmp_dir, storage * 1024 * 1024, getattr(env, "opt_path", None), env.snapshot,
                     seed, self.inline)

    def _run(self, budget: vtime.Budget, request_id: str, work):
        """Run learner code under every guard; returns (status, value, lines). ``value``: ok -> what ``work``
        returned; error -> a ``_Failure``; exit -> (error type, exit body maker); timeout -> None."""
        lab = self.env.lab
        lines: list = []
        saved = sys.stdout, sys.stderr
        capture = _Capture(budget, lines, saved[0], self.line_sink)
        log_handler = self.log_handler
        log_handler.capture, log_handler.request_id = capture, request_id
        loader = self.loader
        watched = loader.watched if loader is not None else []
        inline = self.inline
        kernel = self.process.enter(watched) if inline else None
        before = confine.thread_count() if inline else 0
        timer = getattr(self.loader, "signal", None)
        if timer is not None and timer.at is not None:
            budget.alarm = timer
        sys.stdout = sys.stderr = capture
        logging.root.addHandler(log_handler)
        run = LearnerRun(self, saved, kernel, watched)     # (what the lab steps out of: sandbox.learner_code)
        try:
            with run, vtime.running(budget), confine.learner_code_running(lab.wall_guard) as forks, \
                    memory_limit(self.env.snapshot.memory if inline else None) as memory, \
                    wall_guard(lab.wall_guard) as guard:
                run.guards = (guard, memory, forks)
                try:
                    return "ok", work(), lines
                except MemoryError:
                    raise
                except Exception as exc:  # noqa: BLE001 - learner code may raise anything
                    if self.loader is not None:
                        self.loader.claim_linecache()
                    return "error", _Failure(exc), lines
        except vtime.DeadlineReached:
            return "timeout", None, lines
        except WallClockExceeded:
            budget.elapsed = budget.limit
            lines.append((budget.now, "lambdalab: the wall-clock guard stopped code that ran for more than "
                                      f"{lab.wall_guard:g} real seconds"))
            return "timeout", None, lines
        except MemoryError:
            return "exit", ("Runtime.OutOfMemory", "signal: killed"), lines
        except SystemExit as exc:
            return "exit", ("Runtime.ExitError", exc.code), lines
        except RuntimeDeath as death:
            return "exit", ("Runtime.ExitError", death.value if death.kind == "exit" else
                            f"signal: {signal.strsignal(death.value).lower()}"), lines
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt & co. end the runtime (as in awslambdaric)
            if isinstance(exc, KeyboardInterrupt) and user_interrupted():
                raise                     # the user's own Ctrl-C: stop the lab, as any cell
            lines.append((budget.now, "Traceback (most recent call last):\n" +
                          "".join(_user_stack(exc.__traceback__)) + type(exc).__name__))
            return "exit", ("Runtime.ExitError", 1), lines
        finally:
            capture.close()
            logging.root.removeHandler(log_handler)
            sys.stdout, sys.stderr = saved
            if inline:
                self.process.leave(run.kernel, watched)
                self._note_threads(before, budget, lines)

    def _note_threads(self, before: int, budget: vtime.Budget, lines: list) -> None:
        started = confine.new_threads(before)
        if not started:
            return
        if not self.threads:
            self.env.lab.on_close(self.shutdown)
        self.threads.extend(started)
        names = ", ".join(t.name for t in started)
        lines.append((budget.now, f"lambdalab: the code left {len(started)} thread(s) running ({names}); inside "
                                  "the kernel they run on until this environment shuts down (with "
                                  "isolation=\"process\" they are frozen with it, as in AWS)"))

    def run_hooks(self, kind: str, budget: vtime.Budget) -> Outcome:
        """Run the SnapStart hooks (``"before"`` snapshot / ``"after"`` restore) the code registered through
        ``snapshot_restore_py``, as learner code (see ``sandbox.snapstart``)."""
        hooks = list(self.loader.snapshot_hooks[kind]) if self.loader is not None else []
        status, value, lines = self._run(budget, "", lambda: [fn(*args, **kw) for fn, args, kw in hooks])
        if status == "error":
            lines.append((budget.now, value.log_line()))
            return Outcome("error", budget.elapsed, value.body(""), value.error_type, lines)
        if status == "exit":
            return _exit_outcome(value, "", budget, lines)
        return Outcome(status, budget.elapsed, lines=lines)

    def init(self, budget: vtime.Budget) -> Outcome:
        """Function init: import the handler module (module-level code runs, its sleeps take virtual time)."""
        handler = self.env.snapshot.handler
        modname, _, fname = handler.rpartition(".")
        if not modname:
            return _malformed(handler)
        self.loader = CodeLoader(self.env.snapshot.files, self._view())
        modname = modname.replace("/", ".")

        def load():
            module = self.loader.load(modname)
            dunder = fname.startswith("__") and fname.endswith("__")     # lambda_function.__init__ is no handler
            return None if dunder else getattr(module, fname, None)

        status, value, lines = self._run(budget, "", load)
        if status == "ok":
            self.handler = value if callable(value) else _missing_handler(fname, modname)
            return Outcome("ok", budget.elapsed, lines=lines)
        self.loader = None
        if status == "timeout":
            return Outcome("timeout", budget.elapsed, lines=lines)
        if status == "exit":
            return _exit_outcome(value, "", budget, lines)
        failure = value
        exc = failure.exc
        if isinstance(exc, ImportError):
            failure.error_type, failure.message = "Runtime.ImportModuleError", \
                f"Unable to import module '{modname}': {failure.message}"
            failure.stack = []
        elif isinstance(exc, SyntaxError):
            failure.error_type, failure.message = "Runtime.UserCodeSyntaxError", \
                f"Syntax error in module '{modname}': {failure.message}"
            failure.stack = [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']
        lines.append((budget.now, failure.log_line()))
        return Outcome("error", budget.elapsed, failure.body(""), failure.error_type, lines)

    def invoke(self, payload: bytes, context: LambdaContext, budget: vtime.Budget) -> Outcome:
        """One invocation; runs a suppressed init first if the runtime was reset."""
        lines: list = []
        if self.handler is None:
            init = self.init(budget)
            lines.extend(init.lines)
            if init.status != "ok":
                init.lines = lines
                if init.status == "exit":
                    init.body = exit_body(None, context.aws_request_id, init.error_type)
                return init
        try:
            event = json.loads(payload) if payload else {}
        except ValueError:
            event = payload.decode("utf-8", "replace")
        handler = self.handler
        chunks: list = []

        def call():
            result = call_handler(handler, event, context, budget, chunks)
            if isinstance(result, StreamedResult):
                return result.body
            try:
                return json.dumps(result).encode()
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever the encoder meets (as awslambdaric's marshaller)
                raise _MarshalError(f"Unable to marshal response: {exc}") from None

        outcome = self._outcome(context, budget, lines, *self._run(budget, context.aws_request_id, call))
        outcome.chunks = chunks or None
        return outcome

    def _outcome(self, context: LambdaContext, budget: vtime.Budget, lines: list, status: str, value,
                 run_lines: list) -> Outcome:
        lines.extend(run_lines)
        if status == "ok":
            return Outcome("ok", budget.elapsed, value, lines=lines)
        if status == "timeout":
            return Outcome("timeout", budget.elapsed, lines=lines)
        if status == "exit":
            return _exit_outcome(value, context.aws_request_id, budget, lines)
        failure = value
        if isinstance(failure.exc, _MarshalError):
            failure.error_type, failure.stack = "Runtime.MarshalError", []
        lines.append((budget.now, failure.log_line()))
        return Outcome("error", budget.elapsed, failure.body(context.aws_request_id), failure.error_type, lines)


class NullRuntime:
    """The runtime of a function created without code (``handler=None``): returns null, takes no time."""

    __slots__ = ("env",)
    needs_init = False

    def __init__(self, environment) -> None:
        self.env = environment

    def reset(self) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def init(self, budget) -> Outcome:
        return Outcome("ok", 0.0)

    def invoke(self, payload, context, budget) -> Outcome:
        return Outcome("ok", 0.0, b"null")


def _malformed(handler: str) -> Outcome:
    body = json.dumps({"errorMessage": f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
                       "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []}).encode()
    return Outcome("error", 0.0, body, "Runtime.MalformedHandlerName")


def _missing_handler(fname: str, modname: str):
    def missing(event, context):
        exc = AttributeError(f"Handler '{fname}' missing on module '{modname}'")
        exc._lambda_error_type = "Runtime.HandlerNotFound"
        raise exc
    return missing


def exit_message(status) -> str:
    """How Lambda words a runtime's end: ``status`` is an exit code (or SystemExit's value) or "signal: ..."."""
    if isinstance(status, str) and status.startswith("signal: "):
        return f"Error: Runtime exited with error: {status}"
    if status in (0, None):
        return "Error: Runtime exited without providing a reason"
    return f"Error: Runtime exited with error: exit status {status if isinstance(status, int) else 1}"


def exit_body(exc: SystemExit | None, request_id: str, error_type: str = "Runtime.ExitError",
              status=None) -> bytes:
    """The body of an invoke whose runtime died (``exc``: the SystemExit, if that is how)."""
    if exc is not None:
        status = exc.code
    elif status is None:
        status = 1
    prefix = f"RequestId: {request_id} " if request_id else ""
    return json.dumps({"errorType": error_type, "errorMessage": prefix + exit_message(status)}).encode()


def _exit_outcome(value, request_id: str, budget: vtime.Budget, lines: list) -> Outcome:
    error_type, status = value
    return Outcome("exit", budget.elapsed, exit_body(None, request_id, error_type, status), error_type, lines)
