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

from .control_plane.concurrency import MIN_UNRESERVED
from .control_plane import errors
from .control_plane.errors import aws_error, error_code, error_message, error_status
from .control_plane.recursion import MAX_CHAIN
from .invocation import BulkLane, Invocation, LeanInvocation

__all__ = ["Frontend", "StreamingBody", "SYNC_PAYLOAD_LIMIT", "ASYNC_PAYLOAD_LIMIT"]

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
INVOKE_PARAMETERS = frozenset({"FunctionName", "InvocationType", "LogType", "ClientContext", "Payload", "Qualifier"})


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
        # requests in flight: per function, Stats' busy count (``in_use``); those let in against the account's
        # unreserved pool are counted here in all and per function (``unreserved`` of the function's counters)
        self.unreserved_in_use = 0
        self._lanes: dict = {}          # snapshot -> its BulkLane, or False if it may not take the bulk lane
        self._functions = lab.control_plane.functions
        self._bits = lab.ids.bits
        self._engine = lab.engine
        self._counters = lab.counters

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
        caller's side of a streamed response (``lambdalab.streaming.ResponseStream``)."""
        lab = self.lab
        inv = Invocation(lab.ids.uuid(), b"", params.get("InvocationType", "RequestResponse"),
                         params.get("LogType", "None"), params.get("ClientContext"), source)
        inv.stream = stream
        inv.t_arrival = lab.engine.now
        name = params.get("FunctionName")
        if lab.trace.full and source == "client":
            lab.trace.emit("client", "invoke", f"Invoke {name} ({inv.invocation_type})", request_id=inv.request_id,
                           function=name, target="frontend", invocation_type=inv.invocation_type)
        try:
            self._accept(inv, params, trace_header)
        except errors.ClientError as error:      # (botocore's, looked up only when something was raised)
            self.reject(inv, error)
            return inv
        if inv.invocation_type == "DryRun":
            lab.trace.emit("frontend", "dry_run", "DryRun: the request is valid; nothing runs (204)",
                           request_id=inv.request_id, function=inv.function.name, status=204)
            inv.status = "ok"
            inv.response = self._response(inv, 204, b"")
            inv.finish()
            return inv
        if inv.invocation_type == "Event":
            lab.async_invoke.accept(inv)
            return inv
        self.run(inv)
        return inv

    def submit_lean(self, params: dict) -> Invocation:
        """``submit(params)`` for a request nobody will look at: the bulk lane of ``lab.poisson``.

        Used when the trace is not "full" and ``params`` were checked once by the caller (only FunctionName, a
        bare name, and InvocationType RequestResponse: no payload, no qualifier). When the function is a
        synthetic one on ``$LATEST`` (no extensions, no provisioned concurrency), the request takes the same path
        with the same decisions and draws as ``submit``, skipping what only a reader would see: the request id's
        text (its random bits are still drawn), the X-Ray header, the boto3-shaped response. Anything else goes
        through ``submit``.
        """
        name = params["FunctionName"]
        fn = self._functions.get(name)
        if fn is None:
            return self.submit(params)
        snap = fn.latest
        lane = self._lanes.get(snap)
        if lane is None:
            model = snap.model
            eligible = bool(model.get("synthetic")) and not model.get("extensions")
            lane = self._lanes[snap] = eligible and BulkLane(snap, self._counters.function(name), self.lab.rng,
                                                             self.lab.epoch)
        if not lane or snap.provisioned is not None or snap.config["State"] != "Active":
            return self.submit(params)
        inv = LeanInvocation(self._bits(128), lane, self._engine.now)
        # run(), for this request
        counts = lane.stats
        reserved = fn.reserved
        if reserved is None:
            unreserved = self.unreserved_in_use
            # (at least MIN_UNRESERVED always stay unreserved, so below that there is nothing to add up)
            if unreserved >= MIN_UNRESERVED and \
                    unreserved >= self.lab.account_concurrency - self.lab.concurrency.total_reserved():
                self._counters.request(name)
                self.throttle(inv, "ConcurrentInvocationLimitExceeded")
                return inv
            self.unreserved_in_use = unreserved + 1
            counts.unreserved += 1
        elif counts.busy >= reserved:
            self._counters.request(name)
            self.throttle(inv, "ReservedFunctionConcurrentInvocationLimitExceeded")
            return inv
        self._counters.lean_start(counts)       # request + busy_change(name, 1)
        inv.status = "running"
        if self.lab.fleet.acquire_lean(inv):
            return inv
        self.release(name)                       # the scaling rate refused a new environment
        self.throttle(inv, "ConcurrentInvocationLimitExceeded")
        return inv

    def _accept(self, inv: Invocation, params: dict, trace_header: str | None = None) -> None:
        lab = self.lab
        unknown = params.keys() - INVOKE_PARAMETERS
        if unknown:
            raise aws_error("InvalidParameterValueException",
                            f"Unsupported Invoke parameter(s): {', '.join(sorted(unknown))}", 400)
        if "FunctionName" not in params:
            raise aws_error("ValidationException", "1 validation error detected: Value null at 'functionName' "
                            "failed to satisfy constraint: Member must not be null", 400)
        if inv.invocation_type not in INVOCATION_TYPES:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{inv.invocation_type}' at "
                            "'invocationType' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[Event, RequestResponse, DryRun]", 400)
        if inv.log_type not in ("None", "Tail"):
            raise aws_error("ValidationException", f"1 validation error detected: Value '{inv.log_type}' at "
                            "'logType' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[None, Tail]", 400)
        payload = params.get("Payload")
        payload = b"" if payload is None else payload_bytes(payload)
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
        # a bare name of an existing function, no qualifier: nothing to parse (it was validated at creation)
        name = params["FunctionName"]
        fn = lab.control_plane.functions.get(name) if type(name) is str and "Qualifier" not in params else None
        if fn is not None:
            qualifier = alias = None
        else:
            fn, qualifier, alias = lab.control_plane.resolve(params["FunctionName"], params.get("Qualifier"))
        version = alias.function_version if alias else (qualifier or "$LATEST")
        if alias and alias.weights:
            (extra, weight), = alias.weights.items()
            if lab.rng.random() < weight:
                version = extra
        snap = fn.snapshot(version)
        state = snap.config.get("State", "Active")
        if state != "Active":
            raise aws_error("ResourceConflictException", "The operation cannot be performed at this time. The "
                            f"function is currently in the following state: {state}", 409)
        inv.trace_id, rounds = lab.recursion.descend(fn, trace_header, inv.request_id)
        if rounds > MAX_CHAIN and inv.invocation_type != "Event" and lab.recursion.mode(fn) == "Terminate":
            lab.recursion.dropped(fn)        # (an Event invoke is stopped when the poller would run it)
            raise lab.recursion.error()
        inv.function, inv.snapshot, inv.qualifier = fn, snap, qualifier
        inv.invoked_arn = f"{fn.arn}:{qualifier}" if qualifier else fn.arn
        if inv.log_type == "Tail":
            inv.lines = []
        if lab.trace.full:
            if inv.invocation_type == "RequestResponse":
                words = (f"Resolve {fn.name}:{version}, check concurrency ({self.in_use.get(fn.name, 0):,} of "
                         f"{self.limit_of(fn):,} in use)")
            else:
                words = f"Resolve {fn.name}:{version} and validate the {inv.invocation_type} request"
            chain = {}
            if trace_header:                  # a request made by (or caused by) another invocation's code
                caller = lab.calls.caller
                chain = {"trace_root": inv.trace_id.partition(";")[0][5:], "chain_rounds": rounds}
                if caller is not None:
                    chain["caller"] = caller.request_id
                    words += f" (called by {caller.function.name}, request {caller.request_id[:8]})"
            lab.trace.emit("frontend", "receive", words,
                           request_id=inv.request_id, function=fn.name, version=version,
                           payload_bytes=len(payload), invocation_type=inv.invocation_type, **chain)

    def limit_of(self, fn) -> int:
        if fn.reserved is not None:
            return fn.reserved
        return self.lab.account_concurrency - self.lab.concurrency.total_reserved()

    def run(self, inv: Invocation) -> bool:
        """The synchronous data plane for an accepted request. False if it was throttled."""
        lab = self.lab
        fn = inv.function
        name = fn.name
        lab.counters.request(name)
        counts = lab.counters.function(name)
        reason = None
        if fn.reserved is not None:
            if counts.busy >= fn.reserved:
                reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
        elif self.unreserved_in_use >= lab.account_concurrency - lab.concurrency.total_reserved():
            reason = "ConcurrentInvocationLimitExceeded"
        if reason is None:
            if fn.reserved is None:
                self.unreserved_in_use += 1
                counts.unreserved += 1
            lab.counters.busy_change(name, 1)
            if lab.trace.full:
                lab.trace.emit("frontend", "dispatch", "Hand the request to the Worker Manager",
                               request_id=inv.request_id, function=name, version=inv.snapshot.version,
                               target="worker_manager")
            inv.status = "running"
            if lab.fleet.acquire(inv):
                return True
            self.release(name)               # the scaling rate refused a new environment
            reason = "ConcurrentInvocationLimitExceeded"
        self.throttle(inv, reason)
        return False

    def release_lean(self, counts) -> None:
        """``release`` on the bulk lane, whose busy count ``Stats.lean_done`` has already taken down."""
        if counts.unreserved:
            counts.unreserved -= 1
            self.unreserved_in_use -= 1

    def release(self, name: str) -> None:
        counts = self.lab.counters.function(name)
        if counts.unreserved:
            counts.unreserved -= 1
            self.unreserved_in_use -= 1
        self.lab.counters.busy_change(name, -1)

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
        lab.trace.emit("frontend", "throttle", f"Throttle: 429 TooManyRequestsException ({reason})",
                       request_id=inv.request_id, function=inv.function.name, status=429, reason=reason)
        self._fail(inv, error)

    def reject(self, inv: Invocation, error) -> None:
        inv.status = "rejected"
        error.response["ResponseMetadata"]["RequestId"] = inv.request_id
        code, status = error_code(error), error_status(error)
        self.lab.trace.emit("frontend", "reject", f"Reject: {status} {code}: {error_message(error)}",
                            request_id=inv.request_id, status=status, error=code)
        self._fail(inv, error)

    def _fail(self, inv: Invocation, error) -> None:
        inv.error = error
        inv.response = error.response
        if inv.source == "client":
            status = error_status(error)
            self.lab.trace.emit("client", "response", f"The caller gets {status} {error_code(error)}",
                                request_id=inv.request_id, status=status)
        inv.finish()

    def respond(self, inv: Invocation) -> None:
        """The invocation is over: build the 200 response and hand it back (to the caller or the poller)."""
        lab = self.lab
        inv.t_end = lab.engine.now
        if type(inv) is LeanInvocation:   # the bulk lane: nobody reads a response, so none is built
            inv.done = True
            return
        body = inv.body
        if inv.status in ("timeout", "exit") or inv.status == "error":
            pass
        inv.response = self._response(inv, 200, body)
        if lab.trace.full:
            function_error = " (FunctionError: Unhandled)" if inv.function_error else ""
            lab.trace.emit("frontend", "return", f"Return 200 to the caller{function_error}",
                           request_id=inv.request_id, function=inv.function.name, version=inv.snapshot.version,
                           env_id=inv.env_id, status=200, target="client" if inv.source == "client" else inv.source)
            if inv.source == "client" and inv.stream is None:
                latency = (lab.now - inv.t_arrival) * 1000
                lab.trace.emit("client", "response", f"Response received after {latency:.2f} ms",
                               request_id=inv.request_id, function=inv.function.name, status=200,
                               latency_ms=latency)
        if inv.stream is not None:
            inv.stream.finish(inv)
        inv.finish()

    def _response(self, inv: Invocation, status: int, body: bytes) -> dict:
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

    def statistics(self) -> dict:
        return {"in_use": dict(self.in_use), "unreserved_in_use": self.unreserved_in_use}
