"""Real time and real HTTP: what ``Lab(clock="real")`` adds to the in-process model.

- ``driver``: an anyio (asyncio) loop in one background thread runs the lab's event heap against a wall clock;
  the notebook's calls are marshalled onto that loop.
- ``http``: a small HTTP/1.1 server (httptools on asyncio Protocols in the driver's loop) bound to loopback.
- ``runtime_server``: each execution environment of a process runtime gets its own Runtime API, Extensions
  API and Telemetry API at ``AWS_LAMBDA_RUNTIME_API``, routed to that environment's ``RuntimeAPI`` state machine.
- ``processes``: custom runtimes (``runtime="provided.al2023", bootstrap=[...]``) and the unmodified
  ``awslambdaric`` (``process=True``) as real child processes.
- ``invoke_api``: ``lab.serve()``, the Invoke API for boto3 and curl.

Importing this package is cheap and never imports anyio: ``Lab(clock="real")`` imports ``session`` (its driver).
"""
from __future__ import annotations

__all__: list[str] = []
