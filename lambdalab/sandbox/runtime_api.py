"""The Runtime API (2018-06-01) as a state machine, one per execution environment.

In AWS every execution environment runs a small HTTP server at ``AWS_LAMBDA_RUNTIME_API``. The runtime (the
managed Python runtime, a custom ``bootstrap`` or ``awslambdaric``) long-polls ``GET /invocation/next`` for
work and answers with ``POST /invocation/{id}/response`` or ``/error``; during Init it may report
``POST /init/error``. The sandbox blocks ``next`` until the frontend hands it an invocation.

This module holds that protocol's rules with no I/O: a synchronous core whose methods return
``(status, body, headers)``. The in-process Python runtime calls it directly; ``lambdalab.realtime`` wraps the
very same object in a real HTTP server, so both paths obey one set of rules (status codes, error bodies and
state transitions from REFERENCE.md §5).

States: Started -> Ready (runtime waits on /next) -> Running (invoke delivered) -> ResponseSent | ErrorSent
-> Ready ...; Started -> InitError. ``reset()`` puts a fresh runtime back to Started (after a crash or timeout).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Callable

from ..observability.records import Statistics

__all__ = ["RuntimeAPI", "RuntimeAPIStatistics", "MAX_RESPONSE_BYTES", "RuntimeInvocation"]

MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # 6,291,556: AWS's limit on a synchronous response body
STREAM_LIMIT = 200 * 1024 * 1024            # ... and on a streamed one
PREFIX = "/2018-06-01/runtime"


class RuntimeInvocation:
    """What ``/next`` hands the runtime: the event bytes and the headers that describe it. ``trace_id`` may be
    given as a function that makes the X-Ray header when it is first read (a synthetic function's invoke in a
    full trace may never need it)."""

    __slots__ = ("request_id", "payload", "deadline_ms", "invoked_function_arn", "_trace_id", "client_context",
                 "cognito_identity")

    def __init__(self, request_id: str, payload: bytes, deadline_ms: int, invoked_function_arn: str,
                 trace_id: str | Callable[[], str], client_context: str | None = None,
                 cognito_identity: str | None = None):
        self.request_id = request_id
        self.payload = payload
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self._trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity

    @property
    def trace_id(self) -> str:
        trace_id = self._trace_id
        if type(trace_id) is not str:
            trace_id = self._trace_id = trace_id()
        return trace_id

    def headers(self) -> dict[str, str]:
        h = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Content-Type": "application/json",
        }
        if self.client_context:
            h["Lambda-Runtime-Client-Context"] = _client_context_json(self.client_context)
        if self.cognito_identity:
            h["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        return h


def _client_context_json(value: str) -> str:
    """Invoke takes ClientContext base64-encoded; the runtime gets the JSON itself (awslambdaric parses it)."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        json.loads(decoded)
        return decoded
    except (ValueError, UnicodeDecodeError):
        return value


def _error(status: int, error_type: str, message: str):
    return status, json.dumps({"errorMessage": message, "errorType": error_type}).encode(), {
        "Content-Type": "application/json"}


ACCEPTED = (202, b'{"status":"OK"}', {"Content-Type": "application/json"})


