"""The cold-start chain: everything between "no idle environment" and the runtime's first ``/next``.

In AWS a cold start first gets a Firecracker microVM on a worker host and the function's code through the
cache tiers (worker-local, AZ-level, S3). Then comes the Init phase proper, which ``INIT_START`` opens and whose
length REPORT shows as ``Init Duration``: external extensions start (they register with the Extensions API and
initialise in parallel), the runtime bootstraps, and the function's module-level code runs. Init is limited to
10 s on demand and to max(130 s, the function timeout) for provisioned environments. An Init that fails (an
error, a timeout) is reported in INIT_REPORT and tried again inside the first invoke (a "suppressed init").

Here the chain is a list of phases (``phases_for``) run one after the other. A phase records its Steps and
returns how many virtual seconds it takes; the next phase starts that much later, as an event on the heap even
when it takes no time (so other things due at the same moment keep their order). A phase ends Init early with
``chain.end(outcome, seconds)``, and returns None when the runtime reports the end of Init itself (a process
runtime does so with its first ``/next``, see ``ExecutionEnvironment.init_finished``). The seconds of the phases
after ``INIT_START`` add up to the Init Duration and count against the Init limit.

Where the cold-start reducers go (issue 17): a VPC ENI attached per environment (the pre-2019 model) is a phase
before ``microvm``; layers are extracted in a phase after ``code``; a container image replaces ``code`` with
its lazy chunk fetch by cache tier; SnapStart replaces the three Init phases with one restore phase. Each is
one more function in the list ``phases_for`` returns.

We simplify: the runtime always takes its whole modelled bootstrap time; the learner's ``init_duration`` model
replaces every cold-start cost with one opaque Init phase.
"""
from __future__ import annotations

import json
import math

from . import cold_start_reducers as reducers
from . import vtime
from .python_runtime import Outcome

__all__ = ["ColdStart", "phases_for", "init_started", "init_finished", "ms"]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class ColdStart:
    """One run of the chain for one environment (``env.boot`` makes it and starts it)."""

    __slots__ = ("env", "phases", "next", "used", "in_init", "outcome", "finish_after")

    def __init__(self, env) -> None:
        self.env = env
        self.phases = phases_for(env)
        self.next = 0                 # index of the phase to run next
        self.used = 0.0               # seconds of the Init phase so far (after INIT_START)
        self.in_init = False
        self.outcome = None           # set by end(): Init is over after ``finish_after`` more seconds
        self.finish_after = 0.0

    def start(self) -> None:
        env = self.env
        env.emit("environment", "create", "Execution environment {} is created for {}:{} ({})", env.id,
                 env.snapshot.name, env.snapshot.version, env.init_type, state="init", init_type=env.init_type)
        self.run_phase()

    def run_phase(self) -> None:
        phase = self.phases[self.next]
        self.next += 1
        seconds = phase(self)
        if self.outcome is not None:
            self.env.lab.engine.schedule(self.finish_after, self.env.init_finished, self.outcome,
                                         self.used + self.finish_after)
        elif seconds is not None:
            if self.in_init:
                self.used += seconds
            self.env.lab.engine.schedule(seconds, self.run_phase)

    def end(self, outcome: Outcome, seconds: float) -> float:
        """Init ends ``seconds`` from now with ``outcome`` (a phase returns what this returns)."""
        self.outcome, self.finish_after = outcome, seconds
        return seconds

    def open_init(self) -> None:
        """INIT_START: the Init phase proper begins (its time counts from here)."""
        self.in_init = True
        self.env.init_started()

    @property
    def left(self) -> float:
        """Seconds of the Init limit not used yet."""
        return self.env.init_limit() - self.used


def phases_for(env) -> list:
    """The phases of this environment's cold start, in order (issue 17's reducers are the optional ones)."""
    snap = env.snapshot
    model = snap.model
    eni = [reducers.attach_eni] if reducers.attaches_eni(env) else []
    if snap.snapstart is not None and env.init_type == "on-demand" and not env.runtime_is_external:
        return [*eni, microvm, reducers.restore]            # SnapStart: resume the snapshot instead of Init
    if model.get("init_duration") is not None:
        phases = [modelled_init]
    elif model.get("image") is not None:
        phases = [*eni, microvm, reducers.fetch_image, extension_init, runtime_init, function_init]
    elif model.get("layers"):
        phases = [*eni, microvm, code, reducers.extract_layers, extension_init, runtime_init, function_init]
    else:
        phases = [*eni, microvm, code, extension_init, runtime_init, function_init]
    if env.init_type == "snap-start":                       # PublishVersion: Init, hooks, then the snapshot
        phases[-1] = reducers.take_snapshot(phases[-1])
    return phases


def microvm(chain: ColdStart) -> float:
    env = chain.env
    boot = env.lab.cost.microvm_boot
    env.emit("worker", "boot", "Worker {} boots a Firecracker microVM for {}: {:.2f} ms", env.worker.id, env.id,
             boot * 1000, phase="microvm", duration=boot)
    return boot


_TIERS = {"local": "the worker's local cache", "az": "the AZ-level cache", "s3": "S3 (both caches missed)"}


def code(chain: ColdStart) -> float:
    env = chain.env
    config = env.snapshot.config
    size = config["CodeSize"]
    tier = env.worker.code_tier(config["CodeSha256"])
    seconds = env.lab.cost.code_fetch(tier, size)
    env.emit("environment", "fetch_code", "Fetch {:,} bytes of code from {}: {:.2f} ms", size, _TIERS[tier],
             seconds * 1000, phase="code", duration=seconds, tier=tier, bytes=size)
    return seconds


