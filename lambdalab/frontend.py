"""The frontend: Lambda's Invoke API.

Every invoke, from an SDK, from the async poller fleet or from an event source mapping, enters here. In AWS the
frontend authenticates the caller, loads the function's metadata, resolves the qualifier (``$LATEST``, a
version, or an alias with its weighted routing), checks the request (payload size, JSON), checks concurrency
(the function's reserved concurrency, else the account's unreserved pool), and then either hands an ``Event``
invoke to the internal queue (202), answers a ``DryRun`` (204), or asks the Worker Manager for an execution
environment and waits for the result (200).

Everything that can be refused is refused before any state changes, with AWS's code, status and message.
We do not model authentication or resource policies: every caller may invoke every function.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from .control_plane import errors
from .control_plane.concurrency import MIN_UNRESERVED
from .control_plane.errors import aws_error, error_code, error_message, error_status
from .control_plane.recursion import MAX_CHAIN
from .control_plane.states import refuse_invoke
from .invocation import Invocation
from .observability.records import Statistics

__all__ = ["Frontend", "StreamingBody", "SYNC_PAYLOAD_LIMIT", "ASYNC_PAYLOAD_LIMIT"]

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
INVOKE_PARAMETERS = frozenset({"FunctionName", "InvocationType", "LogType", "ClientContext", "Payload", "Qualifier"})
_new = object.__new__


class StreamingBody:
    """The ``Payload`` of an invoke response: ``.read()`` like botocore's StreamingBody."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, amt: int | None = None) -> bytes:
        end = len(self._data) if amt is None else min(len(self._data), self._pos + amt)
        chunk, self._pos = self._data[self._pos:end], end
        return chunk

    def iter_lines(self):
        yield from self._data.splitlines()

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<StreamingBody {len(self._data)} bytes>"


def payload_bytes(payload) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if hasattr(payload, "read"):
        data = payload.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    raise aws_error("InvalidRequestContentException",
                    "Could not parse request body into json: Payload must be bytes, str or a file-like object",
                    400)


