"""Process-wide state that learner code changes inside the kernel: kept with its runtime, given back in between.

A runtime in AWS is a process of its own, so whatever its code changes process-wide (the recursion limit, the
working directory, signal handlers, the logging setup, a monkey-patched ``json.dumps``, the garbage collector)
is that process's business and lasts as long as it does. Inline (``isolation="inline"``) the code runs in the
kernel, so ``ProcessState`` does for each runtime what the process boundary would: before its code runs, the
runtime's own settings go in; after, whatever the code changed is kept as the runtime's and the kernel's values
come back. So a handler that ignores SIGINT, calls ``logging.basicConfig``, patches ``json`` at import or
disables the garbage collector keeps doing so in its own environment, and the kernel (and every other
environment) never sees it. (``time``, ``os``, ``signal``, ``random`` and ``builtins`` are the runtime's own
stand-ins already: see ``code_loader``.)

Watched: the settings in ``SETTINGS`` (the logging root's level, handlers and filters, the real signal handlers
of ``SIGNALS`` among them), and the attributes of every module the learner's code imported itself (and of its
classes named in ``WATCHED_CLASSES``), each compared by one C-level dict comparison per run. Not watched: a
module only libraries imported (a library's module-level state is shared by every environment of the kernel)
and ``os.environ`` as libraries read it: ``isolation="process"`` gives each environment its own.

Also here, for what a process boundary would contain:
- threads the code starts: reported after the run (``new_threads``) and stopped with the environment
  (``stop_threads`` raises ``SystemExit`` in them: a thread blocked in C code ends when it next runs Python);
- ``os.fork()`` during learner code: the child is a copy of the kernel, so it is made to end as soon as it
  leaves the learner's code (``learner_code_running``), or when its wall-clock guard runs out, whichever is
  first.
"""
from __future__ import annotations

import _signal
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import threading
import warnings

__all__ = ["ProcessState", "watched", "thread_count", "new_threads", "stop_threads", "learner_code_running"]

_MISSING = object()
#: classes whose attributes learner code likes to patch, watched with their module
WATCHED_CLASSES = {"json": ("JSONEncoder", "JSONDecoder"), "logging": ("Logger", "Handler", "Formatter"),
                   "socket": ("socket",), "threading": ("Thread",)}
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGALRM", "SIGHUP", "SIGPIPE", "SIGCHLD",
                                                   "SIGUSR1", "SIGUSR2", "SIGQUIT") if hasattr(signal, name))


def _set_recursion_limit(limit: int) -> None:
    try:
        sys.setrecursionlimit(limit)
    except (RecursionError, ValueError):    # lower than the current depth allows: keep the one in force
        pass


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:                         # the directory was removed from under the process
        return None


def _chdir(path: str | None) -> None:
    if path is not None:
        try:
            os.chdir(path)
        except OSError:
            pass


def _set_filters(filters: list) -> None:
    warnings.filters[:] = filters
    warnings._filters_mutated()


def _root_logging() -> tuple:
    root = logging.root
    return root.level, tuple(root.handlers), tuple(root.filters), logging.root.manager.disable


def _set_root_logging(state: tuple) -> None:
    root = logging.root
    level, handlers, filters, disable = state
    if root.level != level:
        root.setLevel(level)                # (clears every logger's level cache: only when it changes)
    root.handlers[:] = handlers
    root.filters[:] = filters
    if root.manager.disable != disable:
        logging.disable(disable)


def _signal_handlers() -> tuple:
    return tuple(_signal.getsignal(s) for s in SIGNALS)     # (the C module's: no enum wrapping, 10x faster)


def _set_signal_handlers(handlers: tuple) -> None:
    for sig, handler in zip(SIGNALS, handlers):
        if handler is not None and _signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


#: name -> (getter, setter) of each process-wide setting a runtime may change for itself
SETTINGS = {
    "recursion limit": (sys.getrecursionlimit, _set_recursion_limit),
    "working directory": (_cwd, _chdir),
    "garbage collector": (gc.isenabled, lambda on: gc.enable() if on else gc.disable()),
    "socket timeout": (socket.getdefaulttimeout, socket.setdefaulttimeout),
    "switch interval": (sys.getswitchinterval, sys.setswitchinterval),
    "profiler": (sys.getprofile, sys.setprofile),
    "warnings filters": (lambda: list(warnings.filters), _set_filters),
    "logging root": (_root_logging, _set_root_logging),
    "signal handlers": (_signal_handlers, _set_signal_handlers),
}
#: what a runtime that changed nothing yet starts with: a fresh process's logging root (WARNING, no handler)
FRESH = {"logging root": (logging.WARNING, (), (), 0)}


def watched(module) -> list:
    """What to compare for a module the code just imported: the module and its classes in WATCHED_CLASSES.

    Called when the code reaches the module for the first time, before it can change anything: the kernel's
    copy of each is taken now."""
    targets = [module] + [c for c in (getattr(module, name, None) for name in WATCHED_CLASSES.get(module.__name__,
                                                                                                    ()))
                          if isinstance(c, type)]
    for target in targets:
        _kernel[id(target)] = dict(vars(target))
    return targets


