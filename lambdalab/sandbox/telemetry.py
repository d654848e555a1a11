"""The Telemetry API: a stream of what happens in an execution environment, delivered to extensions.

In AWS an extension subscribes with ``PUT /2022-07-01/telemetry`` to one or more telemetry types: ``platform``
(the lifecycle: ``platform.initStart``, ``platform.initRuntimeDone``, ``platform.initReport``,
``platform.start``, ``platform.runtimeDone``, ``platform.report``, ...), ``function`` (what the function code
printed or logged) and ``extension`` (what extensions printed). Lambda buffers the events and posts them in
batches to a listener the extension runs (HTTP or TCP). A batch goes out when the buffer holds ``maxItems``
events or ``maxBytes`` bytes, or when ``timeoutMs`` has passed since its first event. Each event is
``{"time": <ISO 8601>, "type": <type>, "record": {...}}``; function lines are plain strings in ``record``.

Three things follow that learners notice in real life, and that this model reproduces:
- an extension that subscribes during Init still receives the events from the start of Init (Lambda holds
  them until a subscription exists);
- a frozen environment runs nothing, so a batch that falls due while the environment is frozen is delivered
  at the next thaw or during Shutdown: the ``platform.report`` of an invoke usually arrives with the next one;
- during Shutdown whatever is still buffered is flushed to the subscribers.

This module holds the subscription rules and the buffering with no transport: a ``Subscription`` hands each
batch to its ``destination``, a Python list (the batch is appended) or a callable. The real-time driver can
wrap ``TelemetryAPI.subscribe`` in an HTTP route and give a destination that posts the batch. Simplified: we
validate and keep ``schemaVersion`` but emit one record shape (2022-12-13), omit ``spans`` and ``tracing``,
never drop events (no ``platform.logsDropped``), and the ``extension`` type carries nothing because modelled
extensions print nothing. The error type for a bad subscription is our choice (``ValidationError``).
"""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

from ..observability.records import Statistics

__all__ = ["Subscription", "TelemetryAPI", "TelemetryStatistics", "TelemetryValidationError", "TYPES",
           "SCHEMA_VERSIONS", "DEFAULTS"]

TYPES = ("platform", "function", "extension")
SCHEMA_VERSIONS = ("2022-07-01", "2022-12-13", "2025-01-29")
LIMITS = {"maxItems": (1_000, 10_000), "maxBytes": (262_144, 1_048_576), "timeoutMs": (25, 30_000)}
DEFAULTS = {"maxItems": 10_000, "maxBytes": 262_144, "timeoutMs": 1_000}


class TelemetryValidationError(ValueError):
    """A subscription request that the Telemetry API refuses (HTTP 400)."""

    error_type = "ValidationError"


def validate(body: dict) -> dict:
    """Check a ``PUT /telemetry`` body; returns the buffering settings with defaults filled in."""
    if not isinstance(body, dict):
        raise TelemetryValidationError("The request body must be a JSON object")
    version = body.get("schemaVersion", "2022-12-13")
    if version not in SCHEMA_VERSIONS:
        raise TelemetryValidationError(f"schemaVersion {version!r} is not supported; use one of "
                                       f"{', '.join(SCHEMA_VERSIONS)}")
    types = body.get("types")
    if not isinstance(types, (list, tuple)) or not types:
        raise TelemetryValidationError("types must be a non-empty list of platform, function, extension")
    for t in types:
        if t not in TYPES:
            raise TelemetryValidationError(f"types: {t!r} is not one of platform, function, extension")
    buffering = dict(DEFAULTS)
    given = body.get("buffering") or {}
    if not isinstance(given, dict):
        raise TelemetryValidationError("buffering must be an object with maxItems, maxBytes, timeoutMs")
    for key, value in given.items():
        if key not in LIMITS:
            raise TelemetryValidationError(f"buffering: unknown setting {key!r} (maxItems, maxBytes, timeoutMs)")
        lo, hi = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise TelemetryValidationError(f"buffering.{key} must be an integer from {lo:,} to {hi:,}; "
                                           f"got {value!r}")
        buffering[key] = value
    destination = body.get("destination")
    if destination is None:
        raise TelemetryValidationError("destination is required")
    if isinstance(destination, dict):
        if destination.get("protocol") not in ("HTTP", "TCP"):
            raise TelemetryValidationError("destination.protocol must be HTTP or TCP")
        if destination["protocol"] == "HTTP":
            destination_address(destination)
        if destination["protocol"] == "TCP" and "port" not in destination:
            raise TelemetryValidationError("destination.port is required for the TCP protocol")
    elif not (isinstance(destination, list) or callable(destination)):
        raise TelemetryValidationError("destination must be a list, a callable, or {protocol, URI}")
    return buffering


