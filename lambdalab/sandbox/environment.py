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

This module holds the lifecycle and the one way an invoke ends, ``complete``: whoever reports the end (the
Runtime API after the runtime's response or error, the deadline, a crash, a Shutdown under a running invoke),
it goes through ``complete`` and ``report`` (REPORT line, counters, freeze, back to the Worker Manager). The
phases live beside it: ``coldstart`` (the Init chain), ``invoke`` (an in-process runtime's Invoke phase),
``companions`` (extensions and the Telemetry API), ``shutdown`` (Shutdown and reset).

Whatever runs the function's code is ``self.runtime``, chosen by ``lab.runtimes`` and driven through a small
interface (init / invoke / reset / freeze / thaw / shutdown, outcomes back through ``complete``): the runtime
seam, described in ``sandbox.runtimes``.

Each phase that takes time is a heap event; zero-time hops are method calls that record a Step.
"""
from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from math import ceil, log

from ..engine.distributions import Exponential, draw_from
from ..observability.records import Statistics
from . import coldstart as _coldstart
from . import invoke as _invoke
from . import scratch
from . import shutdown as _shutdown
from .coldstart import ColdStart, ms
from .companions import Companions
from .runtime_api import RuntimeAPI, RuntimeInvocation
from .runtimes import DEFAULT_ADDRESS

__all__ = ["ExecutionEnvironment", "TRANSITIONS", "IllegalTransition"]

TRANSITIONS = {
    "Init": {"Invoking", "Idle", "Shutdown"},
    "Idle": {"Invoking", "Shutdown"},
    "Invoking": {"Idle", "Shutdown"},
    "Shutdown": {"Gone"},
    "Gone": set(),
}


_BITS_64, _BITS_160 = (1 << 64) - 1, (1 << 160) - 1


class IllegalTransition(RuntimeError):
    pass


def _request_in_init_of(env):
    """The trace recorder's ``request_id_of``: it must not keep the environment alive."""
    me = weakref.ref(env)
    return lambda: me()._request_in_init()


class ExecutionEnvironment:
    # Its attributes are slots, laid out in this order: a replay holds thousands of environments, and the end of an
    # invoke (complete, report, the Worker Manager's release) and a warm start read the first ones, which sit
    # together in a few cache lines (a dict of its 50-odd attributes spread them over a 1.5 KB table of its own).
    __slots__ = (
        # the warm path: complete, report, release, acquire, thaw, _invoke_bulk
        "current", "state", "invocations", "init_reported", "init_type", "prewarmed", "_quiet", "_engine",
        "_counters", "stats", "_fleet", "snapshot", "worker", "expires_at", "idle_since", "idle_seconds",
        "idle_event", "idle_sweep", "idle_until", "idle_ticket", "_plain", "_bulk", "id", "timeout_s", "_rate",
        "_rng", "_draw", "_complete", "_timeout", "_logs", "telemetry", "extensions", "deadline", "_freezes",
        # the rest of its life
        "lab", "emit", "created_at", "pending", "init_duration", "init_started_at", "draining", "extensions_api",
        "companions", "log_stream", "tmp_path", "runtime", "runtime_is_external", "runtime_starts", "opt_path",
        "restore", "restore_seed", "_credentials", "_environ", "_header_of", "api", "__weakref__",
    )

    def __init__(self, lab, env_id: str, snapshot, worker, init_type: str = "on-demand") -> None:
        self.lab = lab
        self.id = env_id
        self.snapshot = snapshot
        self.worker = worker
        #: ``emit(component, action, words, *values, request_id=None, **detail)``: ``trace.emit`` with this
        #: environment's ids (see ``engine.trace`` for words and values; outside "full" it records nothing, and
        #: needs no request ids)
        self.emit = lab.trace.recorder(snapshot.name, snapshot.version, env_id, worker.id,
                                       _request_in_init_of(self) if lab.trace.full else None)
        self.init_type = init_type
        self.state = "Init"
        self.created_at = lab.now
        self.expires_at = lab.now + lab.fleet.environment_lifetime()
        self.idle_event = None                    # its pending expiry timer while idle (see fleet.worker_manager)
        self.idle_sweep = None                    # ... its pool, when the pool's idle sweep keeps it, which arms
        self.idle_until = self.idle_ticket = 0    # it when it is the oldest: its expiry then and its place
        self.idle_since = 0.0                     # when it last went idle, and its idle seconds before that (the
        self.idle_seconds = 0.0                   # Worker Manager's count of memory held by idle environments)
        self.prewarmed = False                    # initialised ahead of any request by a keep-alive policy
        self.invocations = 0
        self.current = None                       # the Invocation being served
        self.pending = None                       # the Invocation waiting for this environment's Init
        self.init_duration = 0.0                  # Init phase length, reported once in the first REPORT
        self.init_started_at = None               # virtual time of INIT_START
        self.init_reported = False
        self.draining = False
        self.deadline = None                      # an external runtime's invoke deadline timer
        self.extensions = ()                      # the Extension objects that registered (a list: see companions)
        self.extensions_api = None
        self.telemetry = None
        self.companions = Companions(self)
        self.log_stream = lab.log_stream_name(snapshot.version, self.created_at)
        self.tmp_path = None
        self.runtime = lab.runtimes.make(self)    # the runtime seam: see sandbox.runtimes
        self.runtime_is_external = getattr(self.runtime, "external", False)
        self._freezes = getattr(self.runtime, "freezes", False)
        self.opt_path = None                      # /opt: the function's layers, unpacked (see layer_extraction)
        self.restore = None                       # SnapStart: (Restore Duration, Billed Restore Duration) seconds
        self.restore_seed = None                  # ... and the snapshot's random stream, for the runtime
        # its credentials are drawn now (the ids stream keeps its order: key id, secret, session token), their
        # text and the variables made when first read
        bits = lab.ids.bits
        self._credentials = bits(64) | bits(160) << 64 | bits(256) << 224
        self._environ = None
        self._header_of = None            # the invoke whose X-Ray header the variables take when read (trace_header)
        synthetic = snapshot.model.get("synthetic", False)
        self.api = RuntimeAPI(self.runtime_ready, self._on_response, self._on_error, self._on_init_error,
                              self._on_chunk)
        # bulk runs (trace off/summary) of a synthetic function with no extensions skip the Runtime API's protocol
        # objects, which nothing can observe there; see _bulk_invoke
        self._bulk = synthetic and not lab.trace.full and not self.companions.specs
        # ... and a warm start of it needs no thaw either (no trace, no telemetry, nothing frozen)
        self._plain = self._bulk and not self._freezes
        # nothing beyond the counters watches how its invokes end: no trace, logs, extensions, telemetry or process
        self._quiet = not lab.trace.full and not self.companions.specs and not self._freezes \
            and not self.runtime_is_external
        duration = snapshot.model.get("duration")     # the modelled duration (None: no time), drawn by
        # _invoke_bulk itself when exponential, else by _draw
        self._rate = 1.0 / duration.mean if type(duration) is Exponential and duration.mean > 0 else None
        self._draw = draw_from(duration, lab.rng) if self._rate is None else None
        self._rng = lab.rng
        self.timeout_s = float(snapshot.timeout)
        self.stats = lab.counters.version(snapshot)      # its version's counters (observability.stats)
        self._engine = lab.engine
        self._logs = lab.log_store
        self._counters = lab.counters
        self._fleet = lab.fleet
        self._complete, self._timeout = self.complete, self.timeout   # (bound once, not per invoke)
        lab.counters.environment_up(snapshot.function.name)

    # --- bookkeeping --------------------------------------------------------------------------------------
    def transition(self, new: str) -> None:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"environment {self.id}: {self.state} -> {new} is not a legal transition")
        self.state = new

    def _request_in_init(self) -> str | None:
        """The request id of a Step this environment emits without one: a cold start is part of the request it
        serves."""
        if self.state == "Init" and self.pending is not None:
            return self.pending.request_id
        return None

    def tmp_dir(self) -> str:
        """The directory standing in for this environment's /tmp (made on first use, removed at shutdown)."""
        if self.tmp_path is None:
            self.tmp_path = scratch.make_directory(self.lab, f"tmp-{self.id}-")
        return self.tmp_path

    @property
    def environ(self) -> dict:
        """The runtime's environment variables (Lambda's reserved ones, then the function's own)."""
        if self._environ is None:
            self._environ = self._environment_variables()
        if self._header_of is not None:
            self.trace_header(self._header_of, at_once=True)
        return self._environ

    def trace_header(self, inv, at_once: bool) -> None:
        """The runtime sets ``_X_AMZN_TRACE_ID`` to each invoke's X-Ray header (never empty there). Not
        ``at_once`` (no code runs to read it: a synthetic function), it is put in when the variables are next
        read, so the header of an invoke nobody looks at is never made."""
        self._header_of = None if at_once else inv
        if at_once and inv.trace_id:
            self.environ["_X_AMZN_TRACE_ID"] = inv.trace_id

    def _environment_variables(self) -> dict:
        cfg = self.snapshot.config
        lab = self.lab
        name = cfg["FunctionName"]
        env = {
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.snapshot.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_VERSION": self.snapshot.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if self.snapshot.snapstart else self.init_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_RUNTIME_API": getattr(self.runtime, "address", DEFAULT_ADDRESS),
            "AWS_REGION": lab.region,
            "AWS_DEFAULT_REGION": lab.region,
            "AWS_ACCESS_KEY_ID": f"ASIA{self._credentials & _BITS_64:016X}",
            "AWS_SECRET_ACCESS_KEY": f"{self._credentials >> 64 & _BITS_160:040x}",
            "AWS_SESSION_TOKEN": f"{self._credentials >> 224:064x}",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            "_HANDLER": self.snapshot.handler,
        }
        env.update(cfg.get("Environment", {}).get("Variables", {}))
        return env

    def log(self, line: str, t: float | None = None, values: tuple = ()) -> None:
        """One line to this environment's log stream (with ``values``: a template formatted when read)."""
        self._logs.append(self.snapshot.name, self.log_stream, self._engine.now if t is None else t, line, values)

    def output(self, lines, inv=None) -> None:
        """What the function's code printed or logged, ``(virtual time, line)`` pairs: to the log stream, to the
        invocation's LogType=Tail lines and to Telemetry API subscribers."""
        telemetry = self.telemetry
        for t, line in lines:
            self.log(line, t)
            if inv is not None and inv.lines is not None:
                inv.lines.append(line)
            if telemetry is not None:
                telemetry.publish("function", line, t)

    # --- Init -----------------------------------------------------------------------------------------------
    def boot(self, invocation=None) -> None:
        """Start the cold-start chain; ``invocation`` (if any) runs once Init is over."""
        self.pending = invocation
        ColdStart(self).start()

    def init_limit(self) -> float:
        """10 s for an on-demand Init; pre-initialised environments may take max(130 s, function timeout)."""
        if self.init_type == "on-demand":
            return self.lab.cost.init_limit
        return max(130.0, float(self.snapshot.timeout))

    def init_started(self) -> None:
        """INIT_START: the Init phase proper begins (see ``coldstart``)."""
        _coldstart.init_started(self)

    def init_finished(self, outcome, seconds: float) -> None:
        """The Init phase is over (``seconds`` long): the runtime asks for work, or Init failed and is retried
        inside the first invoke. A process runtime calls this itself (its first /next, an init error, an exit)."""
        _coldstart.init_finished(self, outcome, seconds)

    def runtime_ready(self) -> None:
        """The runtime called /next (the Runtime API's ``on_next``): hand it the waiting invocation, or freeze."""
        if self.state != "Init":
            return
        self.companions.close_registration()      # the runtime's first /next closes registration
        invocation, self.pending = self.pending, None
        if self.init_type == "snap-start":        # Init at PublishVersion is done: snapshot it (sandbox.snapstart)
            self.lab.snapstart.taken(self)
            return
        if invocation is None:
            self.transition("Idle")
            self.emit("environment", "freeze", "{} is initialised and frozen, ready for invokes", self.id,
                      state="frozen")
            self._freeze()
            self.lab.fleet.release(self)
        else:
            self.transition("Invoking")
            self._deliver(invocation)

    # --- Invoke ---------------------------------------------------------------------------------------------
    def thaw(self, inv) -> None:
        """Warm start: a frozen environment resumes for this invocation."""
        if self.state != "Idle":
            self.transition("Invoking")   # (raises: only an idle environment can be thawed)
        self.state = "Invoking"           # Idle -> Invoking
        if self._plain and inv.lines is None:
            self._invoke_bulk(inv)
            return
        if self.lab.trace.full:
            self.emit("environment", "thaw", "Thaw {}: warm start, no Init", self.id, request_id=inv.request_id,
                      state="invoking")
        if self.telemetry is not None:
            self.telemetry.thaw()         # batches that fell due while frozen go out now
        if self._freezes:
            self.runtime.thaw()           # its processes were stopped while it was idle
        self._deliver(inv)

    def _deliver(self, inv) -> None:
        if self._bulk and inv.lines is None:
            self._invoke_bulk(inv)
            return
        lab = self.lab
        self.current = inv
        self.invocations += 1
        now = inv.t_start = self._engine.now
        inv.env_id = self.id
        inv.init_type = self.init_type
        deadline = now + self.timeout_s
        rinv = RuntimeInvocation(inv.request_id, inv.payload, int((lab.epoch + deadline) * 1000), inv.invoked_arn,
                                 lambda: inv.trace_id or "", inv.client_context)
        self.api.deliver(rinv)
        if not self.runtime_is_external:
            self.api.next()
            _invoke.run_in_process(self, inv)
        else:                             # [realtime] the process answers over HTTP
            self.runtime.deliver(inv, rinv)
            _invoke.start_lines(self, inv)
            self.deadline = lab.engine.schedule(self.timeout_s, self._deadline_hit, inv)

    def _deadline_hit(self, inv) -> None:
        if self.current is inv and not inv.done and self.state == "Invoking":
            self.deadline = None
            self.timeout(inv)

    def _invoke_bulk(self, inv) -> None:
        """The invoke of a synthetic function in a bulk run: same draws, events and outcome as the full path.

        The handler returns null after its modelled duration (or is cut at the timeout), exactly as
        ``run_in_process`` + ``post_outcome`` would decide, with one heap event either way, so stats are
        identical across trace modes; only the Runtime API bookkeeping (invisible without a trace) is skipped.
        """
        now = inv.t_start = self._engine.now
        self.current = inv
        self.invocations += 1
        inv.env_id = self.id
        inv.init_type = self.init_type
        rate = self._rate
        if rate:                          # an exponential duration, drawn as random.expovariate does
            elapsed = -log(1.0 - self._rng.random()) / rate
        else:
            elapsed = self._draw() if self._draw is not None else 0.0
        if elapsed >= self.timeout_s:
            self._engine.at(now + self.timeout_s, self._timeout, inv)
        else:
            self._engine.at(now + elapsed, self._complete, inv, "ok", b"null", None)

    # --- how an invoke ends -----------------------------------------------------------------------------------
    def _on_response(self, rinv, body: bytes) -> None:
        if self.lab.trace.full:
            self.emit("runtime_api", "response", "POST /2018-06-01/runtime/invocation/{:.8}.../response -> 202",
                      rinv.request_id, request_id=rinv.request_id, method="POST",
                      path=f"/2018-06-01/runtime/invocation/{rinv.request_id}/response", status=202, bytes=len(body))
        self.complete(self.current, "ok", body, None)

    def _on_chunk(self, rinv, data: bytes) -> None:
        inv = self.current
        if inv is not None and inv.stream is not None:    # (a buffered caller gets the whole body at the end)
            inv.stream.produced(inv, data)

    def _on_error(self, rinv, body: bytes, error_type: str) -> None:
        if self.lab.trace.full:
            self.emit("runtime_api", "error", "POST /2018-06-01/runtime/invocation/{:.8}.../error -> 202 ({})",
                      rinv.request_id, error_type, request_id=rinv.request_id, method="POST",
                      path=f"/2018-06-01/runtime/invocation/{rinv.request_id}/error", status=202,
                      headers={"Lambda-Runtime-Function-Error-Type": error_type})
        self.complete(self.current, "error", body, error_type)

    def _on_init_error(self, body: bytes, error_type: str) -> None:
        self.emit("runtime_api", "init_error", "POST /2018-06-01/runtime/init/error -> 202 ({})", error_type,
                  method="POST", path="/2018-06-01/runtime/init/error", status=202,
                  headers={"Lambda-Runtime-Function-Error-Type": error_type})

    def timeout(self, inv) -> None:
        """The invoke reached its deadline: AWS stops the runtime and reports Sandbox.Timedout."""
        if inv is not self.current:
            return                        # already over (the environment was shut down under it)
        seconds = self.snapshot.timeout
        if self._logs.enabled:            # (a timestamp costs a strftime: made only where the line is kept)
            self.log(f"{self.lab.iso_time(self.lab.now)} {inv.request_id} Task timed out after {seconds:.2f} seconds")
        body = json.dumps({"errorType": "Sandbox.Timedout", "errorMessage":
                           f"RequestId: {inv.request_id} Error: Task timed out after {seconds:.2f} seconds"}).encode()
        self.reset_runtime("the invoke timed out", "timeout")
        self.complete(inv, "timeout", body, "Sandbox.Timedout")

    def crash(self, inv, body: bytes) -> None:
        """The runtime process exited during the invoke (sys.exit, os._exit, a crashed custom runtime)."""
        error = json.loads(body)
        error_type = error.get("errorType") or "Runtime.ExitError"      # (or Runtime.OutOfMemory)
        self.log(f"{error.get('errorMessage', '')}\n{error_type}")
        self.reset_runtime("the runtime exited", "failure")
        self.complete(inv, "exit", body, error_type)

    def reset_runtime(self, why: str, reason: str) -> None:
        """A fresh runtime after a timeout or crash: globals go, /tmp stays (see ``shutdown.reset_runtime``)."""
        _shutdown.reset_runtime(self, why, reason)

    def complete(self, inv, status: str, body: bytes, error_type: str | None) -> None:
        """The one way an invoke ends (ok, error, timeout, exit), whoever reports it: the caller gets its answer
        and, once the extensions are done too, REPORT is written and the environment is given back."""
        if inv is not self.current or inv.done:
            return                        # already answered (the environment was shut down under it)
        now = inv.t_end = self._engine.now
        inv.status = status
        inv.body = body
        if error_type is not None:
            inv.error_type = error_type
        if self._quiet:
            ext = 0.0
            duration = round((now - inv.t_start) * 1e9) / 1e9            # to the ns (no float dust)
        else:
            ext = self._observed_end(inv, status, body, error_type)
            duration = round((now - inv.t_start) * 1e9) / 1e9 + ext
        inv.duration = duration
        billed = ceil(duration * 1000 - 1e-9) or 1                        # (at least 1 ms)
        cold = False
        if not self.init_reported:
            cold = self.init_type == "on-demand"                          # REPORT shows (and bills) Init
            if cold:                      # Init is billed; after a SnapStart restore, its billed part
                inv.init_duration = self.init_duration
                billed += ceil((self.restore[1] if self.restore else self.init_duration) * 1000 - 1e-9)
        if self.invocations == 1:         # the first request of an on-demand environment started cold
            inv.cold = self.init_type == "on-demand" and not self.prewarmed
        inv.billed_ms = billed
        if ext:
            self._fleet.respond(inv)      # the caller's answer does not wait for extensions
            self._engine.schedule(ext, self.report, inv, cold)
        else:
            self.report(inv, cold)
            self._fleet.respond(inv)

    def _observed_end(self, inv, status: str, body: bytes, error_type: str | None) -> float:
        """What the end of an invoke means beyond the counters: the deadline timer, the extensions' work after
        the response (its seconds are returned), platform.runtimeDone."""
        if self.deadline is not None:
            self._engine.cancel(self.deadline)
            self.deadline = None
        ext = self.companions.after_response(inv) if self.extensions and self.state == "Invoking" else 0.0
        if self.telemetry is not None:
            self.companions.runtime_done(inv, status, body, error_type)
        return ext

    def report(self, inv, cold: bool) -> None:
        """The invoke phase is over: END and REPORT, counters, freeze, and back to the Worker Manager."""
        if self.current is not inv:
            return                        # already reported (the environment was shut down meanwhile)
        self.current = None
        quiet = self._quiet
        if not quiet or inv.lines is not None:
            if inv.lines is not None or self._logs.enabled:
                _invoke.report_lines(self, inv, cold)
            if self.telemetry is not None:
                self.companions.report(inv, cold)
        self.init_reported = True
        self._counters.invocation_done(inv, self.stats)
        if self.state == "Invoking":      # (shut down mid-invoke: nothing to freeze, only the request to let go)
            self.state = "Idle"           # Invoking -> Idle
            if not quiet:
                if self.lab.trace.full:
                    self.emit("environment", "freeze", "Invoke done; freeze {} (Duration {:.2f} ms{})", self.id,
                              inv.duration * 1000, f", Init Duration {ms(self.init_duration)}" if cold else "",
                              request_id=inv.request_id, state="frozen", billed_ms=inv.billed_ms)
                self._freeze()
        self._fleet.release(self, inv)

    def _freeze(self) -> None:
        """Idle: nothing runs in a frozen microVM (telemetry batches wait, the runtime's processes stop)."""
        if self.telemetry is not None:
            self.telemetry.freeze()
        if self._freezes:
            self.runtime.freeze()

    # --- Shutdown -------------------------------------------------------------------------------------------
    def shutdown(self, reason: str) -> None:
        """The Shutdown phase (see ``sandbox.shutdown``)."""
        _shutdown.shutdown(self, reason)

    def forget_parts(self) -> None:
        """Gone: let go of the parts that point back at the environment (its Runtime API's callbacks, its runtime,
        its companions, its bound completion callbacks), so it is freed at once instead of waiting for a full garbage collection, which bulk
        runs hold back (a day of trace replay would keep every environment it ever made)."""
        self.api = self.runtime = self.companions = self._complete = self._timeout = None

    def statistics(self) -> "EnvironmentStatistics":
        return EnvironmentStatistics(self.id, self.state, self.snapshot.name, self.snapshot.version, self.worker.id,
                                     self.invocations, self.init_type, self.created_at,
                                     self.api.state if self.api is not None else None,
                                     tuple(e.name for e in self.extensions))

    def __repr__(self) -> str:
        return f"<ExecutionEnvironment {self.id} {self.snapshot.name}:{self.snapshot.version} {self.state}>"


@dataclass(frozen=True)
class EnvironmentStatistics(Statistics):
    id: str
    state: str              # Init, Invoking, Idle, Shutdown, Gone
    function: str
    version: str
    worker: str
    invocations: int        # invocations it has served
    init_type: str          # on-demand, provisioned-concurrency, snap-start
    created_at: float
    runtime_api: str | None  # the Runtime API's state (None once gone)
    extensions: tuple       # names of the extensions that registered
