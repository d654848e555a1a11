"""One environment's HTTP endpoint at ``AWS_LAMBDA_RUNTIME_API``: the Runtime, Extensions and Telemetry APIs.

In AWS every execution environment runs one local HTTP server that the runtime and the extensions inside the
microVM talk to. Here each environment of a process runtime gets one too, on its own loopback port:

- ``/2018-06-01/runtime/...`` goes straight to the environment's ``RuntimeAPI`` object, the same state machine
  the in-process runtime uses, so status codes and error bodies are the model's. A ``/next`` with nothing to
  hand out waits on ``api.waiter`` until the environment delivers an invocation (or the runtime hangs up). A
  response posted with ``Lambda-Runtime-Function-Response-Mode: streaming`` (chunked) hands each chunk to the
  caller as it arrives; the error trailers end it as a failure.
- ``/2020-01-01/extension/...``: ``ExtensionsAPI`` below. Extensions register during Init (registration closes
  at the runtime's first ``/next``), then long-poll ``event/next`` for INVOKE and SHUTDOWN events.
- ``/2022-07-01/telemetry``: an extension subscribes an HTTP destination; ``Telemetry`` buffers events
  (``platform.*`` records and ``function`` log lines) and POSTs them as JSON arrays.

Simplified: the Invoke phase does not wait for extensions to call ``event/next`` again before the caller gets
its answer, and Init ends at the runtime's first ``/next`` without waiting for extensions; telemetry event
records carry the main fields (``time``, ``type``, ``record``) with a subset of each record's metrics.
"""
from __future__ import annotations

import json
import uuid

from ..sandbox.runtime_api import MAX_RESPONSE_BYTES, STREAM_LIMIT
from .http import HttpServer, Pending, Request, bind_loopback
from .http_client import http_post

__all__ = ["RuntimeServer", "ExtensionsRoutes", "TelemetryRoutes"]

EMPTY_EVENT = b"{}"                     # an Invoke without a Payload reaches the runtime as {}


def _error(status: int, error_type: str, message: str):
    return status, json.dumps({"errorMessage": message, "errorType": error_type}).encode(), {
        "Content-Type": "application/json"}


class _Mailbox:
    """The HTTP side of one registered process extension: events waiting for its ``event/next``."""

    __slots__ = ("queue", "waiting")

    def __init__(self) -> None:
        self.queue: list[dict] = []
        self.waiting: Pending | None = None

    def put(self, event: dict) -> None:
        self.queue.append(event)
        if self.waiting is not None:
            self.waiting.event.set()


class ExtensionsRoutes:
    """``/2020-01-01/extension/*`` over HTTP, on the environment's shared ``sandbox.extensions.ExtensionsAPI``.

    Registration rules (closing at the runtime's first /next, at most 10, unique names, event types) and the
    INVOKE / SHUTDOWN fan-out are the in-process model's; this class adds the blocking ``event/next`` and the
    error reports. Error types follow Lambda's Runtime API server.
    """

    def __init__(self, server: "RuntimeServer") -> None:
        from ..sandbox.extensions import ExtensionsAPI
        self.server = server
        env = server.env
        if env.extensions_api is None:
            snap = env.snapshot
            env.extensions_api = ExtensionsAPI(snap.name, snap.version, snap.handler, _uuid)
        self.api = env.extensions_api
        self.mailboxes: dict[str, _Mailbox] = {}

    def lookup(self, request: Request):
        ident = request.headers.get("lambda-extension-identifier")
        if not ident:
            return None, _error(403, "Extension.MissingExtensionIdentifier",
                                "Missing Lambda-Extension-Identifier header")
        reg = self.api.by_identifier(ident)
        if reg is None or ident not in self.mailboxes:
            return None, _error(403, "Extension.UnknownExtensionIdentifier", f"Unknown extension {ident}")
        return reg, None

    def route(self, request: Request):
        rest = request.path[len("/2020-01-01/extension"):]
        method = request.method
        if rest == "/register" and method == "POST":
            return self.register(request)
        if rest == "/event/next" and method == "GET":
            return self.next(request)
        if rest in ("/init/error", "/exit/error") and method == "POST":
            return self.report_error(request, rest)
        if rest in ("/register", "/event/next", "/init/error", "/exit/error"):
            return _error(405, "MethodNotAllowed", f"{method} is not allowed on {request.path}")
        return _error(404, "NotFound", f"{method} {request.path} is not an Extensions API route")

    def register(self, request: Request):
        from ..sandbox.extensions import Extension
        name = request.headers.get("lambda-extension-name", "")
        if not name:
            return _error(403, "Extension.InvalidExtensionName", "Missing Lambda-Extension-Name header")
        try:
            body = json.loads(request.body or b"{}")
            events = body.get("events", [])
            if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
                raise ValueError("events must be a list of strings")
        except (ValueError, AttributeError) as exc:
            return _error(400, "InvalidRequestFormat", f"Could not parse the register body: {exc}")
        mailbox = _Mailbox()
        extension = Extension(name, events=events, on_event=mailbox.put)
        status, out, headers = self.api.register(extension, events)
        env = self.server.env
        if status == 200:
            self.mailboxes[headers["Lambda-Extension-Identifier"]] = mailbox
            if self.server.runtime is not None:
                self.server.runtime.extension_registered()
        env.emit("extension", "register", "Extension process {} registers for {} -> {}", name,
                 ', '.join(events) or 'no events', status, extension=name, events=events, method="POST",
                 path="/2020-01-01/extension/register", status=status)
        return status, out, headers

    def next(self, request: Request):
        reg, err = self.lookup(request)
        if err:
            return err
        mailbox = self.mailboxes[reg.identifier]
        if mailbox.queue:
            return self._event(mailbox)

        def answer():
            mailbox.waiting = None
            if mailbox.queue and not request.closed:
                return self._event(mailbox)
            return _error(410, "Extension.Closed", "The connection closed")
        mailbox.waiting = Pending(answer, watch=True)
        return mailbox.waiting

    @staticmethod
    def _event(mailbox: _Mailbox):
        event = mailbox.queue.pop(0)
        return 200, json.dumps(event).encode(), {"Content-Type": "application/json",
                                                 "Lambda-Extension-Event-Identifier": _uuid()}

    def report_error(self, request: Request, rest: str):
        reg, err = self.lookup(request)
        if err:
            return err
        error_type = request.headers.get("lambda-extension-function-error-type")
        if not error_type:
            return _error(400, "Extension.MissingHeader", "Missing Lambda-Extension-Function-Error-Type header")
        if rest == "/init/error" and self.api.closed:
            return _error(403, "Extension.InvalidExtensionState",
                          f"State transition from {reg.state} to InitError failed")
        reg.state = "InitError" if rest == "/init/error" else "ExitError"
        self.server.env.log(f"EXTENSION\tName: {reg.name}\tState: {reg.state}\tError Type: {error_type}")
        return 202, b'{"status":"OK"}', {"Content-Type": "application/json"}


