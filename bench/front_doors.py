"""Function URLs over real HTTP: what the URL's front door costs per request, and what streaming does to the time
to first byte.

A real-time lab serves one in-process Python function two ways on the same ``lab.serve()`` server: behind a
function URL (``GET /lambda-url/<id>/``: payload format 2.0 event in, the result mapped to HTTP out, the resource
policy checked) and through the Invoke API (``POST /2015-03-31/functions/<name>/invocations``), the baseline in
the same run. Sequential warm requests on one keep-alive connection, rounds alternating between the two sides;
medians of the rounds. Then a generator handler that yields its prelude, then a line every 0.2 s (four lines),
is fetched through a RESPONSE_STREAM URL and, as a second function, through a BUFFERED URL: wall-clock
milliseconds to the first byte of the body and to its end, medians of 3 warm requests.

Prints one line:
    bench: front_doors url_rps=.. invoke_rps=.. ratio=.. stream_ttfb_ms=.. stream_total_ms=..
           buffered_ttfb_ms=.. buffered_total_ms=.. loadavg=..
Targets: ratio >= 0.7 (the front door costs less than a third of a request); stream_ttfb_ms < 300 (the first line,
written 200 ms in) while buffered_ttfb_ms >= 800 (the whole body).
"""
from __future__ import annotations

import http.client
import os
import statistics
import time

import lambdalab as ll

N = int(os.environ.get("BENCH_N", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hello'}\n"
LINES = '''
import time
def handler(event, context):
    yield {"statusCode": 200, "headers": {"content-type": "text/plain"}}     # the prelude: status, headers
    for i in range(4):
        time.sleep(0.2)
        yield f"line {i}\\n"
'''


def public_url(lab, name: str, mode: str) -> str:
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    return "/lambda-url/" + url.split("//")[1][:32] + "/"


def rate(conn: http.client.HTTPConnection, method: str, path: str, n: int) -> float:
    """Requests per second of ``n`` sequential requests."""
    start = time.perf_counter()
    for _ in range(n):
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        answer = conn.getresponse()
        assert answer.status == 200, answer.status
        answer.read()
    return n / (time.perf_counter() - start)


def first_byte(host: str, port: int, path: str) -> tuple[float, float]:
    """(ms to the first byte of the body, ms to its end) of one GET."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    start = time.perf_counter()
    conn.request("GET", path)
    answer = conn.getresponse()
    assert answer.status == 200, answer.status
    answer.read1(1)
    ttfb = time.perf_counter() - start
    answer.read()
    conn.close()
    return ttfb * 1000, (time.perf_counter() - start) * 1000


def main() -> None:
    lab = ll.Lab(clock="real", trace="off")
    try:
        lab.create_function("hello", HELLO)
        lab.create_function("lines", LINES, timeout=10)
        lab.create_function("lines-buffered", LINES, timeout=10)
        url_path = public_url(lab, "hello", "BUFFERED")
        streamed = public_url(lab, "lines", "RESPONSE_STREAM")
        buffered = public_url(lab, "lines-buffered", "BUFFERED")
        host, port = lab.serve().split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        invoke_path = "/2015-03-31/functions/hello/invocations"
        rate(conn, "GET", url_path, 20)                         # warm both paths
        rate(conn, "POST", invoke_path, 20)
        urls, invokes = [], []
        for _ in range(ROUNDS):
            urls.append(rate(conn, "GET", url_path, N))
            invokes.append(rate(conn, "POST", invoke_path, N))
        conn.close()
        first_byte(host, int(port), streamed)                   # warm environments for the timings
        first_byte(host, int(port), buffered)
        stream = [first_byte(host, int(port), streamed) for _ in range(3)]
        whole = [first_byte(host, int(port), buffered) for _ in range(3)]
    finally:
        lab.close()
    url_rps, invoke_rps = statistics.median(urls), statistics.median(invokes)
    med = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
    print(f"bench: front_doors url_rps={url_rps:.0f} invoke_rps={invoke_rps:.0f} ratio={url_rps / invoke_rps:.2f} "
          f"stream_ttfb_ms={med(stream, 0):.0f} stream_total_ms={med(stream, 1):.0f} "
          f"buffered_ttfb_ms={med(whole, 0):.0f} buffered_total_ms={med(whole, 1):.0f} "
          f"loadavg={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
