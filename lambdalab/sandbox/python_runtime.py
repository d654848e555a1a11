"""The managed Python runtime: loads a function's code into an environment and runs its handler.

In AWS the python3.x runtime is a process inside the microVM: it imports the handler module once (the function
part of Init) and then loops on the Runtime API, calling ``handler(event, context)`` for each invocation. Module
globals and ``/tmp`` therefore live as long as the environment.

Here each environment gets a ``CodeLoader``: a private module namespace built from the deployment package's
files, so two environments of one function never share globals. Learner code sees a few things swapped for
sandboxed versions, and that is all the isolation there is (this is a teaching sandbox, not a security one):
``time`` (virtual sleep and clocks), ``os.environ``/``getenv`` (the environment's own variables), ``open`` and
a few ``os`` path functions (``/tmp/...`` maps to the environment's private directory), ``os._exit`` (raises
SystemExit instead of killing the kernel). Imports of the package's own modules load from the package. Two
process-wide settings, the recursion limit and the working directory, are the runtime's own while its code runs
(kept from one invoke to the next, like a process's) and the kernel's again in between; other process-wide
changes (threads started, logging configured) stay in the kernel.

A run of learner code (module init or one invocation) is an ``Outcome``: its status (ok, error, timeout, exit),
the virtual seconds it consumed, the body to hand to the Runtime API, and the lines it printed or logged with
the virtual time of each. Error bodies follow the AWS Python runtime (errorMessage, errorType, requestId,
stackTrace; Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound,
Runtime.MalformedHandlerName, Runtime.MarshalError).
"""
from __future__ import annotations

import base64
import builtins
import json
import linecache
import logging
import os
import posixpath
import random
import sys
import traceback
import types

from . import vtime
from .guard import WallClockExceeded, wall_guard
from .layer_extraction import opt_module_path, opt_real_path, read_opt_source

__all__ = ["PythonRuntime", "NullRuntime", "Outcome", "LambdaContext"]

TASK_ROOT = "/var/task"


class Outcome:
    __slots__ = ("status", "elapsed", "body", "error_type", "lines")

    def __init__(self, status: str, elapsed: float, body: bytes = b"", error_type: str | None = None,
                 lines: list | None = None) -> None:
        self.status = status            # "ok" | "error" | "timeout" | "exit"
        self.elapsed = elapsed
        self.body = body
        self.error_type = error_type
        self.lines = lines if lines is not None else []

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
    """A stdout/stderr stand-in that stamps each finished line with the virtual time it was written."""

    def __init__(self, budget: vtime.Budget, lines: list) -> None:
        self.budget, self.lines, self.partial = budget, lines, ""

    def write(self, text: str) -> int:
        text = self.partial + str(text)
        *done, self.partial = text.split("\n")
        for line in done:
            self.lines.append((self.budget.now, line))
        return len(text)

    def flush(self) -> None:
        if self.partial:
            self.lines.append((self.budget.now, self.partial))
            self.partial = ""

    def isatty(self) -> bool:
        return False


class _LambdaLogHandler(logging.Handler):
    """Formats log records as the AWS Python runtime does: ``[LEVEL]\\t<ISO time>\\t<request id>\\t<msg>``."""

    def __init__(self, capture: _Capture, request_id: str, iso) -> None:
        super().__init__()
        self.capture, self.request_id, self.iso = capture, request_id, iso

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        self.capture.lines.append((self.capture.budget.now,
                                   f"[{record.levelname}]\t{self.iso(self.capture.budget.now)}\t"
                                   f"{self.request_id}\t{msg}"))


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


