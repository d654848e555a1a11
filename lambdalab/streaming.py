"""Response streaming: the caller gets the response in pieces, as the function writes them.

In AWS a function whose runtime supports it (Node.js managed runtimes and custom runtimes) can stream its
response instead of returning it at the end: the runtime posts to the Runtime API with
``Lambda-Runtime-Function-Response-Mode: streaming`` and a chunked body, and each chunk travels on to the caller
while the function keeps running, so the time to first byte no longer waits for the whole response. Callers use
``InvokeWithResponseStream`` (an event stream of ``PayloadChunk`` events, then ``InvokeComplete`` with
``ErrorCode`` / ``ErrorDetails`` if it failed part-way, and ``LogResult``) or a function URL with
``InvokeMode: RESPONSE_STREAM``. A streamed response may be up to 200 MB; the first 6 MB go at full speed, the
rest at up to 2 MB/s.

``ResponseStream`` is the caller's side of one streamed invocation (``Invocation.stream``): the environment
hands it each chunk when the function writes it (``produced``, via the Runtime API's streaming mode), it delivers
each chunk to the caller at the time it gets there (``on_chunk``), and closes after the invocation is over and
the last chunk has arrived. Each chunk is a step in the trace, with its virtual time; the first one says the
time to first byte. ``Streaming.invoke_with_response_stream`` is the Lambda operation.

A lambdalab convenience: a Python handler that is a generator streams (each ``yield`` is a chunk; a first
``yield`` of a dict is the HTTP prelude a function URL reads). AWS's Python runtime cannot stream; use a
custom runtime there. What we simplify: a function that writes faster than the stream can carry is not slowed
down (AWS applies back-pressure); its chunks just reach the caller later.
"""
from __future__ import annotations

import base64

from .control_plane.errors import aws_error
from .sandbox.runtime_api import STREAM_LIMIT

__all__ = ["ResponseStream", "Streaming", "STREAM_LIMIT", "FULL_SPEED_BYTES", "THROTTLED_BYTES_PER_S"]

FULL_SPEED_BYTES = 6 * 1024 * 1024
THROTTLED_BYTES_PER_S = 2 * 1024 * 1024


