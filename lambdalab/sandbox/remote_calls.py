"""``ll.client(service)`` in handler code that runs in a child process (``isolation="process"``).

In AWS, function code calls other services over the network with the SDK. The lab's services live in the
notebook's kernel, so a child's ``ll.client(service)`` is a ``RemoteClient``: each operation it is asked for
(``client.invoke(FunctionName=..., Payload=...)``) goes to the lab over the child's control socket as a ``call``
frame carrying the virtual seconds the code has used so far, and the child waits for the ``answer``. The lab
(``answer``) makes the very call inline handler code would make, through ``ll.client`` with the environment
registered as running learner code (``sandbox.learner_code``) and the code's budget current (``sandbox.vtime``):
the same trace steps, trace header, recursion counting and virtual time as inline. The answer carries the
response (bytes as bytes, a stream such as ``Payload`` or S3's ``Body`` as a stream), or the AWS error (raised in
the child as botocore's ``ClientError``), and the virtual seconds used once the call is done.

Simplified: operations only (no paginators, waiters or ``client.exceptions``); any other exception the call
raises (botocore's parameter validation) comes back as a ``RuntimeError`` naming it.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import logging
import sys

from . import vtime
from .learner_code import LearnerRun

__all__ = ["RemoteClient", "connect", "connected_client", "answer", "encode", "decode"]

_ask = None         # in a child: how its code asks the lab (``connect``); None in the kernel


def encode(value):
    """A response or parameters as JSON values: bytes and streams tagged, datetimes as ISO text."""
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if hasattr(value, "read"):
        return {"__stream__": base64.b64encode(value.read()).decode("ascii")}
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, _dt.datetime):
        return {"__datetime__": value.isoformat()}
    return value


def decode(value):
    if isinstance(value, dict):
        if "__bytes__" in value:
            return base64.b64decode(value["__bytes__"])
        if "__stream__" in value:
            return _stream(base64.b64decode(value["__stream__"]))
        if "__datetime__" in value:
            return _dt.datetime.fromisoformat(value["__datetime__"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def _stream(data: bytes):
    try:
        from botocore.response import StreamingBody
        return StreamingBody(io.BytesIO(data), len(data))
    except ImportError:
        return io.BytesIO(data)


# --- the child's side ---------------------------------------------------------------------------------------
class RemoteClient:
    """``ll.client(service)`` in a child: operations are asked of the lab (``ask(header) -> answer header``)."""

    def __init__(self, service: str, ask) -> None:
        self._service, self._ask = service, ask

    def __getattr__(self, operation: str):
        if operation.startswith("_") or operation in ("get_paginator", "get_waiter", "exceptions", "meta"):
            raise AttributeError(f"{operation!r} is not available on ll.client() with isolation=\"process\"")

        def call(**params):
            budget = vtime.current()
            reply = self._ask({"op": "call", "service": self._service, "operation": operation,
                               "params": encode(params), "elapsed": budget.elapsed if budget else None})
            if budget is not None:
                budget.elapsed = reply["elapsed"]
                if reply.get("deadline"):
                    raise vtime.DeadlineReached()
            if "error" in reply:
                from botocore.exceptions import ClientError
                raise ClientError(reply["error"], reply["operation_name"])
            if "failure" in reply:
                raise RuntimeError(reply["failure"])
            return decode(reply["response"])
        call.__name__ = operation
        return call

    def __repr__(self) -> str:
        return f"<ll.client({self._service!r}) of a process runtime>"


def connect(ask) -> None:
    """In a child (``sandbox.microvm``): from now on ``ll.client(service)`` asks the lab through ``ask``."""
    global _ask
    _ask = ask


def connected_client(service: str) -> RemoteClient | None:
    """``ll.client(service)`` in a connected child; None in the kernel, where the lab makes the client."""
    return RemoteClient(service, _ask) if _ask is not None else None


# --- the lab's side -----------------------------------------------------------------------------------------
class _NoKernelState:
    """A process runtime's code changes nothing in the kernel: nothing to swap while the lab steps out."""

    @staticmethod
    def enter(watched):
        return None

    @staticmethod
    def leave(kernel, watched) -> None:
        pass


class _CallRun:
    """What ``LearnerRun`` reads of a runtime, for a child's code calling the lab."""

    process = _NoKernelState()

    def __init__(self, env) -> None:
        self.env = env
        # (``StepOut`` puts the runtime's log handler back on the root logger; this one keeps nothing and is
        # taken off again after the call)
        self.log_handler = logging.NullHandler()


def answer(env, request: dict, budget) -> dict:
    """Make the call a child's code asked for, as inline handler code of ``env`` would; the answer header."""
    if request.get("elapsed") is not None:
        budget.elapsed = max(budget.elapsed, float(request["elapsed"]))   # (the child's word: never back)
    runtime = _CallRun(env)
    reply: dict = {"op": "answer"}
    try:
        with LearnerRun(runtime, (sys.stdout, sys.stderr), None, ()), vtime.running(budget):
            made = env.lab.calls.code_client(request["service"])
            operation = request["operation"]
            if operation not in made.meta.method_to_api_mapping:    # (an operation, nothing else of the client)
                raise AttributeError(f"{type(made).__name__!r} object has no attribute {operation!r}")
            response = getattr(made, operation)(**decode(request["params"]))
            reply["response"] = encode({k: v for k, v in response.items() if k != "ResponseMetadata"})
    except vtime.DeadlineReached:
        reply["deadline"] = True
    except Exception as exc:  # noqa: BLE001 - whatever the call raised goes back to the code that made it
        error = getattr(exc, "response", None)
        if isinstance(error, dict) and "Error" in error:
            reply["error"] = {"Error": error["Error"]}
            reply["operation_name"] = getattr(exc, "operation_name", request["operation"])
        else:
            reply["failure"] = f"{type(exc).__name__}: {exc}"
    finally:
        logging.root.removeHandler(runtime.log_handler)
    reply["elapsed"] = budget.elapsed
    return reply
