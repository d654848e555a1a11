"""The execution environment: one microVM's worth of Lambda, and its Init / Invoke / Shutdown lifecycle.

In AWS an execution environment is a Firecracker microVM on a worker host, holding one function version's code,
a runtime and any extensions. It serves one invocation at a time. Its life:

    Init      microVM boot, code fetch, then the Init phase proper: extensions, runtime bootstrap, function
              init (module-level code), limited to 10 s. Init Duration in REPORT covers those three.
    Invoking  the runtime gets the event from the Runtime API, runs the handler and posts the result.
    Idle      between invocations the microVM is frozen; a reuse thaws it ("warm start").
    Shutdown  idle too long, lifetime over, or its worker draining: SHUTDOWN to extensions, SIGTERM to the
              runtime, at most 2 s, then SIGKILL.
    Gone

``TRANSITIONS`` lists every legal move; any other raises, so an impossible lifecycle cannot happen silently.
Failures follow AWS: an Init error or Init timeout is reported (INIT_REPORT) and Init is tried again inside
the first invoke (a "suppressed init", whose time shows in that invoke's Duration); after an invoke timeout or a
runtime crash the runtime restarts, so module globals are rebuilt on the next invoke while /tmp survives.

Extensions (``sandbox/extensions.py``) register at the start of Init (registration closes at the runtime's
first /next), get INVOKE with each request and SHUTDOWN at the end (reason ``spindown``; ``timeout`` or
``failure`` when a timeout or crash resets the runtime, after which they start again inside the next invoke).
Their work after the runtime's response keeps the invoke phase open: it is in REPORT's Duration, but the
caller already has its answer. An extension may subscribe to the Telemetry API (``sandbox/telemetry.py``),
which this environment feeds with platform and function events.

Numbers: Init is limited to 10 s on demand and to max(130 s, timeout) for pre-initialised (provisioned)
environments; a suppressed init re-runs the runtime bootstrap and module code inside the invoke, under the
function timeout. Shutdown: no extensions means no grace period (killed at once); otherwise the runtime gets
300 ms (500 ms if an internal extension shares its process), then external extensions the rest of 2 s.

Each phase that takes time is a heap event; zero-time hops are method calls that record a Step. We simplify:
the handler runs eagerly when its invoke starts and its virtual duration decides when the response is posted;
the runtime always uses its whole SIGTERM grace period; the reset after a timeout or crash takes no time.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from math import ceil, log

from ..engine.vocabulary import ENV_STATES  # noqa: F401 (documented vocabulary)
from ..invocation import LeanInvocation
from . import vtime
from .extensions import ExtensionsAPI
from .python_runtime import LambdaContext, NullRuntime, Outcome, exit_body
from .telemetry import TelemetryAPI
from .runtime_api import MAX_RESPONSE_BYTES, RuntimeAPI, RuntimeInvocation

__all__ = ["ExecutionEnvironment", "TRANSITIONS", "IllegalTransition"]

TRANSITIONS = {
    "Init": {"Invoking", "Idle", "Shutdown"},
    "Idle": {"Invoking", "Shutdown"},
    "Invoking": {"Idle", "Shutdown"},
    "Shutdown": {"Gone"},
    "Gone": set(),
}
_TELEMETRY_STATUS = {"ok": "success", "error": "error", "timeout": "timeout", "exit": "failure"}
_TRACE_STATE = {"Init": "init", "Invoking": "invoking", "Idle": "frozen", "Shutdown": "shutdown", "Gone": "gone"}


class IllegalTransition(RuntimeError):
    pass


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class ExecutionEnvironment:
    def __init__(self, lab, env_id: str, snapshot, worker, init_type: str = "on-demand") -> None:
        self.lab = lab
        self.id = env_id
        self.snapshot = snapshot
        self.worker = worker
        self.init_type = init_type
        self.state = "Init"
        self.created_at = lab.now
        self.expires_at = lab.now + lab.fleet.environment_lifetime()
        self.idle_event = None                    # its pending expiry timer while idle (see fleet.worker_manager)
        self.idle_swept = False                   # ... kept by its pool's idle sweep
        self.invocations = 0
        self.current = None                       # the Invocation being served
        self.init_duration = 0.0                  # Init phase length, reported once in the first REPORT
        self.init_reported = False
        self.draining = False
        self._extension_specs = list(snapshot.model.get("extensions") or ())
        self.extensions = []                      # the Extension objects that registered (see _register)
        self.extensions_api = None
        self.telemetry = None
        self._extensions_need_init = False
        if self._extension_specs:
            self.extensions_api = ExtensionsAPI(snapshot.name, snapshot.version, snapshot.config["Handler"],
                                                lab.ids.uuid)
            if any(e.telemetry is not None for e in self._extension_specs):
                self.telemetry = TelemetryAPI(lambda: lab.now, lab.iso_time, lab.engine.schedule,
                                              lab.engine.cancel, self._telemetry_batch)
        self.log_stream = lab.log_stream_name(snapshot.version, self.created_at)
        self._tmp_dir = None
        self.environ = self._environment_variables()
        synthetic = snapshot.model.get("synthetic", False)
        self.runtime = NullRuntime(self) if synthetic else lab.make_runtime(self)
        self.api = RuntimeAPI(self._runtime_ready, self._on_response, self._on_error, self._on_init_error)
        # bulk runs (trace off/summary) of a synthetic function with no extensions skip the Runtime API's protocol
        # objects, which nothing can observe there; see _bulk_invoke
        self._bulk = synthetic and not lab.trace.full and not self._extension_specs
        self._lean = self._bulk and init_type == "on-demand"      # ... and may serve the bulk lane (thaw_lean)
        self._on_lean_done = self._lean_done                      # (one bound method, not one per invoke)
        self._init_outcome = None
        self._pending_invocation = None
        lab.counters.environment_up(snapshot.function.name)

    # --- bookkeeping --------------------------------------------------------------------------------------
    def _transition(self, new: str) -> None:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"environment {self.id}: {self.state} -> {new} is not a legal transition")
        self.state = new

    def emit(self, component: str, action: str, text: str, request_id=None, **detail):
        if request_id is None and self.state == "Init" and self._pending_invocation is not None:
            request_id = self._pending_invocation.request_id   # a cold start is part of the request it serves
        return self.lab.trace.emit(component, action, text, request_id=request_id, function=self.snapshot.name,
                                   version=self.snapshot.version, env_id=self.id, worker_id=self.worker.id,
                                   **detail)

    def tmp_dir(self) -> str:
        """The directory standing in for this environment's /tmp (made on first use, removed at shutdown)."""
        if self._tmp_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix=f"lambdalab-{self.id}-")
        return self._tmp_dir

    def _environment_variables(self) -> dict:
        cfg = self.snapshot.config
        lab = self.lab
        name = cfg["FunctionName"]
        env = {
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg['Runtime']}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_VERSION": self.snapshot.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": self.init_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_RUNTIME_API": lab.runtime_api_address(self),
            "AWS_REGION": lab.region,
            "AWS_DEFAULT_REGION": lab.region,
            "AWS_ACCESS_KEY_ID": "ASIA" + lab.ids.hex(16).upper(),
            "AWS_SECRET_ACCESS_KEY": lab.ids.hex(40),
            "AWS_SESSION_TOKEN": lab.ids.hex(64),
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            "_HANDLER": cfg["Handler"],
        }
        env.update(cfg.get("Environment", {}).get("Variables", {}))
        return env

    def log(self, line: str, t: float | None = None) -> None:
        self.lab.log_store.append(self.snapshot.name, self.log_stream, self.lab.now if t is None else t, line)

    # --- Init -----------------------------------------------------------------------------------------------
    def boot(self, invocation=None) -> None:
        """Start the cold-start chain; ``invocation`` (if any) runs once Init is over."""
        lab, model = self.lab, self.snapshot.model
        self._pending_invocation = invocation
        self.emit("environment", "create", f"Execution environment {self.id} is created for "
                  f"{self.snapshot.name}:{self.snapshot.version} ({self.init_type})", state="init",
                  init_type=self.init_type)
        init_dist = model.get("init_duration")
        if init_dist is not None:
            # the learner's own model replaces every cold-start cost: one opaque Init phase
            seconds = init_dist(lab.rng)
            self._start_init_phase()
            self._register_extensions()
            self.emit("function", "init", f"Init (modelled as one phase): {ms(seconds)}", phase="function_init",
                      duration=seconds)
            outcome = self.runtime.init(vtime.Budget(lab.now, math.inf, lab.epoch))
            outcome.elapsed = seconds
            lab.engine.schedule(seconds, self._init_finished, outcome, seconds)
            return
        boot = lab.cost.microvm_boot
        self.emit("worker", "boot", f"Worker {self.worker.id} boots a Firecracker microVM for {self.id}: "
                  f"{ms(boot)}", phase="microvm", duration=boot)
        lab.engine.schedule(boot, self._fetch_code)

    def _fetch_code(self) -> None:
        size = self.snapshot.config["CodeSize"]
        tier = self.worker.code_tier(self.snapshot.config["CodeSha256"])
        seconds = self.lab.cost.code_fetch(tier, size)
        where = {"local": "the worker's local cache", "az": "the AZ-level cache", "s3": "S3 (both caches missed)"}
        self.emit("environment", "fetch_code", f"Fetch {size:,} bytes of code from {where[tier]}: {ms(seconds)}",
                  phase="code", duration=seconds, tier=tier, bytes=size)
        self.lab.engine.schedule(seconds, self._init_phase)

    def _start_init_phase(self) -> None:
        cfg = self.snapshot.config
        self.log(f"INIT_START Runtime Version: {self.lab.runtime_version(cfg['Runtime'])}\t"
                 f"Runtime Version ARN: {cfg['RuntimeVersionConfig']['RuntimeVersionArn']}")
        self._init_started = self.lab.now
        self.emit("environment", "init_start", f"Init phase starts in {self.id} (INIT_START)",
                  init_type=self.init_type)
        if self.telemetry is not None:
            self._telemetry_init_start("init")

    def _telemetry_init_start(self, phase: str) -> None:
        """platform.initStart; ``phase`` is "invoke" for an Init retried inside an invoke (a suppressed init)."""
        cfg = self.snapshot.config
        self.telemetry.publish("platform.initStart", {
            "initializationType": self.init_type, "phase": phase,
            "runtimeVersion": self.lab.runtime_version(cfg["Runtime"]),
            "runtimeVersionArn": cfg["RuntimeVersionConfig"]["RuntimeVersionArn"],
            "functionName": self.snapshot.name, "functionVersion": self.snapshot.version})

    def _register_extensions(self) -> None:
        """Each extension POSTs /2020-01-01/extension/register (and PUTs /telemetry if it subscribes)."""
        api = self.extensions_api
        if api is None:
            return
        for ext in self._extension_specs:
            status, body, headers = api.register(ext)
            if status == 200:
                self.extensions.append(ext)
                self.emit("extension", "register", f"Extension {ext.name} ({ext.kind}) registers for "
                          f"{', '.join(ext.events)} -> 200, Lambda-Extension-Identifier: "
                          f"{headers['Lambda-Extension-Identifier'][:8]}...", extension=ext.name, kind=ext.kind,
                          events=list(ext.events), method="POST", path="/2020-01-01/extension/register",
                          status=200, headers=headers)
            else:
                error = json.loads(body)
                self.emit("extension", "register", f"Extension {ext.name} ({ext.kind}) fails to register -> "
                          f"{status} {error['errorType']}: {error['errorMessage']}", extension=ext.name,
                          kind=ext.kind, method="POST", path="/2020-01-01/extension/register", status=status,
                          error=error)
                continue
            if ext.telemetry is not None and self.telemetry is not None:
                status, body = self.telemetry.subscribe(ext.name, ext.telemetry)
                text = "200 OK" if status == 200 else f"{status} {json.loads(body)['errorMessage']}"
                self.emit("extension", "telemetry", f"Extension {ext.name} subscribes to the Telemetry API "
                          f"-> {text}", extension=ext.name, method="PUT", path="/2022-07-01/telemetry",
                          status=status)

    def _telemetry_batch(self, name: str, batch: list, reason: str) -> None:
        types = sorted({e["type"] for e in batch})
        self.emit("extension", "telemetry", f"The Telemetry API delivers {len(batch)} event"
                  f"{'s' if len(batch) != 1 else ''} to {name} ({reason}): {', '.join(types)}", extension=name,
                  events=len(batch), reason=reason, types=types)

    def _extension_init_time(self) -> float:
        """Extensions start in parallel: their part of Init lasts as long as the slowest one."""
        return max((ext.init_time(self.lab.rng) for ext in self.extensions), default=0.0)

    def _init_phase(self) -> None:
        self._start_init_phase()
        self._register_extensions()
        seconds = self._extension_init_time()
        limit = self.init_limit()
        names = ", ".join(f"{ext.name} ({ext.kind})" for ext in self.extensions) or "none registered"
        self.emit("extension", "init", f"Extension init ({names}): {ms(min(seconds, limit))}"
                  + (" - cut off at the Init limit" if seconds >= limit else ""), phase="extension_init",
                  duration=min(seconds, limit), extensions=[ext.name for ext in self.extensions])
        if seconds >= limit:
            self.lab.engine.schedule(limit, self._init_finished, Outcome("timeout", 0.0), limit)
            return
        self.lab.engine.schedule(seconds, self._runtime_init, seconds)

    def _runtime_init(self, used: float) -> None:
        if self.runtime_is_external:      # [realtime] a process does runtime + function init, ends at its 1st /next
            self.runtime.start_init(used)
            return
        runtime = self.snapshot.config["Runtime"]
        seconds = self.lab.cost.runtime_bootstrap(runtime)
        left = self.init_limit() - used
        if seconds >= left:               # the bootstrap alone runs into the Init limit
            self.emit("runtime", "init", f"Runtime init: bootstrap {runtime}: {ms(left)} - cut off at the Init "
                      "limit", phase="runtime_init", duration=left)
            self.lab.engine.schedule(left, self._init_finished, Outcome("timeout", 0.0), used + left)
            return
        self.emit("runtime", "init", f"Runtime init: bootstrap {runtime}: {ms(seconds)}", phase="runtime_init",
                  duration=seconds)
        self.lab.engine.schedule(seconds, self._function_init, used + seconds)

    def init_limit(self) -> float:
        """10 s for an on-demand Init; pre-initialised environments may take max(130 s, function timeout)."""
        if self.init_type == "on-demand":
            return self.lab.cost.init_limit
        return max(130.0, float(self.snapshot.timeout))

    def _function_init(self, used: float) -> None:
        lab = self.lab
        limit = max(0.0, self.init_limit() - used)
        budget = vtime.Budget(lab.now, limit, lab.epoch)
        # extensions and the runtime already used up the Init limit: the module never gets to run
        outcome = self.runtime.init(budget) if limit > 0 else Outcome("timeout", 0.0)
        for t, line in outcome.lines:
            self.log(line, t)
            if self.telemetry is not None:
                self.telemetry.publish("function", line, t)
        self.emit("function", "init", f"Function init: module-level code of {self.snapshot.config['Handler']} "
                  f"runs: {ms(outcome.elapsed)}", phase="function_init", duration=outcome.elapsed,
                  status=outcome.status)
        if outcome.status == "error" and lab.trace.full:
            message = json.loads(outcome.body or b"{}").get("errorMessage", "")
            self.emit("function", "error", f"Module-level code failed: {outcome.error_type}: {message[:120]}",
                      error_type=outcome.error_type)
        lab.engine.schedule(outcome.elapsed, self._init_finished, outcome, used + outcome.elapsed)

    def _init_finished(self, outcome: Outcome, seconds: float) -> None:
        if self.state != "Init":
            return
        self.init_duration = seconds
        if outcome.status == "ok":
            self._telemetry_init_done("success", None, seconds)
            self.emit("environment", "init_done", f"Init phase done in {self.id}: Init Duration {ms(seconds)}",
                      duration=seconds)
            self.api.next()        # the runtime asks for its first invocation: Init is over
            return
        status = "timeout" if outcome.status == "timeout" else "error"
        error_type = outcome.error_type or ("Sandbox.Timedout" if status == "timeout" else "Runtime.Unknown")
        self._telemetry_init_done(status, error_type if status == "error" else None, seconds)
        if status == "error":
            self.api.post_init_error(outcome.body, error_type)
        line = f"INIT_REPORT Init Duration: {ms(seconds)}\tPhase: init\tStatus: {status}"
        if status == "error":
            line += f"\tError Type: {error_type}"
        self.log(line)
        self.init_reported = True
        self.emit("environment", "init_failed", f"Init failed in {self.id} ({status}"
                  f"{': ' + error_type if status == 'error' else ''}); Init will be retried in the next invoke",
                  status=status, error_type=error_type, duration=seconds)
        self.runtime.reset()
        self.api.reset()
        self._extensions_need_init = bool(self.extensions)   # the retry is a whole Init, extensions included
        self._init_outcome = outcome
        if self.init_type != "on-demand" and self._pending_invocation is None:
            self.lab.fleet.provisioned_init_failed(self)
            return
        if self.runtime_is_external:      # [realtime] retry Init inside the invoke with a fresh process
            self._runtime_ready()
            return
        self.api.next()

    def _telemetry_init_done(self, status: str, error_type, seconds: float, phase: str = "init",
                             t: float | None = None) -> None:
        if self.telemetry is None:
            return
        record = {"initializationType": self.init_type, "phase": phase, "status": status}
        if error_type:
            record["errorType"] = error_type
        self.telemetry.publish("platform.initRuntimeDone", dict(record), t)
        record["metrics"] = {"durationMs": round(seconds * 1000, 3)}
        self.telemetry.publish("platform.initReport", record, t)

    def _runtime_ready(self) -> None:
        """The runtime called /next: hand it the waiting invocation, or freeze."""
        if self.state == "Init":
            if self.extensions_api is not None and not self.extensions_api.closed:
                self.extensions_api.close()       # the runtime's first /next closes registration
                if self.telemetry is not None:
                    for reg in self.extensions_api.registrations:
                        self.telemetry.publish("platform.extension", {"name": reg.name, "state": reg.state,
                                                                      "events": list(reg.events)})
                    self.telemetry.end_backlog()
            invocation, self._pending_invocation = self._pending_invocation, None
            if invocation is None:
                self._transition("Idle")
                self.emit("environment", "freeze", f"{self.id} is initialised and frozen, ready for invokes",
                          state="frozen")
                if self.telemetry is not None:
                    self.telemetry.freeze()
                self.lab.fleet.release(self)
            else:
                self._transition("Invoking")
                self._deliver(invocation)

    # --- Invoke ---------------------------------------------------------------------------------------------
    def thaw(self, invocation) -> None:
        """Warm start: a frozen environment resumes for this invocation."""
        self._transition("Invoking")
        if self.lab.trace.full:
            self.emit("environment", "thaw", f"Thaw {self.id}: warm start, no Init",
                      request_id=invocation.request_id, state="invoking")
        if self.telemetry is not None:
            self.telemetry.thaw()         # batches that fell due while frozen go out now
        if self.runtime_is_external:
            self.runtime.thaw()           # [realtime] its processes were stopped while it was idle
        self._deliver(invocation)

    def _deliver(self, inv) -> None:
        lab = self.lab
        self.current = inv
        self.invocations += 1
        inv.t_start = lab.now
        inv.env_id = self.id
        inv.init_type = self.init_type
        if self._bulk and inv.lines is None:
            self._bulk_invoke(inv)
            return
        deadline = lab.now + self.snapshot.timeout
        rinv = RuntimeInvocation(inv.request_id, inv.payload, int((lab.epoch + deadline) * 1000), inv.invoked_arn,
                                 inv.trace_id or "", inv.client_context)
        self.api.deliver(rinv)
        if not self.runtime_is_external:
            self.api.next()
            self._run_in_process(inv, rinv)
        else:                             # [realtime] START line, deadline timer; the process answers over HTTP
            self.runtime.deliver(inv, rinv)

    def _bulk_invoke(self, inv) -> None:
        """The invoke of a synthetic function in a bulk run: same draws, events and outcome as the full path.

        The handler returns null after its modelled duration (or is cut at the timeout), exactly as
        ``_run_in_process`` + ``_post_outcome`` would decide, with one heap event either way, so stats are
        identical across trace modes; only the Runtime API bookkeeping (invisible without a trace) is skipped.
        """
        dist = self.snapshot.model.get("duration")
        elapsed = dist(self.lab.rng) if dist is not None else 0.0
        timeout = self.snapshot.timeout
        if elapsed >= timeout:
            self.lab.engine.schedule(float(timeout), self.timeout, inv)
        elif type(inv) is LeanInvocation and self._lean:
            self.lab.engine.schedule(elapsed, self._lean_done, inv)
        else:
            self.lab.engine.schedule(elapsed, self._finish, inv, "ok", b"null", None)

    def thaw_lean(self, inv) -> None:
        """``thaw`` + ``_deliver`` for a request on the bulk lane (``Frontend.submit_lean``): a frozen synthetic
        environment with no extensions and no trace, so there is no Step, telemetry or Runtime API to feed."""
        if not self._lean or self.state != "Idle":
            self.thaw(inv)
            return
        self.state = "Invoking"                   # Idle -> Invoking, a legal move
        self.current = inv
        self.invocations += 1
        engine = self.lab.engine
        now = inv.t_start = engine.now
        inv.env_id = self.id                      # (and init_type "on-demand", Invocation's default in records)
        # _bulk_invoke, with the draw and engine.schedule inlined
        lane = inv.lane
        rate = lane.rate
        if rate is not None:
            elapsed = -log(1.0 - lane.random()) / rate       # rng.expovariate(rate)
        else:
            dist = lane.duration
            elapsed = dist(self.lab.rng) if dist is not None else 0.0
        if elapsed >= lane.timeout:
            engine.schedule(float(lane.timeout), self.timeout, inv)
        else:
            engine.at(now + elapsed, self._on_lean_done, inv)

    def _lean_done(self, inv) -> None:
        """``_finish("ok")`` + ``_report`` + the frontend's answer for a bulk-lane request whose handler returned:
        the same figures in the same order, without the log lines, response and Steps nobody would read (so of
        the invocation's fields only those a summary record reads are set)."""
        if inv is not self.current or inv.done:
            return                        # already answered (the environment was shut down under it)
        lab = self.lab
        now = inv.t_end = lab.engine.now
        inv.status = "ok"                         # (body b"null" and error_type None: LeanInvocation's defaults)
        duration = round((now - inv.t_start) * 1e9) / 1e9    # to the nanosecond, as _finish does
        billed = ceil(duration * 1000 - 1e-9) or 1                # (at least 1 ms)
        cold = self.invocations == 1              # (an on-demand environment: see thaw_lean)
        if not self.init_reported:
            billed += ceil(self.init_duration * 1000 - 1e-9)
        self.current = None
        self.init_reported = True
        # invocation_done + busy_change(name, -1)
        lab.counters.lean_done(inv, inv.lane, duration, billed, cold)
        if self.state != "Invoking":
            lab.frontend.release_lean(inv.lane.stats)
        else:
            self.state = "Idle"                   # Invoking -> Idle
            lab.fleet.release_lean(self, inv)
        inv.done = True                           # what frontend.respond does for a LeanInvocation

    @property
    def runtime_is_external(self) -> bool:
        return getattr(self.runtime, "external", False)

    def _start_lines(self, inv) -> None:
        if self.lab.log_store.enabled or inv.lines is not None:
            start = f"START RequestId: {inv.request_id} Version: {self.snapshot.version}"
            self.log(start)
            if inv.lines is not None:
                inv.lines.append(start)
        if self.lab.trace.full:
            rinv = self.api.current
            self.emit("runtime_api", "next", f"GET /2018-06-01/runtime/invocation/next -> 200, "
                      f"Lambda-Runtime-Aws-Request-Id: {inv.request_id[:8]}...", request_id=inv.request_id,
                      method="GET", path="/2018-06-01/runtime/invocation/next", status=200,
                      headers=rinv.headers() if rinv else {})
            self.emit("environment", "invoke", f"Invoke phase starts in {self.id} "
                      f"(timeout {self.snapshot.timeout} s)", request_id=inv.request_id, state="invoking",
                      phase="invoke", timeout=self.snapshot.timeout)
        if self.extensions_api is not None:
            self._send_invoke_event(inv)
        if self.telemetry is not None:
            self.telemetry.publish("platform.start", {"requestId": inv.request_id, "version": self.snapshot.version})

    def _send_invoke_event(self, inv) -> None:
        """Every extension registered for INVOKE gets the event as the runtime gets the request."""
        rinv = self.api.current or self.api.pending
        deadline_ms = rinv.deadline_ms if rinv else int((self.lab.epoch + self.lab.now + self.snapshot.timeout) * 1000)
        for reg in self.extensions_api.subscribers("INVOKE"):
            event = self.extensions_api.invoke_event(inv.request_id, deadline_ms, inv.invoked_arn,
                                                     inv.trace_id or "")
            reg.extension.receive(self.id, event)
            if self.lab.trace.full:
                self.emit("extension", "invoke", f"Extension {reg.name} gets an INVOKE event (GET "
                          "/2020-01-01/extension/event/next -> 200)", request_id=inv.request_id,
                          extension=reg.name, event=event)

    def _suppressed_init(self, inv, budget: vtime.Budget) -> Outcome:
        """Init again inside this invoke (after an Init failure, a timeout or a crash): it counts in Duration."""
        lab = self.lab
        full = lab.trace.full
        ext_time = self._extension_init_time() if self._extensions_need_init else 0.0
        self._extensions_need_init = False
        runtime = self.snapshot.config["Runtime"]
        boot = lab.cost.runtime_bootstrap(runtime)
        budget.elapsed = min(ext_time + boot, budget.limit)
        if self.telemetry is not None:
            self._telemetry_init_start("invoke")
        if full:
            if ext_time:
                self.emit("extension", "init", f"Suppressed init: the extensions start again inside this invoke: "
                          f"{ms(ext_time)}", request_id=inv.request_id, phase="extension_init", duration=ext_time,
                          suppressed=True)
            self.emit("runtime", "init", f"Suppressed init: the runtime bootstraps {runtime} again inside this "
                      f"invoke: {ms(boot)}", request_id=inv.request_id, phase="runtime_init", duration=boot,
                      suppressed=True)
        if budget.elapsed >= budget.limit:
            self._telemetry_init_done("timeout", None, budget.limit, "invoke", budget.now)
            return Outcome("timeout", budget.limit)
        start = budget.elapsed
        outcome = self.runtime.init(budget)
        self._telemetry_init_done(_TELEMETRY_STATUS[outcome.status], outcome.error_type, outcome.elapsed, "invoke",
                                  budget.now)
        if full:
            self.emit("function", "init", f"Suppressed init: module-level code of {self.snapshot.config['Handler']} "
                      f"runs again inside this invoke: {ms(outcome.elapsed - start)}", request_id=inv.request_id,
                      phase="function_init", duration=outcome.elapsed - start, status=outcome.status,
                      suppressed=True)
        if outcome.status == "exit":             # the runtime process died: its message names the request
            body = json.loads(outcome.body)
            body["errorMessage"] = f"RequestId: {inv.request_id} {body['errorMessage']}"
            outcome.body = json.dumps(body).encode()
        return outcome

    def _run_in_process(self, inv, rinv) -> None:
        lab = self.lab
        self._start_lines(inv)
        timeout = self.snapshot.timeout
        budget = vtime.Budget(lab.now, float(timeout), lab.epoch)
        if inv.trace_id:
            self.environ["_X_AMZN_TRACE_ID"] = inv.trace_id      # the runtime sets it for each invoke
        pre = self._suppressed_init(inv, budget) if getattr(self.runtime, "needs_init", False) else None
        if pre is not None and pre.status != "ok":
            outcome = pre
        else:
            if lab.trace.full:
                self.emit("runtime", "call", f"The runtime calls {self.snapshot.config['Handler']}(event, context)",
                          request_id=inv.request_id)
            context = LambdaContext(inv.request_id, self.snapshot.name, self.snapshot.version, inv.invoked_arn,
                                    self.snapshot.memory, f"/aws/lambda/{self.snapshot.name}", self.log_stream,
                                    budget, self.tmp_dir, inv.client_context) \
                if not isinstance(self.runtime, NullRuntime) else None
            outcome = self.runtime.invoke(inv.payload, context, budget)
            if pre is not None:
                outcome.lines[:0] = pre.lines
        dist = self.snapshot.model.get("duration")
        if dist is not None and outcome.status in ("ok", "error"):
            outcome.elapsed += dist(lab.rng)
            if outcome.elapsed >= timeout:
                outcome.status, outcome.elapsed = "timeout", float(timeout)
        for t, line in outcome.lines:
            self.log(line, t)
            if inv.lines is not None:
                inv.lines.append(line)
            if self.telemetry is not None:
                self.telemetry.publish("function", line, t)
        if lab.trace.full:
            words = {"ok": "returns", "error": f"raises {outcome.error_type}", "timeout": "is still running at the "
                     "deadline", "exit": "exits the runtime process"}[outcome.status]
            run = outcome.elapsed - (pre.elapsed if pre is not None and pre is not outcome else 0.0)
            if pre is outcome:
                words = {"timeout": "never runs: the suppressed init reached the deadline",
                         "error": f"never runs: the suppressed init failed ({outcome.error_type})",
                         "exit": "never runs: the runtime exited during the suppressed init"}[outcome.status]
                run = 0.0
            self.emit("function", "run", f"The handler {words}: {ms(run)}", request_id=inv.request_id,
                      duration=run, status=outcome.status)
        lab.engine.schedule(outcome.elapsed, self._post_outcome, inv, outcome)

    def _post_outcome(self, inv, outcome: Outcome) -> None:
        """At the handler's virtual end: the in-process runtime answers the Runtime API (or dies)."""
        if self.current is not inv or self.state != "Invoking":
            return                        # the environment was shut down while the handler ran
        rid = inv.request_id
        if outcome.status == "ok":
            status, body, _ = self.api.post_response(rid, outcome.body)
            if status == 413:
                message = f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                self.api.post_error(rid, json.dumps({"errorType": "Function.ResponseSizeTooLarge",
                                                     "errorMessage": message}).encode(),
                                    "Function.ResponseSizeTooLarge")
        elif outcome.status == "error":
            self.api.post_error(rid, outcome.body, outcome.error_type)
        elif outcome.status == "timeout":
            self.timeout(inv)
        else:
            self.crash(inv, outcome.body)

    def _on_response(self, rinv, body: bytes) -> None:
        inv = self.current
        if self.lab.trace.full:
            self.emit("runtime_api", "response", f"POST /2018-06-01/runtime/invocation/{rinv.request_id[:8]}.../"
                      "response -> 202", request_id=rinv.request_id, method="POST",
                      path=f"/2018-06-01/runtime/invocation/{rinv.request_id}/response", status=202, bytes=len(body))
        self._finish(inv, "ok", body, None)

    def _on_error(self, rinv, body: bytes, error_type: str) -> None:
        inv = self.current
        if self.lab.trace.full:
            self.emit("runtime_api", "error", f"POST /2018-06-01/runtime/invocation/{rinv.request_id[:8]}.../"
                      f"error -> 202 ({error_type})", request_id=rinv.request_id, method="POST",
                      path=f"/2018-06-01/runtime/invocation/{rinv.request_id}/error", status=202,
                      headers={"Lambda-Runtime-Function-Error-Type": error_type})
        self._finish(inv, "error", body, error_type)

    def _on_init_error(self, body: bytes, error_type: str) -> None:
        self.emit("runtime_api", "init_error", f"POST /2018-06-01/runtime/init/error -> 202 ({error_type})",
                  method="POST", path="/2018-06-01/runtime/init/error", status=202,
                  headers={"Lambda-Runtime-Function-Error-Type": error_type})

    def timeout(self, inv) -> None:
        """The invoke reached its deadline: AWS stops the runtime and reports Sandbox.Timedout."""
        if inv is not self.current:
            return                        # already over (the environment was shut down under it)
        seconds = self.snapshot.timeout
        self.log(f"{self.lab.iso_time(self.lab.now)} {inv.request_id} Task timed out after {seconds:.2f} seconds")
        body = json.dumps({"errorType": "Sandbox.Timedout", "errorMessage":
                           f"RequestId: {inv.request_id} Error: Task timed out after {seconds:.2f} seconds"}).encode()
        self._reset_runtime("the invoke timed out", "timeout")
        self._finish(inv, "timeout", body, "Sandbox.Timedout")

    def crash(self, inv, body: bytes) -> None:
        """The runtime process exited during the invoke (sys.exit, os._exit, a crashed custom runtime)."""
        message = json.loads(body).get("errorMessage", "")
        self.log(f"{message}\nRuntime.ExitError")
        self._reset_runtime("the runtime exited", "failure")
        self._finish(inv, "exit", body, "Runtime.ExitError")

    def _reset_runtime(self, why: str, reason: str) -> None:
        """AWS "resets" the environment: like a Shutdown, but the microVM (and /tmp) stays for the next invoke.

        External extensions registered for SHUTDOWN get it with ``shutdownReason`` timeout or failure; runtime
        and extensions then start again inside the next invoke (a suppressed init).
        """
        self.runtime.reset()
        self.api.reset()
        self.emit("environment", "reset", f"The runtime in {self.id} is restarted ({why}): module globals will "
                  "be re-initialised, /tmp is kept", reason=reason)
        if self.extensions_api is not None:
            deadline_ms = int((self.lab.epoch + self.lab.now + self.lab.cost.shutdown_cap) * 1000)
            for reg in self.extensions_api.subscribers("SHUTDOWN"):
                event = self.extensions_api.shutdown_event(reason, deadline_ms)
                reg.extension.receive(self.id, event)
                self.emit("extension", "shutdown", f"Extension {reg.name} gets SHUTDOWN (shutdownReason {reason}); "
                          "it starts again with the next invoke", extension=reg.name, reason=reason, event=event)
            self._extensions_need_init = bool(self.extensions)

    def _finish(self, inv, status: str, body: bytes, error_type: str | None) -> None:
        """The invoke phase is over: REPORT, freeze, give the environment back and answer the caller."""
        if inv is not self.current or inv.done:
            return                        # already answered (the environment was shut down under it)
        lab = self.lab
        now = lab.now
        inv.status, inv.body, inv.error_type = status, body, error_type
        inv.t_end = now
        ext = self._extensions_after_response(inv) if self.extensions and self.state == "Invoking" else 0.0
        if self.telemetry is not None:
            record = {"requestId": inv.request_id, "status": _TELEMETRY_STATUS[status],
                      "metrics": {"durationMs": round((now - inv.t_start) * 1000, 3), "producedBytes": len(body)}}
            if error_type:
                record["errorType"] = error_type
            self.telemetry.publish("platform.runtimeDone", record)
        duration = round((now - inv.t_start) * 1e9) / 1e9 + ext      # to the nanosecond (no float dust)
        inv.duration = duration
        cold = not self.init_reported and self.init_type == "on-demand"
        inv.cold = self.invocations == 1 and self.init_type == "on-demand"
        if cold:
            inv.init_duration = self.init_duration
        billed = max(1, math.ceil(duration * 1000 - 1e-9))
        if cold and self.init_type == "on-demand":
            billed += math.ceil(self.init_duration * 1000 - 1e-9)
        inv.billed_ms = billed
        if ext:
            lab.frontend.respond(inv)        # the caller's answer does not wait for extensions
            lab.engine.schedule(ext, self._report, inv, cold)
        else:
            self._report(inv, cold)
            lab.frontend.respond(inv)

    def _extensions_after_response(self, inv) -> float:
        """Extensions keep working after the runtime's answer (e.g. shipping logs); the phase waits for them.

        They work in parallel, so the slowest decides; work past the invoke deadline is cut at the deadline.
        """
        lab = self.lab
        left = max(0.0, inv.t_start + self.snapshot.timeout - lab.now)
        longest = 0.0
        for ext in self.extensions:
            if "INVOKE" not in ext.events:
                continue
            seconds = min(ext.invoke_time(lab.rng), left)
            longest = max(longest, seconds)
            if seconds and lab.trace.full:
                self.emit("extension", "invoke", f"Extension {ext.name} keeps working after the response, then "
                          f"calls event/next: {ms(seconds)} (the invoke phase waits for it)",
                          request_id=inv.request_id, extension=ext.name, phase="invoke", duration=seconds)
        return longest

    def _report(self, inv, cold: bool) -> None:
        lab = self.lab
        if self.current is not inv:
            return                        # already reported (the environment was shut down meanwhile)
        self.current = None
        if lab.log_store.enabled or inv.lines is not None:
            end = f"END RequestId: {inv.request_id}"
            self.log(end)
            if inv.lines is not None:
                inv.lines.append(end)
            memory = lab.cost.memory_base_mb + self.snapshot.config["CodeSize"] // (1024 * 1024)
            line = (f"REPORT RequestId: {inv.request_id}\tDuration: {ms(inv.duration)}\tBilled Duration: "
                    f"{inv.billed_ms} ms\tMemory Size: {self.snapshot.memory} MB\tMax Memory Used: "
                    f"{min(memory, self.snapshot.memory)} MB")
            if cold:
                line += f"\tInit Duration: {ms(self.init_duration)}"
            if inv.status in ("error", "timeout", "exit"):
                line += f"\tStatus: {'timeout' if inv.status == 'timeout' else 'error'}"
                if inv.status != "timeout":
                    line += f"\tError Type: {inv.error_type}"
            self.log(line)
            if inv.lines is not None:
                inv.lines.append(line)
        self.init_reported = True
        if self.telemetry is not None:
            metrics = {"durationMs": round(inv.duration * 1000, 3), "billedDurationMs": inv.billed_ms,
                       "memorySizeMB": self.snapshot.memory,
                       "maxMemoryUsedMB": min(lab.cost.memory_base_mb, self.snapshot.memory)}
            if cold:
                metrics["initDurationMs"] = round(self.init_duration * 1000, 3)
            record = {"requestId": inv.request_id, "status": _TELEMETRY_STATUS[inv.status], "metrics": metrics}
            if inv.error_type:
                record["errorType"] = inv.error_type
            self.telemetry.publish("platform.report", record)
        lab.counters.invocation_done(inv, self.snapshot)
        if self.state != "Invoking":      # shut down mid-invoke: nothing to freeze or give back
            lab.frontend.release(self.snapshot.function.name)
            return
        self._transition("Idle")
        if lab.trace.full:
            self.emit("environment", "freeze", f"Invoke done; freeze {self.id} (Duration {ms(inv.duration)}"
                      + (f", Init Duration {ms(self.init_duration)}" if cold else "") + ")",
                      request_id=inv.request_id, state="frozen", billed_ms=inv.billed_ms)
        if self.telemetry is not None:
            self.telemetry.freeze()
        lab.fleet.release(self, inv.request_id)

    # --- Shutdown -------------------------------------------------------------------------------------------
    def shutdown(self, reason: str) -> None:
        """The Shutdown phase: SIGTERM to the runtime, SHUTDOWN to external extensions, SIGKILL (2 s at most).

        With no extension registered there is nothing to wait for: the environment is killed at once. Otherwise
        the runtime gets its grace period (300 ms, or 500 ms when an internal extension lives in its process)
        and then each external extension registered for SHUTDOWN gets the event and the rest of the 2 s.
        """
        lab = self.lab
        was_invoking = self.state == "Invoking"
        self._transition("Shutdown")
        lab.fleet.cancel_idle(self)               # its idle expiry, if one is pending
        cap = lab.cost.shutdown_cap
        deadline_ms = int((lab.epoch + lab.now + cap) * 1000)
        self.emit("environment", "shutdown", f"Shutdown phase for {self.id} (reason: {reason}, at most "
                  f"{cap:g} s)", state="shutdown", reason=reason, deadlineMs=deadline_ms)
        if was_invoking and self.current is not None:
            self._abandon(self.current)
        if self.telemetry is not None:
            self.telemetry.frozen = False          # the microVM runs again to shut down
        if self.runtime_is_external:
            self.runtime.terminate()
        if not self.extensions:
            self.emit("runtime", "shutdown", "No extensions are registered, so there is no graceful shutdown: "
                      "the runtime is stopped at once", phase="shutdown", duration=0.0)
            self._kill()
            return
        internal = any(e.internal for e in self.extensions)
        grace = min(cap, lab.cost.runtime_shutdown_internal if internal else lab.cost.runtime_shutdown)
        self.emit("runtime", "shutdown", f"The runtime gets SIGTERM and {ms(grace)} to exit"
                  + (" (an internal extension shares its process)" if internal else ""), phase="shutdown",
                  duration=grace)
        lab.engine.schedule(grace, self._shutdown_extensions, reason, deadline_ms, cap - grace)

    def _abandon(self, inv) -> None:
        """The environment dies under a running invoke: the caller gets Runtime.ExitError."""
        if inv.done:                      # answered already; only the extensions' after-work is cut short
            self._report(inv, False)
            return
        self.api.reset()
        self._finish(inv, "exit", exit_body(None, inv.request_id), "Runtime.ExitError")

    def _shutdown_extensions(self, reason: str, deadline_ms: int, left: float) -> None:
        lab = self.lab
        longest = 0.0
        for reg in self.extensions_api.subscribers("SHUTDOWN"):
            event = self.extensions_api.shutdown_event(reason, deadline_ms)
            reg.extension.receive(self.id, event)
            if self.telemetry is not None:
                self.telemetry.shutdown(reg.name)
            wanted = reg.extension.shutdown_time(lab.rng)
            spent = min(wanted, left)
            reg.state = "ShutDown"
            cut = f"; cut off at the {lab.cost.shutdown_cap:g} s limit" if wanted > left else ""
            self.emit("extension", "shutdown", f"Extension {reg.name} gets SHUTDOWN (shutdownReason "
                      f"{reason}) and cleans up: {ms(spent)}{cut}", phase="shutdown", duration=spent,
                      extension=reg.name, reason=reason, deadlineMs=deadline_ms, event=event)
            longest = max(longest, spent)
        if self.telemetry is not None:
            self.telemetry.shutdown()
        if longest:
            lab.engine.schedule(longest, self._kill)
        else:
            self._kill()

    def _kill(self) -> None:
        self._transition("Gone")
        self.emit("environment", "kill", f"SIGKILL: {self.id} and its microVM are gone", state="gone")
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
        self.worker.remove(self)
        self.lab.counters.environment_down(self.snapshot.function.name)

    def statistics(self) -> dict:
        return {"id": self.id, "state": self.state, "function": self.snapshot.name, "version": self.snapshot.version,
                "worker": self.worker.id, "invocations": self.invocations, "init_type": self.init_type,
                "created_at": self.created_at, "runtime_api": self.api.state,
                "extensions": [e.name for e in self.extensions]}

    def __repr__(self) -> str:
        return f"<ExecutionEnvironment {self.id} {self.snapshot.name}:{self.snapshot.version} {self.state}>"