class TelemetryRoutes:
    """``PUT /2022-07-01/telemetry`` on the environment's shared ``sandbox.telemetry.TelemetryAPI``.

    Validation, buffering, the Init backlog and freeze/thaw are the in-process model's; the transport here
    POSTs each batch as a JSON array to the subscriber's HTTP listener (``sandbox.localdomain`` is loopback).
    """

    def __init__(self, server: "RuntimeServer") -> None:
        from ..sandbox.telemetry import TelemetryAPI
        self.server = server
        env, lab = server.env, server.lab
        if env.telemetry is None:
            env.telemetry = TelemetryAPI(lambda: lab.now, lab.iso_time, lab.engine.schedule, lab.engine.cancel,
                                         env.companions.telemetry_batch)
        self.api = env.telemetry

    def subscribe(self, request: Request):
        from ..sandbox.telemetry import Subscription, TelemetryValidationError
        reg, err = self.server.extensions.lookup(request)
        if err:
            return err
        try:
            body = json.loads(request.body)
            subscription = Subscription.from_body(body, sender=self._sender(body))
        except (ValueError, TypeError, KeyError) as exc:
            kind = exc.error_type if isinstance(exc, TelemetryValidationError) else "ValidationError"
            return _error(400, kind, f"{exc}")
        status, out = self.api.subscribe(reg.name, subscription)
        self.server.env.emit("extension", "telemetry",
                             "Extension process {} subscribes to the Telemetry API ({}) -> {}", reg.name,
                             ', '.join(subscription.types), status, extension=reg.name, method="PUT",
                             path="/2022-07-01/telemetry", status=status)
        return status, out, {"Content-Type": "application/json"}

    def _sender(self, body: dict):
        from ..sandbox.telemetry import destination_address
        dest = body.get("destination") if isinstance(body, dict) else None
        if not isinstance(dest, dict) or dest.get("protocol") != "HTTP":
            raise ValueError("destination must be {\"protocol\": \"HTTP\", \"URI\": "
                             "\"http://sandbox.localdomain:PORT/\"} (the TCP protocol is not served by lambdalab)")
        host, port, path = destination_address(dest)       # loopback only (else a 400, nothing contacted)
        spawn = self.server.session.driver.spawn

        def send(batch: list) -> None:
            spawn(http_post, host, port, path, json.dumps(batch).encode(), {"Content-Type": "application/json"})
        return send


def _body_limit(method: str, path: str, headers: dict) -> int:
    """6,291,556 bytes for a response or error; 200 MB for a response the runtime streams."""
    streaming = headers.get("lambda-runtime-function-response-mode", "").lower() == "streaming"
    return STREAM_LIMIT if streaming else MAX_RESPONSE_BYTES


def _uuid() -> str:
    return str(uuid.uuid4())


