"""The Invoke phase: an environment hands one request to its runtime and takes the answer back.

In AWS the runtime takes the event from ``GET /runtime/invocation/next`` (which also tells the extensions
registered for INVOKE), calls the handler, and answers with ``POST .../response`` or ``.../error``. A runtime
that was reset (after an Init failure, a timeout or a crash) first runs Init again inside the invoke, a
"suppressed init" whose time counts in the invoke's Duration.

An in-process runtime (``external = False``: the Python runtime, a synthetic function) is called by the
environment, which plays the runtime's side of the Runtime API for it: ``run_in_process`` runs the code eagerly
at the invoke's start (its sleeps consume virtual time, see ``vtime``), adds the modelled duration, and
``post_outcome`` posts the result to the Runtime API at its virtual end. The Runtime API's callbacks then end
the invoke through the environment's one completion path (``ExecutionEnvironment.complete``). A process
runtime makes the same calls over HTTP itself (``lambdalab.realtime``).
"""
from __future__ import annotations

import json
from math import ceil

from . import vtime
from .companions import TELEMETRY_STATUS, ms
from .python_runtime import LambdaContext, NullRuntime, Outcome
from .runtime_api import MAX_RESPONSE_BYTES

__all__ = ["start_lines", "run_in_process", "post_outcome", "report_lines"]

_RUN_WORDS = {"ok": "returns", "timeout": "is still running at the deadline", "exit": "exits the runtime process"}
_NEVER_RUNS = {"timeout": "never runs: the suppressed init reached the deadline",
               "exit": "never runs: the runtime exited during the suppressed init"}


def start_lines(env, inv) -> None:
    """The invoke begins: START line, the runtime's /next and the Invoke phase in the trace, INVOKE events."""
    lab = env.lab
    if inv.lines is not None:
        start = _START.format(inv.request_id, env.snapshot.version)
        env.log(start)
        inv.lines.append(start)
    elif lab.log_store.enabled:
        env.log(_START, values=(inv.request_id, env.snapshot.version))
    if lab.trace.full:
        rinv = env.api.current
        rid = inv.request_id
        env.emit("runtime_api", "next",
                 "GET /2018-06-01/runtime/invocation/next -> 200, Lambda-Runtime-Aws-Request-Id: {:.8}...",
                 rid, request_id=rid, method="GET", path="/2018-06-01/runtime/invocation/next", status=200,
                 headers=rinv.headers if rinv else {})
        timeout = env.snapshot.timeout
        env.emit("environment", "invoke", "Invoke phase starts in {} (timeout {} s)", env.id, timeout,
                 request_id=rid, state="invoking", phase="invoke", timeout=timeout)
    if env.extensions_api is not None:
        env.companions.invoke_event(inv)
    if env.telemetry is not None:
        env.telemetry.publish("platform.start", {"requestId": inv.request_id, "version": env.snapshot.version})


def run_in_process(env, inv) -> None:
    """Call the runtime now; its outcome reaches the Runtime API at the handler's virtual end."""
    lab = env.lab
    full = lab.trace.full
    start_lines(env, inv)
    snap, runtime = env.snapshot, env.runtime
    timeout = snap.timeout
    budget = vtime.Budget(env._engine.now, float(timeout), lab.epoch)
    coded = not isinstance(runtime, NullRuntime)
    env.trace_header(inv, at_once=coded)
    pre = suppressed_init(env, inv, budget) if getattr(runtime, "needs_init", False) else None
    if pre is not None and pre.status != "ok":
        outcome = pre
    else:
        if full:
            env.emit("runtime", "call", "The runtime calls {}(event, context)", snap.handler,
                     request_id=inv.request_id)
        context = LambdaContext(inv.request_id, snap.name, snap.version, inv.invoked_arn, snap.memory,
                                f"/aws/lambda/{snap.name}", env.log_stream, budget, env.tmp_dir, inv.client_context) \
            if coded else None
        outcome = runtime.invoke(inv.payload, context, budget)
        if pre is not None:
            outcome.lines[:0] = pre.lines
    dist = snap.model.get("duration")
    if dist is not None and outcome.status in ("ok", "error"):
        outcome.elapsed += dist(lab.rng)
        if outcome.elapsed >= timeout:
            outcome.status, outcome.elapsed = "timeout", float(timeout)
    if outcome.lines:
        env.output(outcome.lines, inv)
    if full:
        words = _RUN_WORDS.get(outcome.status) or f"raises {outcome.error_type}"
        run = outcome.elapsed - (pre.elapsed if pre is not None and pre is not outcome else 0.0)
        if pre is outcome:
            words = _NEVER_RUNS.get(outcome.status) or \
                f"never runs: the suppressed init failed ({outcome.error_type})"
            run = 0.0
        # while the handler waited on a call it made (lambdalab.calls), the lab ran on: this step comes at the
        # end of the wait, and its duration is what is left of the handler's run from here
        waited = env._engine.now - budget.start
        more = f" in all, {ms(waited)} of it before and during the calls it made" if waited else ""
        env.emit("function", "run", "The handler {}: {:.2f} ms{}", words, run * 1000, more, request_id=inv.request_id,
                 duration=run - waited, status=outcome.status)
    if outcome.chunks and inv.stream is not None:
        for offset, data in outcome.chunks:       # each chunk leaves when the handler wrote it
            lab.engine.at(budget.start + offset, _post_chunk, env, inv, data)
    lab.engine.at(budget.start + outcome.elapsed, post_outcome, env, inv, outcome)


