"""One request as it travels through the data plane, from the frontend to an environment and back."""
from __future__ import annotations

from .engine.distributions import Exponential

__all__ = ["Invocation", "LeanInvocation", "BulkLane", "uuid_text"]


class Invocation:
    """A request's record. ``lab.submit()`` returns one; it fills in as the request moves on.

    ``done`` turns true when the caller has its answer; ``response`` is then the boto3-shaped invoke response (or
    the error dict of a rejected request, with ``error`` the ClientError).
    """

    __slots__ = ("request_id", "function", "snapshot", "qualifier", "invoked_arn", "payload", "invocation_type",
                 "log_type", "client_context", "t_arrival", "t_start", "t_end", "cold", "init_duration",
                 "duration", "billed_ms", "status", "error_type", "body", "error", "response", "done", "env_id",
                 "lines", "callbacks", "source", "trace_id", "init_type", "attempt", "stream", "__weakref__")

    def __init__(self, request_id: str, payload: bytes, invocation_type: str = "RequestResponse",
                 log_type: str = "None", client_context: str | None = None, source: str = "client") -> None:
        self.request_id = request_id
        self.payload = payload
        self.invocation_type = invocation_type
        self.log_type = log_type
        self.client_context = client_context
        self.source = source
        self.function = None
        self.snapshot = None
        self.qualifier = None
        self.invoked_arn = None
        self.t_arrival = self.t_start = self.t_end = None
        self.cold = False
        self.init_duration = 0.0
        self.duration = 0.0
        self.billed_ms = 0
        self.status = "pending"      # pending | running | ok | error | timeout | exit | throttled | rejected
        self.error_type = None
        self.body = b""
        self.error = None
        self.response = None
        self.done = False
        self.env_id = None
        self.lines = None            # this invocation's log lines (for LogType=Tail)
        self.callbacks = []
        self.trace_id = None
        self.init_type = None
        self.attempt = 1
        self.stream = None           # a streamed response's caller side (lambdalab.streaming), if streamed

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.status in ("error", "timeout", "exit") else None

    def finish(self) -> None:
        self.done = True
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback(self)

    def __repr__(self) -> str:
        return f"<Invocation {self.request_id} {self.status}{' cold' if self.cold else ''}>"


_REQUEST_ID = Invocation.request_id        # the slot itself, under LeanInvocation's lazy property
_UUID_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)


def uuid_text(bits: int) -> str:
    """A version-4 UUID's text from 128 random bits (what ``Ids.uuid`` draws), without a UUID object."""
    h = "%032x" % ((bits & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class LeanInvocation(Invocation):
    """The record of a request on the bulk lane (see ``Frontend.submit_lean``): nobody holds it, so it is built
    lazily. The request id's random bits are drawn on arrival like any request's (so every later id is the
    same), but its text is only made when something reads it; the other fields start unset and read as an
    ordinary Invocation's defaults until the data path sets them.
    """

    __slots__ = ("_bits", "lane")

    def __init__(self, bits: int, lane: "BulkLane", t_arrival: float) -> None:
        self._bits = bits
        self.lane = lane
        self.t_arrival = t_arrival
        self.done = False

    @property
    def request_id(self) -> str:
        try:
            return _REQUEST_ID.__get__(self)
        except AttributeError:
            text = uuid_text(self._bits)
            _REQUEST_ID.__set__(self, text)
            return text

    @request_id.setter
    def request_id(self, value: str) -> None:
        _REQUEST_ID.__set__(self, value)

    def __getattr__(self, name: str):
        # only called for a slot not set yet: the value Invocation.__init__ would have given it
        if name in _LEAN_DEFAULTS:
            value = _LEAN_DEFAULTS[name]
        elif name == "callbacks":
            value = []
        elif name == "body":                  # a bulk-lane invoke that returned answers null (Environment._lean_done)
            value = b"null" if self.status == "ok" else b""
        elif name == "function":
            value = self.lane.function
        elif name == "snapshot":
            value = self.lane.snapshot
        elif name == "invoked_arn":
            value = self.lane.function.arn
        elif name == "trace_id":
            value = (f"Root=1-{int(self.lane.epoch + self.t_arrival):08x}-{self.request_id.replace('-', '')[:24]}"
                     ";Sampled=0")
        else:
            raise AttributeError(name)
        setattr(self, name, value)
        return value


_LEAN_DEFAULTS = {"payload": b"", "invocation_type": "RequestResponse", "log_type": "None", "client_context": None,
                  "source": "client", "qualifier": None, "t_start": None, "t_end": None, "cold": False,
                  "init_duration": 0.0, "duration": 0.0, "billed_ms": 0, "status": "pending", "error_type": None,
                  "error": None, "response": None, "done": False, "env_id": None, "lines": None,
                  "init_type": None, "attempt": 1, "stream": None}


class BulkLane:
    """What the bulk lane needs to know of one function version, looked up once (``Frontend.submit_lean``).

    A snapshot's configuration and model never change once it exists (an update makes a new snapshot), so its
    memory, architecture, timeout and duration model can be read here instead of on every request. ``rate`` is
    ``1 / mean`` for an exponential duration: the environment then draws it as ``random.expovariate`` would,
    with the same number from the same RNG.
    """
    __slots__ = ("snapshot", "function", "name", "key", "stats", "memory", "arm", "timeout", "duration", "rate",
                 "random", "epoch")

    def __init__(self, snapshot, stats, rng, epoch: float) -> None:
        self.epoch = epoch
        self.snapshot = snapshot
        self.function = snapshot.function
        self.name = snapshot.function.name
        self.key = snapshot.key
        self.stats = stats                        # the function's counters (observability.stats._FunctionStats)
        self.memory = snapshot.config["MemorySize"]
        self.arm = snapshot.config["Architectures"] == ["arm64"]
        self.timeout = snapshot.config["Timeout"]
        self.duration = snapshot.model.get("duration")
        exponential = type(self.duration) is Exponential and self.duration.mean > 0
        self.rate = 1.0 / self.duration.mean if exponential else None
        self.random = rng.random
