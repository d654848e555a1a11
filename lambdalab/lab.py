"""The Lab: one in-process AWS region's worth of Lambda, wired together on one virtual clock.

``Lab`` builds the components (control plane, frontend, worker manager and placement, the async path, event
sources, logs and stats), hands out boto3-shaped clients, and drives time: ``advance``, ``run``. It holds the
lab-wide sources of determinism: the event heap's sequence numbers, one RNG for the model (durations, routing,
reuse) and a separate one for identifiers, so asking for an id never changes a sampled duration.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import inspect
import io
import random
import textwrap
import time as _time
import types
import zipfile
from math import log

from .calls import Calls
from .control_plane.aliases import Aliases
from .control_plane.concurrency import Concurrency
from .control_plane.errors import aws_error
from .control_plane.function_urls import FunctionUrls
from .control_plane.functions import ControlPlane
from .control_plane.layers import Layers
from .control_plane.policies import Policies
from .control_plane.recursion import Recursion
from .control_plane.tags import Tags
from .control_plane.vpc import Hyperplane
from .driver import VirtualDriver
from .ecr import ImageRegistry
from .engine.clock import VIRTUAL_EPOCH, Engine
from .engine.distributions import as_distribution
from .engine.trace import Trace
from .fleet.cost_model import CostModel
from .fleet.provisioned import ProvisionedConcurrency
from .fleet.worker_manager import WorkerManager
from .frontend import Frontend
from .invocation import Invocation
from .observability.logs import LogStore
from .observability.stats import Stats
from .sandbox.runtimes import Runtimes
from .sandbox import isolation as isolation_modes
from .sandbox.snapstart import SnapStart
from .streaming import Streaming
from .url_frontend import UrlFrontend, lab_http

__all__ = ["Lab"]

DEFAULT_ROLE = "arn:aws:iam::{account}:role/lambdalab-execution-role"


_UUID_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))   # variant and version bits
_UUID_SET = (0x8000 << 48) | (4 << 76)               # RFC 4122 variant, version 4


class Ids:
    """Deterministic identifiers (request ids, log streams, revision ids) from their own RNG stream."""

    def __init__(self, seed) -> None:
        self._rng = random.Random(f"ids-{seed}")
        #: ``bits(128)``: the random bits ``uuid()`` would use (``invocation.uuid_text`` makes the same text)
        self.bits = self._rng.getrandbits

    def uuid(self) -> str:
        # the same text as str(uuid.UUID(int=bits, version=4)), without building a UUID object (bulk runs)
        n = (self._rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = "%032x" % n
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hex(self, n: int) -> str:
        return f"{self._rng.getrandbits(4 * n):0{n}x}"


def on_driver(method):
    """A notebook-facing method: it runs through the lab's driver (on the event loop's thread in real time)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return self.driver.call(method, self, *args, **kwargs)
    return call