def _post_chunk(env, inv, data: bytes) -> None:
    """The in-process runtime writes one chunk of a streamed response (``response_stream``)."""
    if env.current is inv and env.state == "Invoking":
        env.api.post_response_chunk(inv.request_id, data)


def suppressed_init(env, inv, budget: vtime.Budget) -> Outcome:
    """Init again inside this invoke (after an Init failure, a timeout or a crash): it counts in Duration."""
    lab = env.lab
    full = lab.trace.full
    companions = env.companions
    ext_time = companions.init_time() if companions.need_init else 0.0
    companions.need_init = False
    runtime = env.snapshot.runtime
    boot = lab.cost.runtime_bootstrap(runtime)
    budget.elapsed = min(ext_time + boot, budget.limit)
    companions.init_start("invoke")
    if full:
        if ext_time:
            env.emit("extension", "init", "Suppressed init: the extensions start again inside this invoke: {:.2f} ms",
                     ext_time * 1000, request_id=inv.request_id, phase="extension_init", duration=ext_time,
                     suppressed=True)
        env.emit("runtime", "init", "Suppressed init: the runtime bootstraps {} again inside this invoke: {:.2f} ms",
                 runtime, boot * 1000, request_id=inv.request_id, phase="runtime_init", duration=boot, suppressed=True)
    if budget.elapsed >= budget.limit:
        companions.init_done("timeout", None, budget.limit, "invoke", budget.now)
        return Outcome("timeout", budget.limit)
    start = budget.elapsed
    outcome = env.runtime.init(budget)
    companions.init_done(TELEMETRY_STATUS[outcome.status], outcome.error_type, outcome.elapsed, "invoke", budget.now)
    if full:
        env.emit("function", "init",
                 "Suppressed init: module-level code of {} runs again inside this invoke: {:.2f} ms",
                 env.snapshot.handler, (outcome.elapsed - start) * 1000, request_id=inv.request_id,
                 phase="function_init", duration=outcome.elapsed - start, status=outcome.status, suppressed=True)
    if outcome.status == "exit":             # the runtime process died: its message names the request
        body = json.loads(outcome.body)
        body["errorMessage"] = f"RequestId: {inv.request_id} {body['errorMessage']}"
        outcome.body = json.dumps(body).encode()
    return outcome


def post_outcome(env, inv, outcome: Outcome) -> None:
    """At the handler's virtual end: the in-process runtime answers the Runtime API (or dies)."""
    if env.current is not inv or env.state != "Invoking":
        return                        # the environment was shut down while the handler ran
    rid = inv.request_id
    api = env.api
    if outcome.status == "ok":
        status, body, _ = api.post_response(rid, outcome.body, streaming=inv.stream is not None)
        if status == 413:
            message = f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            api.post_error(rid, json.dumps({"errorType": "Function.ResponseSizeTooLarge",
                                            "errorMessage": message}).encode(), "Function.ResponseSizeTooLarge")
    elif outcome.status == "error":
        api.post_error(rid, outcome.body, outcome.error_type)
    elif outcome.status == "timeout":
        env.timeout(inv)
    else:
        env.crash(inv, outcome.body)


def report_lines(env, inv, cold: bool) -> None:
    """END and REPORT, to the log stream and a LogType=Tail invocation's lines (the stream's are formatted when
    read, a Tail's now)."""
    snap = env.snapshot
    memory = env.lab.cost.memory_base_mb + snap.config["CodeSize"] // (1024 * 1024)
    more = ""
    if cold and env.restore:
        more = f"\tRestore Duration: {ms(env.restore[0])}\tBilled Restore Duration: " \
               f"{ceil(env.restore[1] * 1000 - 1e-9)} ms"
    elif cold:
        more = f"\tInit Duration: {ms(env.init_duration)}"
    if inv.status in ("error", "timeout", "exit"):
        more += f"\tStatus: {'timeout' if inv.status == 'timeout' else 'error'}"
        if inv.status != "timeout":
            more += f"\tError Type: {inv.error_type}"
    rid = (inv.request_id,)
    values = rid + (inv.duration * 1000, inv.billed_ms, snap.memory, min(memory, snap.memory), more)
    if inv.lines is None:
        env.log(_END, values=rid)
        env.log(_REPORT, values=values)
    else:
        end, line = _END.format(*rid), _REPORT.format(*values)
        env.log(end)
        inv.lines.append(end)
        env.log(line)
        inv.lines.append(line)


_START = "START RequestId: {} Version: {}"
_END = "END RequestId: {}"
_REPORT = "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t" \
    "Max Memory Used: {} MB{}"
