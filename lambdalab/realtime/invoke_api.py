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

Request bodies are bounded as AWS bounds them, before they are read into memory: 6 MB for an invoke (the
synchronous payload limit: the frontend also applies the asynchronous 1 MB one) and 70,167,211 bytes for a
request carrying a deployment package (``CreateFunction``, ``UpdateFunctionCode``, ``PublishLayerVersion``); 6 MB
for the other operations of every service (S3 objects included: a simplification). A body over its limit is
read and dropped, and the answer is AWS's 413 in the service's own protocol: for Lambda,
``x-amzn-ErrorType: RequestEntityTooLargeException`` with ``{"Type": "User", "message": "Request must be
smaller than 6291456 bytes for the InvokeFunction operation"}``.
"""
from __future__ import annotations

import re

from ..control_plane.validation import MAX_ZIP_REQUEST
from ..frontend import SYNC_PAYLOAD_LIMIT
from . import url_routes
from .http import HttpServer, Pending, Request, Streaming, bind_loopback

__all__ = ["InvokeServer", "body_limit"]

# Lambda routes whose body carries a deployment package (CreateFunction, UpdateFunctionCode, PublishLayerVersion)
_CODE_ROUTES = re.compile(r"^/2015-03-31/functions/?$|^/2015-03-31/functions/[^/]+/code/?$|"
                          r"^/2018-10-31/layers/[^/]+/versions/?$")
_AWS_NAMES = {"Invoke": "InvokeFunction"}    # how AWS's 413 message names an operation, where it differs


def body_limit(method: str, path: str, headers: dict) -> int:
    """The largest request body AWS accepts for this route (decided from the request line and headers)."""
    return MAX_ZIP_REQUEST if method in ("POST", "PUT") and _CODE_ROUTES.match(path) else SYNC_PAYLOAD_LIMIT


class InvokeServer:
    """One listening AWS endpoint (made on the loop thread)."""

    def __init__(self, session, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.lab = session.lab
        self.http = HttpServer(bind_loopback(host, port), self.handle, max_body=SYNC_PAYLOAD_LIMIT, name="invoke",
                               body_limit=body_limit, too_large=self.too_large)
        self.url = f"http://127.0.0.1:{self.http.port}"
        session.driver.spawn(self.http.serve)

    def handle(self, request: Request):
        from ..wire.dispatcher import Waiting, WireRequest
        driver = self.session.driver
        driver.catch_up()
        if url_routes.is_function_url(request):      # not an AWS API operation: the function URL front door
            answer = url_routes.answer(self.lab, request)
            driver.check_waiters()
            return answer
        wire = WireRequest(request.method, request.path, request.query, request.headers, request.body)
        answer = self.lab.dispatcher.handle(wire, internal_errors=True)
        driver.check_waiters()
        if not isinstance(answer, Waiting):
            return _http(answer)
        pending = Pending(lambda: _http(answer.answer()) if answer.ready() else _http(answer.dispatcher.fail(
            answer.model, "ServiceException", "The invocation did not finish", 500, answer.op.name)),
            timeout=answer.timeout, direct=True)      # written from the invocation's finish()
        answer.on_ready(pending.event.set)
        return pending

    def too_large(self, request: Request):
        """A body over its limit (never read into memory): AWS's 413 in the protocol of the service asked."""
        from ..wire import models
        from ..wire.dispatcher import WireRequest
        self.session.driver.catch_up()
        dispatcher = self.lab.dispatcher
        wire = WireRequest(request.method, request.path, request.query, request.headers, b"")
        service = dispatcher.service_of(wire)
        found = models.index(service).find(request.method, request.path, request.query, request.headers)
        operation = found[0].name if found else "this"
        limit = body_limit(request.method, request.path, request.headers)
        return _http(dispatcher.fail(models.service_model(service), "RequestEntityTooLargeException",
                                     f"Request must be smaller than {limit} bytes for the "
                                     f"{_AWS_NAMES.get(operation, operation)} operation", 413, operation))

    def close(self) -> None:
        self.http.close()


def _http(reply):
    """A dispatcher Reply as the HTTP server's answer: (status, body, headers), or a chunked stream."""
    if reply.streaming:
        return Streaming(reply.status, reply.headers, reply.body.listen)
    return reply.status, reply.body, reply.headers