class Lab:
    def __init__(self, seed: int | None = 0, *, region: str = "us-east-1", account_id: str = "123456789012",
                 trace: str = "full", idle_timeout: float = 600, reuse: str = "most_recent",
                 account_concurrency: int = 1000, clock: str = "virtual", cost_model: CostModel | None = None,
                 wall_guard: float | None = 3.0, environment_lifetime: float | None = 4 * 3600,
                 worker_lease: float | None = 14 * 3600, isolation: str = "inline",
                 vpc_eni: str = "hyperplane") -> None:
        if clock not in ("virtual", "real"):
            raise ValueError(f"clock must be 'virtual' or 'real'; got {clock!r}")
        if isolation not in isolation_modes.MODES:
            raise ValueError(f"isolation must be 'inline' or 'process'; got {isolation!r}")
        if account_concurrency < 100:
            raise ValueError("account_concurrency must be at least 100 (100 always stay unreserved)")
        self.seed = seed
        self.region = region
        self.account_id = account_id
        self.account_concurrency = account_concurrency
        self.clock = clock
        self.wall_guard = wall_guard
        self.isolation = isolation          # where Python code runs: in the kernel, or a process per environment
        self.isolation_server = None        # the forkserver of isolation="process" (sandbox.isolation)
        self.engine = Engine(seed)
        self.rng = self.engine.rng
        self.ids = Ids(seed)
        # control-plane calls draw their RequestIds elsewhere, so looking at state never shifts data-plane ids
        self.control_ids = Ids(f"control-{seed}")
        self.epoch = VIRTUAL_EPOCH if clock == "virtual" else _time.time()
        self._stream_day = (None, "")         # (day number, its date as a log stream name starts)
        self.cost = cost_model or CostModel()
        self.trace = Trace(trace, clock=functools.partial(getattr, self.engine, "now"))   # (no Python frame per Step)
        self.trace.owner = self
        self.log_store = LogStore(enabled=self.trace.full, steps=self.trace.length)
        self.counters = Stats(self)
        self.control_plane = ControlPlane(self)
        self.layers = Layers(self)
        self.ecr = ImageRegistry(self)
        self.vpc = Hyperplane(self, vpc_eni)      # "per-environment": the pre-2019 ENI per cold start
        self.snapstart = SnapStart(self)
        self.concurrency = Concurrency(self)
        self.frontend = Frontend(self)
        self.fleet = WorkerManager(self, reuse=reuse, idle_timeout=idle_timeout,
                                   environment_lifetime=environment_lifetime, worker_lease=worker_lease)
        self.provisioned = ProvisionedConcurrency(self)
        self.policies = Policies(self)
        self.recursion = Recursion(self)
        self.function_urls = FunctionUrls(self)
        self.calls = Calls(self)
        self.streaming = Streaming(self)
        self.url_frontend = UrlFrontend(self)
        self.async_invoke = None
        self.runtimes = Runtimes()          # which runtime runs an environment's code (sandbox.runtimes)
        isolation_modes.attach(self)
        self._services: dict[str, object] = {}
        self._backends: dict[str, list] = {}
        self._clients: dict[str, object] = {}
        self._dispatcher = None
        self._closers: list = []
        for component in (self.control_plane, Aliases(self), Tags(self), self.layers, self.concurrency,
                          self.frontend, self.policies, self.recursion, self.function_urls, self.streaming):
            self.register_backend("lambda", component)
        self._attach_optional_components()
        #: who runs the clock (``lambdalab.driver``): virtual time, or the real-time session
        self.driver = VirtualDriver(self)
        self.realtime = None
        if clock == "real":
            from .realtime.session import RealTimeSession
            self.driver = self.realtime = RealTimeSession(self)

    def _attach_optional_components(self) -> None:
        """The async path, queues, streams and real-time pieces register themselves here when present."""
        from . import components
        components.attach(self)

    # --- time -----------------------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.engine.now

    def advance(self, seconds: float) -> None:
        """Run everything due in the next ``seconds`` of virtual time."""
        if seconds < 0:
            raise ValueError("cannot advance by a negative time")
        self.driver.advance(seconds)

    def run(self, until: float | None = None) -> None:
        """Run until nothing is scheduled (or until virtual time ``until``).

        The fleet's upkeep does not count: a worker's lease drain or a provisioned environment's recycling
        recurs for as long as the fleet lives, so a run with no ``until`` ends when only upkeep is left.
        """
        self.driver.run(until)

    def wait_for(self, done, limit: float | None = None) -> None:
        """Run events until ``done()`` is true (used by synchronous calls and waiters). A wait on behalf of handler
        code (``lambdalab.calls``) ends at the handler's deadline at the latest."""
        frame = self.calls.on_behalf()        # (handler code reading a response stream, say)
        try:
            self.driver.wait_for(done, self.calls.deadline if limit is None else limit)
        finally:
            if frame is not None:
                frame.end()

    # --- stats, logs, metrics -------------------------------------------------------------------------------
    @on_driver
    def stats(self, function_name: str | None = None) -> dict:
        summary = self.counters.summary(function_name, self.provisioned.allocated_gb_seconds())
        summary["cost_usd"] += self.snapstart.cost(function_name)
        summary["wasted_memory_gb_seconds"] = self.fleet.idle_gb_seconds(function_name)
        return summary

    def invocations(self, function_name: str | None = None) -> list[dict]:
        """One record per finished invocation (trace "full" or "summary"): times, cold, status, duration, billing."""
        return self.counters.invocation_records(function_name)

    @on_driver
    def logs(self, function_name: str) -> list[str]:
        """CloudWatch lines of one function, time-ordered (kept in trace="full" mode)."""
        return self.log_store.lines(function_name)

    @on_driver
    def log_streams(self, function_name: str) -> dict[str, list[str]]:
        return self.log_store.streams(function_name)

    @on_driver
    def log_events(self, function_name: str | None = None) -> list[tuple[float, str, str]]:
        return self.log_store.events(function_name)

    @on_driver
    def metrics(self, function_name: str, name: str, period: int = 60) -> list[tuple[float, float]]:
        return self.counters.metrics(function_name, name, period)

    # --- AWS APIs -------------------------------------------------------------------------------------------
    def client(self, service: str, **_ignored):
        """A real botocore client of ``service`` ("lambda", "sqs", "kinesis", ...) answered by this lab."""
        return self.driver.client(self._client, service)

    def _client(self, service: str):
        from .clients import client_for
        return client_for(self, service)

    @property
    def dispatcher(self):
        """The door every AWS request goes through, from this lab's clients and from ``lab.serve()``."""
        if self._dispatcher is None:
            from .wire.dispatcher import Dispatcher
            self._dispatcher = Dispatcher(self)
        return self._dispatcher

    def register_service(self, name: str, factory) -> None:
        self._services[name] = factory

    def register_backend(self, service: str, backend) -> None:
        """An in-process AWS service: one method per operation (boto3's method names, AWS's parameter names).

        A service may have several backends (Lambda's operations live on its components); an operation is
        answered by the one registered last that has the method (so a backend can stand in for a part)."""
        self._backends.setdefault(service, []).append(backend)

    def backends(self, service: str) -> list:
        return list(self._backends.get(service, ()))

    def backend(self, service: str):
        """The (first) in-process implementation of ``service`` registered with ``register_backend``."""
        try:
            return self._backends[service][0]
        except KeyError:
            raise ValueError(f"no in-process backend for {service!r}") from None

    def http(self, method: str, url: str, *, headers: dict | None = None, body: bytes = b"") -> dict:
        """Call a function URL in the lab's time: ``{"status", "headers", "body"}`` (``lambdalab.url_frontend``)."""
        return lab_http(self, method, url, headers=headers, body=body)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve every AWS operation this lab answers over HTTP (a real-time lab); returns its URL for boto3's
        ``endpoint_url`` and the AWS CLI's ``--endpoint-url``."""
        return self.driver.serve(host, port)

    def services(self) -> list[str]:
        """The AWS services this lab answers (``lab.client(name)``, ``lab.serve()``)."""
        return list(self._backends)

    # --- notebook conveniences ------------------------------------------------------------------------------
    @on_driver
    def create_function(self, name: str, handler=None, *, runtime: str = "python3.12", memory: int = 128,
                        timeout: int = 3, environment: dict | None = None, duration=None, init_duration=None,
                        wait: bool = True, **aws_params) -> dict:
        """Create a function from a Python function, a source string or nothing, and wait until it is Active
        (``wait=False``: return while it is still Pending, as CreateFunction does)."""
        model = {"duration": as_distribution(duration), "init_duration": as_distribution(init_duration)}
        for key in ("bootstrap", "process", "extensions", "isolation"):
            if key in aws_params:
                model[key] = aws_params.pop(key)
        if model.get("extensions"):
            from .sandbox.extensions import check_extensions
            model["extensions"] = check_extensions(model["extensions"])
        if "Code" not in aws_params:
            source, handler_name, synthetic = handler_source(handler)
            aws_params.setdefault("Handler", f"lambda_function.{handler_name}")
            aws_params["Code"] = {"ZipFile": make_zip({"lambda_function.py": source})}
            model["synthetic"] = synthetic and "bootstrap" not in model
        params = {"FunctionName": name, "Role": DEFAULT_ROLE.format(account=self.account_id), "Runtime": runtime,
                  "MemorySize": memory, "Timeout": timeout, **aws_params}
        if params.get("PackageType") == "Image":
            del params["Runtime"]             # an image brings its own runtime
        if environment:
            params["Environment"] = {"Variables": dict(environment)}
        self.control_plane.create_function(_model=model, **params)
        if wait:
            self.wait_for(lambda: self.control_plane.functions[name].latest.config["State"] != "Pending")
        return self.control_plane.get_function_configuration(FunctionName=name)

    @on_driver
    def push_image(self, repository: str, handler=None, *, base: str = "python:3.12", size_mb: float = 50,
                   tag: str = "latest") -> str:
        """Push a container image to this lab's registry (an in-process ECR) and return its URI.

        The image is the AWS base image ``base`` plus one layer of ``size_mb`` MB holding ``handler`` (a Python
        function, a source string, or None for code that returns null) as ``lambda_function.py``, with
        ``CMD ["lambda_function.handler"]``. Use the URI as ``Code={"ImageUri": uri}`` with
        ``PackageType="Image"``.
        """
        source, handler_name, synthetic = handler_source(handler)
        files = {} if synthetic else {"lambda_function.py": source.encode()}
        return self.ecr.push(repository, files, [f"lambda_function.{handler_name}"], base=base, size_mb=size_mb,
                             tag=tag)

    @on_driver
    def submit(self, at: float | None = None, **invoke_params) -> Invocation:
        """Start an invocation at virtual time ``at`` (default now) without waiting for it."""
        if at is None or at <= self.now:
            return self.frontend.submit(invoke_params)
        holder = Invocation(None)
        self.engine.at(at, self._arrive, holder, invoke_params)
        return holder

    def _arrive(self, holder: Invocation, params: dict) -> None:
        callbacks = holder.__dict__.pop("_callbacks", None)   # the caller's, added before the arrival: keep them
        inv = self.frontend.submit(params)
        _copy_fields(inv, holder)
        if callbacks is not None:
            holder.callbacks = callbacks
        if inv.done:
            _copy_into(inv, holder)
        else:
            inv.callbacks.append(lambda done: _copy_into(done, holder))

    @on_driver
    def poisson(self, function_name: str, rate: float, *, count: int | None = None, duration: float | None = None,
                payload=None, invocation_type: str = "RequestResponse", start: float | None = None) -> None:
        """Schedule seeded Poisson arrivals (``rate`` per second) for ``count`` requests or ``duration`` seconds."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if count is None and duration is None:
            raise ValueError("give count= or duration= so the arrivals end")
        params = {"FunctionName": function_name, "InvocationType": invocation_type}
        if payload is not None:
            params["Payload"] = payload
        t0 = self.now if start is None else start
        end = t0 + duration if duration is not None else float("inf")
        left = count if count is not None else -1
        uniform, engine = self.rng.random, self.engine
        submit = self.frontend.submit

        at = engine.at

        def arrive():
            nonlocal left
            submit(params)
            left -= 1                             # (counting down from -1 when there is no count: never 0)
            if left == 0:
                return
            t = engine.now + -log(1.0 - uniform()) / rate      # rng.expovariate(rate), inlined
            if t <= end:
                at(t, arrive)

        first = t0 + self.rng.expovariate(rate)
        if first <= end and count != 0:
            engine.at(first, arrive)

    def replay(self, trace, *, keep_alive=None):
        """Create a trace's functions (``ll.traces``) and schedule its invocations, under the keep-alive policy
        ``keep_alive`` (``ll.keepalive``; default: the lab's own). Returns a ``Replay``: run the lab until its
        ``end``, then read ``result()``."""
        from .replay import Replay
        return Replay(self, trace, keep_alive)

    def scene(self, title: str):
        """``with lab.scene("cold start") as scene: ...`` records the steps made in the block as one story
        (``scene.steps``, ``len(scene)``) for ``ll.widgets.Stepper(scene)``; the lab runs as before."""
        from .engine.scene import Scene
        return Scene(self, title)

    # --- hooks from the control plane ------------------------------------------------------------------------
    def on_function_state(self, fn) -> None:
        """A function left Pending (Active or Failed); nothing to do in the data plane yet."""

    def on_snapshot_replaced(self, snap) -> None:
        self.fleet.retire_snapshot(snap)

    def on_version_published(self, snap) -> None:
        if snap.config["State"] == "Pending":       # a SnapStart version: Init once and take the snapshot
            self.snapstart.publish(snap)

    def on_function_deleted(self, fn) -> None:
        self.concurrency.reserved_changed()
        for qualifier in list(fn.provisioned_configs):
            self.provisioned.remove(fn, qualifier)

    # --- helpers the components share ------------------------------------------------------------------------
    def iso_time(self, t: float, millis: bool = True, offset: str = "Z") -> str:
        moment = _dt.datetime.fromtimestamp(self.epoch + t, _dt.timezone.utc)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if millis:
            text += f".{moment.microsecond // 1000:03d}"
        return text + offset

    def log_stream_name(self, version: str, t: float) -> str:
        number = (self.epoch + t) // 86400       # (a day's date is made once: every cold start names a stream)
        if number != self._stream_day[0]:
            moment = _dt.datetime.fromtimestamp(number * 86400, _dt.timezone.utc)
            self._stream_day = (number, moment.strftime("%Y/%m/%d"))
        return f"{self._stream_day[1]}/[{version}]{self.ids.hex(32)}"

    @staticmethod
    def runtime_version(runtime: str) -> str:
        """As INIT_START shows it: python3.12 -> python:3.12.v42, nodejs20.x -> nodejs:20.v42,
        provided.al2023 -> provided:al2023.v42 (the .v number is ours; AWS bumps it with each patch)."""
        if "." in runtime and not runtime[runtime.index(".") - 1].isdigit():
            family, _, number = runtime.partition(".")          # provided.al2023
        else:
            family = runtime.rstrip("0123456789.x")
            number = runtime[len(family):].removesuffix(".x")
        return f"{family}:{number}.v42"

    def runtime_version_arn(self, runtime: str) -> str:
        digest = hashlib.sha256(f"lambdalab-{runtime}".encode()).hexdigest()
        return f"arn:aws:lambda:{self.region}::runtime:{digest}"

    def on_close(self, closer, *, last: bool = False) -> None:
        """Call ``closer()`` at ``close()`` (closers run newest first; ``last=True``: after all the others)."""
        if last:
            self._closers.insert(0, closer)
        else:
            self._closers.append(closer)

    def close(self) -> None:
        """Stop every process and server this lab started."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Lab t={self.now:.3f}s functions={len(self.control_plane.functions)} "
                f"environments={len(self.fleet.environments)} trace={self.trace.mode}>")