class ResponseStream:
    """The caller's side of one streamed response."""

    def __init__(self, lab, on_chunk=None, on_end=None) -> None:
        self.lab = lab
        self.on_chunk, self.on_end = on_chunk, on_end
        self.sent = 0                  # bytes accepted from the function so far
        self.received: list[tuple[float, bytes]] = []   # (virtual time it reached the caller, chunk)
        self.free_at = 0.0             # when the throttled part of the stream is free again
        self.too_large = False
        self.ended = False
        self.complete: dict | None = None               # the InvokeComplete event's fields

    def produced(self, inv, data: bytes, streamed: bool = True) -> None:
        """The function wrote ``data`` now: it reaches the caller now, or later once past the first 6 MB.
        (``streamed=False``: the whole response of a handler that did not stream, sent as one chunk.)"""
        lab = self.lab
        if self.too_large or not data:
            return
        if self.sent + len(data) > STREAM_LIMIT:
            self.too_large = True
            data = data[:STREAM_LIMIT - self.sent]
        before, self.sent = self.sent, self.sent + len(data)
        throttled = max(0, self.sent - max(before, FULL_SPEED_BYTES))
        arrival = max(lab.now, self.free_at) + throttled / THROTTLED_BYTES_PER_S
        self.free_at = arrival
        if lab.trace.full and streamed:
            lab.trace.emit("runtime_api", "stream",
                           "POST .../invocation/{}.../response (streaming): the function writes chunk {}, {:,} bytes",
                           inv.request_id[:8], len(self.received) + 1, len(data), request_id=inv.request_id,
                           function=inv.function.name, env_id=inv.env_id, size=len(data), target="runtime")
        if arrival <= lab.now:
            self._arrive(inv, data)
        else:
            lab.engine.at(arrival, self._arrive, inv, data)

    def _arrive(self, inv, data: bytes) -> None:
        lab = self.lab
        first = not self.received
        self.received.append((lab.now, data))
        if lab.trace.full:
            waited = (lab.now - inv.t_arrival) * 1000
            words = (f"First byte reaches the caller {waited:.2f} ms after the request (time to first byte)"
                     if first else f"Chunk {len(self.received)} reaches the caller ({len(data):,} bytes, "
                     f"{waited:.2f} ms after the request)")
            lab.trace.emit("frontend", "stream", "{}", words, request_id=inv.request_id, function=inv.function.name,
                           size=len(data), chunk=len(self.received), ttfb_ms=waited if first else None,
                           target="client" if inv.source == "client" else inv.source)
        if self.on_chunk is not None:
            self.on_chunk(data)

    def finish(self, inv) -> None:
        """The invocation is over: the stream closes once its last chunk has reached the caller."""
        if not self.sent and not inv.function_error and inv.body:
            self.produced(inv, inv.body, streamed=False)     # a function that does not stream: one chunk
        complete: dict = {}
        if self.too_large:
            complete = {"ErrorCode": "Function.ResponseSizeTooLarge", "ErrorDetails": "Response payload size "
                        f"exceeded maximum allowed payload size ({STREAM_LIMIT} bytes)."}
        elif inv.function_error:
            complete = {"ErrorCode": inv.error_type or "Unhandled",
                        "ErrorDetails": inv.body.decode("utf-8", "replace")}
        if inv.lines is not None:
            tail = ("\n".join(inv.lines) + "\n").encode()[-4096:]
            complete["LogResult"] = base64.b64encode(tail).decode()
        self.complete = complete
        if self.free_at <= self.lab.now:
            self._end(inv)
        else:
            self.lab.engine.at(self.free_at, self._end, inv)

    def _end(self, inv) -> None:
        lab = self.lab
        self.ended = True
        if lab.trace.full:
            took = (lab.now - inv.t_arrival) * 1000
            error = f", ended by {self.complete['ErrorCode']}" if "ErrorCode" in self.complete else ""
            lab.trace.emit("frontend", "stream_end", "The stream ends (InvokeComplete{}): {:,} bytes in {} chunk(s),"
                           " {:.2f} ms after the request", error, self.sent, len(self.received), took,
                           request_id=inv.request_id, function=inv.function.name, size=self.sent,
                           chunks=len(self.received), target="client" if inv.source == "client" else inv.source)
        if self.on_end is not None:
            self.on_end(self.complete)

    def body(self) -> bytes:
        return b"".join(data for _, data in self.received)


class Streaming:
    """``lab.streaming``: the InvokeWithResponseStream operation."""

    def __init__(self, lab) -> None:
        self.lab = lab

    def invoke_with_response_stream(self, *, FunctionName, Payload=None, InvocationType="RequestResponse",
                                    LogType=None, ClientContext=None, Qualifier=None, TenantId=None) -> dict:
        lab = self.lab
        if InvocationType not in ("RequestResponse", "DryRun"):
            raise aws_error("ValidationException", f"1 validation error detected: Value '{InvocationType}' at "
                            "'invocationType' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[RequestResponse, DryRun]", 400, operation="InvokeWithResponseStream")
        params = {key: value for key, value in (
            ("FunctionName", FunctionName), ("Payload", Payload), ("InvocationType", InvocationType),
            ("LogType", LogType), ("ClientContext", ClientContext), ("Qualifier", Qualifier)) if value is not None}
        from .wire.eventstream import EventStream
        events = EventStream(lab)
        stream = ResponseStream(lab, lambda data: events.push({"PayloadChunk": {"Payload": data}}),
                                lambda complete: (events.push({"InvokeComplete": complete}), events.end()))
        source = "function" if lab.calls.caller is not None else "client"
        inv = lab.frontend.submit(params, source=source, trace_header=lab.calls.header, stream=stream)
        if inv.error is not None:
            raise inv.error
        if InvocationType == "DryRun":
            return {"StatusCode": 204, "ResponseMetadata": {"HTTPStatusCode": 204, "RequestId": inv.request_id}}
        return {"StatusCode": 200, "ExecutedVersion": inv.snapshot.version,
                "ResponseStreamContentType": "application/octet-stream", "EventStream": events,
                "ResponseMetadata": {"RequestId": inv.request_id, "HTTPStatusCode": 200}}

