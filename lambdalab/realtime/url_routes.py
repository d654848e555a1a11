"""Function URLs over real HTTP: ``lab.serve()`` answers ``{base}/lambda-url/{url-id}/{path}`` and any request whose
``Host`` is ``{url-id}.lambda-url.{region}.on.aws``, through the same front door as ``lab.http``
(``lambdalab.url_frontend``).

A buffered URL answers once the invocation is over. A ``RESPONSE_STREAM`` URL answers as soon as the function's
first chunk is there: the status and headers come from its prelude (or are 200 ``application/octet-stream``),
then each chunk is written with chunked transfer encoding as it reaches the front door; a function that fails
before writing anything gets the buffered answer (502).
"""
from __future__ import annotations

import re

from ..url_frontend import split_prelude
from .http import Pending, Streaming

__all__ = ["is_function_url", "answer"]

PATH_FORM = re.compile(r"^/lambda-url/([a-z0-9]{32})(/.*)?$")


def is_function_url(request) -> bool:
    return request.path.startswith("/lambda-url/") or ".lambda-url." in request.headers.get("host", "")


class _Stream:
    """A streamed response on its way to an HTTP client: the head once the first chunk says it, then the body."""

    def __init__(self) -> None:
        self.head = None
        self.buffer: list[bytes] = []
        self.write = None
        self.ended = False
        self.ready = None           # called once the head is known

    def feed(self, data: bytes) -> None:
        if self.head is None:
            prelude, data = split_prelude(data)
            prelude = prelude or {"statusCode": 200, "headers": {"content-type": "application/octet-stream"}}
            headers = {str(k).lower(): str(v) for k, v in (prelude.get("headers") or {}).items()}
            if prelude.get("cookies"):
                headers.update(_cookie_headers(prelude["cookies"]))
            self.head = (int(prelude.get("statusCode", 200)), headers)
            if self.ready is not None:
                self.ready()
        if data:
            if self.write is not None:
                self.write(data)
            else:
                self.buffer.append(data)

    def end(self, _complete) -> None:
        self.ended = True
        if self.write is not None:
            self.write(None)

    def start(self, write) -> None:
        for data in self.buffer:
            write(data)
        self.buffer = []
        self.write = write
        if self.ended:
            write(None)


def answer(lab, request):
    """The answer to one function-URL request: (status, body, headers) or a Pending."""
    frontend = lab.url_frontend
    match = PATH_FORM.match(request.path)
    if match:
        url = f"https://{match.group(1)}.lambda-url.{lab.region}.on.aws{match.group(2) or '/'}"
    else:
        url = f"https://{request.headers.get('host', '').split(':')[0]}{request.path}"
    if request.query:
        url += "?" + request.query
    headers = dict(request.headers)
    if match:
        headers.pop("host", None)
    stream = _Stream()
    call = frontend.request(request.method, url, headers, request.body, stream.feed, stream.end)
    if isinstance(call, dict):
        return _http(call)
    timeout = (call.config.fn.latest.timeout if call.config.fn.latest else 900) + 60

    def reply():
        if stream.head is not None:
            return Streaming(stream.head[0], stream.head[1], stream.start)
        if call.done:
            return _http(frontend.answer(call))
        return 504, b'{"Message":"Endpoint request timed out"}', {"content-type": "application/json"}

    pending = Pending(reply, timeout=timeout, direct=True)
    stream.ready = pending.event.set
    call.inv.callbacks.append(lambda _inv: pending.event.set() if stream.head is None else None)
    if call.inv.done:
        pending.event.set()
    return pending


def _http(response: dict):
    headers = dict(response["headers"])
    cookies = headers.pop("set-cookie", None)
    if cookies:
        headers.update(_cookie_headers(cookies))
    return response["status"], response["body"], headers


def _cookie_headers(cookies: list) -> dict:
    """One Set-Cookie header per cookie: the server writes a dict, and header names are case-insensitive."""
    out = {}
    for n, cookie in enumerate(cookies):
        name = "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("set-cookie"))
        out[name] = str(cookie)
    return out
