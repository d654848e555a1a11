"""One environment's HTTP endpoint at ``AWS_LAMBDA_RUNTIME_API``: the Runtime, Extensions and Telemetry APIs.

In AWS every execution environment runs one local HTTP server that the runtime and the extensions inside the
microVM talk to. Here each environment of a process runtime gets one too, on its own loopback port:

- ``/2018-06-01/runtime/...`` goes straight to the environment's ``RuntimeAPI`` object, the same state machine
  the in-process runtime uses, so status codes and error bodies are the model's. A ``/next`` with nothing to
  hand out waits on ``api.waiter`` until the environment delivers an invocation (or the runtime hangs up).
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

import anyio

from .http import HttpServer, Request, bind_loopback, http_post

__all__ = ["RuntimeServer", "ExtensionsAPI", "Telemetry"]

MAX_REQUEST_BYTES = 7 * 1024 * 1024    # above the 6 MB response limit, so RuntimeAPI can answer its own 413
MAX_EXTENSIONS = 10
EXTENSION_EVENTS = ("INVOKE", "SHUTDOWN")
TELEMETRY_TYPES = ("platform", "function", "extension")


def _error(status: int, error_type: str, message: str):
    return status, json.dumps({"errorMessage": message, "errorType": error_type}).encode(), {
        "Content-Type": "application/json"}


async def _first(*events: anyio.Event) -> None:
    """Wait until any one of ``events`` is set."""
    async with anyio.create_task_group() as tg:
        async def wait(ev):
            await ev.wait()
            tg.cancel_scope.cancel()
        for ev in events:
            tg.start_soon(wait, ev)


class _Extension:
    __slots__ = ("id", "name", "events", "queue", "ready", "state")

    def __init__(self, name: str, events: list[str]) -> None:
        self.id = str(uuid.uuid4())
        self.name = name
        self.events = events
        self.queue: list[dict] = []
        self.ready = anyio.Event()
        self.state = "Registered"


class ExtensionsAPI:
    """Extension registration and events for one environment (error types as Lambda's Runtime API server)."""

    def __init__(self, server: "RuntimeServer") -> None:
        self.server = server
        self.extensions: dict[str, _Extension] = {}

    def _lookup(self, request: Request):
        ident = request.headers.get("lambda-extension-identifier")
        if not ident:
            return None, _error(403, "Extension.MissingExtensionIdentifier",
                                "Missing Lambda-Extension-Identifier header")
        ext = self.extensions.get(ident)
        if ext is None:
            return None, _error(403, "Extension.UnknownExtensionIdentifier", f"Unknown extension {ident}")
        return ext, None

    def route(self, request: Request):
        rest = request.path[len("/2020-01-01/extension"):]
        method = request.method
        if rest == "/register" and method == "POST":
            return self.register(request)
        if rest == "/event/next" and method == "GET":
            return self.next(request)
        if rest in ("/init/error", "/exit/error") and method == "POST":
            ext, err = self._lookup(request)
            if err:
                return err
            error_type = request.headers.get("lambda-extension-function-error-type")
            if not error_type:
                return _error(400, "Extension.MissingHeader", "Missing Lambda-Extension-Function-Error-Type")
            if rest == "/init/error" and not self.server.initialising:
                return _error(403, "Extension.InvalidExtensionState",
                              f"State transition from {ext.state} to InitError failed")
            ext.state = "InitError" if rest == "/init/error" else "ExitError"
            self.server.env.log(f"EXTENSION\tName: {ext.name}\tState: {ext.state}\tError Type: {error_type}")
            return 202, b'{"status":"OK"}', {"Content-Type": "application/json"}
        if rest in ("/register", "/event/next", "/init/error", "/exit/error"):
            return _error(405, "MethodNotAllowed", f"{method} is not allowed on {request.path}")
        return _error(404, "NotFound", f"{method} {request.path} is not an Extensions API route")

    def register(self, request: Request):
        name = request.headers.get("lambda-extension-name", "")
        if not name:
            return _error(403, "Extension.InvalidExtensionName", "Missing Lambda-Extension-Name header")
        if not self.server.initialising:
            return _error(403, "Extension.RegistrationClosed", "Extension registration closed already")
        if len(self.extensions) >= MAX_EXTENSIONS:
            return _error(403, "Extension.TooManyExtensions", f"At most {MAX_EXTENSIONS} extensions may register")
        try:
            body = json.loads(request.body or b"{}")
            events = list(body.get("events", []))
        except (ValueError, AttributeError, TypeError) as exc:
            return _error(400, "InvalidRequestFormat", f"Could not parse the register body: {exc}")
        bad = [e for e in events if e not in EXTENSION_EVENTS]
        if bad:
            return _error(403, "Extension.InvalidEventType", f"Unknown event type(s): {', '.join(map(str, bad))}")
        ext = _Extension(name, events)
        self.extensions[ext.id] = ext
        env = self.server.env
        env.emit("extension", "register", f"Extension {name} registers for {', '.join(events) or 'no events'}",
                 extension=name, events=events)
        cfg = env.snapshot.config
        body = {"functionName": cfg["FunctionName"], "functionVersion": env.snapshot.version,
                "handler": cfg["Handler"]}
        return 200, json.dumps(body).encode(), {"Content-Type": "application/json",
                                                "Lambda-Extension-Identifier": ext.id}

    def next(self, request: Request):
        ext, err = self._lookup(request)
        if err:
            return err
        ext.state = "Ready"
        if ext.queue:
            return self._event(ext)

        async def wait():
            ext.ready = anyio.Event()
            await _first(ext.ready, request.closed)
            if ext.queue:
                return self._event(ext)
            return _error(410, "Extension.Closed", "The connection closed")
        return wait()

    @staticmethod
    def _event(ext: _Extension):
        event = ext.queue.pop(0)
        return 200, json.dumps(event).encode(), {"Content-Type": "application/json",
                                                 "Lambda-Extension-Event-Identifier": str(uuid.uuid4())}

    def publish(self, event: dict) -> int:
        """Queue an INVOKE or SHUTDOWN event for every extension registered for it; returns how many."""
        count = 0
        for ext in self.extensions.values():
            if event["eventType"] in ext.events:
                ext.queue.append(event)
                ext.ready.set()
                count += 1
        return count


class Telemetry:
    """Telemetry API subscriptions of one environment, and the batching of events to their destinations."""

    def __init__(self, server: "RuntimeServer") -> None:
        self.server = server
        self.subscribers: list[dict] = []

    def subscribe(self, request: Request):
        ext, err = self.server.extensions._lookup(request)
        if err:
            return err
        try:
            body = json.loads(request.body)
            types = list(body["types"])
            dest = body["destination"]
            protocol, uri = dest["protocol"], dest["URI"]
            buffering = body.get("buffering", {})
            max_items = int(buffering.get("maxItems", 1000))
            max_bytes = int(buffering.get("maxBytes", 262144))
            timeout_ms = int(buffering.get("timeoutMs", 1000))
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "ValidationError", f"Could not parse the subscription request: {exc}")
        problems = []
        if not set(types) <= set(TELEMETRY_TYPES):
            problems.append(f"types must be among {', '.join(TELEMETRY_TYPES)}")
        if not 1000 <= max_items <= 10000:
            problems.append("buffering.maxItems must be between 1000 and 10000")
        if not 262144 <= max_bytes <= 1048576:
            problems.append("buffering.maxBytes must be between 262144 and 1048576")
        if not 25 <= timeout_ms <= 30000:
            problems.append("buffering.timeoutMs must be between 25 and 30000")
        if protocol != "HTTP" or not str(uri).startswith("http://"):
            problems.append("destination must be {\"protocol\": \"HTTP\", \"URI\": \"http://sandbox.localdomain:PORT/...\"}")
        if problems:
            return _error(400, "ValidationError", "; ".join(problems))
        host_port, _, path = uri[len("http://"):].partition("/")
        host, _, port = host_port.partition(":")
        if host in ("sandbox.localdomain", "sandbox", "localhost"):
            host = "127.0.0.1"        # AWS's in-sandbox name for the extension's own listener
        sub = {"extension": ext.name, "types": types, "host": host, "port": int(port or 80), "path": "/" + path,
               "max_items": max_items, "max_bytes": max_bytes, "timeout": timeout_ms / 1000, "buffer": [],
               "flush": None}
        self.subscribers.append(sub)
        self.server.env.emit("extension", "telemetry", f"Extension {ext.name} subscribes to telemetry "
                             f"({', '.join(types)}) at {uri}", extension=ext.name, types=types)
        self.record("platform", "platform.telemetrySubscription",
                    {"name": ext.name, "state": "Subscribed", "types": types})
        return 200, b"OK", {"Content-Type": "text/plain"}

    def record(self, kind: str, event_type: str, record) -> None:
        """One event for subscribers of ``kind`` (platform / function / extension)."""
        if not self.subscribers:
            return
        lab = self.server.lab
        event = {"time": lab.iso_time(lab.now), "type": event_type, "record": record}
        for sub in self.subscribers:
            if kind in sub["types"]:
                sub["buffer"].append(event)
                if len(sub["buffer"]) >= sub["max_items"]:
                    self._flush_now(sub)
                elif sub["flush"] is None:
                    sub["flush"] = lab.engine.schedule(sub["timeout"], self._flush_now, sub)

    def _flush_now(self, sub: dict) -> None:
        self.server.lab.engine.cancel(sub["flush"])
        sub["flush"] = None
        batch, sub["buffer"] = sub["buffer"], []
        if batch:
            self.server.env.emit("extension", "telemetry", f"Telemetry batch of {len(batch)} event(s) to "
                                 f"{sub['extension']}", extension=sub["extension"], events=len(batch))
            self.server.session.driver.spawn(http_post, sub["host"], sub["port"], sub["path"],
                                             json.dumps(batch).encode(), {"Content-Type": "application/json"})


