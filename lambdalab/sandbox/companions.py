"""An execution environment's companions: its extensions and the Telemetry API that feeds them.

In AWS the extensions of a function run next to its runtime in the same microVM and follow the environment's
lifecycle through the Extensions API: they register at the start of Init (registration closes at the runtime's
first ``/next``), initialise in parallel with each other, get an INVOKE event with each request, may keep
working after the runtime's response (the invoke phase waits for them: it is in REPORT's Duration, but the
caller already has its answer), and get SHUTDOWN when the environment goes (reason ``spindown``, or
``timeout`` / ``failure`` when a timeout or crash resets the runtime, after which they start again inside the
next invoke). An extension may subscribe to the Telemetry API, which the environment feeds with platform and
function events.

``Companions`` is that part of one environment: the protocol objects (``ExtensionsAPI``, ``TelemetryAPI``) and
the Steps and telemetry records the lifecycle produces. An environment without extensions has none of it, and
every method here is then a quick no-op (the bulk runs depend on that).
"""
from __future__ import annotations

import json

from .extensions import ExtensionsAPI
from .telemetry import TelemetryAPI

__all__ = ["Companions", "TELEMETRY_STATUS"]

TELEMETRY_STATUS = {"ok": "success", "error": "error", "timeout": "timeout", "exit": "failure"}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class Companions:
    __slots__ = ("env", "specs", "need_init")

    def __init__(self, env) -> None:
        self.env = env
        lab = env.lab
        snapshot = env.snapshot
        self.specs = tuple(snapshot.model.get("extensions") or ())
        self.need_init = False            # extensions start again inside the next invoke (after a reset)
        if self.specs:
            env.extensions = []
            env.extensions_api = ExtensionsAPI(snapshot.name, snapshot.version, snapshot.handler,
                                               lab.ids.uuid)
            if any(e.telemetry is not None for e in self.specs):
                env.telemetry = TelemetryAPI(lambda: lab.now, lab.iso_time, lab.engine.schedule, lab.engine.cancel,
                                             self.telemetry_batch)

    # --- Init -----------------------------------------------------------------------------------------------
    def register(self) -> None:
        """Each extension POSTs /2020-01-01/extension/register (and PUTs /telemetry if it subscribes)."""
        env = self.env
        api = env.extensions_api
        if api is None:
            return
        for ext in self.specs:
            status, body, headers = api.register(ext)
            if status == 200:
                env.extensions.append(ext)
                env.emit("extension", "register",
                         "Extension {} ({}) registers for {} -> 200, Lambda-Extension-Identifier: {}...", ext.name,
                         ext.kind, ', '.join(ext.events), headers['Lambda-Extension-Identifier'][:8],
                         extension=ext.name, kind=ext.kind, events=list(ext.events), method="POST",
                         path="/2020-01-01/extension/register", status=200, headers=headers)
            else:
                error = json.loads(body)
                env.emit("extension", "register", "Extension {} ({}) fails to register -> {} {}: {}", ext.name,
                         ext.kind, status, error['errorType'], error['errorMessage'], extension=ext.name, kind=ext.kind,
                         method="POST", path="/2020-01-01/extension/register", status=status, error=error)
                continue
            if ext.telemetry is not None and env.telemetry is not None:
                status, body = env.telemetry.subscribe(ext.name, ext.telemetry)
                text = "200 OK" if status == 200 else f"{status} {json.loads(body)['errorMessage']}"
                env.emit("extension", "telemetry", "Extension {} subscribes to the Telemetry API -> {}", ext.name, text,
                         extension=ext.name, method="PUT", path="/2022-07-01/telemetry", status=status)

    def init_time(self) -> float:
        """Extensions start in parallel: their part of Init lasts as long as the slowest one."""
        rng = self.env.lab.rng
        return max((ext.init_time(rng) for ext in self.env.extensions), default=0.0)

    def close_registration(self) -> None:
        """The runtime's first /next: registration closes and Init's backlog of telemetry is let go."""
        env = self.env
        api = env.extensions_api
        if api is None or api.closed:
            return
        api.close()
        if env.telemetry is not None:
            for reg in api.registrations:
                env.telemetry.publish("platform.extension", {"name": reg.name, "state": reg.state,
                                                             "events": list(reg.events)})
            env.telemetry.end_backlog()

    def telemetry_batch(self, name: str, batch: list, reason: str) -> None:
        types = sorted({e["type"] for e in batch})
        self.env.emit("extension", "telemetry", "The Telemetry API delivers {} event{} to {} ({}): {}", len(batch),
                      's' if len(batch) != 1 else '', name, reason, ', '.join(types), extension=name, events=len(batch),
                      reason=reason, types=types)

    def init_start(self, phase: str) -> None:
        """platform.initStart; ``phase`` is "invoke" for an Init retried inside an invoke (a suppressed init)."""
        env = self.env
        if env.telemetry is None:
            return
        env.telemetry.publish("platform.initStart", {
            "initializationType": env.init_type, "phase": phase,
            "runtimeVersion": env.lab.runtime_version(env.snapshot.runtime),
            "runtimeVersionArn": env.lab.runtime_version_arn(env.snapshot.runtime),
            "functionName": env.snapshot.name, "functionVersion": env.snapshot.version})

    def init_done(self, status: str, error_type, seconds: float, phase: str = "init", t: float | None = None) -> None:
        """platform.initRuntimeDone and platform.initReport."""
        env = self.env
        if env.telemetry is None:
            return
        record = {"initializationType": env.init_type, "phase": phase, "status": status}
        if error_type:
            record["errorType"] = error_type
        env.telemetry.publish("platform.initRuntimeDone", dict(record), t)
        record["metrics"] = {"durationMs": round(seconds * 1000, 3)}
        env.telemetry.publish("platform.initReport", record, t)

    # --- Invoke ---------------------------------------------------------------------------------------------
    def invoke_event(self, inv) -> None:
        """Every extension registered for INVOKE gets the event as the runtime gets the request."""
        env = self.env
        lab = env.lab
        rinv = env.api.current or env.api.pending
        deadline_ms = rinv.deadline_ms if rinv else int((lab.epoch + lab.now + env.snapshot.timeout) * 1000)
        for reg in env.extensions_api.subscribers("INVOKE"):
            event = env.extensions_api.invoke_event(inv.request_id, deadline_ms, inv.invoked_arn, inv.trace_id or "")
            reg.extension.receive(env.id, event)
            if lab.trace.full:
                env.emit("extension", "invoke",
                         "Extension {} gets an INVOKE event (GET /2020-01-01/extension/event/next -> 200)", reg.name,
                         request_id=inv.request_id, extension=reg.name, event=event)

    def after_response(self, inv) -> float:
        """Extensions keep working after the runtime's answer (e.g. shipping logs); the phase waits for them.

        They work in parallel, so the slowest decides; work past the invoke deadline is cut at the deadline.
        """
        env = self.env
        lab = env.lab
        left = max(0.0, inv.t_start + env.snapshot.timeout - lab.now)
        longest = 0.0
        for ext in env.extensions:
            if "INVOKE" not in ext.events:
                continue
            seconds = min(ext.invoke_time(lab.rng), left)
            longest = max(longest, seconds)
            if seconds and lab.trace.full:
                env.emit("extension", "invoke", "Extension {} keeps working after the response, then calls event/next:"
                         " {:.2f} ms (the invoke phase waits for it)", ext.name, seconds * 1000,
                         request_id=inv.request_id, extension=ext.name, phase="invoke", duration=seconds)
        return longest

    def runtime_done(self, inv, status: str, body: bytes, error_type: str | None) -> None:
        """platform.runtimeDone: the runtime has answered (or failed) this invoke."""
        telemetry = self.env.telemetry
        record = {"requestId": inv.request_id, "status": TELEMETRY_STATUS[status],
                  "metrics": {"durationMs": round((self.env.lab.now - inv.t_start) * 1000, 3),
                              "producedBytes": len(body)}}
        if error_type:
            record["errorType"] = error_type
        telemetry.publish("platform.runtimeDone", record)

    def report(self, inv, cold: bool) -> None:
        """platform.report: the invoke phase is over."""
        env = self.env
        lab = env.lab
        metrics = {"durationMs": round(inv.duration * 1000, 3), "billedDurationMs": inv.billed_ms,
                   "memorySizeMB": env.snapshot.memory,
                   "maxMemoryUsedMB": min(lab.cost.memory_base_mb, env.snapshot.memory)}
        if cold:
            metrics["initDurationMs"] = round(env.init_duration * 1000, 3)
        record = {"requestId": inv.request_id, "status": TELEMETRY_STATUS[inv.status], "metrics": metrics}
        if inv.error_type:
            record["errorType"] = inv.error_type
        env.telemetry.publish("platform.report", record)

    # --- resets and Shutdown ------------------------------------------------------------------------------------
    def reset(self, reason: str) -> None:
        """The runtime restarts: extensions registered for SHUTDOWN get it (reason timeout / failure) and start
        again inside the next invoke."""
        env = self.env
        api = env.extensions_api
        if api is None:
            return
        lab = env.lab
        deadline_ms = int((lab.epoch + lab.now + lab.cost.shutdown_cap) * 1000)
        for reg in api.subscribers("SHUTDOWN"):
            event = api.shutdown_event(reason, deadline_ms)
            reg.extension.receive(env.id, event)
            env.emit("extension", "shutdown",
                     "Extension {} gets SHUTDOWN (shutdownReason {}); it starts again with the next invoke", reg.name,
                     reason, extension=reg.name, reason=reason, event=event)
        self.need_init = bool(env.extensions)

    def shutdown(self, reason: str, deadline_ms: int, left: float) -> float:
        """The Shutdown phase's part for extensions: SHUTDOWN to each subscriber, who cleans up in parallel
        (cut at what is ``left`` of the 2 s). Returns how long the slowest takes."""
        env = self.env
        lab = env.lab
        longest = 0.0
        for reg in env.extensions_api.subscribers("SHUTDOWN"):
            event = env.extensions_api.shutdown_event(reason, deadline_ms)
            reg.extension.receive(env.id, event)
            if env.telemetry is not None:
                env.telemetry.shutdown(reg.name)
            wanted = reg.extension.shutdown_time(lab.rng)
            spent = min(wanted, left)
            reg.state = "ShutDown"
            cut = f"; cut off at the {lab.cost.shutdown_cap:g} s limit" if wanted > left else ""
            env.emit("extension", "shutdown",
                     "Extension {} gets SHUTDOWN (shutdownReason {}) and cleans up: {:.2f} ms{}", reg.name, reason,
                     spent * 1000, cut, phase="shutdown", duration=spent, extension=reg.name, reason=reason,
                     deadlineMs=deadline_ms, event=event)
            longest = max(longest, spent)
        if env.telemetry is not None:
            env.telemetry.shutdown()
        return longest
