"""One request as it travels through the data plane, from the frontend to an environment and back."""
from __future__ import annotations

__all__ = ["Invocation"]


class Invocation:
    """A request's record. ``lab.submit()`` returns one; it fills in as the request moves on.

    ``done`` turns true when the caller has its answer; ``response`` is then the boto3-shaped invoke response (or
    the error dict of a rejected request, with ``error`` the ClientError).
    """

    __slots__ = ("request_id", "function", "snapshot", "qualifier", "invoked_arn", "payload", "invocation_type",
                 "log_type", "client_context", "t_arrival", "t_start", "t_end", "cold", "init_duration",
                 "duration", "billed_ms", "status", "error_type", "body", "error", "response", "done", "env_id",
                 "lines", "callbacks", "source", "trace_id", "init_type", "attempt", "__weakref__")

    def __init__(self, request_id: str, payload: bytes, invocation_type: str = "RequestResponse",
                 log_type: str = "None", client_context: str | None = None, source: str = "client") -> None:
        self.request_id = request_id
        self.payload = payload
        self.invocation_type = invocation_type
        self.log_type = log_type
        self.client_context = client_context
        self.source = source
        self.function = None
        self.snapshot = None
        self.qualifier = None
        self.invoked_arn = None
        self.t_arrival = self.t_start = self.t_end = None
        self.cold = False
        self.init_duration = 0.0
        self.duration = 0.0
        self.billed_ms = 0
        self.status = "pending"      # pending | running | ok | error | timeout | exit | throttled | rejected
        self.error_type = None
        self.body = b""
        self.error = None
        self.response = None
        self.done = False
        self.env_id = None
        self.lines = None            # this invocation's log lines (for LogType=Tail)
        self.callbacks = []
        self.trace_id = None
        self.init_type = None
        self.attempt = 1

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.status in ("error", "timeout", "exit") else None

    def finish(self) -> None:
        self.done = True
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback(self)

    def __repr__(self) -> str:
        return f"<Invocation {self.request_id} {self.status}{' cold' if self.cold else ''}>"
