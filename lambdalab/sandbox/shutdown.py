"""The Shutdown phase, and the "reset" after a timeout or a crash.

In AWS an environment shuts down when it has been idle too long, has reached its maximum lifetime, or its
worker is draining. The runtime gets SIGTERM; external extensions registered for SHUTDOWN get the event with
``shutdownReason`` and ``deadlineMs``; everything must be done within 2 s, then the microVM is killed. With no
extension registered there is nothing to wait for and the environment is killed at once. Otherwise the runtime
gets its grace period (300 ms, or 500 ms when an internal extension lives in its process) and then the
external extensions the rest of the 2 s.

After an invoke timeout or a runtime crash AWS "resets" the environment: like a Shutdown, but the microVM (and
``/tmp``) stays for the next invoke, whose Init runs again (a suppressed init).

We simplify: the runtime always uses its whole SIGTERM grace period; the reset takes no time.
"""
from __future__ import annotations

import shutil

from .python_runtime import exit_body

__all__ = ["shutdown", "reset_runtime"]


def shutdown(env, reason: str) -> None:
    """SIGTERM to the runtime, SHUTDOWN to external extensions, SIGKILL (2 s at most)."""
    lab = env.lab
    was_invoking = env.state == "Invoking"
    env.transition("Shutdown")
    lab.fleet.cancel_idle(env)                # its idle expiry, if one is pending
    cap = lab.cost.shutdown_cap
    deadline_ms = int((lab.epoch + lab.now + cap) * 1000)
    env.emit("environment", "shutdown", "Shutdown phase for {} (reason: {}, at most {:g} s)", env.id, reason, cap,
             state="shutdown", reason=reason, deadlineMs=deadline_ms)
    if was_invoking and env.current is not None:
        _abandon(env, env.current)
    if env.telemetry is not None:
        env.telemetry.frozen = False          # the microVM runs again to shut down
    env.runtime.shutdown()
    if not env.extensions:
        env.emit("runtime", "shutdown", "No extensions are registered, so there is no graceful shutdown: the "
                 "runtime is stopped at once", phase="shutdown", duration=0.0)
        kill(env)
        return
    internal = any(e.internal for e in env.extensions)
    grace = min(cap, lab.cost.runtime_shutdown_internal if internal else lab.cost.runtime_shutdown)
    env.emit("runtime", "shutdown", "The runtime gets SIGTERM and {:.2f} ms to exit{}", grace * 1000,
             " (an internal extension shares its process)" if internal else "", phase="shutdown", duration=grace)
    lab.engine.schedule(grace, _shutdown_extensions, env, reason, deadline_ms, cap - grace)


def _abandon(env, inv) -> None:
    """The environment dies under a running invoke: the caller gets Runtime.ExitError."""
    if inv.done:                      # answered already; only the extensions' after-work is cut short
        env.report(inv, False)
        return
    env.api.reset()
    env.complete(inv, "exit", exit_body(None, inv.request_id), "Runtime.ExitError")


def _shutdown_extensions(env, reason: str, deadline_ms: int, left: float) -> None:
    longest = env.companions.shutdown(reason, deadline_ms, left)
    if longest:
        env.lab.engine.schedule(longest, kill, env)
    else:
        kill(env)


def kill(env) -> None:
    env.transition("Gone")
    env.emit("environment", "kill", "SIGKILL: {} and its microVM are gone", env.id, state="gone")
    if env.tmp_path is not None:
        shutil.rmtree(env.tmp_path, ignore_errors=True)
        env.tmp_path = None
    env.worker.remove(env)
    env.lab.counters.environment_down(env.snapshot.function.name)
    env.forget_parts()


def reset_runtime(env, why: str, reason: str) -> None:
    """A fresh runtime process (module globals go, /tmp stays); extensions get SHUTDOWN and start again."""
    env.runtime.reset()
    env.api.reset()
    env.emit("environment", "reset",
             "The runtime in {} is restarted ({}): module globals will be re-initialised, /tmp is kept", env.id, why,
             reason=reason)
    env.companions.reset(reason)
