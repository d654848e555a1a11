"""A small HTTP/1.1 server and client on h11 over anyio TCP streams, for the real Runtime and Invoke APIs.

h11 does the parsing (request line, headers, chunked bodies, keep-alive bookkeeping); this module only adds
what a server exposed to learner code needs: loopback binding, TCP_NODELAY on every accepted socket (small
request/response pairs otherwise wait on Nagle + delayed ACKs, ~40 ms each), and bounds on everything read
(header size, body size, how long a request may take to arrive, how long an idle keep-alive connection lives).
A malformed request gets a 4xx and that connection is closed; the listener keeps serving the others.

A handler is a plain function ``handler(request)`` on the loop thread. It returns ``(status, body, headers)`` at
once, or a ``Pending`` when the answer comes later (a blocking ``/next``, an invoke still running): the server
then waits for ``pending.event`` and sends ``pending.answer()`` (or a coroutine, awaited). A Pending with
``watch=True`` also watches the socket meanwhile, so a peer that hangs up ends the wait (``request.closed``
turns true); cheaper, ``request.peer_gone()`` peeks at the socket when it matters. Keeping the quick path free
of tasks and task groups matters: every loop iteration saved is latency saved per invoke.
"""
from __future__ import annotations

import json
import math
import socket
import traceback
from typing import Awaitable, Callable

import anyio
import h11

__all__ = ["Request", "Pending", "HttpServer", "bind_loopback", "http_post"]

MAX_HEADER_BYTES = 16 * 1024
READ_TIMEOUT = 30.0          # a started request must arrive completely within this
IDLE_TIMEOUT = 300.0         # an idle keep-alive connection is closed after this
REASONS = {200: b"OK", 202: b"Accepted", 204: b"No Content", 400: b"Bad Request", 403: b"Forbidden",
           404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout", 409: b"Conflict",
           413: b"Payload Too Large", 429: b"Too Many Requests", 431: b"Request Header Fields Too Large",
           500: b"Internal Server Error",
           502: b"Bad Gateway"}


class Request:
    __slots__ = ("method", "target", "path", "query", "headers", "body", "closed", "sock")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.headers = headers               # lower-case names
        self.body = body
        self.closed = False                  # the peer hung up while a Pending was waiting
        self.sock = None                     # the raw socket, for peer_gone()

    def peer_gone(self) -> bool:
        """Has the client closed its end? A non-blocking peek: cheap, and needs no watching task."""
        if self.closed or self.sock is None:
            return self.closed
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True


class Pending:
    """An answer that comes later: set ``event`` when ``answer()`` can give ``(status, body, headers)``."""

    __slots__ = ("event", "answer", "timeout", "watch")

    def __init__(self, answer, *, timeout: float | None = None, watch: bool = False) -> None:
        self.event = anyio.Event()
        self.answer = answer
        self.timeout = timeout
        self.watch = watch


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