class RuntimeServer:
    """The HTTP endpoint of one environment."""

    def __init__(self, session, env) -> None:
        self.session = session
        self.lab = session.lab
        self.env = env
        self.runtime = None                  # the ProcessRuntime, set when it is made
        self.extensions = ExtensionsRoutes(self)
        self.telemetry = TelemetryRoutes(self)
        # a body over 6,291,556 bytes is never read into memory: the request comes with ``too_large`` set
        self.http = HttpServer(bind_loopback(), self.handle, max_body=MAX_RESPONSE_BYTES, name=f"runtime-{env.id}",
                               body_limit=_body_limit, too_large=self.too_large, stream_body=self._stream_body)
        self.address = f"127.0.0.1:{self.http.port}"
        session.driver.spawn(self.http.serve)

    def handle(self, request: Request):
        driver = self.session.driver
        driver.catch_up()
        path = request.path
        if path.startswith("/2018-06-01/runtime"):
            result = self._runtime(request)
        elif path.startswith("/2020-01-01/extension"):
            result = self.extensions.route(request)
        elif path == "/2022-07-01/telemetry":
            result = self.telemetry.subscribe(request) if request.method == "PUT" else \
                _error(405, "MethodNotAllowed", f"{request.method} is not allowed on {path}")
        else:
            result = _error(404, "NotFound", f"{request.method} {path} is not a route of this API")
        driver.check_waiters()
        return result

    def _stream_body(self, method: str, target: str, headers: dict):
        """A response the runtime posts in streaming mode: each chunk goes on towards the caller as it arrives
        (the whole body, and its trailers, still reach the Runtime API at the end)."""
        if method != "POST" or headers.get("lambda-runtime-function-response-mode", "").lower() != "streaming":
            return None
        parts = target.partition("?")[0].split("/")      # /2018-06-01/runtime/invocation/{id}/response
        if len(parts) != 6 or parts[3] != "invocation" or parts[5] != "response":
            return None
        request_id, api, driver = parts[4], self.env.api, self.session.driver

        def sink(data: bytes) -> None:
            driver.catch_up()
            api.post_response_chunk(request_id, data)
            driver.check_waiters()
        return sink, STREAM_LIMIT

    def too_large(self, request: Request):
        """A body over its limit (never read into memory): the Runtime API's 413; on a response, the invoke fails
        with Function.ResponseSizeTooLarge."""
        driver = self.session.driver
        driver.catch_up()
        limit = _body_limit(request.method, request.path, request.headers)
        result = _error(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes).")
        if self.runtime is not None and request.path.startswith("/2018-06-01/runtime"):
            self.runtime.after_route(request, result)
        driver.check_waiters()
        return result

    def _runtime(self, request: Request):
        env, runtime = self.env, self.runtime
        api = env.api
        if env.state == "Init" and runtime is not None and runtime.first_init and not runtime.initialising:
            return _error(403, "InvalidStateTransition", "The runtime has not been started yet: Init has not "
                          "reached its runtime part")
        is_next = request.method == "GET" and request.path == "/2018-06-01/runtime/invocation/next"
        if is_next and runtime is not None:
            runtime.before_next()
        if request.method == "POST" and runtime is not None:
            return self._settled(api, runtime, request)
        result = api.route(request.method, request.path, request.body, request.headers)
        if result is None:
            pending = self._wait_next(api, request)
            if runtime is not None and env.state == "Idle":
                runtime.freeze()                  # idle, and the runtime waits for work: the microVM freezes
            return pending
        if runtime is not None:
            runtime.after_route(request, result)
        if is_next and result[0] == 200 and not result[1]:
            return 200, EMPTY_EVENT, result[2]
        return result

    def _settled(self, api, runtime, request: Request):
        """A POST from the process: first log what it printed before it (still in its pipes: the process wrote
        it before this request), so those lines land before END and in a LogType=Tail result."""
        runtime.drain_output()
        self.session.driver.catch_up()
        result = api.route(request.method, request.path, request.body, request.headers)
        runtime.after_route(request, result)
        self.session.driver.check_waiters()
        return result

    def _wait_next(self, api, request: Request):
        """/next with nothing to hand out: wait on ``api.waiter``.

        No task watches the socket meanwhile (that would cost a task and two epoll changes per invoke); instead
        the waiter peeks at the socket when an invocation arrives, and refuses it if the runtime has hung up
        (the invocation then stays pending for the next /next). A newer /next also ends an older one's wait.
        """
        box: list = []

        def waiter(rinv):
            if request.peer_gone():
                request.closed = True
                api.state, api.current, api.pending = "Ready", None, rinv   # keep it for the next /next
            else:
                box.append(rinv)
            pending.event.set()

        def answer():
            if api.waiter is waiter:
                api.waiter = None
            if request.closed or not box:
                request.closed = True
                return _error(410, "Runtime.Closed", "The connection closed")
            return 200, box[0].payload or EMPTY_EVENT, box[0].headers()
        pending = Pending(answer, direct=True)   # the runtime gets its event while the deliver call finishes
        waiter.pending = pending
        old = api.waiter
        if old is not None and getattr(old, "pending", None) is not None:
            old.pending.event.set()           # an older /next is abandoned: let its task finish
        api.waiter = waiter
        return pending

    def close(self) -> None:
        self.http.close()
