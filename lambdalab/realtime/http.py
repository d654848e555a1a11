"""A small HTTP/1.1 server on httptools over asyncio Protocols, for the real Runtime and Invoke APIs.

httptools (llhttp, the C parser node.js and uvicorn use) does the parsing: request line, headers, chunked
bodies, keep-alive. The server is an ``asyncio.Protocol`` on the driver's loop (``loop.create_server``): bytes
arrive in ``data_received``, the parser calls back, a complete request goes to the handler in the same call,
and a quick answer is written before the call returns. No task, task group or cancel scope per connection or
request: on loopback, each loop iteration saved is latency saved per invoke. This module adds what a server
exposed to learner code needs: loopback binding, TCP_NODELAY on every accepted socket (small request/response
pairs otherwise wait on Nagle + delayed ACKs, ~40 ms each), and bounds on everything read: header size, how
long a request may take to arrive, how long an idle keep-alive connection lives, how many connections a server
holds (``max_connections``: past it the longest-idle connection is closed to make room, and a new one is refused
if none is idle, so hundreds of idle sockets cannot exhaust the kernel's file descriptors; each connection costs
one descriptor), and body size. A body over its limit (``body_limit(method, path, headers)``, decided when the
headers are in) is answered at once, as soon as it is known to be too large: the request goes to
``too_large(request)`` with an empty body and ``request.too_large`` set to the size, so each API answers 413 in
its own words (the Invoke API's ``RequestEntityTooLargeException``, the Runtime API's
``RequestEntityTooLarge``); the rest of the body is read and dropped, never kept (a client that writes the whole
body before reading still gets the 413, not a reset), and the connection closes after it; a body past
``DISCARD_MAX`` is not read on. A malformed request gets a 4xx and that connection is closed; the
listener keeps serving the others.

A handler is a plain function ``handler(request)`` on the loop thread. It returns ``(status, body, headers)`` at
once, a ``Streaming`` answer whose body is written in chunks as it is produced (an event stream), or a
``Pending`` when the answer comes later (a blocking ``/next``, an invoke still running): the server
sends ``pending.answer()`` once ``pending.event.set()`` is called or its timeout passes: one ``call_soon``
later, so the answer is computed outside whatever component call set it, or, with ``direct=True`` (for callers
whose ``answer()`` only reads finished state), at once inside ``set()``; the connection's next request is
then still handled from the loop, never from inside a component call. A
Pending with ``watch=True`` also ends its wait when the peer hangs up (``request.closed`` turns true); without
it, ``request.peer_gone()`` peeks at the socket when it matters.
"""
from __future__ import annotations

import asyncio
import json
import socket
import traceback
from typing import Callable

import anyio
import httptools

__all__ = ["Request", "Pending", "Streaming", "HttpServer", "bind_loopback"]

MAX_HEADER_BYTES = 16 * 1024
READ_TIMEOUT = 30.0          # a started request must arrive completely within this
IDLE_TIMEOUT = 300.0         # an idle keep-alive connection is closed after this
TIMER_STEP = 1.0             # each connection's one timer checks its deadline this often (no timer per request)
MAX_PIPELINE = 16            # requests parsed ahead while an earlier one on the connection is unanswered
MAX_CONNECTIONS = 128        # connections one server holds at once (an idle one is closed to make room)
DISCARD_MAX = 256 * 1024 * 1024   # bytes of an over-limit body read (and dropped) before the connection is cut
REASONS = {200: b"OK", 202: b"Accepted", 204: b"No Content", 400: b"Bad Request", 403: b"Forbidden",
           404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout", 409: b"Conflict",
           410: b"Gone", 413: b"Payload Too Large", 429: b"Too Many Requests",
           431: b"Request Header Fields Too Large", 500: b"Internal Server Error", 502: b"Bad Gateway"}
STATUS_LINES = {status: b"HTTP/1.1 %d %s\r\n" % (status, reason) for status, reason in REASONS.items()}