class CodeLoader:
    """A private import system for one environment: the package's modules plus sandboxed stand-ins."""

    def __init__(self, files: dict[str, bytes], environment) -> None:
        self.files = files
        self.env = environment
        self.modules: dict[str, types.ModuleType] = {}
        self.sources: dict[str, str] = {}       # file name -> source, for tracebacks
        self.builtins = dict(builtins.__dict__)
        self.builtins["__import__"] = self._import
        self.builtins["open"] = self._open
        self.os = self._make_os()
        self.random, self.uuid = self._make_seeded(environment)

    # --- sandboxed stand-ins ----------------------------------------------------------------------------
    def _tmp(self, path, write: bool = False):
        if isinstance(path, str) and (path == "/tmp" or path.startswith("/tmp/")):
            return self.env.tmp_dir() + path[4:]
        opt = opt_real_path(self.env, path, write)      # the function's layers, read-only
        return path if opt is None else opt

    def _open(self, file, mode="r", *args, **kwargs):
        return builtins.open(self._tmp(file, any(c in mode for c in "wax+")), mode, *args, **kwargs)

    def _make_os(self) -> types.ModuleType:
        loader = self

        class SandboxOs(types.ModuleType):
            def __getattr__(self, name):
                return getattr(os, name)

        proxy = SandboxOs("os")
        proxy.environ = self.env.environ
        proxy.getenv = lambda key, default=None: loader.env.environ.get(key, default)

        def _exit(code=0):
            raise SystemExit(code)

        proxy._exit = _exit
        for name in ("listdir", "remove", "unlink", "makedirs", "mkdir", "rmdir", "stat", "scandir"):
            real, write = getattr(os, name), name not in ("listdir", "stat", "scandir")
            setattr(proxy, name, (lambda real, write: lambda path=".", *a, **k:
                                  real(loader._tmp(path, write), *a, **k))(real, write))

        class SandboxPath(types.ModuleType):
            def __getattr__(self, name):
                return getattr(posixpath, name)

        path = SandboxPath("os.path")
        for name in ("exists", "isfile", "isdir", "getsize"):
            real = getattr(posixpath, name)
            setattr(path, name, (lambda real: lambda p: real(loader._tmp(p)))(real))
        proxy.path = path
        return proxy

    @staticmethod
    def _make_seeded(environment) -> tuple[types.ModuleType, types.ModuleType]:
        """``random`` and ``uuid.uuid4`` seeded from the lab's seed, this environment and this runtime start.

        AWS seeds nothing for you; we do, so that a lab whose handler draws random numbers still gives the same
        trace for the same seed. A restarted runtime (after a timeout or crash) gets a fresh stream.
        """
        environment.runtime_starts = getattr(environment, "runtime_starts", 0) + 1
        rng = random.Random(f"{environment.lab.seed}-{environment.id}-{environment.runtime_starts}")

        class SeededRandom(types.ModuleType):
            def __getattr__(self, name):
                return getattr(random, name)

        seeded = SeededRandom("random")
        for name in dir(rng):
            if not name.startswith("_") and callable(getattr(rng, name)):
                setattr(seeded, name, getattr(rng, name))
        seeded.Random, seeded.SystemRandom = random.Random, random.SystemRandom
        import uuid as real_uuid

        class SeededUuid(types.ModuleType):
            def __getattr__(self, name):
                return getattr(real_uuid, name)

        seeded_uuid = SeededUuid("uuid")
        seeded_uuid.uuid4 = lambda: real_uuid.UUID(int=rng.getrandbits(128), version=4)
        return seeded, seeded_uuid

    def claim_linecache(self) -> None:
        """Every function's code lives at /var/task/..., as in AWS, so two functions share file names: before a
        traceback is formatted, the failing environment puts its own source back into linecache."""
        for filename, source in self.sources.items():
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

    # --- imports ----------------------------------------------------------------------------------------
    def _source_path(self, dotted: str) -> str | None:
        base = dotted.replace(".", "/")
        for candidate in (base + ".py", base + "/__init__.py"):
            if candidate in self.files:
                return candidate
        for candidate in (base + ".py", base + "/__init__.py"):
            found = opt_module_path(self.env, candidate)      # after /var/task: the layers' python folders
            if found is not None:
                return found
        return None

    def load(self, dotted: str) -> types.ModuleType:
        module = self.modules.get(dotted)
        if module is not None:
            return module
        path = self._source_path(dotted)
        if path is None:
            raise ModuleNotFoundError(f"No module named '{dotted}'", name=dotted)
        if "." in dotted:
            parent = self.load(dotted.rpartition(".")[0])
        module = types.ModuleType(dotted)
        module.__file__ = path if path.startswith("/opt/") else f"{TASK_ROOT}/{path}"
        module.__package__ = dotted if path.endswith("__init__.py") else dotted.rpartition(".")[0]
        module.__dict__["__builtins__"] = self.builtins
        self.modules[dotted] = module
        source = (read_opt_source(self.env, path) if path.startswith("/opt/") else self.files[path]).decode("utf-8")
        self.sources[module.__file__] = source
        self.claim_linecache()
        try:
            exec(compile(source, module.__file__, "exec"), module.__dict__)
        except BaseException:
            self.modules.pop(dotted, None)
            raise
        if "." in dotted:
            setattr(parent, dotted.rpartition(".")[2], module)
        return module

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            package = (globals or {}).get("__package__") or ""
            parts = package.split(".") if package else []
            base = ".".join(parts[: len(parts) - level + 1]) if level > 1 else package
            name = f"{base}.{name}" if name else base
        top = name.partition(".")[0]
        if self._source_path(top) is not None:
            module = self.load(name)
            for item in fromlist or ():
                if item != "*" and not hasattr(module, item) and self._source_path(f"{name}.{item}"):
                    self.load(f"{name}.{item}")
            return module if fromlist else self.load(top)
        if name == "random":
            return self.random
        if name == "uuid":
            return self.uuid
        if name == "time":
            return vtime.virtual_time_module
        if name == "os":
            return self.os
        if name == "os.path":
            return self.os if not fromlist else self.os.path
        return builtins.__import__(name, globals, locals, fromlist, level)