class RuntimeAPI:
    """Protocol state for one environment's runtime.

    The owner (the execution environment) supplies callbacks:
    ``on_next()`` the runtime is waiting for work (first call: Init is over),
    ``on_response(inv, body)``, ``on_error(inv, body, error_type)``, ``on_init_error(body, error_type)``.
    """
    __slots__ = ("state", "current", "pending", "waiter", "_last_id", "_on_next", "_on_response", "_on_error",
                 "_on_init_error", "_on_chunk")     # (one per execution environment: a replay holds thousands)

    def __init__(self, on_next: Callable[[], None], on_response: Callable[[RuntimeInvocation, bytes], None],
                 on_error: Callable[[RuntimeInvocation, bytes, str], None],
                 on_init_error: Callable[[bytes, str], None],
                 on_chunk: Callable[[RuntimeInvocation, bytes], None] | None = None) -> None:
        self.state = "Started"
        self.current: RuntimeInvocation | None = None
        self.pending: RuntimeInvocation | None = None
        self._on_next = on_next
        self._on_response = on_response
        self._on_error = on_error
        self._on_init_error = on_init_error
        self._on_chunk = on_chunk
        self.waiter: Callable[[RuntimeInvocation], None] | None = None  # set by an HTTP /next that blocks

    # --- the sandbox side -------------------------------------------------------------------------------
    def deliver(self, invocation: RuntimeInvocation) -> None:
        """The environment has an invocation for the runtime. Hands it over now if /next is waiting."""
        if self.pending is not None or self.state == "Running":
            raise RuntimeError("the runtime already has an invocation in progress")
        self.pending = invocation
        if self.state == "Ready" and self.waiter is not None:
            waiter, self.waiter = self.waiter, None
            waiter(self._take())

    def reset(self) -> None:
        """A new runtime process starts in this environment (after a crash, a timeout or Init failure)."""
        self.state = "Started"
        self.current = None
        self.pending = None
        self.waiter = None

    def restart(self, pending: RuntimeInvocation) -> None:
        """``reset()`` for a runtime process that starts with an invocation already waiting for its /next."""
        self.reset()
        self.pending = pending

    def _take(self) -> RuntimeInvocation:
        inv, self.pending = self.pending, None
        self.current = inv
        self.state = "Running"
        return inv

    # --- the runtime side (what the HTTP routes call) ----------------------------------------------------
    def next(self) -> RuntimeInvocation | None:
        """``GET /invocation/next``: the invocation if one is waiting, else None (the caller blocks).

        Calling it in Running means the runtime gave up on the current invocation without answering; AWS treats a
        second /next as the end of the previous invoke only after a response, so we refuse it.
        """
        if self.state == "Running":
            return None
        if self.state == "InitError":
            return None
        first = self.state == "Started"
        self.state = "Ready"
        self.current = None
        if first or self.pending is None:
            self._on_next()
        if self.pending is not None:
            return self._take()
        return None

    def post_response(self, request_id: str, body: bytes, streaming: bool = False):
        """``POST /invocation/{id}/response``: the whole body (``streaming``: the end of a streamed one, which
        may be up to 200 MB)."""
        check = self._check_invocation(request_id)
        if check is not None:
            return check
        limit = STREAM_LIMIT if streaming else MAX_RESPONSE_BYTES
        if len(body) > limit:
            return _error(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes).")
        inv = self.current
        self.state = "ResponseSent"
        self._on_response(inv, body)
        return ACCEPTED

    def post_response_chunk(self, request_id: str, data: bytes):
        """One chunk of a response posted with ``Lambda-Runtime-Function-Response-Mode: streaming``: it goes on
        to the caller now. None while the invocation can take it, else the error to answer."""
        check = self._check_invocation(request_id)
        if check is not None:
            return check
        if self._on_chunk is not None:
            self._on_chunk(self.current, data)
        return None

    def post_error(self, request_id: str, body: bytes, error_type: str | None = None):
        """``POST /invocation/{id}/error`` with the optional ``Lambda-Runtime-Function-Error-Type`` header."""
        check = self._check_invocation(request_id)
        if check is not None:
            return check
        inv = self.current
        self.state = "ErrorSent"
        self._on_error(inv, body, error_type or "Runtime.Unknown")
        return ACCEPTED

    def post_init_error(self, body: bytes, error_type: str | None = None):
        """``POST /init/error``: only while the runtime is still initialising."""
        if self.state != "Started":
            return _error(403, "InvalidStateTransition",
                          f"Transition from {self.state} to InitError is not allowed")
        self.state = "InitError"
        self._on_init_error(body, error_type or "Runtime.Unknown")
        return ACCEPTED

    def _check_invocation(self, request_id: str):
        if self.current is None or request_id != self.current.request_id:
            if self.state in ("ResponseSent", "ErrorSent") and request_id == getattr(self, "_last_id", None):
                return _error(403, "InvalidStateTransition",
                              f"Transition from {self.state} to {self.state} is not allowed")
            return _error(400, "InvalidRequestID", "Invalid request ID")
        if self.state != "Running":
            return _error(403, "InvalidStateTransition", f"Transition from {self.state} is not allowed")
        self._last_id = request_id
        return None

    def route(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict] | None:
        """Dispatch one HTTP request (any route but a blocking /next). Returns None for /next with nothing pending."""
        if not path.startswith(PREFIX):
            return _error(404, "NotFound", f"{method} {path} is not a Runtime API route")
        rest = path[len(PREFIX):]
        lower = {k.lower(): v for k, v in headers.items()}
        if rest == "/invocation/next" and method == "GET":
            inv = self.next()
            if inv is None:
                return None
            return 200, inv.payload, inv.headers()
        if rest == "/init/error" and method == "POST":
            return self.post_init_error(body, lower.get("lambda-runtime-function-error-type"))
        parts = rest.split("/")
        if len(parts) == 4 and parts[1] == "invocation" and method == "POST":
            if parts[3] == "response" and lower.get("lambda-runtime-function-response-mode", "").lower() == \
                    "streaming":
                return self._end_of_stream(parts[2], body, lower)
            if parts[3] == "response":
                return self.post_response(parts[2], body)
            if parts[3] == "error":
                return self.post_error(parts[2], body, lower.get("lambda-runtime-function-error-type"))
        if rest in ("/invocation/next", "/init/error") or (len(parts) == 4 and parts[1] == "invocation"):
            return _error(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        return _error(404, "NotFound", f"{method} {path} is not a Runtime API route")

    def _end_of_stream(self, request_id: str, body: bytes, headers: dict):
        """The end of a response posted in streaming mode (its chunks went on as they came): done, or failed
        part-way as the trailers ``Lambda-Runtime-Function-Error-Type`` / ``-Error-Body`` (base64) say."""
        error_type = headers.get("lambda-runtime-function-error-type")
        if error_type is None:
            return self.post_response(request_id, body, streaming=True)
        try:
            detail = base64.b64decode(headers.get("lambda-runtime-function-error-body", ""), validate=True)
        except ValueError:
            detail = json.dumps({"errorMessage": "the error body trailer is not base64", "errorType": error_type})
            detail = detail.encode()
        return self.post_error(request_id, detail, error_type)

    def statistics(self) -> "RuntimeAPIStatistics":
        return RuntimeAPIStatistics(self.state, self.current.request_id if self.current else None,
                                    self.pending.request_id if self.pending else None)


@dataclass(frozen=True)
class RuntimeAPIStatistics(Statistics):
    state: str              # Started, Running, Ready, ResponseSent, ErrorSent, InitError
    current: str | None     # request id of the invocation the runtime is working on
    pending: str | None     # ... of the one waiting for the runtime's next /next