class Request:
    __slots__ = ("method", "target", "path", "query", "headers", "body", "closed", "sock", "keep_alive",
                 "too_large")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.headers = headers               # lower-case names
        self.body = body
        self.closed = False                  # the peer hung up while the answer was pending
        self.sock = None                     # the raw socket, for peer_gone()
        self.keep_alive = True               # False: the connection ends after this answer
        self.too_large = 0                   # bytes of a body over the limit (then ``body`` is empty)

    def peer_gone(self) -> bool:
        """Has the client closed its end? A non-blocking peek: cheap, and sees a FIN the loop has not read yet."""
        if self.closed or self.sock is None:
            return self.closed
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True


class _Flag:
    """What a Pending's answer waits on: ``set()`` (on the loop thread) schedules the answer."""

    __slots__ = ("_set", "_then")

    def __init__(self) -> None:
        self._set = False
        self._then = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            if self._then is not None:
                self._then()

    def is_set(self) -> bool:
        return self._set


class Pending:
    """An answer that comes later: call ``event.set()`` when ``answer()`` can give ``(status, body, headers)``."""

    __slots__ = ("event", "answer", "timeout", "watch", "direct")

    def __init__(self, answer, *, timeout: float | None = None, watch: bool = False, direct: bool = False) -> None:
        self.event = _Flag()
        self.answer = answer
        self.timeout = timeout
        self.watch = watch
        self.direct = direct                 # answer and write inside event.set() (the caller allows it)


class Streaming:
    """An answer written as it is produced: the head goes out with ``Transfer-Encoding: chunked``, then
    ``start(write)`` is called (on the loop thread); ``write(data)`` sends a chunk, ``write(None)`` ends it."""

    __slots__ = ("status", "headers", "start")

    def __init__(self, status: int, headers: dict, start) -> None:
        self.status, self.headers, self.start = status, headers, start


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket, bound synchronously so its port is known before the server task starts."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("lambdalab only serves on the loopback interface (127.0.0.1)")
    sock = socket.socket(socket.AF_INET6 if host == "::1" else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1" if host == "localhost" else host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": REASONS.get(status, b"Error").decode()}).encode()


def _generic_too_large(request: Request):
    return 413, _error_body(413, f"Request body of {request.too_large} bytes is over this server's limit"), {
        "Content-Type": "application/json"}


def _head(status: int, headers: dict, close: bool, length: int | None) -> list[bytes]:
    line = STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status
    parts = [line]
    for k, v in headers.items():
        if k.lower() in ("content-length", "transfer-encoding"):
            continue                           # the framing is the server's: it knows what it sends
        value = str(v)
        if "\r" in value or "\n" in value or "\r" in k or "\n" in k:
            raise ValueError(f"illegal header {k!r}: {value!r}")
        parts.append(f"{k}: {value}\r\n".encode("latin-1"))
    if length is None:
        parts.append(b"Transfer-Encoding: chunked\r\n")
    elif not (status == 204 or status == 304 or status < 200):
        parts.append(b"Content-Length: %d\r\n" % length)
    if close:
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    return parts