LOCAL_HOSTS = ("sandbox.localdomain", "sandbox", "localhost", "127.0.0.1", "::1")


def destination_address(destination: dict) -> tuple[str, int, str]:
    """(host, port, path) of an HTTP destination, which must be the extension's own listener: in AWS the
    Telemetry API only delivers inside the microVM (``http://sandbox.localdomain:PORT/...``). Anything else is
    refused (400) and never contacted, so learner code cannot point the lab at another machine."""
    uri = str(destination.get("URI", ""))
    try:
        parts = urllib.parse.urlsplit(uri)
        port = parts.port
    except ValueError:
        raise TelemetryValidationError(f"destination.URI is not a valid address: {uri!r}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise TelemetryValidationError("destination.URI must be an http:// address for the HTTP protocol")
    host = parts.hostname
    if host not in LOCAL_HOSTS and not host.startswith("127."):
        raise TelemetryValidationError(f"destination.URI must name the sandbox itself (http://sandbox.localdomain:"
                                       f"PORT/...); {host!r} is not reachable from an execution environment")
    if port is None:
        raise TelemetryValidationError("destination.URI needs the port the extension listens on")
    return ("127.0.0.1" if not host.startswith("127.") and host != "::1" else host), port, parts.path or "/"


class Subscription:
    """What one extension asked for: types, buffering and where batches go.

    ``destination`` is a list (each batch is appended to it), a callable ``batch -> None``, or an AWS-style
    ``{"protocol": "HTTP", "URI": ...}`` dict whose delivery a transport supplies through ``sender``.
    """

    def __init__(self, types=("platform", "function"), buffering: dict | None = None, destination=None,
                 schema_version: str = "2022-12-13", sender=None) -> None:
        body = {"schemaVersion": schema_version, "types": list(types), "buffering": dict(buffering or {}),
                "destination": destination if destination is not None else []}
        self.buffering = validate(body)
        self.types = tuple(types)
        self.schema_version = schema_version
        self.destination = body["destination"]
        self.sender = sender
        self.batches_delivered = 0

    @classmethod
    def from_body(cls, body: dict, sender=None) -> "Subscription":
        validate(body)
        return cls(body["types"], body.get("buffering"), body["destination"], body.get("schemaVersion", "2022-12-13"),
                   sender)

    def deliver(self, batch: list) -> None:
        self.batches_delivered += 1
        if self.sender is not None:
            self.sender(batch)
        elif isinstance(self.destination, list):
            self.destination.append(batch)
        elif callable(self.destination):
            self.destination(batch)

    def __repr__(self) -> str:
        return f"<Subscription types={list(self.types)} buffering={self.buffering}>"


class _Buffer:
    __slots__ = ("name", "subscription", "events", "bytes", "timer", "due")

    def __init__(self, name: str, subscription: Subscription) -> None:
        self.name = name
        self.subscription = subscription
        self.events: list = []
        self.bytes = 0
        self.timer = None
        self.due = False


class TelemetryAPI:
    """Telemetry of one environment: subscriptions, buffers and flushing (transport-free).

    The owner supplies ``now()`` (virtual seconds), ``iso(t)``, ``schedule(delay, fn)`` / ``cancel(handle)``
    for the buffering timeout, and ``on_batch(name, batch, reason)`` to record each delivery.
    """

    def __init__(self, now, iso, schedule, cancel, on_batch=None) -> None:
        self._now, self._iso, self._schedule, self._cancel = now, iso, schedule, cancel
        self._on_batch = on_batch
        self.buffers: list[_Buffer] = []
        self.backlog: list = []          # events of the Init phase, replayed to each new subscriber
        self.keep_backlog = True
        self.frozen = False

    # --- subscribing --------------------------------------------------------------------------------------
    def subscribe(self, name: str, subscription) -> tuple[int, bytes]:
        """``PUT /2022-07-01/telemetry`` for extension ``name``; ``subscription`` is a Subscription or a body."""
        try:
            if not isinstance(subscription, Subscription):
                subscription = Subscription.from_body(subscription)
        except TelemetryValidationError as exc:
            return 400, json.dumps({"errorMessage": str(exc), "errorType": exc.error_type}).encode()
        self.buffers = [b for b in self.buffers if b.name != name]
        buffer = _Buffer(name, subscription)
        self.buffers.append(buffer)
        for event in self.backlog:
            self._add(buffer, event)
        self.publish("platform.telemetrySubscription", {"name": name, "state": "Subscribed",
                                                        "types": list(subscription.types)})
        return 200, b'"OK"'

    def end_backlog(self) -> None:
        """Init is over (registration closed): later subscribers only get later events."""
        self.keep_backlog = False
        self.backlog = []

    # --- publishing -----------------------------------------------------------------------------------------
    def publish(self, event_type: str, record, t: float | None = None) -> dict:
        """Add one event (at virtual time ``t``, default now) to every subscriber that wants its type."""
        event = {"time": self._iso(self._now() if t is None else t), "type": event_type, "record": record}
        if self.keep_backlog:
            self.backlog.append(event)
        for buffer in self.buffers:
            self._add(buffer, event)
        return event

    def _add(self, buffer: _Buffer, event: dict) -> None:
        if event["type"].partition(".")[0] not in buffer.subscription.types:
            return
        buffer.events.append(event)
        buffer.bytes += len(json.dumps(event))
        limits = buffer.subscription.buffering
        if len(buffer.events) >= limits["maxItems"] or buffer.bytes >= limits["maxBytes"]:
            self._flush(buffer, "maxItems" if len(buffer.events) >= limits["maxItems"] else "maxBytes")
        elif buffer.timer is None and not buffer.due:
            buffer.timer = self._schedule(limits["timeoutMs"] / 1000.0, self._timeout, buffer)

    def _timeout(self, buffer: _Buffer) -> None:
        buffer.timer = None
        if self.frozen:
            buffer.due = True            # nothing runs in a frozen microVM: deliver at thaw or shutdown
        else:
            self._flush(buffer, "timeoutMs")

    def _flush(self, buffer: _Buffer, reason: str) -> None:
        if buffer.timer is not None:
            self._cancel(buffer.timer)
            buffer.timer = None
        if not buffer.events:
            buffer.due = False
            return
        if self.frozen and reason != "shutdown":
            buffer.due = True
            return
        buffer.due = False
        batch, buffer.events, buffer.bytes = buffer.events, [], 0
        buffer.subscription.deliver(batch)
        if self._on_batch is not None:
            self._on_batch(buffer.name, batch, reason)

    # --- the environment's lifecycle ----------------------------------------------------------------------
    def freeze(self) -> None:
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False
        for buffer in self.buffers:
            if buffer.due:
                self._flush(buffer, "timeoutMs")

    def shutdown(self, name: str | None = None) -> None:
        """Flush what is buffered (for one subscriber, or all) during the Shutdown phase."""
        for buffer in self.buffers:
            if name is None or buffer.name == name:
                self._flush(buffer, "shutdown")

    def statistics(self) -> "TelemetryStatistics":
        return TelemetryStatistics(tuple(b.name for b in self.buffers), sum(len(b.events) for b in self.buffers),
                                   self.frozen)


@dataclass(frozen=True)
class TelemetryStatistics(Statistics):
    subscribers: tuple      # names of the extensions subscribed
    buffered: int           # events waiting in their buffers
    frozen: bool            # the environment is frozen: nothing is delivered until it thaws
