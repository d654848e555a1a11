"""Hand-written traces in the shape the components emit (engine/vocabulary.py), for view tests without a Lab.

``Script`` emits the Steps of one cold or warm synchronous invoke, an Event invoke, a throttle, an error and an
environment's shutdown, in the order DESIGN.md describes, with the detail keys the views read.
"""
from __future__ import annotations

from lambdalab.engine.trace import Trace


class Script:
    def __init__(self, function: str = "hello") -> None:
        self.now = 0.0
        self.trace = Trace(mode="full", clock=lambda: self.now)
        self.function = function
        self.requests = 0
        self.envs: dict[str, str] = {}   # env_id -> worker_id

    def emit(self, component, action, text, **kw):
        kw.setdefault("function", self.function)
        return self.trace.emit(component, action, text, **kw)

    def _rid(self) -> str:
        self.requests += 1
        return f"req-{self.requests:04d}"

    def sync(self, env: str, worker: str = "w-1", *, duration: float = 0.003, error: bool = False,
             rid: str | None = None, from_poller: bool = False) -> str:
        """One RequestResponse invoke: cold when ``env`` is new, warm otherwise."""
        rid = rid or self._rid()
        e = self.emit
        if not from_poller:
            e("client", "invoke", f"Invoke {self.function} (RequestResponse)", request_id=rid, target="frontend")
        e("frontend", "receive", f"Resolve {self.function}:$LATEST and check concurrency", request_id=rid)
        e("frontend", "dispatch", "Hand the request to the Worker Manager", request_id=rid, target="worker_manager")
        if env not in self.envs:
            self.envs[env] = worker
            e("worker_manager", "request", "No idle environment: ask the Placement Service", request_id=rid,
              target="placement")
            e("placement", "place", f"Place {env} on worker {worker}", request_id=rid, worker_id=worker,
              target="worker")
            e("worker", "boot", f"Boot a microVM for {env}: 125 ms", request_id=rid, worker_id=worker, env_id=env,
              phase="microvm", duration=0.125)
            self.now += 0.125
            e("environment", "create", f"{env} exists (Init)", request_id=rid, worker_id=worker, env_id=env,
              state="init")
            e("environment", "fetch_code", "Fetch code: AZ cache hit, 28 ms", request_id=rid, worker_id=worker,
              env_id=env, phase="code", duration=0.028)
            self.now += 0.028
            e("environment", "init_start", "INIT_START", request_id=rid, worker_id=worker, env_id=env)
            e("extension", "init", "Extension init (none registered)", request_id=rid, worker_id=worker,
              env_id=env, phase="extension_init", duration=0.0)
            e("runtime", "init", "Runtime init: bootstrap python3.12, 150 ms", request_id=rid, worker_id=worker,
              env_id=env, phase="runtime_init", duration=0.150)
            self.now += 0.150
            e("function", "init", "Function init: module code, 12 ms", request_id=rid, worker_id=worker,
              env_id=env, phase="function_init", duration=0.012)
            self.now += 0.012
            e("environment", "init_done", "Init done", request_id=rid, worker_id=worker, env_id=env)
        else:
            worker = self.envs[env]
            e("worker_manager", "claim", f"Reuse idle {env}: warm start", request_id=rid, worker_id=worker,
              env_id=env, target="environment")
            e("environment", "thaw", f"Thaw {env}", request_id=rid, worker_id=worker, env_id=env, state="invoking")
        e("runtime_api", "next", "GET /2018-06-01/runtime/invocation/next -> 200", request_id=rid,
          worker_id=worker, env_id=env, method="GET", path="/2018-06-01/runtime/invocation/next", status=200,
          headers={"Lambda-Runtime-Aws-Request-Id": rid}, target="runtime")
        e("environment", "invoke", "Invoke phase begins", request_id=rid, worker_id=worker, env_id=env,
          state="invoking", phase="invoke", duration=duration)
        e("runtime", "call", "Call app.handler(event, context)", request_id=rid, worker_id=worker, env_id=env,
          target="function")
        e("function", "run", f"Handler runs ({duration * 1000:.0f} ms)", request_id=rid, worker_id=worker,
          env_id=env)
        self.now += duration
        if error:
            e("function", "error", "The handler raised ValueError", request_id=rid, worker_id=worker, env_id=env)
            e("runtime_api", "error", f"POST .../invocation/{rid}/error -> 202", request_id=rid, worker_id=worker,
              env_id=env, method="POST", path=f"/2018-06-01/runtime/invocation/{rid}/error", status=202, headers={})
        else:
            e("runtime_api", "response", f"POST .../invocation/{rid}/response -> 202", request_id=rid,
              worker_id=worker, env_id=env, method="POST", path=f"/2018-06-01/runtime/invocation/{rid}/response",
              status=202, headers={})
        e("environment", "freeze", f"Invoke done; freeze {env}", request_id=rid, worker_id=worker, env_id=env,
          state="frozen")
        e("worker_manager", "release", f"{env} is idle again", request_id=rid, worker_id=worker, env_id=env)
        e("frontend", "return", "Return 200 to the caller", request_id=rid, target="client")
        if not from_poller:
            e("client", "response", "Response received", request_id=rid)
        return rid

    def event(self, env: str, worker: str = "w-1") -> str:
        rid = self._rid()
        e = self.emit
        e("client", "invoke", f"Invoke {self.function} (Event)", request_id=rid, target="frontend")
        e("frontend", "receive", "Resolve and check", request_id=rid)
        e("frontend", "enqueue", "Put the event on the internal queue; 202 to the caller", request_id=rid,
          target="async_queue")
        e("async_queue", "enqueue", "The event waits on the queue", request_id=rid)
        e("client", "response", "202 Accepted", request_id=rid)
        self.now += 0.020
        e("async_queue", "dequeue", "A poller takes the event", request_id=rid, target="poller")
        e("poller", "receive", "The poller receives one event", request_id=rid)
        e("poller", "invoke", "The poller invokes the function synchronously", request_id=rid, target="frontend")
        self.sync(env, worker, rid=rid, from_poller=True)
        e("poller", "route", "Success: no destination configured", request_id=rid)
        return rid

    def throttle(self) -> str:
        rid = self._rid()
        self.emit("client", "invoke", "Invoke", request_id=rid, target="frontend")
        self.emit("frontend", "receive", "Resolve and check", request_id=rid)
        self.emit("frontend", "throttle", "429 TooManyRequestsException", request_id=rid, target="client")
        self.emit("client", "response", "429 received", request_id=rid)
        return rid

    def shutdown(self, env: str) -> None:
        worker = self.envs.pop(env)
        e = self.emit
        e("worker_manager", "reclaim", f"{env} idle too long: reclaim", worker_id=worker, env_id=env,
          target="environment")
        e("environment", "shutdown", "SHUTDOWN", worker_id=worker, env_id=env, state="shutdown", phase="shutdown",
          duration=0.3)
        e("extension", "shutdown", "Extensions get SHUTDOWN", worker_id=worker, env_id=env)
        e("runtime", "shutdown", "SIGTERM to the runtime", worker_id=worker, env_id=env)
        self.now += 0.3
        e("environment", "kill", f"{env} is gone", worker_id=worker, env_id=env, state="gone")

    def idle(self, seconds: float) -> None:
        self.now += seconds


def walkthrough() -> Trace:
    """Cold, warm, error, Event, throttle and shutdown on two workers: the views' everyday material."""
    s = Script()
    s.sync("e-1", "w-1")
    s.idle(2.0)
    s.sync("e-1")
    s.sync("e-2", "w-2", error=True)
    s.idle(5.0)
    s.event("e-1")
    s.throttle()
    s.idle(30.0)
    s.shutdown("e-2")
    return s.trace


def long_trace(steps: int, *, environments: int = 40, workers: int = 8) -> Trace:
    """At least ``steps`` steps: waves of cold then warm invokes over many environments and worker hosts."""
    s = Script()
    i = 0
    while len(s.trace) < steps:
        env = f"e-{i % environments + 1}"
        worker = f"w-{(i % environments) % workers + 1}"
        s.sync(env, worker, error=(i % 17 == 5))
        s.idle(0.05)
        i += 1
    return s.trace