def _response(status: int, body: bytes, headers: dict, close: bool, head_only: bool = False) -> bytes:
    if status == 204 or status == 304 or status < 200:
        body = b""
    length = len(body)
    if head_only:                              # a HEAD answer's Content-Length is that of the GET it stands for
        given = next((str(v) for k, v in headers.items() if k.lower() == "content-length"), "")
        length = int(given) if given.isdigit() else length
    parts = _head(status, headers, close, length)
    if body and not head_only:
        parts.append(body)
    return b"".join(parts)


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection(asyncio.Protocol):
    """One accepted connection: parses requests, hands them to the server's handler, writes the answers."""

    def __init__(self, server: "HttpServer") -> None:
        self.server = server
        self.loop = server.loop
        self.transport = None
        self.peek = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: list[Request] = []       # complete requests not yet answered (the first may be in flight)
        self.inflight: Request | None = None
        self.pending: Pending | None = None
        self.error: _Reject | None = None     # a parse error, answered once the earlier requests are
        self.closing = False
        self._reset()
        self.deadline = self.loop.time() + IDLE_TIMEOUT
        self.timer = None
        self.last_active = self.loop.time()

    def _reset(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.head_size = 0                   # bytes of headers seen for the request being parsed
        self.head_done = False
        self.started = False
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = self.server.max_body    # this request's body limit (see on_headers_complete)
        self.dropping = False                # the body is over the limit (answered already): read on, keep nothing
        self.sink = None                     # where a streamed request body goes as it arrives (stream_body)

    # --- transport callbacks --------------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        if not self.server.make_room():
            self.closing = True                   # every connection is busy: refuse this one
            transport.abort()
            return
        raw = transport.get_extra_info("socket")
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # the transport's own descriptor, for peer_gone(): no duplicate (one fd per connection); it is
            # detached, never closed, when the connection goes
            self.peek = socket.socket(raw.family, raw.type, fileno=raw.fileno())
        except (OSError, AttributeError):
            self.peek = None
        self.server.connections.add(self)
        self.timer = self.loop.call_at(self.loop.time() + TIMER_STEP, self._on_timer)

    @property
    def idle(self) -> bool:
        return not (self.started or self.queue or self.inflight is not None or self.closing)

    def release_socket(self) -> None:
        if self.peek is not None:
            self.peek.detach()
            self.peek = None

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for request in self.queue:
            request.closed = True
        self.release_socket()
        pending = self.pending
        if pending is not None and pending.watch:
            pending.event.set()

    def eof_received(self):
        if self.started and not self.closing:             # a request cut short: 400
            self.error = self.error or _Reject(400, "The peer closed the connection in the middle of a request")
            if not self.queue:
                self._reject(self.error)
        for request in self.queue:
            request.closed = True
        if self.pending is not None and self.pending.watch:
            self.pending.event.set()
        return False

    def data_received(self, data: bytes) -> None:
        if self.error is not None or self.closing:
            return
        self.last_active = self.loop.time()
        if not self.head_done:
            self.head_size += len(data)
            if not self.started:
                self.started = True
                self.deadline = self.loop.time() + READ_TIMEOUT
        try:
            self.parser.feed_data(data)
        except _Reject as exc:
            self.error = exc
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__ or exc.__cause__
            self.error = cause if isinstance(cause, _Reject) else _Reject(400, f"Malformed HTTP request: {exc}")
        except httptools.HttpParserUpgrade:
            self.error = _Reject(400, "Protocol upgrades are not served here")
        except httptools.HttpParserError as exc:
            self.error = _Reject(400, f"Malformed HTTP request: {exc}")
        if self.error is None and self.started and not self.head_done and self.head_size > MAX_HEADER_BYTES:
            self.error = _Reject(431, f"Request headers exceed {MAX_HEADER_BYTES} bytes")
        if self.error is None and len(self.queue) > MAX_PIPELINE:
            self.error = _Reject(429, "Too many pipelined requests")
        if self.inflight is None:
            self._next()

    # --- parser callbacks -----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if not self.started:
            self.started = True
            self.deadline = self.loop.time() + READ_TIMEOUT

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        headers = self.headers
        if self.head_size > MAX_HEADER_BYTES and \
                sum(len(k) + len(v) + 4 for k, v in headers.items()) + len(self.url) > MAX_HEADER_BYTES:
            raise _Reject(431, f"Request headers exceed {MAX_HEADER_BYTES} bytes")
        self.head_done = True
        server = self.server
        method = self.parser.get_method().decode("ascii", "replace")
        if server.body_limit is not None:
            self.limit = server.body_limit(method, self.url.decode("latin-1").partition("?")[0], headers)
        if server.stream_body is not None:
            found = server.stream_body(method, self.url.decode("latin-1"), dict(headers))
            if found is not None:
                self.sink, self.limit = found
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            if int(length) > self.limit + DISCARD_MAX:
                raise _Reject(413, f"Request body of {length} bytes is far over this server's limit")
            self._too_large(int(length))
            return
        if headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit + DISCARD_MAX:
            raise _Reject(413, f"Request body exceeds {self.limit} bytes by far")
        if self.dropping:
            return
        if self.size > self.limit:                # a chunked body that grew past the limit
            self.chunks = []
            self._too_large(self.size)
            return
        self.chunks.append(body)
        if self.sink is not None:
            self.sink(body)

    def _too_large(self, size: int) -> None:
        """Queue the request now, bodiless; the rest of its body is dropped and the connection ends after it."""
        request = Request(self.parser.get_method().decode("ascii", "replace"), self.url.decode("latin-1"),
                          self.headers, b"")
        request.too_large, request.keep_alive, request.sock = size, False, self.peek
        self.queue.append(request)
        self.dropping = True

    def on_message_complete(self) -> None:
        if self.dropping:                         # the end of a body already answered (413): now close
            self._reset()
            if not self.queue and self.inflight is None:
                self.closing = True
                self.transport.close()            # (else its answer, still to come, closes it)
            return
        parser = self.parser
        request = Request(parser.get_method().decode("ascii", "replace"), self.url.decode("latin-1"),
                          self.headers, b"".join(self.chunks))
        request.sock = self.peek
        request.keep_alive = parser.should_keep_alive()
        self.queue.append(request)
        self._reset()
        self.deadline = self.loop.time() + IDLE_TIMEOUT

    # --- answering ------------------------------------------------------------------------------------------
    def _next(self) -> None:
        """Answer queued requests in order until one has to wait; then a parse error, if one came after."""
        while self.queue and self.inflight is None and not self.closing:
            request = self.queue[0]
            self.inflight = request
            self.server.requests += 1
            try:
                answer = self.server.too_large(request) if request.too_large else self.server.handler(request)
                if isinstance(answer, (tuple, Streaming)):
                    self._send(request, answer)
                    if self.inflight is not None:
                        return                                        # a stream is being written
                    continue
                self._wait(request, answer)                               # a Pending
                return
            except Exception as exc:  # noqa: BLE001 - a bug behind one route must not stop the server
                traceback.print_exc()
                self._send(request, (500, _error_body(500, f"{type(exc).__name__}: {exc}"),
                                     {"Content-Type": "application/json"}))
        if self.error is not None and self.inflight is None and not self.closing:
            self._reject(self.error)

    def _wait(self, request: Request, pending: Pending) -> None:
        if pending.event.is_set():
            self._answer(request, pending)
            return
        self.pending = pending
        timer = None
        if pending.timeout is not None:
            timer = self.loop.call_later(pending.timeout, pending.event.set)

        def then():
            if timer is not None:
                timer.cancel()
            if pending.direct:
                self._answer(request, pending, later=True)
            else:
                self.loop.call_soon(self._answer, request, pending)
        pending.event._then = then

    def _answer(self, request: Request, pending: Pending, later: bool = False) -> None:
        if self.pending is pending:
            self.pending = None
        try:
            result = pending.answer()                 # called even when the peer left: it cleans up
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            result = (500, _error_body(500, f"{type(exc).__name__}: {exc}"), {"Content-Type": "application/json"})
        self._send(request, result)
        if not later:
            self._next()
        elif self.queue or self.error is not None:
            self.loop.call_soon(self._next)           # never call the handler from inside a component call

    def _send(self, request: Request, result) -> None:
        if self.queue and self.queue[0] is request:
            self.queue.pop(0)
        self.inflight = None
        self.last_active = self.loop.time()
        if request.closed or self.closing:
            self.closing = True
            self.transport.close()
            return
        if isinstance(result, Streaming):
            self._stream(request, result)
            return
        status, body, headers = result
        close = not request.keep_alive
        if not self.started:
            self.deadline = self.loop.time() + IDLE_TIMEOUT
        try:
            data = _response(status, body, headers, close, request.method == "HEAD")
        except ValueError as exc:
            data = _response(500, _error_body(500, str(exc)), {"Content-Type": "application/json"}, close)
        self.transport.write(data)
        if close and not self.dropping:           # (an answered oversize body: close once it has been read)
            self.closing = True
            self.transport.close()

    def _stream(self, request: Request, answer: Streaming) -> None:
        """Send the head now and each chunk as it comes; the connection's next request waits for the end."""
        try:
            head = b"".join(_head(answer.status, answer.headers, not request.keep_alive, None))
        except ValueError as exc:
            self.transport.write(_response(500, _error_body(500, str(exc)), {"Content-Type": "application/json"},
                                           True))
            self.closing = True
            self.transport.close()
            return
        self.inflight = request
        self.transport.write(head)

        def write(data: bytes | None) -> None:
            if self.closing or self.inflight is not request:
                return
            if data:
                self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))
                return
            if data is not None:
                return
            self.transport.write(b"0\r\n\r\n")
            self.inflight = None
            if not request.keep_alive:
                self.closing = True
                self.transport.close()
            elif self.queue or self.error is not None:
                self.loop.call_soon(self._next)
        answer.start(write)

    def _reject(self, error: _Reject) -> None:
        self.server.rejected += 1
        self.closing = True
        self.transport.write(_response(error.status, _error_body(error.status, str(error)),
                                       {"Content-Type": "application/json"}, True))
        self.transport.close()

    def _on_timer(self) -> None:
        self.timer = None
        if self.closing:
            return
        now = self.loop.time()
        if self.inflight is None and now >= self.deadline:
            if self.started and not self.dropping:
                self._reject(_Reject(408, "The request did not arrive in time"))
            else:
                self.closing = True
                self.transport.close()              # an idle keep-alive connection
            return
        self.timer = self.loop.call_at(min(self.deadline, now + TIMER_STEP) if self.inflight is None
                                       else now + TIMER_STEP, self._on_timer)


