"""One request as it travels through the data plane, from the frontend to an environment and back.

An ``Invocation`` carries only what was set on it: every other field reads as its class default, and the fields
only a reader needs are made when first read. The request id's random bits are drawn when the request arrives
(so every later id is the same whoever reads what), but its text is made on first read; so are the X-Ray
trace header, the invoked ARN and the boto3-shaped response. A million requests nobody looks at (``lab.poisson``
in a bulk run) therefore cost a few attribute stores each, and one looked at in a notebook reads exactly the same.
"""
from __future__ import annotations

from .control_plane.recursion import chain_start
from .engine.clock import VIRTUAL_EPOCH

__all__ = ["Invocation", "uuid_text"]

_UUID_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))     # variant and version bits
_UUID_SET = (0x8000 << 48) | (4 << 76)                 # RFC 4122 variant, version 4


def uuid_text(bits: int) -> str:
    """A version-4 UUID's text from 128 random bits, the same as ``str(uuid.UUID(int=bits, version=4))``."""
    h = "%032x" % ((bits & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Made:
    """A field made from the others the first time it is read, then kept (a non-data descriptor: once the value
    is one of the instance's attributes, reads find it there, and assigning the field simply sets it)."""

    __slots__ = ("name", "make")

    def __init__(self, make) -> None:
        self.make = make
        self.name = make.__name__

    def __get__(self, inv, owner=None):
        if inv is None:
            return self
        value = self.make(inv)
        setattr(inv, self.name, value)        # (not through inv.__dict__: reading that makes the instance a dict)
        return value


class Invocation:
    """A request's record. ``lab.submit()`` returns one; it fills in as the request moves on.

    ``done`` turns true when the caller has its answer; ``response`` is then the boto3-shaped invoke response (or
    the error dict of a rejected request, with ``error`` the ClientError).
    """

    # what a request is until the data path says otherwise
    function = snapshot = qualifier = None
    payload = b""
    invocation_type = "RequestResponse"
    log_type = "None"
    client_context = None
    source = "client"
    t_arrival = t_start = t_end = None
    cold = False
    init_duration = duration = 0.0
    billed_ms = 0
    status = "pending"           # pending | running | ok | error | timeout | exit | throttled | rejected
    error_type = None
    body = b""
    error = None
    done = False
    env_id = None
    lines = None                 # this invocation's log lines (for LogType=Tail)
    init_type = None
    attempt = 1
    epoch = VIRTUAL_EPOCH        # what virtual time 0 reads as (the X-Ray header's time)
    answer = None                # makes the 200 response when it is first read (set by the frontend)
    stream = None                # a streamed response's caller side (lambdalab.streaming), if streamed
    bits = None                  # the request id's 128 random bits, drawn on arrival (its text is made when read)
    _response = None             # the response, once set or made
    _callbacks = None            # ``callbacks``, once made or set

    def __init__(self, request_id: str | None, payload: bytes = b"", invocation_type: str = "RequestResponse",
                 log_type: str = "None", client_context: str | None = None, source: str = "client") -> None:
        if request_id is not None:
            self.request_id = request_id
        if payload:
            self.payload = payload
        if invocation_type != "RequestResponse":
            self.invocation_type = invocation_type
        if log_type != "None":
            self.log_type = log_type
        if client_context is not None:
            self.client_context = client_context
        if source != "client":
            self.source = source

    @_Made
    def request_id(self) -> str:
        bits = self.bits
        return "" if bits is None else uuid_text(bits)

    @_Made
    def trace_id(self) -> str | None:
        """The X-Ray header: a request that continued a chain was given its own; one that started a chain (the
        usual case) makes it now, as ``lab.recursion`` would have."""
        if self.t_arrival is None or self.function is None:
            return None
        return chain_start(self.epoch + self.t_arrival, self.request_id, self.function.arn)

    @_Made
    def invoked_arn(self) -> str | None:
        if self.function is None:
            return None
        return f"{self.function.arn}:{self.qualifier}" if self.qualifier else self.function.arn

    @property
    def response(self) -> dict | None:
        """The invoke response: set by whoever answered, or made by ``answer`` once the request is done."""
        made = self._response
        if made is None and self.answer is not None and self.done:
            made = self._response = self.answer(self)
        return made

    @response.setter
    def response(self, value: dict | None) -> None:
        self._response = value

    @property
    def callbacks(self) -> list:
        """What to call with the invocation when it is done (``finish``); the list is made when first read."""
        made = self._callbacks
        if made is None:
            made = self._callbacks = []
        return made

    @callbacks.setter
    def callbacks(self, value: list) -> None:
        self._callbacks = value

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.status in ("error", "timeout", "exit") else None

    def finish(self) -> None:
        self.done = True
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            for callback in callbacks:
                callback(self)

    def __repr__(self) -> str:
        return f"<Invocation {self.request_id} {self.status}{' cold' if self.cold else ''}>"


def _share_keys(cls, names) -> None:
    """Give ``cls``'s instances one shared key table holding ``names``, so they keep their fields in a plain
    array and make no dict of their own.

    CPython 3.11 keeps the instance fields of a class in one key table shared by all its instances; a field
    whose name is not in it makes that instance a dict of its own (about 830 bytes, one more object for the
    cyclic GC to scan). The table takes at most 30 names and, to keep classes that add fields at random from
    growing it, every new instance takes one place from it: after about 30 instances only names set by then
    are in it. A bulk run makes hundreds of Invocations before the first one starts (its environment is in
    Init), so ``t_start``, ``env_id``, ``init_type``... came too late and every Invocation had its own dict.
    One instance that sets ``names`` (the most used first) at import puts them all there first."""
    template = object.__new__(cls)
    for name in names:
        setattr(template, name, None)


# the fields every invocation sets, in the order it sets them, then the ones a reader makes or some paths set
# (at most 29 fit; those left out (log_type, client_context, error, attempt) only cost their invocations a dict)
_share_keys(Invocation, ("bits", "t_arrival", "lines", "done", "cold", "stream", "function", "snapshot", "status",
                         "t_start", "env_id", "init_type", "t_end", "body", "duration", "billed_ms", "answer",
                         "init_duration", "error_type", "source", "epoch", "request_id", "trace_id", "invoked_arn",
                         "_response", "_callbacks", "payload", "invocation_type", "qualifier"))
