"""``lab.serve()``: every AWS operation the lab serves, over HTTP, for boto3, the AWS CLI or curl.

One listening socket answers all services, as one endpoint does for LocalStack-style tools: a request is
given to the lab's dispatcher (``lambdalab.wire``), which tells the service from the request (the SigV4
credential scope, else the protocol's own marks: ``X-Amz-Target``, the query ``Action``, or a Lambda route) and
answers in that service's protocol. So ``boto3.client("lambda", endpoint_url=url)``, ``aws --endpoint-url url
sqs send-message ...`` and a plain ``curl -X POST {url}/2015-03-31/functions/f/invocations`` all work.

An invoke still running holds its connection until it is done (the driver's loop keeps serving the other
connections); a streamed response (``InvokeWithResponseStream``) is written with chunked transfer encoding,
one event-stream frame per chunk as the function produces it. Function URLs are served here too
(``url_routes``: ``{url}/lambda-url/{url-id}/...`` or a ``Host: {url-id}.lambda-url.{region}.on.aws`` header). We
do not check SigV4 signatures: any credentials are accepted.
"""
from __future__ import annotations

from . import url_routes
from .http import HttpServer, Pending, Request, Streaming, bind_loopback

__all__ = ["InvokeServer"]

MAX_BODY = 7 * 1024 * 1024        # above the 6 MB sync limit, so the frontend answers its own 413


class InvokeServer:
    """One listening AWS endpoint (made on the loop thread)."""

    def __init__(self, session, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.lab = session.lab
        self.http = HttpServer(bind_loopback(host, port), self.handle, max_body=MAX_BODY, name="invoke")
        self.url = f"http://127.0.0.1:{self.http.port}"
        session.driver.spawn(self.http.serve)

    def handle(self, request: Request):
        from ..wire.dispatcher import Waiting, WireRequest
        driver = self.session.driver
        driver.catch_up()
        if url_routes.is_function_url(request):      # not an AWS API operation: the function URL front door
            answer = url_routes.answer(self.lab, request)
            driver._check_waiters()
            return answer
        wire = WireRequest(request.method, request.path, request.query, request.headers, request.body)
        answer = self.lab.dispatcher.handle(wire, internal_errors=True)
        driver._check_waiters()
        if not isinstance(answer, Waiting):
            return _http(answer)
        pending = Pending(lambda: _http(answer.answer()) if answer.ready() else _http(answer.dispatcher.fail(
            answer.model, "ServiceException", "The invocation did not finish", 500, answer.op.name)),
            timeout=answer.timeout, direct=True)      # written from the invocation's finish()
        answer.on_ready(pending.event.set)
        return pending

    def close(self) -> None:
        self.http.close()


def _http(reply):
    """A dispatcher Reply as the HTTP server's answer: (status, body, headers), or a chunked stream."""
    if reply.streaming:
        return Streaming(reply.status, reply.headers, reply.body.listen)
    return reply.status, reply.body, reply.headers
