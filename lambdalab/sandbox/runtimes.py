"""The runtime seam: what an execution environment asks of whatever runs its function's code, and who decides.

In AWS the runtime is a process inside the microVM (the managed Python runtime, a custom ``bootstrap``,
``awslambdaric``) that talks to the environment's Runtime API. Lambdalab runs that part in several ways, and the
environment drives all of them through ``env.runtime``, one object per environment:

``reset()``
    a fresh runtime: module state goes, ``/tmp`` stays (after an Init failure, a timeout or a crash). The next
    invoke then starts with Init again (a suppressed init).
``freeze()`` / ``thaw()``
    called when the environment goes idle and when an invoke or the Shutdown resumes it, for a runtime whose
    class sets ``freezes = True`` (a process is SIGSTOPped / SIGCONTed, as AWS freezes the microVM).
``shutdown()``
    the environment's Shutdown phase: SIGTERM, then the process goes.
``address``
    (optional) what ``AWS_LAMBDA_RUNTIME_API`` names: ``host:port`` of this environment's Runtime API.

and, by kind:

- **in-process** (``external = False``; the default Python runtime, a synthetic function, and a runtime that
  runs the code in an isolated child process): the environment calls ``init(budget) -> Outcome`` for the
  function part of Init and ``invoke(payload, context, budget) -> Outcome`` for each request, and plays the
  runtime's side of the Runtime API itself. The code runs eagerly at the phase's start; ``budget``
  (``vtime.Budget``) counts the virtual seconds its sleeps consume and stops it at the deadline. The
  ``Outcome`` (status ok / error / timeout / exit, virtual seconds elapsed, the body to post, the error type,
  the lines printed with their virtual times) comes back as the return value, and the environment finishes
  the phase that many virtual seconds later. ``needs_init`` says whether the next invoke must first run Init
  again. A child process reports the same things over a pipe; the parent keeps the clock.
- **external** (``external = True``; a process in a real-time lab that speaks HTTP): the environment calls
  ``start_init(used)`` when Init reaches the runtime, ``deliver(inv, rinv)`` when an invoke starts, and the
  process answers through the environment's Runtime API (``env.api``) over HTTP. It reports the end of Init
  with ``env.init_finished(outcome, seconds)`` and what it prints with ``env.output(lines, inv)``; a crash or a
  failed retry of Init ends the invoke with ``env.crash`` / ``env.complete``.

Whichever kind, an invoke ends through the environment's one completion path, ``complete``.

Who decides: ``Runtimes.make(env)``. A synthetic function (``handler=None``) gets ``NullRuntime``; otherwise the
factories added with ``lab.runtimes.add(factory)`` are asked in order (``factory(env)`` returns a runtime or
None: the real-time session adds one for process runtimes, process isolation adds another), and the in-kernel
``PythonRuntime`` is the default.
"""
from __future__ import annotations

from typing import Callable

from .python_runtime import NullRuntime, PythonRuntime

__all__ = ["Runtimes", "DEFAULT_ADDRESS"]

DEFAULT_ADDRESS = "127.0.0.1:9001"       # AWS_LAMBDA_RUNTIME_API of a runtime that serves no real HTTP


class Runtimes:
    """The lab's choice of runtime for each new execution environment."""

    def __init__(self) -> None:
        self.factories: list[Callable] = []

    def add(self, factory: Callable) -> None:
        """``factory(env)`` returns the runtime for a new environment, or None to let the next one decide."""
        self.factories.append(factory)

    def make(self, env):
        if env.snapshot.model.get("synthetic", False):
            return NullRuntime(env)
        for factory in self.factories:
            runtime = factory(env)
            if runtime is not None:
                return runtime
        return PythonRuntime(env)