def _copy_fields(inv: Invocation, holder: Invocation) -> None:
    inv.request_id                          # (made now, so the holder has the same text)
    holder.__dict__.update((k, v) for k, v in inv.__dict__.items() if k != "_callbacks")


def _copy_into(inv: Invocation, holder: Invocation) -> None:
    """``inv`` is done: ``holder`` (what ``lab.submit(at=...)`` returned) becomes it, and its callbacks run."""
    callbacks = holder.__dict__.pop("_callbacks", None) or ()
    _copy_fields(inv, holder)
    for cb in callbacks:
        cb(holder)


def make_zip(files: dict[str, str | bytes]) -> bytes:
    """A deployment package with fixed timestamps, so the same code always has the same CodeSha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def handler_source(handler) -> tuple[str, str, bool]:
    """(module source, handler function name, synthetic?) for create_function's ``handler`` argument."""
    if handler is None:
        return "def handler(event, context):\n    return None\n", "handler", True
    if isinstance(handler, str):
        if "def handler" not in handler:
            raise aws_error("InvalidParameterValueException",
                            "A source string must define handler(event, context).", 400,
                            operation="CreateFunction")
        return textwrap.dedent(handler), "handler", False
    if isinstance(handler, types.FunctionType):
        try:
            source = textwrap.dedent(inspect.getsource(handler))
        except (OSError, TypeError):
            raise aws_error("InvalidParameterValueException",
                            f"Could not read the source of {handler.__name__}; pass the code as a string.", 400,
                            operation="CreateFunction") from None
        return _module_for(handler, source), handler.__name__, False
    raise TypeError("handler must be a Python function, a source string or None")