_kernel: dict[int, dict] = {}           # id of a watched module or class -> the kernel's copy of its attributes


def _same(space, copy: dict) -> bool:
    try:
        return space == copy                # one C-level comparison; identical values compare without __eq__
    except Exception:  # noqa: BLE001 - a value whose __eq__ fails counts as changed
        return False


class ProcessState:
    """One runtime's process-wide state, applied while its code runs and put aside in between.

    ``enter()`` returns the kernel's state; ``leave(kernel)`` keeps what the code changed and restores it.
    """

    __slots__ = ("settings", "patches")

    def __init__(self) -> None:
        self.settings: dict[str, object] = dict(FRESH)   # name in SETTINGS -> the runtime's own value
        self.patches: dict[int, dict] = {}               # id of a watched module or class -> {attribute: value}

    def enter(self, targets: list):
        """Put the runtime's settings and patches in; ``targets``: what its code reached (``watched``)."""
        values = {name: get() for name, (get, _) in SETTINGS.items()}
        for name, value in self.settings.items():
            if value != values[name]:
                SETTINGS[name][1](value)
        copies = []
        for target in targets:
            copy = _kernel.get(id(target))
            if copy is None or not _same(vars(target), copy):
                copy = _kernel[id(target)] = dict(vars(target))   # new, or the kernel itself changed it since
            copies.append(copy)
            patch = self.patches.get(id(target))
            if patch:
                _apply(target, patch)
        return values, copies

    def leave(self, kernel, targets: list) -> list[str]:
        """Keep the runtime's changes, give the kernel its own back; returns what was changed (for the log).
        ``targets``: the same list as ``enter``'s, now with what the code first imported in this run."""
        values, copies = kernel
        copies = copies + [_kernel[id(t)] for t in targets[len(copies):]]
        changed = []
        for name, (get, set_) in SETTINGS.items():
            now = get()
            if now != values[name]:
                if self.settings.get(name, values[name]) != now:
                    changed.append(name)
                self.settings[name] = now
                set_(values[name])
            elif name in self.settings and self.settings[name] != now:
                self.settings[name] = now            # the code set it back to the kernel's value
        for target, before in zip(targets, copies):
            now = vars(target)
            if _same(now, before):
                continue
            patch = self.patches.setdefault(id(target), {})
            for key in set(now) | set(before):
                value, old = now.get(key, _MISSING), before.get(key, _MISSING)
                if value is not old:
                    patch[key] = value
                    changed.append(f"{getattr(target, '__name__', target)}.{key}")
            _apply(target, {k: before.get(k, _MISSING) for k in patch})
        return changed


def _apply(target, patch: dict) -> None:
    is_module = not isinstance(target, type)
    space = vars(target)
    for key, value in patch.items():
        if value is _MISSING:
            if key in space:
                if is_module:
                    del space[key]
                else:
                    delattr(target, key)
        elif space.get(key, _MISSING) is not value:
            if is_module:
                space[key] = value
            else:
                setattr(target, key, value)


# --- threads ------------------------------------------------------------------------------------------------
class _Known:
    count = -1                              # threading.active_count() when the idents were last listed
    idents: set = set()


def thread_count() -> int:
    """How many threads run before learner code starts (the list of them is refreshed only when that moves)."""
    count = threading.active_count()
    if count != _Known.count:
        _Known.count, _Known.idents = count, {t.ident for t in threading.enumerate()}
    return count


def new_threads(before: int) -> list[threading.Thread]:
    """Threads the code started and left running (``before``: ``thread_count()`` before it ran)."""
    if threading.active_count() <= before:
        return []
    return [t for t in threading.enumerate() if t.ident not in _Known.idents and t.is_alive()]


def stop_threads(threads) -> int:
    """Ask each thread still alive to end (SystemExit raised in it when it next runs Python code)."""
    stopped = 0
    for thread in threads:
        if thread.is_alive() and thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))
            stopped += 1
    return stopped


# --- fork -----------------------------------------------------------------------------------------------------
class _Running:
    pid = None                              # the kernel's pid while learner code runs in it, else None
    wall = None                             # that run's wall-clock allowance (seconds)


class learner_code_running:
    """``with learner_code_running(seconds):`` marks the span in which a fork makes a confined child."""

    __slots__ = ("seconds",)

    def __init__(self, seconds) -> None:
        self.seconds = seconds

    def __enter__(self):
        _Running.pid, _Running.wall = os.getpid(), self.seconds
        return self

    def __exit__(self, *exc) -> None:
        if os.getpid() != _Running.pid:
            os._exit(0)                     # a fork of the kernel made by learner code ends with that code
        _Running.pid = None

    def pause(self) -> None:
        """The lab works on the code's behalf (``sandbox.learner_code``): a fork now is the lab's own."""
        _Running.pid = None

    def resume(self) -> None:
        _Running.pid, _Running.wall = os.getpid(), self.seconds


def _after_fork_in_child() -> None:
    if _Running.pid is None:
        return
    # the child has no wall-clock timer (interval timers are not inherited): give it one that kills it
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, _Running.wall or 3.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
