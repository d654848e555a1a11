"""What a function's code imports: its own package's modules, and stand-ins for a few that belong to the process.

In AWS the runtime imports the handler module from ``/var/task`` inside the microVM; the module sees a whole
process of its own. Here a ``CodeLoader`` gives each runtime a private module namespace built from the
deployment package's files, so two environments never share globals, and, where the code does not have a
process of its own (``isolation="inline"``, inside the kernel), stand-ins for what would be process-wide:

- ``time``: virtual sleep and clocks (``vtime``), one module per runtime, so patching ``time.sleep`` changes
  that runtime only; ``random`` / ``uuid.uuid4``: seeded from the lab's seed and the environment;
- ``builtins``: the runtime's own copy (``import builtins; builtins.print = ...`` stays in it); ``open`` maps
  ``/tmp``, ``input()`` reads an empty stdin (EOFError, as in Lambda), ``breakpoint()`` does nothing;
- ``os``: ``environ``/``getenv``/``putenv`` are the environment's variables; the path functions map ``/tmp``;
  ``_exit``, ``abort``, ``exec*`` and signals sent to the runtime's own process end the runtime (Runtime.ExitError)
  instead of the kernel; ``os.fork()`` is the real thing, and the child ends when it leaves the learner's code
  (``confine``);
- ``signal``: the runtime's own table of handlers and its own (virtual) interval timer: ``signal.alarm(2)`` fires
  after two virtual seconds of sleeping, ignoring SIGALRM or SIGINT changes nothing in the kernel;
- ``sys``: the recursion limit is capped (``MAX_RECURSION``: deeper C recursion would crash the kernel's
  stack) and ``stdin`` is empty.

``/tmp`` paths given to ``open`` and the ``os`` / ``os.path`` functions are normalised and mapped to the
environment's private directory (``/tmp/../x`` does not get out of it), and writes there count against
EphemeralStorage (``OSError: [Errno 28] No space left on device`` past it); ``/opt`` maps to the function's
layers, read-only (``layer_extraction``), and modules there import after the package's own. Libraries the code
imports see the real process: the real ``os.environ``, the real ``/tmp``, module state shared with the kernel.
That is what ``isolation="process"`` adds (``sandbox.isolation``): there only ``time``, ``random``/``uuid``,
``builtins``, ``signal`` (virtual timers, as virtual time is the same in both modes) and the ``/tmp`` mapping are
stand-ins, and everything else is the child process's own.
"""
from __future__ import annotations

import builtins
import errno
import io
import linecache
import os
import posixpath
import random
import signal
import sys
import types

from . import confine, vtime
from .layer_extraction import opt_module_path, opt_real_path, read_opt_source
from .snapshot_restore import snapshot_restore_module

__all__ = ["CodeLoader", "RuntimeDeath", "TASK_ROOT", "MAX_RECURSION"]

TASK_ROOT = "/var/task"
MAX_RECURSION = 8000          # deeper recursion through C code overflows an 8 MB stack (measured: ~17,000)
_PATH_FUNCTIONS = ("listdir", "remove", "unlink", "makedirs", "mkdir", "rmdir", "stat", "lstat", "scandir",
                   "chdir", "access", "chmod", "utime", "truncate", "removedirs", "walk")
_TWO_PATH_FUNCTIONS = ("rename", "replace", "link", "symlink")
_PATH_QUERIES = ("exists", "isfile", "isdir", "islink", "getsize", "getmtime", "getatime", "getctime",
                 "realpath", "lexists")
_READING = ("listdir", "stat", "lstat", "scandir", "chdir", "access", "walk")
_WRITE_MODES = set("wax+")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class RuntimeDeath(BaseException):
    """The runtime process would be gone now (``os._exit``, a fatal signal, exec): ``kind`` "exit" or "signal"."""

    def __init__(self, kind: str, value) -> None:
        super().__init__(kind, value)
        self.kind, self.value = kind, value


