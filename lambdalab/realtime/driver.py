"""The real-time driver: the same Engine and components, with ``now`` following a wall clock.

With ``Lab(clock="real")`` nothing about the components changes. What changes is who runs the event heap:
instead of ``advance``/``run`` jumping from event to event, a task on an anyio (asyncio) event loop sleeps until
the next event is due, runs it, and sleeps again. ``engine.now`` is the monotonic time since the lab started.
The engine's ``wake`` hook tells the driver when something earlier than its current alarm was scheduled.

The loop lives in one background thread, started by ``anyio.from_thread.start_blocking_portal``: the only
thread lambdalab ever starts. Every call into the components happens on that thread, so the single-threaded
core stays single-threaded: the notebook's calls (``lab.client("lambda").invoke``, ``lab.stats()``, ...) are
marshalled onto the loop with ``portal.call`` and the caller blocks, with a bound, until its answer is ready.
HTTP requests (the Runtime API, the Invoke API) and runtime processes are handled on the loop directly.

Before any component is called from outside the heap (an HTTP request, a process exiting), ``catch_up()`` runs
every event already due, so the clock never runs backwards.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import anyio
from anyio.from_thread import start_blocking_portal

__all__ = ["RealTimeDriver"]

MAX_SLEEP = 1.0            # the loop re-checks at least this often, so a missed wake costs at most 1 s
DEFAULT_WAIT = 60.0        # bound on a notebook call that waits for the lab (seconds of real time)


class RealTimeDriver:
    def __init__(self, lab) -> None:
        self.lab = lab
        self.engine = lab.engine
        self._t0 = time.monotonic()
        self._waiters: list[_Waiter] = []
        self._checking = False
        self._alarm = float("inf")
        self._wake_event: anyio.Event | None = None
        self._closing = False
        self._portal_cm = start_blocking_portal("asyncio")
        self.portal = self._portal_cm.__enter__()
        self.thread_id = self.portal.call(threading.get_ident)
        self._main_future, _ = self.portal.start_task(self._main)
        self.engine.wake = self._wake

    # --- the clock ----------------------------------------------------------------------------------------
    def wall(self) -> float:
        return time.monotonic() - self._t0

    def on_loop(self) -> bool:
        return threading.get_ident() == self.thread_id

    def catch_up(self) -> None:
        """Run every event that is due by the wall clock, then let blocked callers re-check."""
        engine = self.engine
        now = max(self.wall(), engine.now)
        engine.run(until=now)
        self.check_waiters()

    def _wake(self, t: float) -> None:
        if t < self._alarm and self._wake_event is not None:
            self._wake_event.set()

    async def _main(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self.task_group = tg
            task_status.started()
            await self._drive()

    async def _drive(self) -> None:
        while not self._closing:
            self.catch_up()
            delay = min(self.engine.peek() - self.wall(), MAX_SLEEP)
            if delay <= 0:
                await anyio.sleep(0)      # let HTTP handlers run between bursts of due events
                continue
            self._alarm = self.wall() + delay
            self._wake_event = anyio.Event()
            with anyio.move_on_after(delay):
                await self._wake_event.wait()
            self._alarm = float("inf")
            self._wake_event = None

    def spawn(self, fn, *args) -> None:
        """Start a background task on the loop (call this on the loop thread)."""
        self.task_group.start_soon(fn, *args)

    # --- calls from the notebook thread -------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the loop thread (after catching up) and return its result to the caller."""
        if self.on_loop():
            self.catch_up()
            return fn(*args, **kwargs)

        def run():
            self.catch_up()
            try:
                return fn(*args, **kwargs)
            finally:
                self.check_waiters()
        return self.portal.call(run)

    def wait(self, done: Callable[[], bool], timeout: float = DEFAULT_WAIT) -> bool:
        """Block until ``done()`` (evaluated on the loop) is true. False if ``timeout`` real seconds passed."""
        if self.on_loop():
            return self._wait_on_loop(done, timeout)
        entry = _Waiter(done)
        self.portal.call(self._add_waiter, entry)
        if entry.flag.wait(timeout):
            if entry.error is not None:
                raise entry.error
            return True
        self.portal.call(self._remove_waiter, entry)
        return False

    def _wait_on_loop(self, done, timeout: float) -> bool:
        """A wait that must happen on the loop thread (inside create_function): run due events, sleeping
        between them. HTTP is not served meanwhile, so this is only for short control-plane waits."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.catch_up()
            if done():
                return True
            time.sleep(max(0.0, min(self.engine.peek() - self.wall(), 0.05)))
        return False

    def _add_waiter(self, entry: _Waiter) -> None:
        if entry.done():
            entry.flag.set()
        else:
            self._waiters.append(entry)

    def _remove_waiter(self, entry) -> None:
        if entry in self._waiters:
            self._waiters.remove(entry)

    def check_waiters(self) -> None:
        # A condition may call into the lab itself (``lab.wait_for(lambda: lab.stats("f")[...])``), which catches
        # up and would check the waiters again from inside this check, without end: one check at a time. A
        # condition that raises ends its wait with the error, in the waiting thread, never on the loop.
        if not self._waiters or self._checking:
            return
        self._checking = True
        try:
            keep = []
            for entry in self._waiters:
                try:
                    finished = entry.done()
                except Exception as exc:  # noqa: BLE001 - handed to the caller that waits on it
                    entry.error, finished = exc, True
                if finished:
                    entry.flag.set()
                else:
                    keep.append(entry)
            self._waiters = keep
        finally:
            self._checking = False

    # --- the end ------------------------------------------------------------------------------------------
    def close(self, before_stop: Callable[[], Any] | None = None) -> None:
        """Run ``before_stop`` (an async function: stop processes, servers) on the loop, then end the loop."""
        if self._closing:
            return
        if before_stop is not None:
            try:
                self.portal.call(before_stop)
            except Exception:  # noqa: BLE001 - closing must go on
                pass
        self._closing = True
        self.engine.wake = None

        def stop():
            self.task_group.cancel_scope.cancel()
        try:
            self.portal.call(stop)
        except RuntimeError:
            pass
        try:
            self._portal_cm.__exit__(None, None, None)
        except Exception:  # noqa: BLE001
            pass


class _Waiter:
    """A caller blocked in ``wait``: its condition, the flag that releases it and an error its condition raised."""
    __slots__ = ("done", "flag", "error")

    def __init__(self, done: Callable[[], bool]) -> None:
        self.done, self.flag, self.error = done, threading.Event(), None
