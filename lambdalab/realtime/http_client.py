"""The one HTTP request lambdalab makes itself: the Telemetry API's POST of a batch to a subscriber's listener.

A subscriber (an extension) gives a local address; the platform POSTs each batch of events there as JSON and only
needs the status back. httptools reads the answer (as the server side in ``realtime.http`` reads requests);
anyio's TCP stream does the I/O on the driver's loop. A failure of any kind (refused, reset, slow, malformed)
reads as status 0: the batch is dropped, as AWS drops what a subscriber cannot take.
"""
from __future__ import annotations

import anyio
import httptools

__all__ = ["http_post"]


class _ResponseStatus:
    def __init__(self) -> None:
        self.parser = None
        self.status = 0

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()


async def http_post(host: str, port: int, path: str, body: bytes, headers: dict | None = None,
                    timeout: float = 5.0) -> int:
    """One POST (telemetry batches to a subscriber); httptools reads the answer. Returns the status, 0 on failure."""
    head = {"Host": f"{host}:{port}", "Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    if any("\r" in f"{k}{v}" or "\n" in f"{k}{v}" for k, v in head.items()):
        return 0
    request = f"POST {path} HTTP/1.1\r\n".encode("latin-1") + b"".join(
        f"{k}: {v}\r\n".encode("latin-1") for k, v in head.items()) + b"\r\n" + body
    seen = _ResponseStatus()
    seen.parser = httptools.HttpResponseParser(seen)
    try:
        with anyio.fail_after(timeout):
            async with await anyio.connect_tcp(host, port) as stream:
                await stream.send(request)
                while not seen.status:
                    seen.parser.feed_data(await stream.receive(65536))
                return seen.status
    except (OSError, TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, httptools.HttpParserError):
        return 0
