"""Lambda extensions, in process: companions of the runtime that live and die with the execution environment.

In AWS an extension is code that Lambda starts next to your function, usually from a layer. An *external*
extension is its own process in the microVM (found in ``/opt/extensions``): it keeps running while the runtime
works, can subscribe to ``INVOKE`` and ``SHUTDOWN`` events and can finish work after the handler has answered,
for example shipping logs. An *internal* extension runs inside the runtime process (a wrapper script or an
in-process agent); it may register for ``INVOKE`` but never for ``SHUTDOWN``, because by then the runtime
process is already being stopped.

Every extension talks to the Extensions API (``/2020-01-01/extension``) of its environment:

- ``POST register`` with the events it wants. At most 10 extensions may register, each name once, and
  registration closes when the runtime first asks for work (its first ``/next``): after that, Init is over.
- ``GET event/next`` blocks until the next event: ``INVOKE`` (``eventType``, ``deadlineMs``, ``requestId``,
  ``invokedFunctionArn``, ``tracing``) or ``SHUTDOWN`` (``eventType``, ``shutdownReason``, ``deadlineMs``).
  Calling ``next`` again is how an extension says "I am done with this event": the invoke phase only ends
  once the runtime *and* every extension have done so, which is why a slow extension lengthens ``Duration``.

What we model and what we simplify. ``Extension`` is a description you attach to a function
(``lab.create_function(..., extensions=[Extension("shipper", invoke=0.02)])``); each execution environment
registers it again through its own ``ExtensionsAPI`` (the protocol rules, no I/O, so an HTTP server can wrap
the same object). An extension's work is a time model, not code: ``init`` (seconds or a distribution) is its
start-up inside the Init phase, ``invoke`` is the work it does after the runtime has posted the response
(flushing logs or metrics), ``shutdown`` is its clean-up after ``SHUTDOWN``. Extensions start in parallel, so
the extension part of Init lasts as long as the slowest one. Events each extension receives are kept in
``Extension.received`` (and passed to ``on_event`` if given) so a notebook can look at them. An extension
may also carry a Telemetry API subscription (see ``lambdalab.sandbox.telemetry``). We do not model an
extension that crashes (``Extension.Crash``) or reports ``init/error`` / ``exit/error``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..engine.distributions import as_distribution
from ..observability.records import Statistics

__all__ = ["Extension", "ExtensionsAPI", "ExtensionsStatistics", "Registration", "MAX_EXTENSIONS", "EVENT_TYPES",
           "check_extensions"]

MAX_EXTENSIONS = 10
EVENT_TYPES = ("INVOKE", "SHUTDOWN")
PREFIX = "/2020-01-01/extension"


class Extension:
    """An extension attached to a function: its name, kind, events and how long its work takes.

    ``init``, ``invoke`` and ``shutdown`` take seconds or a distribution (``ll.Fixed``, ``ll.Exponential``, ...).
    ``events`` defaults to ``["INVOKE", "SHUTDOWN"]`` for an external extension and ``["INVOKE"]`` for an
    internal one. ``telemetry`` is an optional Telemetry API subscription: a ``Subscription`` or the JSON body
    of ``PUT /2022-07-01/telemetry`` (with ``"destination"`` a list or a callable that receives each batch).
    """

    def __init__(self, name: str, *, internal: bool = False, init=0.0, invoke=0.0, shutdown=0.0,
                 events=None, telemetry=None, on_event=None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("an extension needs a non-empty name")
        self.name = name
        self.internal = bool(internal)
        self._init = as_distribution(init)
        self._invoke = as_distribution(invoke)
        self._shutdown = as_distribution(shutdown)
        if events is None:
            events = ("INVOKE",) if self.internal else EVENT_TYPES
        self.events = tuple(events)
        self.telemetry = telemetry
        self.on_event = on_event
        self.received: list[tuple[str, dict]] = []     # (environment id, event), in the order delivered

    @property
    def kind(self) -> str:
        return "internal" if self.internal else "external"

    def init_time(self, rng) -> float:
        return self._init(rng)

    def invoke_time(self, rng) -> float:
        return self._invoke(rng)

    def shutdown_time(self, rng) -> float:
        return self._shutdown(rng)

    def receive(self, env_id: str, event: dict) -> None:
        self.received.append((env_id, event))
        if self.on_event is not None:
            self.on_event(event)

    def __repr__(self) -> str:
        return f"<Extension {self.name} ({self.kind}) events={list(self.events)}>"


def check_extensions(extensions) -> list:
    """``create_function(extensions=...)``: a list of ``Extension`` objects, refused early if it is not."""
    items = list(extensions or ())
    for item in items:
        if not isinstance(item, Extension):
            raise TypeError(f"extensions= takes lambdalab.sandbox.extensions.Extension objects; got {item!r}")
    return items


class Registration:
    """One extension registered in one environment (what ``Lambda-Extension-Identifier`` names)."""

    __slots__ = ("extension", "identifier", "events", "state")

    def __init__(self, extension: Extension, identifier: str, events: tuple) -> None:
        self.extension = extension
        self.identifier = identifier
        self.events = events
        self.state = "Registered"        # Registered -> Ready (first event/next) -> ShutDown

    @property
    def name(self) -> str:
        return self.extension.name

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


def _error(status: int, error_type: str, message: str):
    return status, json.dumps({"errorMessage": message, "errorType": error_type}).encode(), {
        "Content-Type": "application/json"}


class ExtensionsAPI:
    """The Extensions API of one environment: registration rules and event fan-out, with no I/O."""

    def __init__(self, function_name: str, function_version: str, handler: str, new_id) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.handler = handler
        self._new_id = new_id
        self.registrations: list[Registration] = []
        self.closed = False

    def register(self, extension: Extension, events=None):
        """``POST /2020-01-01/extension/register``: returns ``(status, body, headers)``."""
        events = tuple(extension.events if events is None else events)
        if self.closed:
            return _error(403, "Extension.RegistrationClosed",
                          "Registration is closed: the runtime has already asked for its first invocation")
        if len(self.registrations) >= MAX_EXTENSIONS:
            return _error(403, "Extension.TooManyExtensions",
                          f"At most {MAX_EXTENSIONS} extensions can register in one execution environment")
        if any(r.name == extension.name for r in self.registrations):
            return _error(403, "Extension.AlreadyRegistered",
                          f"An extension named {extension.name} is already registered")
        for event in events:
            if event not in EVENT_TYPES:
                return _error(403, "Extension.InvalidEventType", f"{event}: not an event type extensions can "
                              "register for (INVOKE, SHUTDOWN)")
            if event == "SHUTDOWN" and extension.internal:
                return _error(403, "Extension.InvalidEventType", "SHUTDOWN: "
                              "ShutdownEventNotSupportedForInternalExtension")
        reg = Registration(extension, self._new_id(), events)
        self.registrations.append(reg)
        body = json.dumps({"functionName": self.function_name, "functionVersion": self.function_version,
                           "handler": self.handler}).encode()
        return 200, body, {"Lambda-Extension-Identifier": reg.identifier, "Content-Type": "application/json"}

    def close(self) -> None:
        """The runtime called ``/next`` for the first time: no more registrations, every extension is Ready."""
        self.closed = True
        for reg in self.registrations:
            if reg.state == "Registered":
                reg.state = "Ready"

    def subscribers(self, event_type: str) -> list[Registration]:
        return [r for r in self.registrations if r.wants(event_type) and r.state != "ShutDown"]

    def invoke_event(self, request_id: str, deadline_ms: int, arn: str, trace_id: str) -> dict:
        return {"eventType": "INVOKE", "deadlineMs": deadline_ms, "requestId": request_id,
                "invokedFunctionArn": arn, "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_id}}

    @staticmethod
    def shutdown_event(reason: str, deadline_ms: int) -> dict:
        return {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms}

    def by_identifier(self, identifier: str) -> Registration | None:
        for reg in self.registrations:
            if reg.identifier == identifier:
                return reg
        return None

    def statistics(self) -> "ExtensionsStatistics":
        return ExtensionsStatistics(self.closed, tuple((r.name, r.extension.kind, tuple(r.events), r.state)
                                                       for r in self.registrations))


@dataclass(frozen=True)
class ExtensionsStatistics(Statistics):
    closed: bool            # registration is over (the first /next of the runtime)
    registered: tuple       # (name, kind, events, state) of each registered extension
