"""Who runs the lab's clock: the driver seam between the ``Lab`` and time.

A lab's components never look at a clock; the engine's ``now`` is all they know. What makes ``now`` move is the
lab's driver, ``lab.driver``, chosen by ``Lab(clock=...)``:

- ``VirtualDriver`` (``clock="virtual"``): ``advance`` and ``run`` jump from event to event, as fast as the
  machine goes; a call that waits (an invoke, a waiter) runs events until its answer is there.
- ``lambdalab.realtime.session.RealTimeSession`` (``clock="real"``): an event loop in a background thread runs
  the heap against the wall clock and serves real HTTP; the notebook's calls are carried onto that thread.

Every ``Lab`` method a notebook calls goes through its driver, which is all a driver has to provide:

``call(fn, *args, **kwargs)``
    run ``fn`` where the lab's components live and return its result (the virtual driver calls it at once);
``advance(seconds)``, ``run(until)``, ``wait_for(done, limit)``
    let time pass: by ``seconds``, until ``until`` (or until only fleet upkeep is left), or until ``done()``;
``client(make, service)``
    the client ``make(service)`` builds, as the notebook should hold it;
``serve(host, port)``
    the Invoke API over HTTP (only a real-time driver serves);
``close()``
    stop what the driver started.

Which runtime runs an environment's code is the other seam (``lambdalab.sandbox.runtimes``).
"""
from __future__ import annotations

from .observability import progress as _progress

__all__ = ["VirtualDriver"]


class VirtualDriver:
    """Virtual time: the engine jumps from one event to the next."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.engine = lab.engine

    @staticmethod
    def call(fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def advance(self, seconds: float) -> None:
        self.run(self.engine.now + seconds)

    def run(self, until: float | None = None) -> None:
        watcher = _progress.hook(self.lab, until)      # a progress bar in a notebook kernel, else None
        if watcher is None:
            self.engine.run(until=until)
            return
        try:
            self.engine.run(until=until, tick=watcher)
        finally:
            watcher.close()

    def wait_for(self, done, limit: float | None = None) -> None:
        self.engine.run(until=limit, stop=done)

    @staticmethod
    def client(make, service: str, **kwargs):
        return make(service, **kwargs)

    @staticmethod
    def serve(host: str = "127.0.0.1", port: int = 0) -> str:
        raise RuntimeError("lab.serve() serves real HTTP and needs a real-time lab: ll.Lab(clock='real')")

    def close(self) -> None:
        pass