class TmpQuota:
    """EphemeralStorage: bytes written under the environment's /tmp, measured again when the count runs out."""

    def __init__(self, root_factory, limit: int) -> None:
        self.root, self.limit, self.used = root_factory, limit, None

    def measure(self) -> int:
        total = 0
        for top, _, names in os.walk(self.root()):
            for name in names:
                try:
                    total += os.lstat(os.path.join(top, name)).st_size
                except OSError:
                    pass
        return total

    def charge(self, n: int) -> None:
        if self.used is None or self.used + n > self.limit:
            self.used = self.measure()
            if self.used + n > self.limit:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.used += n


class _QuotaFile:
    """A file under /tmp opened for writing: each write is charged to the environment's quota first."""

    def __init__(self, file, quota: TmpQuota) -> None:
        self._file, self._quota = file, quota

    def write(self, data):
        self._quota.charge(len(data.encode() if isinstance(data, str) else data))
        return self._file.write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)

    def __enter__(self):
        self._file.__enter__()
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)


class _Module(types.ModuleType):
    """A stand-in module: what it does not define comes from the real module ``_real``."""

    def __getattr__(self, name):
        return getattr(self.__dict__["_real"], name)


def _standin(name: str, real) -> _Module:
    module = _Module(name)
    module._real = real
    return module