class PythonRuntime:
    """The python3.x managed runtime of one environment."""

    def __init__(self, environment) -> None:
        self.env = environment
        self.handler = None
        self.loader: CodeLoader | None = None
        self.init_error: bytes | None = None
        self.init_error_type: str | None = None
        # this runtime process's own recursion limit and working directory, if its code changed them: they hold
        # while its code runs and the kernel's come back in between (see _run)
        self.process_state: tuple[int, str | None] | None = None

    @property
    def needs_init(self) -> bool:
        return self.handler is None

    def reset(self) -> None:
        """A fresh runtime process: globals go, /tmp stays (it belongs to the environment)."""
        self.handler = None
        self.loader = None
        self.process_state = None

    def shutdown(self) -> None:
        """The environment shuts down: nothing runs between invokes here, so nothing to stop."""

    def _run(self, budget: vtime.Budget, request_id: str, fn, *args):
        """Run learner code under the virtual budget, the wall guard and output capture."""
        lines: list = []
        capture = _Capture(budget, lines)
        log_handler = _LambdaLogHandler(capture, request_id, self.env.lab.iso_time)
        root = logging.getLogger()
        saved = sys.stdout, sys.stderr
        # process-wide settings learner code may change for itself; the kernel gets its own back afterwards
        kernel = sys.getrecursionlimit(), _cwd()
        if self.process_state is not None:
            _apply(self.process_state)
        sys.stdout = sys.stderr = capture
        root.addHandler(log_handler)
        try:
            with vtime.running(budget), wall_guard(self.env.lab.wall_guard):
                return "ok", fn(*args), lines
        except vtime.DeadlineReached:
            return "timeout", None, lines
        except WallClockExceeded:
            budget.elapsed = budget.limit
            lines.append((budget.now, "lambdalab: the wall-clock guard stopped code that ran for more than "
                                      f"{self.env.lab.wall_guard:g} real seconds"))
            return "timeout", None, lines
        except SystemExit as exc:
            return "exit", exc, lines
        except BaseException as exc:  # noqa: BLE001 - learner code may raise anything
            if self.loader is not None:
                self.loader.claim_linecache()
            return "error", exc, lines
        finally:
            capture.flush()
            root.removeHandler(log_handler)
            sys.stdout, sys.stderr = saved
            state = sys.getrecursionlimit(), _cwd()
            if state != kernel:
                self.process_state = state
                _apply(kernel)

    def init(self, budget: vtime.Budget) -> Outcome:
        """Function init: import the handler module (module-level code runs, its sleeps take virtual time)."""
        handler = self.env.snapshot.handler
        modname, _, fname = handler.rpartition(".")
        if not modname:
            body = json.dumps({"errorMessage": f"Bad handler '{handler}': not enough values to unpack "
                                               "(expected 2, got 1)", "errorType": "Runtime.MalformedHandlerName",
                               "requestId": "", "stackTrace": []}).encode()
            return Outcome("error", 0.0, body, "Runtime.MalformedHandlerName")
        self.loader = CodeLoader(self.env.snapshot.files, self.env)
        modname = modname.replace("/", ".")

        def load():
            return self.loader.load(modname)

        status, value, lines = self._run(budget, "", load)
        if status == "ok":
            self.handler = getattr(value, fname, None)
            if self.handler is None:
                self.handler = _missing_handler(fname, modname)
            return Outcome("ok", budget.elapsed, lines=lines)
        self.loader = None
        if status == "timeout":
            return Outcome("timeout", budget.elapsed, lines=lines)
        if status == "exit":
            return Outcome("exit", budget.elapsed, _exit_body(value, ""), "Runtime.ExitError", lines)
        exc = value
        if isinstance(exc, ImportError):
            error_type, message = "Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}"
            stack = []
        elif isinstance(exc, SyntaxError):
            error_type, message = "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}"
            stack = [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']
        else:
            error_type, message, stack = type(exc).__name__, str(exc), None
        body = error_body(exc, "", error_type, message, stack)
        lines.append((budget.now, _error_log_line(error_type, message, exc)))
        return Outcome("error", budget.elapsed, body, error_type, lines)

    def invoke(self, payload: bytes, context: LambdaContext, budget: vtime.Budget) -> Outcome:
        """One invocation; runs a suppressed init first if the runtime was reset."""
        lines: list = []
        if self.handler is None:
            init = self.init(budget)
            lines.extend(init.lines)
            if init.status != "ok":
                init.lines = lines
                if init.status == "error":
                    return init
                if init.status == "exit":
                    init.body = _exit_body(None, context.aws_request_id)
                return init
        try:
            event = json.loads(payload) if payload else {}
        except ValueError:
            event = payload.decode("utf-8", "replace")
        status, value, run_lines = self._run(budget, context.aws_request_id, self.handler, event, context)
        lines.extend(run_lines)
        if status == "ok":
            try:
                body = json.dumps(value).encode()
            except (TypeError, ValueError) as exc:
                message = f"Unable to marshal response: {exc}"
                lines.append((budget.now, f"[ERROR] Runtime.MarshalError: {message}"))
                body = json.dumps({"errorMessage": message, "errorType": "Runtime.MarshalError",
                                   "requestId": context.aws_request_id, "stackTrace": []}).encode()
                return Outcome("error", budget.elapsed, body, "Runtime.MarshalError", lines)
            return Outcome("ok", budget.elapsed, body, lines=lines)
        if status == "timeout":
            return Outcome("timeout", budget.elapsed, lines=lines)
        if status == "exit":
            return Outcome("exit", budget.elapsed, _exit_body(value, context.aws_request_id), "Runtime.ExitError",
                           lines)
        exc = value
        error_type = getattr(exc, "_lambda_error_type", None) or type(exc).__name__
        lines.append((budget.now, _error_log_line(error_type, str(exc), exc)))
        return Outcome("error", budget.elapsed, error_body(exc, context.aws_request_id, error_type), error_type,
                       lines)


class NullRuntime:
    """The runtime of a function created without code (``handler=None``): returns null, takes no time."""

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


def _missing_handler(fname: str, modname: str):
    def missing(event, context):
        exc = AttributeError(f"Handler '{fname}' missing on module '{modname}'")
        exc._lambda_error_type = "Runtime.HandlerNotFound"
        raise exc
    return missing


def _exit_body(exc: SystemExit | None, request_id: str) -> bytes:
    code = getattr(exc, "code", 1) if exc is not None else 1
    prefix = f"RequestId: {request_id} " if request_id else ""
    if code in (0, None):
        message = f"{prefix}Error: Runtime exited without providing a reason"
    else:
        status = code if isinstance(code, int) else 1
        message = f"{prefix}Error: Runtime exited with error: exit status {status}"
    return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode()


exit_body = _exit_body       # the environment builds the same body when a suppressed init exits


def _error_log_line(error_type: str, message: str, exc: BaseException) -> str:
    stack = "".join(_user_stack(exc.__traceback__))
    line = f"[ERROR] {error_type}: {message}"
    if stack:
        line += "\nTraceback (most recent call last):\n" + stack.rstrip()
    return line


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:                       # the directory was removed from under the process
        return None


def _apply(state: tuple[int, str | None]) -> None:
    """Set the recursion limit and working directory of ``state`` (as far as they can be set)."""
    limit, cwd = state
    try:
        sys.setrecursionlimit(limit)
    except (RecursionError, ValueError):  # lower than the current depth allows: keep the one in force
        pass
    if cwd is not None and _cwd() != cwd:
        try:
            os.chdir(cwd)
        except OSError:
            pass
