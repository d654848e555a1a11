"""Response streaming on the function's side: a handler's chunks, and their way into the Runtime API.

A runtime streams by posting its response with ``Lambda-Runtime-Function-Response-Mode: streaming`` and
``Transfer-Encoding: chunked``: each chunk it writes goes on towards the caller at once
(``RuntimeAPI.post_response_chunk``); the end of the body ends the response, and an error part-way is reported
in the trailers ``Lambda-Runtime-Function-Error-Type`` and ``Lambda-Runtime-Function-Error-Body`` (base64). A
streamed response may be up to 200 MB instead of 6 MB.

In the in-process Python runtime (a lambdalab convenience: AWS's Python runtime does not stream) a handler that
is a generator streams: ``call_handler`` runs it under the invocation's virtual budget, so each ``yield`` is a
chunk stamped with the virtual time at which it was written (sleeps between them count). A chunk is ``bytes`` or
``str`` (UTF-8); a first ``yield`` of a dict is the HTTP prelude a function URL reads (its JSON followed by
eight NUL bytes, the shape of AWS's ``HttpResponseStream``). Invoked without streaming (plain ``Invoke``), the
chunks are joined into one buffered response, as Lambda does for a streaming function. A generator that goes on
past the 200 MB a stream may carry is closed there (the stream then ends with Function.ResponseSizeTooLarge), so
an endless one cannot fill the kernel's memory.
"""
from __future__ import annotations

import inspect
import json

from .runtime_api import STREAM_LIMIT

__all__ = ["call_handler", "PRELUDE_END", "StreamedResult"]

PRELUDE_END = b"\x00" * 8


class StreamedResult:
    """What a generator handler returned: its chunks, joined (the buffered body)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def chunk_bytes(item, first: bool) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode("utf-8")
    if first and isinstance(item, dict):
        return json.dumps(item).encode() + PRELUDE_END
    error = TypeError(f"Unable to marshal response: a streamed chunk must be bytes or str, not "
                      f"{type(item).__name__}")
    error._lambda_error_type = "Runtime.MarshalError"
    raise error


def call_handler(handler, event, context, budget, chunks: list):
    """Call the handler; a generator is run to its end here, each chunk appended to ``chunks`` as
    ``(virtual seconds into the invocation, bytes)``. Returns the handler's result or a ``StreamedResult``."""
    result = handler(event, context)
    if not inspect.isgenerator(result):
        return result
    total = 0
    for item in result:
        data = chunk_bytes(item, not chunks)
        if data:
            chunks.append((budget.elapsed, data))
            total += len(data)
            if total > STREAM_LIMIT:          # the stream is cut here: the rest could never reach the caller
                result.close()
                break
    return StreamedResult(b"".join(data for _, data in chunks))