class CodeLoader:
    """A private import system for one runtime: the package's modules plus the stand-ins above.

    ``env`` is what the code may know of its environment: ``environ`` (a dict), ``tmp_dir()``, ``tmp_limit``
    (bytes), ``seed`` (text), and ``inline`` (True inside the kernel: add the process stand-ins).
    """

    def __init__(self, files: dict[str, bytes], env) -> None:
        self.files = files
        self.env = env
        self.modules: dict[str, types.ModuleType] = {}
        self.sources: dict[str, str] = {}       # file name -> source, for tracebacks
        self.quota = TmpQuota(env.tmp_dir, env.tmp_limit)
        self.reached: dict[str, bool] = {}      # real modules the code imported itself ...
        self.watched: list = []                 # ... and what of them ProcessState compares around each run
        self.pid = os.getpid()
        self.time = vtime.VirtualTimeModule()
        self.random, self.uuid = self._seeded(env.seed, env.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""))
        self.os = self._os(env.inline)
        self.snapshot_hooks, restore_hooks = snapshot_restore_module()        # SnapStart runtime hooks
        self.standins = {"time": self.time, "random": self.random, "uuid": self.uuid, "os": self.os,
                         "snapshot_restore_py": restore_hooks}
        self.builtins = self._builtins()
        # a runtime's own builtins and signal table (virtual timers) in both modes; sys only inside the kernel
        self.signal = SignalStandin(self)
        self.standins.update(signal=self.signal, builtins=self.builtins)
        if env.inline:
            self.standins["sys"] = self._sys()

    # --- /tmp and /opt -----------------------------------------------------------------------------------------
    def tmp(self, path, write: bool = False):
        """``/tmp/...`` -> the environment's directory, ``/opt/...`` -> its layers (read-only: EROFS when
        ``write``). Paths are normalised first, so ``/tmp/../x`` cannot leave the directory."""
        if isinstance(path, int):
            return path
        text = os.fspath(path)
        raw = isinstance(text, bytes)
        if raw:
            text = os.fsdecode(text)
        if text.startswith("/"):
            text = posixpath.normpath(text)
            if text == "/tmp" or text.startswith("/tmp/"):
                text = self.env.tmp_dir() + text[4:]
                return os.fsencode(text) if raw else text
            opt = opt_real_path(self.env, text, write)
            if opt is not None:
                return os.fsencode(opt) if raw else opt
        return path

    def open(self, file, mode="r", *args, **kwargs):
        write = bool(_WRITE_MODES & set(mode))
        mapped = self.tmp(file, write)
        handle = builtins.open(mapped, mode, *args, **kwargs)
        if mapped is not file and write:
            return _QuotaFile(handle, self.quota)
        return handle

    # --- stand-ins --------------------------------------------------------------------------------------------
    def _builtins(self) -> types.ModuleType:
        module = types.ModuleType("builtins")
        module.__dict__.update(builtins.__dict__)
        module.__import__ = self._import
        module.open = self.open
        module.breakpoint = lambda *a, **k: None

        def no_input(prompt=""):
            raise EOFError("EOF when reading a line")
        module.input = no_input
        return module

    def _os(self, inline: bool) -> types.ModuleType:
        proxy = _standin("os", os)
        tmp = self.tmp
        for name in _PATH_FUNCTIONS:
            real, write = getattr(os, name), name not in _READING
            setattr(proxy, name, (lambda real, write: lambda path=".", *a, **k: real(tmp(path, write), *a, **k))(
                real, write))
        for name in _TWO_PATH_FUNCTIONS:
            real = getattr(os, name)
            setattr(proxy, name, (lambda real: lambda src, dst, *a, **k: real(tmp(src), tmp(dst, True), *a, **k))(
                real))
        real_open = os.open
        proxy.open = lambda path, flags, *a, **k: real_open(tmp(path, bool(flags & _WRITE_FLAGS)), flags, *a, **k)
        path = _standin("os.path", posixpath)
        for name in _PATH_QUERIES:
            real = getattr(posixpath, name)
            setattr(path, name, (lambda real: lambda p, *a, **k: real(tmp(p), *a, **k))(real))
        proxy.path = path
        if not inline:
            return proxy
        environ = self.env.environ
        proxy.environ = environ
        proxy.getenv = lambda key, default=None: environ.get(key, default)
        proxy.putenv = environ.__setitem__
        proxy.unsetenv = lambda key: environ.pop(key, None)

        def _exit(code=0):
            raise RuntimeDeath("exit", code)

        def kill(pid, sig):
            if pid in (self.pid, 0) or pid == -os.getpgrp():
                self.signal.deliver(sig)
            elif pid == os.getppid():
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
            else:
                os.kill(pid, sig)

        def killpg(pgid, sig):
            if pgid in (0, os.getpgrp()):
                self.signal.deliver(sig)
            else:
                os.killpg(pgid, sig)

        def exec_(*args, **kwargs):          # the runtime's process image would be replaced: it is gone
            raise RuntimeDeath("exit", 0)

        proxy._exit, proxy.kill, proxy.killpg = _exit, kill, killpg
        proxy.abort = lambda: self.signal.deliver(signal.SIGABRT)
        for name in ("execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe"):
            setattr(proxy, name, exec_)
        return proxy

    def _sys(self) -> types.ModuleType:
        proxy = _standin("sys", sys)

        def setrecursionlimit(limit: int) -> None:
            sys.setrecursionlimit(min(int(limit), MAX_RECURSION))
        proxy.setrecursionlimit = setrecursionlimit
        proxy.stdin = io.StringIO("")
        return proxy

    @staticmethod
    def _seeded(seed: str, own: str) -> tuple[types.ModuleType, types.ModuleType]:
        """``random`` and ``uuid.uuid4`` seeded from the lab's seed, the environment and this runtime start.

        AWS seeds nothing for you; we do, so that a lab whose handler draws random numbers still gives the same
        trace for the same seed. A restarted runtime (after a timeout or crash) gets a fresh stream.
        """
        rng = random.Random(seed)
        seeded = _standin("random", random)
        for name in dir(rng):
            if not name.startswith("_") and callable(getattr(rng, name)):
                setattr(seeded, name, getattr(rng, name))
        seeded.Random, seeded.SystemRandom = random.Random, random.SystemRandom
        # random.seed() with no argument takes "fresh entropy": deterministic, but this environment's own (``own``:
        # its log stream), so reseeding after a SnapStart restore gives each environment its own stream
        reseeds = iter(range(1, 1 << 62))
        seeded.seed = lambda a=None, version=2: rng.seed(f"{seed}-{own}-reseed-{next(reseeds)}" if a is None else a,
                                                        version)
        import uuid as real_uuid
        seeded_uuid = _standin("uuid", real_uuid)
        seeded_uuid.uuid4 = lambda: real_uuid.UUID(int=rng.getrandbits(128), version=4)
        return seeded, seeded_uuid

    def claim_linecache(self) -> None:
        """Every function's code lives at /var/task/..., as in AWS, so two functions share file names: before a
        traceback is formatted, the failing environment puts its own source back into linecache."""
        for filename, source in self.sources.items():
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

    # --- imports ----------------------------------------------------------------------------------------------
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
        module.__dict__["__builtins__"] = self.builtins.__dict__
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
        standin = self.standins.get(name)
        if standin is not None:
            return standin
        if name == "os.path":
            return self.os if not fromlist else self.os.path
        module = builtins.__import__(name, globals, locals, fromlist, level)
        if name not in self.reached:
            self.reached[name] = True
            for reached in {module, sys.modules.get(name)}:
                if isinstance(reached, types.ModuleType) and reached is not builtins:
                    self.watched += confine.watched(reached)
        return module