def extension_init(chain: ColdStart) -> float:
    """INIT_START, then the extensions register and initialise in parallel (as long as the slowest one)."""
    env = chain.env
    chain.open_init()
    env.companions.register()
    seconds = env.companions.init_time()
    limit = env.init_limit()
    names = ", ".join(f"{ext.name} ({ext.kind})" for ext in env.extensions) or "none registered"
    env.emit("extension", "init", "Extension init ({}): {:.2f} ms{}", names, min(seconds, limit) * 1000,
             " - cut off at the Init limit" if seconds >= limit else "", phase="extension_init",
             duration=min(seconds, limit), extensions=[ext.name for ext in env.extensions])
    if seconds >= limit:
        return chain.end(Outcome("timeout", 0.0), limit)
    return seconds


def runtime_init(chain: ColdStart) -> float | None:
    env = chain.env
    if env.runtime_is_external:       # [realtime] a process does runtime + function init, ends at its 1st /next
        env.runtime.start_init(chain.used)
        return None
    runtime = env.snapshot.runtime
    seconds = env.lab.cost.runtime_bootstrap(runtime)
    left = chain.left
    if seconds >= left:               # the bootstrap alone runs into the Init limit
        env.emit("runtime", "init", "Runtime init: bootstrap {}: {:.2f} ms - cut off at the Init limit", runtime,
                 left * 1000, phase="runtime_init", duration=left)
        return chain.end(Outcome("timeout", 0.0), left)
    env.emit("runtime", "init", "Runtime init: bootstrap {}: {:.2f} ms", runtime, seconds * 1000, phase="runtime_init",
             duration=seconds)
    return seconds


def function_init(chain: ColdStart) -> float:
    env = chain.env
    lab = env.lab
    limit = max(0.0, chain.left)
    budget = vtime.Budget(lab.now, limit, lab.epoch)
    # extensions and the runtime already used up the Init limit: the module never gets to run
    outcome = env.runtime.init(budget) if limit > 0 else Outcome("timeout", 0.0)
    env.output(outcome.lines)
    env.emit("function", "init", "Function init: module-level code of {} runs: {:.2f} ms", env.snapshot.handler,
             outcome.elapsed * 1000, phase="function_init", duration=outcome.elapsed, status=outcome.status)
    if outcome.status == "error" and lab.trace.full:
        message = json.loads(outcome.body or b"{}").get("errorMessage", "")
        env.emit("function", "error", "Module-level code failed: {}: {}", outcome.error_type, message[:120],
                 error_type=outcome.error_type)
    return chain.end(outcome, outcome.elapsed)


def modelled_init(chain: ColdStart) -> float:
    """The learner's ``init_duration`` replaces every cold-start cost: one opaque Init phase."""
    env = chain.env
    lab = env.lab
    seconds = env.snapshot.model["init_duration"](lab.rng)
    chain.open_init()
    env.companions.register()
    env.emit("function", "init", "Init (modelled as one phase): {:.2f} ms", seconds * 1000, phase="function_init",
             duration=seconds)
    outcome = env.runtime.init(vtime.Budget(lab.now, math.inf, lab.epoch))
    outcome.elapsed = seconds
    return chain.end(outcome, seconds)


def init_started(env) -> None:
    """INIT_START: the Init phase proper begins."""
    lab = env.lab
    if lab.log_store.enabled:         # (the line costs a hash: made only where it is kept)
        env.log(f"INIT_START Runtime Version: {lab.runtime_version(env.snapshot.runtime)}\t"
                f"Runtime Version ARN: {lab.runtime_version_arn(env.snapshot.runtime)}")
    env.init_started_at = lab.now
    env.emit("environment", "init_start", "Init phase starts in {} (INIT_START)", env.id, init_type=env.init_type)
    env.companions.init_start("init")


def init_finished(env, outcome, seconds: float) -> None:
    """The Init phase is over (``seconds`` long): the runtime asks for work, or Init failed and is retried inside
    the first invoke."""
    if env.state != "Init":
        return
    env.init_duration = seconds
    if outcome.status == "ok":
        env.companions.init_done("success", None, seconds)
        part = "Restore" if env.restore else "Init"       # a SnapStart restore ends where Init would
        env.emit("environment", "init_done", "{} done in {}: {} Duration {:.2f} ms",
                 "Restore" if env.restore else "Init phase", env.id, part, seconds * 1000, duration=seconds)
        if not env.runtime_is_external:
            env.api.next()           # the runtime asks for its first invocation: Init is over
        return
    status = "timeout" if outcome.status == "timeout" else "error"
    error_type = outcome.error_type or ("Sandbox.Timedout" if status == "timeout" else "Runtime.Unknown")
    env.companions.init_done(status, error_type if status == "error" else None, seconds)
    if status == "error":
        env.api.post_init_error(outcome.body, error_type)
    line = f"INIT_REPORT Init Duration: {ms(seconds)}\tPhase: init\tStatus: {status}"
    if status == "error":
        line += f"\tError Type: {error_type}"
    env.log(line)
    env.init_reported = True
    env.emit("environment", "init_failed", "Init failed in {} ({}{}); Init will be retried in the next invoke", env.id,
             status, ': ' + error_type if status == 'error' else '', status=status, error_type=error_type,
             duration=seconds)
    env.runtime.reset()
    env.api.reset()
    env.companions.need_init = bool(env.extensions)   # the retry is a whole Init, extensions included
    if env.init_type == "snap-start":           # PublishVersion of a SnapStart version: no snapshot
        env.lab.snapstart.failed(env, error_type)
        return
    if env.init_type != "on-demand" and env.pending is None:
        env.lab.fleet.provisioned_init_failed(env)
        return
    if env.runtime_is_external:      # [realtime] retry Init inside the invoke with a fresh process
        env.runtime_ready()
        return
    env.api.next()
