"""Real time and real HTTP: what ``Lab(clock="real")`` adds to the in-process model.

- ``driver``: an anyio (asyncio) loop in one background thread runs the lab's event heap against a wall clock;
  the notebook's calls are marshalled onto that loop.
- ``http``: a small HTTP/1.1 server (httptools on asyncio Protocols in the driver's loop) bound to loopback.
- ``runtime_server``: each execution environment of a process runtime gets its own Runtime API, Extensions
  API and Telemetry API at ``AWS_LAMBDA_RUNTIME_API``, routed to that environment's ``RuntimeAPI`` state machine.
- ``processes``: custom runtimes (``runtime="provided.al2023", bootstrap=[...]``) and the unmodified
  ``awslambdaric`` (``process=True``) as real child processes.
- ``invoke_api``: ``lab.serve()``, the Invoke API for boto3 and curl.

Importing this package is cheap and never imports anyio: the real-time pieces load only for a real-clock lab.
"""
from __future__ import annotations

__all__ = ["attach"]


def attach(lab) -> None:
    """Called for every new Lab; only a real-clock lab gets the driver, servers and process runtimes."""
    if lab.clock != "real":
        lab.serve = _virtual_serve
        return
    from .session import RealTimeSession
    RealTimeSession(lab)


def _virtual_serve(*_args, **_kwargs):
    raise RuntimeError("lab.serve() serves real HTTP and needs a real-time lab: ll.Lab(clock='real')")