class RuntimeServer:
    """The HTTP endpoint of one environment."""

    def __init__(self, session, env) -> None:
        self.session = session
        self.lab = session.lab
        self.env = env
        self.runtime = None                  # the ProcessRuntime, set when it is made
        self.initialising = True             # until the runtime's first /next
        self.extensions = ExtensionsAPI(self)
        self.telemetry = Telemetry(self)
        self.http = HttpServer(bind_loopback(), self.handle, max_body=MAX_REQUEST_BYTES, name=f"runtime-{env.id}")
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
        driver._check_waiters()
        return result

    def _runtime(self, request: Request):
        env, runtime = self.env, self.runtime
        api = env.api
        is_next = request.method == "GET" and request.path == "/2018-06-01/runtime/invocation/next"
        if is_next and runtime is not None:
            runtime.before_next()
        if request.method == "POST" and runtime is not None and runtime.proc is not None:
            return self._settled(api, runtime, request)
        result = api.route(request.method, request.path, request.body, request.headers)
        if result is None:
            return self._wait_next(api, request)
        if runtime is not None:
            runtime.after_route(request, result)
        return result

    async def _settled(self, api, runtime, request: Request):
        """A POST from the process: first let the loop read what the process printed before it (its output
        pipes and this socket race), so those lines land before END and in a LogType=Tail result."""
        for _ in range(3):
            await anyio.sleep(0)
        self.session.driver.catch_up()
        result = api.route(request.method, request.path, request.body, request.headers)
        runtime.after_route(request, result)
        self.session.driver._check_waiters()
        return result

    def _wait_next(self, api, request: Request):
        box: list = []
        arrived = anyio.Event()

        def waiter(rinv):
            box.append(rinv)
            arrived.set()
        api.waiter = waiter

        async def wait():
            await _first(arrived, request.closed)
            if box:
                rinv = box[0]
                return 200, rinv.payload, rinv.headers()
            if api.waiter is waiter:
                api.waiter = None
            return _error(410, "Runtime.Closed", "The connection closed")
        return wait()

    def close(self) -> None:
        for sub in self.telemetry.subscribers:
            self.lab.engine.cancel(sub["flush"])
        self.http.close()