class HttpServer:
    """Serves one listening socket until ``close()``; one task per connection."""

    def __init__(self, sock: socket.socket, handler: Callable[[Request], Awaitable[tuple]], *,
                 max_body: int = 7 * 1024 * 1024, name: str = "http") -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.handler = handler
        self.max_body = max_body
        self.name = name
        self.requests = 0
        self.rejected = 0
        self._scope: anyio.CancelScope | None = None

    async def serve(self) -> None:
        listener = await anyio.abc.SocketListener.from_socket(self.sock)
        with anyio.CancelScope() as self._scope:
            async with listener, anyio.create_task_group() as tg:
                while True:
                    stream = await listener.accept()
                    tg.start_soon(self._connection, stream)

    def close(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
        else:
            self.sock.close()

    async def _connection(self, stream) -> None:
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        reading = anyio.CancelScope()         # one scope per connection; its deadline bounds each read
        peek = socket.fromfd(raw.fileno(), raw.family, raw.type)   # a duplicate, for Request.peer_gone()
        try:
            async with stream:
                with reading:
                    await self._serve(stream, conn, reading, peek)
                if reading.cancelled_caught and conn.their_state is not h11.IDLE:
                    await self._reject(stream, conn, 408, "The request did not arrive in time")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, ConnectionError,
                h11.LocalProtocolError):
            return
        finally:
            peek.close()

    async def _serve(self, stream, conn, reading: anyio.CancelScope, peek: socket.socket) -> None:
        while True:
            request = await self._read_request(stream, conn, reading)
            if request is None:
                return
            request.sock = peek
            self.requests += 1
            try:
                status, body, headers = await self._handle(stream, conn, request)
            except (anyio.EndOfStream, anyio.get_cancelled_exc_class()):
                raise
            except Exception as exc:  # noqa: BLE001 - a bug behind one route must not stop the server
                traceback.print_exc()
                status, body, headers = 500, _error_body(500, f"{type(exc).__name__}: {exc}"), {
                    "Content-Type": "application/json"}
            await self._send(stream, conn, status, body, headers)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _handle(self, stream, conn, request: Request):
        """Run the handler; wait for a Pending answer (watching the socket if it asks to)."""
        answer = self.handler(request)
        if isinstance(answer, tuple):
            return answer
        if not isinstance(answer, Pending):
            return await answer                   # a coroutine that computes the answer
        if not answer.event.is_set():
            with anyio.CancelScope() as scope:
                if answer.timeout is not None:
                    scope.deadline = anyio.current_time() + answer.timeout
                if answer.watch:
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(self._watch, stream, conn, request, answer)
                        await answer.event.wait()
                        tg.cancel_scope.cancel()
                else:
                    await answer.event.wait()
        result = answer.answer()                  # called even when the peer left: it cleans up
        if request.closed:
            raise anyio.EndOfStream
        return result

    @staticmethod
    async def _watch(stream, conn, request: Request, answer: Pending) -> None:
        try:
            data = await stream.receive(65536)
            conn.receive_data(data)           # pipelined bytes: keep them for the next cycle
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
            request.closed = True
            answer.event.set()

    async def _read_request(self, stream, conn, reading: anyio.CancelScope) -> Request | None:
        """The next complete request, or None when the connection should end (after a 4xx if it was bad)."""
        request = None
        chunks: list[bytes] = []
        size = 0
        received = 0                          # bytes read for this request (headers are checked only if many)
        timeout = IDLE_TIMEOUT if conn.their_state is h11.IDLE else READ_TIMEOUT
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                await self._reject(stream, conn, exc.error_status_hint, str(exc) or "Malformed HTTP request")
                return None
            if event is h11.NEED_DATA:
                reading.deadline = anyio.current_time() + timeout     # a timeout cancels the connection
                try:
                    data = await stream.receive(65536)
                except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                    data = b""
                reading.deadline = math.inf
                received += len(data)
                conn.receive_data(data)
                timeout = READ_TIMEOUT
                continue
            if isinstance(event, h11.Request):
                if received > MAX_HEADER_BYTES and \
                        sum(len(k) + len(v) + 4 for k, v in event.headers) + len(event.target) > MAX_HEADER_BYTES:
                    await self._reject(stream, conn, 431, f"Request headers exceed {MAX_HEADER_BYTES} bytes")
                    return None
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
                length = headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > self.max_body:
                    await self._reject(stream, conn, 413, f"Request body of {length} bytes exceeds the "
                                       f"server's {self.max_body} byte limit")
                    return None
                request = (event.method.decode("ascii", "replace"), event.target.decode("latin-1"), headers)
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_body:
                    await self._reject(stream, conn, 413, f"Request body exceeds {self.max_body} bytes")
                    return None
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                method, target, headers = request
                return Request(method, target, headers, b"".join(chunks))
            else:                                     # ConnectionClosed (or PAUSED, which cannot happen here)
                return None

    async def _reject(self, stream, conn, status: int, message: str) -> None:
        self.rejected += 1
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        try:
            await self._send(stream, conn, status, _error_body(status, message),
                             {"Content-Type": "application/json", "Connection": "close"})
        except (h11.LocalProtocolError, anyio.BrokenResourceError, ConnectionError):
            pass

    @staticmethod
    async def _send(stream, conn, status: int, body: bytes, headers: dict) -> None:
        head = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
        head.append((b"Content-Length", str(len(body)).encode()))
        data = conn.send(h11.Response(status_code=status, headers=head, reason=REASONS.get(status, b"")))
        if body:
            data += conn.send(h11.Data(data=body))
        data += conn.send(h11.EndOfMessage())
        await stream.send(data)


async def http_post(host: str, port: int, path: str, body: bytes, headers: dict | None = None,
                    timeout: float = 5.0) -> int:
    """One POST with h11 as the client (telemetry batches to a subscriber). Returns the status, 0 on failure."""
    conn = h11.Connection(h11.CLIENT)
    head = [("Host", f"{host}:{port}"), ("Content-Length", str(len(body))), ("Connection", "close")]
    head += list((headers or {}).items())
    try:
        with anyio.fail_after(timeout):
            async with await anyio.connect_tcp(host, port) as stream:
                await stream.send(conn.send(h11.Request(method="POST", target=path, headers=head))
                                  + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        conn.receive_data(await stream.receive(65536))
                    elif isinstance(event, h11.Response):
                        return event.status_code
    except (OSError, TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, h11.ProtocolError):
        return 0
