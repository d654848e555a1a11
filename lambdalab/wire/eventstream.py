"""Event streams: AWS's binary framing for responses that arrive piece by piece (``InvokeWithResponseStream``).

Each message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), headers (a one-byte
name length, the name, type 7 = string with a two-byte length), the payload, and a CRC32 of everything before
it. An event carries ``:message-type: event`` and ``:event-type: <member>``; its payload is the member marked
``eventpayload`` (raw bytes for a blob, e.g. ``PayloadChunk.Payload``) or else the event's other members as
JSON (``InvokeComplete``). botocore's ``EventStream`` parses exactly this, so a response stream reaches the
caller's ``for event in response["EventStream"]`` loop.

A backend returns the stream member as any iterable of events (``{"PayloadChunk": {"Payload": b"..."}}``), or
as an ``EventStream`` it fills later with ``push(event)`` / ``end()`` when the chunks come from events in the
lab (a function that streams over virtual or real time). Frames are made as events are produced.
"""
from __future__ import annotations

import json
import struct
from zlib import crc32

from .values import to_json

__all__ = ["EventStream", "Frames", "encode"]


def encode(headers: dict[str, str], payload: bytes) -> bytes:
    """One eventstream message with string headers."""
    head = b"".join(struct.pack("B", len(k.encode())) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode()))
                    + v.encode() for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", crc32(message))


def _frame(stream_shape, event: dict) -> bytes:
    (name, value), = event.items()
    shape = stream_shape.members.get(name)
    if shape is None:
        raise ValueError(f"{name!r} is not an event of {stream_shape.name} ({', '.join(stream_shape.members)})")
    headers = {":message-type": "event", ":event-type": name}
    for key, member in shape.members.items():
        if member.serialization.get("eventpayload"):
            data = (value or {}).get(key, b"")
            headers[":content-type"] = "application/octet-stream" if member.type_name == "blob" else "text/plain"
            return encode(headers, data.encode() if isinstance(data, str) else bytes(data))
    headers[":content-type"] = "application/json"
    return encode(headers, json.dumps(to_json(shape, value or {}), separators=(",", ":")).encode())


class Frames:
    """The frames of a stream member's events, one per event, made as they come.

    Iterate it (in process: botocore reads it as the response body), or ``listen(write)`` (the HTTP server:
    ``write(frame)`` per event as it is pushed, then ``write(None)``)."""

    def __init__(self, stream_shape, events) -> None:
        self.shape, self.events = stream_shape, events

    def __iter__(self):
        for event in self.events:
            yield _frame(self.shape, event)

    def listen(self, write) -> None:
        if isinstance(self.events, EventStream):
            self.events.listen(lambda event: write(None if event is None else _frame(self.shape, event)))
            return
        for frame in self:
            write(frame)
        write(None)


class EventStream:
    """A stream of events filled over time: ``push(event)`` each one, then ``end()``.

    Read in process, iterating runs the lab until the next event is there (``lab.wait_for``), so a
    ``for`` loop over ``response["EventStream"]`` sees each chunk at its virtual time. Over HTTP the server
    subscribes (``listen``) and writes each frame to the socket as soon as it is pushed.
    """

    def __init__(self, lab) -> None:
        self.lab = lab
        self.events: list[dict] = []
        self.ended = False
        self._listeners: list = []

    def push(self, event: dict) -> None:
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)

    def end(self) -> None:
        self.ended = True
        for listener in list(self._listeners):
            listener(None)

    def listen(self, callback) -> None:
        """``callback(event)`` for every event so far and each one pushed later; ``callback(None)`` at the end."""
        for event in self.events:
            callback(event)
        if self.ended:
            callback(None)
        else:
            self._listeners.append(callback)

    def __iter__(self):
        i = 0
        while True:
            if i < len(self.events):
                i += 1
                yield self.events[i - 1]
            elif self.ended:
                return
            else:
                self.lab.wait_for(lambda: i < len(self.events) or self.ended)
                if i >= len(self.events) and not self.ended:
                    raise RuntimeError("the event stream did not end: nothing left to run in the lab")