class HttpServer:
    """Serves one listening socket until ``close()``: an asyncio server on the driver's loop."""

    def __init__(self, sock: socket.socket, handler: Callable[[Request], object], *,
                 max_body: int = 7 * 1024 * 1024, name: str = "http", body_limit: Callable | None = None,
                 too_large: Callable[[Request], object] | None = None, stream_body=None,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.handler = handler
        self.max_body = max_body
        self.body_limit = body_limit          # (method, path, headers) -> the body limit of that request
        self.too_large = too_large or _generic_too_large
        #: ``stream_body(method, target, headers) -> (sink, max_body) | None``, asked once a request's headers are
        #: in: ``sink(data)`` then gets each piece of its body as it arrives (a streamed Runtime API response);
        #: the handler still gets the whole request, trailers among its headers, once it is complete
        self.stream_body = stream_body
        self.max_connections = max_connections
        self.reaped = 0
        self.name = name
        self.requests = 0
        self.rejected = 0
        self.connections: set[_Connection] = set()
        self.loop = None
        self._server = None
        self._closed = False
        self._stopped = None

    async def serve(self) -> None:
        if self._closed:
            self.sock.close()
            return
        self.loop = asyncio.get_running_loop()
        self._stopped = anyio.Event()
        self._server = await self.loop.create_server(lambda: _Connection(self), sock=self.sock)
        try:
            await self._stopped.wait()
        finally:
            self._shutdown()

    def make_room(self) -> bool:
        """Room for one more connection: at the limit, close the longest-idle one (False: all are busy)."""
        if len(self.connections) < self.max_connections:
            return True
        idle = [c for c in self.connections if c.idle]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.last_active)
        oldest.closing = True
        self.connections.discard(oldest)
        oldest.release_socket()
        oldest.transport.abort()
        self.reaped += 1
        return True

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.closing = True
            conn.release_socket()
            if conn.transport is not None:
                conn.transport.abort()
        self.connections.clear()

    def close(self) -> None:
        self._closed = True
        if self._stopped is not None:
            self._shutdown()
            self._stopped.set()
        else:
            self.sock.close()
