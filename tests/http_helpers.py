"""One plain HTTP request on a connection of its own, for the tests that talk to the lab's servers (realtime, wire)."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit


def http_request(address: str, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                 timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """One request to ``address`` ("host:port" or a URL such as ``lab.serve()``'s) on a connection of its own:
    (status, headers with lower-case names, body)."""
    parts = urlsplit(address if "//" in address else f"http://{address}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
