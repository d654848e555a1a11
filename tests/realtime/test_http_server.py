"""The HTTP layer alone (httptools on asyncio Protocols): bounds, pipelining, keep-alive rules."""
from __future__ import annotations

import socket
import time

import anyio

from lambdalab.realtime import http as H


def _raw(port, data, wait=3.0):
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        out = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except socket.timeout:
            return out, False


def test_bounds_pipelining_and_keep_alive(monkeypatch):
    monkeypatch.setattr(H, "READ_TIMEOUT", 0.3)
    monkeypatch.setattr(H, "IDLE_TIMEOUT", 0.5)

    def handler(request):
        if request.path == "/later":
            pending = H.Pending(lambda: (200, b"later", {}), timeout=0.2)
            return pending
        return 200, f"{request.method} {request.path} ".encode() + request.body, {"X-Seen": "1"}
    results = {}

    async def main():
        sock = H.bind_loopback()
        port = sock.getsockname()[1]
        server = H.HttpServer(sock, handler, max_body=100)
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            await anyio.sleep(0.05)
            cases = {
                "slow": b"GET / HTTP/1.1\r\nHost: x\r\n",
                "idle": b"",
                "pipelined": b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz",
                "chunked_big": b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" + b"a" * 128
                               + b"\r\n0\r\n\r\n",
                "chunked_ok": b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                "http10": b"GET /x HTTP/1.0\r\n\r\n",
                "bad_header": b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            }
            for name, data in cases.items():
                start = time.monotonic()
                results[name] = await anyio.to_thread.run_sync(_raw, port, data) + (time.monotonic() - start,)
            results["stats"] = (server.requests, server.rejected)
            server.close()
    anyio.run(main)
    out, closed, took = results["slow"]
    assert out.startswith(b"HTTP/1.1 408") and closed and took < 2.5
    out, closed, took = results["idle"]
    assert out == b"" and closed and took < 2.5
    out, closed, _ = results["pipelined"]
    assert closed and out.index(b"GET /a") < out.index(b"later") < out.index(b"POST /c xyz")
    assert out.count(b"HTTP/1.1 200 OK") == 3 and out.endswith(b"POST /c xyz")
    assert results["chunked_big"][0].startswith(b"HTTP/1.1 413")
    out, closed, _ = results["chunked_ok"]
    assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"POST /a abc") and b"Connection: close" not in out
    out, closed, _ = results["http10"]
    assert out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out and closed
    assert results["bad_header"][0].startswith(b"HTTP/1.1 400")
    # requests answered (the over-limit body too: by the server's too_large answer), requests refused (408, 400)
    assert results["stats"] == (6, 2)