class SignalStandin(_Module):
    """The ``signal`` module of a runtime that runs inside the kernel: its own handlers, its own virtual timer.

    A signal the runtime sends itself (``os.kill(os.getpid(), 9)``, ``signal.raise_signal``, an alarm that
    fires) does what it would do to a process: call the handler the code installed, do nothing if ignored, or
    end the runtime (``RuntimeDeath``) when the signal's default action would.
    """

    _STOPS = {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
    _HARMLESS = {signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT}

    def __init__(self, loader: CodeLoader) -> None:
        super().__init__("signal")
        self._real = signal
        self._handlers = {signal.SIGINT: signal.default_int_handler, signal.SIGPIPE: signal.SIG_IGN}
        self._timer = None                  # (virtual time it fires, interval) of ITIMER_REAL

    def signal(self, signalnum, handler):
        if signalnum in (signal.SIGKILL, signal.SIGSTOP):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        previous = self.getsignal(signalnum)
        self._handlers[signal.Signals(signalnum)] = handler
        return previous

    def getsignal(self, signalnum):
        return self._handlers.get(signalnum, signal.SIG_DFL)

    def deliver(self, signalnum) -> None:
        handler = self.getsignal(signalnum)
        if signalnum in (signal.SIGKILL, signal.SIGSTOP):
            handler = signal.SIG_DFL
        if callable(handler):
            handler(signalnum, sys._getframe(1))
        elif handler == signal.SIG_DFL and signalnum not in self._HARMLESS:
            if signalnum in self._STOPS:    # stopped for good: the invoke runs into its deadline
                budget = vtime.current()
                if budget is not None:
                    budget.elapsed = budget.limit
                raise vtime.DeadlineReached()
            raise RuntimeDeath("signal", signalnum)

    def raise_signal(self, signalnum) -> None:
        self.deliver(signalnum)

    def pthread_kill(self, thread_id, signalnum) -> None:
        self.deliver(signalnum)

    # --- the runtime's ITIMER_REAL, in virtual time (it fires while the code sleeps: see vtime.sleep) --------
    @property
    def at(self) -> float | None:
        """Virtual time the timer fires next (None: not armed)."""
        return self._timer[0] if self._timer is not None else None

    def setitimer(self, which, seconds, interval=0.0):
        if which != signal.ITIMER_REAL:
            return (0.0, 0.0)
        previous = self.getitimer(which)
        budget = vtime.current()
        now = budget.now if budget is not None else 0.0
        self._timer = (now + seconds, interval) if seconds > 0 else None
        if budget is not None:
            budget.alarm = self
        return previous

    def getitimer(self, which):
        if which != signal.ITIMER_REAL or self._timer is None:
            return (0.0, 0.0)
        budget = vtime.current()
        now = budget.now if budget is not None else 0.0
        return (max(0.0, self._timer[0] - now), self._timer[1])

    def alarm(self, seconds: int) -> int:
        left = self.getitimer(signal.ITIMER_REAL)[0]
        self.setitimer(signal.ITIMER_REAL, seconds)
        return int(left + 0.5) if left else 0

    def fire(self) -> None:
        at, interval = self._timer
        self._timer = (at + interval, interval) if interval else None
        self.deliver(signal.SIGALRM)

    def pause(self) -> None:
        vtime.sleep(float("inf"))

    def pthread_sigmask(self, how, mask):
        return set()

    def siginterrupt(self, signalnum, flag) -> None:
        pass

    def set_wakeup_fd(self, fd, **kwargs) -> int:
        return -1