_LITERALS = (int, float, str, bool, bytes, type(None))


def _is_literal(value) -> bool:
    if isinstance(value, _LITERALS):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    return False


def _module_for(handler: types.FunctionType, source: str) -> str:
    """Rebuild a module around a notebook function: the modules, helper functions and plain values it names.

    A handler defined in a notebook cell has no module of its own, so we give it one: ``import`` lines for the
    modules it uses, the source of other functions from the same notebook it calls, and ``name = <value>`` for
    globals holding plain values (numbers, strings, lists and dicts of them), taken as they are right now.
    """
    lines: list[str] = []
    seen: set[str] = {handler.__name__}
    todo = [handler]
    bodies = []
    while todo:
        fn = todo.pop()
        for name in sorted(set(fn.__code__.co_names) | _nested_names(fn.__code__)):
            if name in seen or name not in fn.__globals__:
                continue
            seen.add(name)
            value = fn.__globals__[name]
            if isinstance(value, types.ModuleType):
                module = value.__name__
                lines.append(f"import {module}" if module == name else f"import {module} as {name}")
            elif isinstance(value, types.FunctionType) and value.__module__ == handler.__module__:
                try:
                    bodies.append(textwrap.dedent(inspect.getsource(value)))
                    todo.append(value)
                except (OSError, TypeError):
                    pass
            elif _is_literal(value):
                lines.append(f"{name} = {value!r}")
    return "\n".join(lines + bodies + [source])


def _nested_names(code) -> set[str]:
    names: set[str] = set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= set(const.co_names) | _nested_names(const)
    return names