class Frontend:
    def __init__(self, lab) -> None:
        self.lab = lab
        # requests in flight are Stats' busy counts (per function: ``in_use``), those let in against a function's
        # reservation its ``reserved_busy`` counts (the others: ``unreserved_in_use``); the end of an invoke takes
        # them down
        self._functions = lab.control_plane.functions
        self._bits = lab.ids.bits
        self._engine = lab.engine
        self._counters = lab.counters
        self._counts = lab.counters.functions        # function name -> its counters (busy is the in-flight count)
        self._trace = lab.trace
        self._real_epoch = lab.epoch if lab.epoch != Invocation.epoch else None
        self._answer_200 = self._answer             # (one bound method for every response)

    # --- the Invoke API ------------------------------------------------------------------------------------
    def invoke(self, **params) -> Invocation:
        """The Invoke operation (boto3's ``invoke``): the dispatcher answers once the Invocation is done. A request
        sent by handler code (``lab.calls``) continues its caller's request chain."""
        calls = self.lab.calls
        return self.submit(params, "function" if calls.caller is not None else "client", calls.header)

    def submit(self, params: dict, source: str = "client", trace_header: str | None = None,
               stream=None) -> Invocation:
        """Process one Invoke request now. Never raises: a refusal is recorded on the returned Invocation.
        ``trace_header``: the X-Ray header the request carried (it continues that request chain); ``stream``: the
        caller's side of a streamed response (``lambdalab.streaming.ResponseStream``).

        Every invoke takes this path, one from a notebook or a million from ``lab.poisson``; what only a reader
        would see (the request id's text, a new chain's X-Ray header, the response dict, the Steps) is made when
        it is read or when the trace is "full".
        """
        inv = _new(Invocation)
        inv.bits = self._bits(128)                # the request id's random bits (its text is made when read)
        inv.t_arrival = self._engine.now
        inv.lines = None                          # (read on the way: set here, they are quicker reads)
        inv.done = inv.cold = False
        if source != "client":
            inv.source = source
        if self._real_epoch is not None:
            inv.epoch = self._real_epoch
        inv.stream = stream                       # (read at the end: a class default is a slower read)
        full = self._trace.full
        if full and source == "client":
            name = params.get("FunctionName")
            itype = params.get("InvocationType", "RequestResponse")
            self._trace.emit("client", "invoke", "Invoke {} ({})", name, itype, request_id=inv.request_id,
                             function=name, target="frontend", invocation_type=itype)
        try:
            get = params.get
            name = get("FunctionName")
            itype = get("InvocationType")
            n = len(params)
            # the usual request, a bare function name (and RequestResponse): nothing more to check or parse
            fn = self._functions.get(name) if type(name) is str and \
                (n == 1 or n == 2 and itype == "RequestResponse") else None
            if fn is not None:
                snap = fn.latest
                version = "$LATEST"
                itype = "RequestResponse"
            else:
                fn, snap, version = self._validate(inv, params)
                itype = inv.invocation_type
            state = snap.config.get("State", "Active")
            if state != "Active":
                raise refuse_invoke(self.lab, fn, snap, state)
            if trace_header is not None:      # a request made by (or caused by) another invocation's code
                rounds = self._chain(inv, fn, trace_header)
        except errors.ClientError as error:      # (botocore's, looked up only when something was raised)
            self.reject(inv, error)
            return inv
        inv.function = fn
        inv.snapshot = snap
        if full:
            if itype == "RequestResponse":
                counts = self._counts.get(fn.name)
                words, values = "Resolve {}:{}, check concurrency ({:,} of {:,} in use){}", \
                    [fn.name, version, counts.busy if counts is not None else 0, self.limit_of(fn)]
            else:
                words, values = "Resolve {}:{} and validate the {} request{}", [fn.name, version, itype]
            chain = {}
            called = ""
            if trace_header:
                caller = self.lab.calls.caller
                chain = {"trace_root": inv.trace_id.partition(";")[0][5:], "chain_rounds": rounds}
                if caller is not None:
                    chain["caller"] = caller.request_id
                    called = f" (called by {caller.function.name}, request {caller.request_id[:8]})"
            self._trace.emit("frontend", "receive", words, *values, called, request_id=inv.request_id,
                             function=fn.name, version=version, payload_bytes=len(inv.payload),
                             invocation_type=itype, **chain)
        if itype == "RequestResponse":
            self.run(inv)
        elif itype == "Event":
            self.lab.async_invoke.accept(inv)
        else:
            self._trace.emit("frontend", "dry_run", "DryRun: the request is valid; nothing runs (204)",
                             request_id=inv.request_id, function=fn.name, status=204)
            inv.status = "ok"
            inv.response = self.response_for(inv, 204, b"")
            inv.finish()
        return inv

    def _chain(self, inv: Invocation, fn, trace_header: str) -> int:
        """The request continues a chain (``trace_header``): its X-Ray header, and how many times the chain has
        now invoked ``fn``; past ``MAX_CHAIN`` a synchronous one is stopped (an Event one when the poller would
        run it)."""
        recursion = self.lab.recursion
        inv.trace_id, rounds = recursion.descend(fn, trace_header, inv.request_id)
        if rounds > MAX_CHAIN and inv.invocation_type != "Event" and recursion.mode(fn) == "Terminate":
            recursion.dropped(fn)
            raise recursion.error()
        return rounds

    def _validate(self, inv: Invocation, params: dict):
        """Every check of an Invoke request, in AWS's order; the first to fail raises its ClientError. Returns
        (function, the version that runs, the version as traced)."""
        if not INVOKE_PARAMETERS.issuperset(params):
            unknown = params.keys() - INVOKE_PARAMETERS
            raise aws_error("InvalidParameterValueException",
                            f"Unsupported Invoke parameter(s): {', '.join(sorted(unknown))}", 400)
        get = params.get
        if "FunctionName" not in params:
            raise aws_error("ValidationException", "1 validation error detected: Value null at 'functionName' "
                            "failed to satisfy constraint: Member must not be null", 400)
        itype = get("InvocationType", "RequestResponse")
        inv.invocation_type = itype
        if itype not in INVOCATION_TYPES:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{itype}' at "
                            "'invocationType' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[Event, RequestResponse, DryRun]", 400)
        self._options(inv, get)
        name = params["FunctionName"]
        if type(name) is str and "Qualifier" not in params:
            fn = self._functions.get(name)
            if fn is not None:
                return fn, fn.latest, "$LATEST"
        return self._resolve(inv, name, get("Qualifier"))

    def _options(self, inv: Invocation, get) -> None:
        """The optional parameters: LogType, ClientContext, Payload (checked in that order)."""
        log_type = get("LogType")
        if log_type is not None and log_type != "None":
            inv.log_type = log_type
            if log_type != "Tail":
                raise aws_error("ValidationException", f"1 validation error detected: Value '{log_type}' at "
                                "'logType' failed to satisfy constraint: Member must satisfy enum value set: "
                                "[None, Tail]", 400)
            inv.lines = []
        context = get("ClientContext")
        if context is not None:
            inv.client_context = context
        payload = get("Payload")
        if payload is not None:
            self._payload(inv, payload)

    def _resolve(self, inv: Invocation, name, qualifier):
        """A qualified or ARN-shaped name: (function, the version that runs, the version as traced)."""
        lab = self.lab
        fn, qualifier, alias = lab.control_plane.resolve(name, qualifier)
        version = alias.function_version if alias else (qualifier or "$LATEST")
        if alias and alias.weights:
            (extra, weight), = alias.weights.items()
            if lab.rng.random() < weight:
                version = extra
        inv.qualifier = qualifier
        return fn, fn.snapshot(version), version

    def _payload(self, inv: Invocation, payload) -> None:
        payload = payload_bytes(payload)
        limit = ASYNC_PAYLOAD_LIMIT if inv.invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise aws_error("RequestEntityTooLargeException",
                            f"Request must be smaller than {limit} bytes for the InvokeFunction operation", 413)
        if payload:
            try:
                json.loads(payload)
            except ValueError as exc:
                raise aws_error("InvalidRequestContentException",
                                f"Could not parse request body into json: Could not parse payload into json: {exc}",
                                400) from None
            inv.payload = payload

    def limit_of(self, fn) -> int:
        if fn.reserved is not None:
            return fn.reserved
        return self.lab.account_concurrency - self.lab.concurrency.total_reserved()

    def run(self, inv: Invocation) -> bool:
        """The synchronous data plane for an accepted request. False if it was throttled."""
        fn = inv.function
        counters = self._counters
        counts = self._counts.get(fn.name) or counters.function(fn.name)
        reserved = fn.reserved
        if reserved is None:
            unreserved = counters.busy - counters.reserved_busy
            # (at least MIN_UNRESERVED always stay unreserved, so below that there is nothing to add up)
            if unreserved >= MIN_UNRESERVED and \
                    unreserved >= self.lab.account_concurrency - self.lab.concurrency.total_reserved():
                self.throttle(inv, "ConcurrentInvocationLimitExceeded")
                return False
        elif counts.busy >= reserved:
            self.throttle(inv, "ReservedFunctionConcurrentInvocationLimitExceeded")
            return False
        counters.busy_up(counts, reserved is None)
        if self._trace.full:
            self._trace.emit("frontend", "dispatch", "Hand the request to the Worker Manager",
                             request_id=inv.request_id, function=fn.name, version=inv.snapshot.version,
                             target="worker_manager")
        inv.status = "running"
        if self.lab.fleet.acquire(inv):
            return True
        counters.busy_down(counts)             # the scaling rate refused a new environment
        self.throttle(inv, "ConcurrentInvocationLimitExceeded")
        return False

    @property
    def unreserved_in_use(self) -> int:
        """Requests in flight let in against the account's unreserved pool."""
        return self._counters.unreserved

    @property
    def in_use(self) -> dict[str, int]:
        """Requests in flight per function."""
        return {name: counts.busy for name, counts in self.lab.counters.functions.items()}

    # --- answers --------------------------------------------------------------------------------------------
    def throttle(self, inv: Invocation, reason: str) -> None:
        lab = self.lab
        lab.counters.throttle(inv.function.name)
        inv.status = "throttled"
        error = aws_error("TooManyRequestsException", "Rate Exceeded.", 429, request_id=inv.request_id,
                          Reason=reason, Type="User")
        lab.trace.emit("frontend", "throttle", "Throttle: 429 TooManyRequestsException ({})", reason,
                       request_id=inv.request_id, function=inv.function.name, status=429, reason=reason)
        self._fail(inv, error)

    def reject(self, inv: Invocation, error) -> None:
        inv.status = "rejected"
        error.response["ResponseMetadata"]["RequestId"] = inv.request_id
        code, status = error_code(error), error_status(error)
        self.lab.trace.emit("frontend", "reject", "Reject: {} {}: {}", status, code, error_message(error),
                            request_id=inv.request_id, status=status, error=code)
        self._fail(inv, error)

    def _fail(self, inv: Invocation, error) -> None:
        inv.error = error
        inv.response = error.response
        if inv.source == "client":
            status = error_status(error)
            self.lab.trace.emit("client", "response", "The caller gets {} {}", status, error_code(error),
                                request_id=inv.request_id, status=status)
        inv.finish()

    def respond(self, inv: Invocation) -> None:
        """The invocation is over: the 200 response goes back (to the caller or the poller). It is made when it
        is first read, except a LogType=Tail one: its log tail is what was written by now."""
        inv.answer = self._answer_200
        if inv.lines is not None:
            inv.response = self._answer(inv)
        if self._trace.full:
            lab = self.lab
            function_error = " (FunctionError: Unhandled)" if inv.function_error else ""
            lab.trace.emit("frontend", "return", "Return 200 to the caller{}", function_error,
                           request_id=inv.request_id, function=inv.function.name, version=inv.snapshot.version,
                           env_id=inv.env_id, status=200, target="client" if inv.source == "client" else inv.source)
            if inv.source == "client" and inv.stream is None:
                latency = (self._engine.now - inv.t_arrival) * 1000
                lab.trace.emit("client", "response", "Response received after {:.2f} ms", latency,
                               request_id=inv.request_id, function=inv.function.name, status=200,
                               latency_ms=latency)
        if inv.stream is not None:
            inv.stream.finish(inv)
        inv.finish()

    def _answer(self, inv: Invocation) -> dict:
        return self.response_for(inv, 200, inv.body)

    def response_for(self, inv: Invocation, status: int, body: bytes) -> dict:
        """The boto3-shaped invoke response for ``inv`` (200 with the function's answer, 202, 204)."""
        headers = {"content-type": "application/json", "x-amzn-requestid": inv.request_id}
        out = {"ResponseMetadata": {"RequestId": inv.request_id, "HTTPStatusCode": status, "HTTPHeaders": headers,
                                    "RetryAttempts": 0},
               "StatusCode": status}
        if status == 200:
            out["ExecutedVersion"] = inv.snapshot.version
            headers["x-amz-executed-version"] = inv.snapshot.version
            if inv.function_error:
                out["FunctionError"] = "Unhandled"
                headers["x-amz-function-error"] = "Unhandled"
            if inv.lines is not None:
                tail = ("\n".join(inv.lines) + "\n").encode()[-4096:]     # the last 4 KB of the log
                out["LogResult"] = base64.b64encode(tail).decode()
                headers["x-amz-log-result"] = out["LogResult"]
        out["Payload"] = StreamingBody(body)
        return out

    def statistics(self) -> "FrontendStatistics":
        return FrontendStatistics(dict(self.in_use), self.unreserved_in_use)


@dataclass(frozen=True)
class FrontendStatistics(Statistics):
    in_use: dict            # requests in flight per function
    unreserved_in_use: int  # ... of which let in against the account's unreserved pool
