"""``lab.serve()``: the Lambda Invoke API over HTTP, for boto3, the AWS CLI or curl.

AWS's Invoke is a REST-JSON call: ``POST /2015-03-31/functions/{FunctionName}/invocations`` with the event as
the body, ``?Qualifier=`` for a version or alias, and the options as headers (``X-Amz-Invocation-Type``,
``X-Amz-Log-Type``, ``X-Amz-Client-Context``). The answer carries the handler's result as the body and the
metadata as headers (``X-Amz-Executed-Version``, ``X-Amz-Function-Error``, ``X-Amz-Log-Result``,
``x-amzn-RequestId``). A refused request is ``{"Type": "User", "message": ...}`` with the error code in
``x-amzn-ErrorType``: that header is what botocore turns into ``ClientError.response["Error"]["Code"]``.

Each request goes through the lab's own frontend, so throttling, validation and the trace are the model's.
We do not check SigV4 signatures: any credentials are accepted.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote

from .http import HttpServer, Pending, Request, bind_loopback

__all__ = ["InvokeServer"]

PREFIX = "/2015-03-31/functions/"
MAX_BODY = 7 * 1024 * 1024        # above the 6 MB sync limit, so the frontend answers its own 413


def _rest_error(status: int, code: str, message: str, request_id: str = "", **extra):
    body = {"Type": "User", "message": message, **extra}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    if request_id:
        headers["x-amzn-RequestId"] = request_id
    return status, json.dumps(body).encode(), headers


class InvokeServer:
    """One listening Invoke API endpoint (made on the loop thread)."""

    def __init__(self, session, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.lab = session.lab
        self.http = HttpServer(bind_loopback(host, port), self.handle, max_body=MAX_BODY, name="invoke")
        self.url = f"http://127.0.0.1:{self.http.port}"
        session.driver.spawn(self.http.serve)

    def handle(self, request: Request):
        driver = self.session.driver
        driver.catch_up()
        path = request.path
        if not (path.startswith(PREFIX) and path.endswith("/invocations")):
            return _rest_error(404, "UnknownOperationException", f"Unknown operation {request.method} {path}")
        if request.method != "POST":
            return _rest_error(405, "MethodNotAllowedException", f"{request.method} is not allowed on {path}")
        name = unquote(path[len(PREFIX):-len("/invocations")])
        params = {"FunctionName": name, "Payload": request.body}
        qualifier = parse_qs(request.query).get("Qualifier") if request.query else None
        if qualifier:
            params["Qualifier"] = qualifier[0]
        headers = request.headers
        for header, param in (("x-amz-invocation-type", "InvocationType"), ("x-amz-log-type", "LogType"),
                              ("x-amz-client-context", "ClientContext")):
            if header in headers:
                params[param] = headers[header]
        inv = self.lab.frontend.submit(params)
        driver._check_waiters()
        if inv.done:
            return self._answer(inv)

        pending = Pending(lambda: self._answer(inv) if inv.done else _rest_error(
            500, "ServiceException", "The invocation did not finish", inv.request_id),
            timeout=(inv.snapshot.timeout if inv.snapshot else 900) + 60, direct=True)   # written from finish()
        inv.callbacks.append(lambda _inv: pending.event.set())
        return pending

    @staticmethod
    def _answer(inv):
        if inv.error is not None:
            error = inv.error
            extra = {k: error.response[k] for k in ("Reason",) if k in error.response}
            return _rest_error(error.status, error.code, error.message, inv.request_id, **extra)
        response = inv.response
        payload = response.get("Payload")
        body = getattr(payload, "_data", None)
        if body is None:
            body = payload.read() if payload is not None else b""
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": inv.request_id}
        if "ExecutedVersion" in response:
            headers["X-Amz-Executed-Version"] = response["ExecutedVersion"]
        if "FunctionError" in response:
            headers["X-Amz-Function-Error"] = response["FunctionError"]
        if "LogResult" in response:
            headers["X-Amz-Log-Result"] = response["LogResult"]
        return response["StatusCode"], body, headers

    def close(self) -> None:
        self.http.close()
