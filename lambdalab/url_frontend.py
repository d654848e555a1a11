"""The function URL front door: an HTTP request in, a synchronous invoke, an HTTP response out.

In AWS a function URL (``https://<url-id>.lambda-url.<region>.on.aws/<path>``) is served by a fleet in front of
the Invoke API. For each request it finds the URL's configuration, checks who may call (``AuthType: NONE`` needs
a resource-policy statement letting ``*`` call ``lambda:InvokeFunctionUrl``; ``AWS_IAM`` needs a SigV4
signature), answers CORS preflight requests itself, turns the request into a payload format 2.0 event, invokes
the function synchronously and maps the result back to HTTP: a result with ``statusCode`` gives the status,
headers, cookies and body (base64-decoded when ``isBase64Encoded``); any other JSON value is a 200
``application/json`` whose body is that value (a string as it is). A function error is a 502, a throttle a 429,
a refused request a 403. With ``InvokeMode: RESPONSE_STREAM`` the body reaches the client in chunks as the
function writes them (``lambdalab.streaming``); a first chunk that is a JSON object followed by eight NUL bytes
sets status and headers, as AWS's ``HttpResponseStream`` prelude does.

``lab.http(method, url, headers=, body=)`` makes one request in the lab's time and returns ``{"status",
"headers", "body"}`` (plus ``chunks``, ``[(seconds after the request, bytes)]``, for a streamed response). With
``clock="real"``, ``lab.serve()`` answers the same requests at ``{base}/lambda-url/{url-id}/{path}`` or with
``Host: {url-id}.lambda-url.{region}.on.aws``. What we simplify: signatures are recognised by their form, not
verified (an AWS_IAM caller is taken to be of the lab's account); the client's address is 127.0.0.1.
"""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qsl, urlsplit

from .sandbox.response_stream import PRELUDE_END

__all__ = ["UrlFrontend", "UrlCall", "url_event", "http_result", "split_prelude", "lab_http", "PRELUDE_END"]

HOST = re.compile(r"^([a-z0-9]{32})\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
MAX_REQUEST_BYTES = 6 * 1024 * 1024
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/xhtml",
              "application/x-www-form-urlencoded", "+json", "+xml")
SIGNED = re.compile(r"^AWS4-HMAC-SHA256 Credential=\S+, ?SignedHeaders=\S+, ?Signature=[0-9a-f]{64}$")


def _error(status: int, message: str, error_type: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if error_type:
        headers["x-amzn-ErrorType"] = error_type
    return {"status": status, "headers": headers, "body": json.dumps({"Message": message}).encode()}


def url_event(lab, config, method: str, path: str, query: str, headers: dict, body: bytes, request_id: str) -> dict:
    """The payload format 2.0 event a function URL sends for one HTTP request."""
    headers = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path or "/", "rawQueryString": query,
             "headers": headers}
    if cookies:
        event["cookies"] = cookies
    if query:
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key, []).append(value)
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    domain = f"{config.url_id}.lambda-url.{lab.region}.on.aws"
    moment = lab.epoch + lab.now
    context = {"accountId": "anonymous" if config.auth_type == "NONE" else lab.account_id,
               "apiId": config.url_id, "domainName": domain, "domainPrefix": config.url_id,
               "http": {"method": method, "path": path or "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                        "userAgent": headers.get("user-agent", "")},
               "requestId": request_id, "routeKey": "$default", "stage": "$default",
               "time": lab.iso_time(lab.now), "timeEpoch": int(moment * 1000)}
    if config.auth_type == "AWS_IAM":
        context["authorizer"] = {"iam": {"accessKey": "AKIALAMBDALAB", "accountId": lab.account_id,
                                         "callerId": "AIDALAMBDALAB", "userArn":
                                         f"arn:aws:iam::{lab.account_id}:user/lambdalab", "userId": "AIDALAMBDALAB"}}
    event["requestContext"] = context
    if body:
        textual = any(t in headers.get("content-type", "") for t in TEXT_TYPES)
        if not headers.get("content-type"):
            try:
                body.decode("utf-8")
                textual = True
            except UnicodeDecodeError:
                textual = False
        event["body"] = body.decode("utf-8") if textual else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not textual
    else:
        event["isBase64Encoded"] = False
    return event


def http_result(payload: bytes) -> dict | None:
    """The HTTP response a buffered function result maps to, or None when it is malformed (a 502)."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return {"status": 200, "headers": {"content-type": "application/json"}, "body": text.encode()}
    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    headers.setdefault("content-type", "application/json")
    out_body = result.get("body")
    if out_body is None:
        data = b""
    elif not isinstance(out_body, str):
        data = json.dumps(out_body).encode()
    elif result.get("isBase64Encoded"):
        try:
            data = base64.b64decode(out_body, validate=True)
        except ValueError:
            return None
    else:
        data = out_body.encode()
    out = {"status": status, "headers": headers, "body": data}
    if result.get("cookies"):
        out["headers"]["set-cookie"] = list(map(str, result["cookies"]))
    return out


def split_prelude(data: bytes) -> tuple[dict | None, bytes]:
    """A streamed response's optional prelude (status, headers, cookies) and the body after it."""
    if data.startswith(b"{") and PRELUDE_END in data:
        head, _, rest = data.partition(PRELUDE_END)
        try:
            prelude = json.loads(head)
        except ValueError:
            return None, data
        if isinstance(prelude, dict):
            return prelude, rest
    return None, data


class UrlFrontend:
    """``lab.url_frontend``: answers HTTP requests for the lab's function URLs."""

    def __init__(self, lab) -> None:
        self.lab = lab

    def target(self, url: str, headers: dict) -> tuple[str | None, str, str]:
        """(url id or None, path, query) of a request to ``url``: a function URL's host names the URL, or the
        request's ``Host`` header does."""
        parts = urlsplit(url)
        host = {k.lower(): v for k, v in headers.items()}.get("host") or ""
        for name in (host.split(":")[0], parts.hostname or ""):
            match = HOST.match(name.lower())
            if match:
                return match.group(1), parts.path or "/", parts.query
        return None, parts.path or "/", parts.query

    def request(self, method: str, url: str, headers: dict | None = None, body: bytes = b"", on_chunk=None,
                on_end=None):
        """Handle one request now: a finished response dict, or a ``UrlCall`` still running (``answer`` reads it
        once it is done). ``on_chunk(data)`` / ``on_end(complete)``: a streamed response's pieces as they arrive
        and its end (``ResponseStream``)."""
        lab = self.lab
        headers = dict(headers or {})
        method = str(method).upper()
        body = body.encode() if isinstance(body, str) else bytes(body or b"")
        url_id, path, query = self.target(url, headers)
        config = lab.function_urls.resolve(url_id) if url_id else None
        full = lab.trace.full
        if full:
            lab.trace.emit("client", "http", "HTTP {} {}{} to a function URL ({:,} bytes)", method, path,
                           '?' + query if query else '', len(body), method=method, path=path, url_id=url_id,
                           function=config.fn.name if config else None, target="url")
            lab.trace.emit("url", "request", "The URL's front door finds the configuration of "
                           f"{url_id or '(no id)'}" + (f": {config.fn.name}, AuthType {config.auth_type}, "
                                                        f"{config.invoke_mode}" if config else ": none"),
                           url_id=url_id, function=config.fn.name if config else None)
        if config is None:
            return self._refuse(404, "Not Found", None, "no function URL has this id")
        fn = config.fn
        origin = {k.lower(): v for k, v in headers.items()}.get("origin")
        if method == "OPTIONS" and config.cors and origin and \
                any(k.lower() == "access-control-request-method" for k in headers):
            return self._preflight(config, origin)
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if config.auth_type == "AWS_IAM" and not SIGNED.match(authorization):
            return self._refuse(403, "Forbidden", fn, "AuthType AWS_IAM: the request is not signed (SigV4)",
                                "AccessDeniedException")
        if config.auth_type == "NONE" and not lab.policies.allows(fn, config.qualifier, "*",
                                                                  "lambda:InvokeFunctionUrl", url_auth_type="NONE"):
            return self._refuse(403, "Forbidden", fn, "AuthType NONE, but the function's resource policy does not "
                                "allow lambda:InvokeFunctionUrl for *", "AccessDeniedException")
        if len(body) > MAX_REQUEST_BYTES:
            return self._refuse(413, f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the "
                                "InvokeFunction operation", fn, "the request body is over 6 MB",
                                "RequestEntityTooLargeException")
        request_id = lab.ids.uuid()
        event = url_event(lab, config, method, path, query, headers, body, request_id)
        params = {"FunctionName": fn.name, "Payload": json.dumps(event).encode()}
        if config.qualifier:
            params["Qualifier"] = config.qualifier
        stream = None
        if config.invoke_mode == "RESPONSE_STREAM":
            from .streaming import ResponseStream
            stream = ResponseStream(lab, on_chunk, on_end)
        if full:
            lab.trace.emit("url", "invoke", "Invoke {}{} synchronously with the payload format 2.0 event ({})", fn.name,
                           ':' + config.qualifier if config.qualifier else '', config.invoke_mode, function=fn.name,
                           target="frontend", invoke_mode=config.invoke_mode)
        started = lab.now
        inv = lab.frontend.submit(params, source="url", trace_header=_trace_header(headers), stream=stream)
        return UrlCall(inv, config, origin, started)

    def answer(self, call: "UrlCall") -> dict:
        """The HTTP response for a finished request (``call.done``) made by ``request``."""
        lab = self.lab
        inv, config, origin, started = call.inv, call.config, call.origin, call.started
        fn = config.fn
        if inv.error is not None:
            code = inv.error.response["Error"]["Code"]
            if code == "TooManyRequestsException":
                out = _error(429, "Rate Exceeded.", "TooManyRequestsException")
            else:
                out = _error(500, "Internal Server Error", code)
            why = f"the invoke was refused: {code}"
        elif inv.function_error:
            out = {"status": 502, "headers": {"content-type": "text/plain"}, "body": b"Internal Server Error"}
            why = f"the function failed ({inv.error_type or inv.status})"
        else:
            streamed = inv.stream is not None
            prelude, data = split_prelude(inv.stream.body() if streamed else inv.body)
            if prelude is not None or streamed:      # a streaming handler's output: prelude, then the body
                out = http_result(json.dumps({**(prelude or {"statusCode": 200}), "body": ""}).encode()) or \
                    {"status": 502, "headers": {}, "body": b""}
                if prelude is None:
                    out["headers"]["content-type"] = "application/octet-stream"
                out["body"] = data
            else:
                out = http_result(inv.body)
            why = None
            if out is None:
                out = {"status": 502, "headers": {"content-type": "text/plain"}, "body": b"Internal Server Error"}
                why = "the function's result is not a valid response (statusCode, body)"
            if streamed:
                out["chunks"] = [(t - started, c) for t, c in inv.stream.received]
        out["headers"]["x-amzn-requestid"] = inv.request_id
        if inv.trace_id:
            out["headers"]["x-amzn-trace-id"] = inv.trace_id
        if config.cors and origin:
            out["headers"].update(_cors_headers(config.cors, origin, preflight=False))
        if lab.trace.full:
            words = f"HTTP {out['status']} to the client" + (f": {why}" if why else
                                                             f" ({len(out['body']):,} bytes)")
            lab.trace.emit("url", "respond", "{}", words, request_id=inv.request_id, function=fn.name,
                           status=out["status"], target="client", latency_ms=(lab.now - started) * 1000)
        return out

    def _refuse(self, status: int, message: str, fn, why: str, error_type: str | None = None) -> dict:
        if self.lab.trace.full:
            self.lab.trace.emit("url", "reject", "HTTP {} {}: {}", status, message.split(' for ')[0], why,
                                function=fn.name if fn else None, status=status, target="client")
        return _error(status, message, error_type)

    def _preflight(self, config, origin: str) -> dict:
        headers = _cors_headers(config.cors, origin, preflight=True)
        if self.lab.trace.full:
            self.lab.trace.emit("url", "preflight",
                                "CORS preflight from {}: answered by the URL itself ({}), the function is not invoked",
                                origin, 'allowed' if headers else 'origin not allowed', function=config.fn.name,
                                status=200, target="client")
        return {"status": 200, "headers": headers, "body": b""}


class UrlCall:
    """A request that reached the function: its invocation, and what the answer needs."""

    __slots__ = ("inv", "config", "origin", "started")

    def __init__(self, inv, config, origin, started: float) -> None:
        self.inv, self.config, self.origin, self.started = inv, config, origin, started

    @property
    def done(self) -> bool:
        """The invocation is over and, for a streamed response, its last chunk has reached the client."""
        inv = self.inv
        return inv.done and (inv.stream is None or inv.stream.ended or inv.error is not None)


def _trace_header(headers: dict) -> str | None:
    for key, value in headers.items():
        if key.lower() == "x-amzn-trace-id":
            return value
    return None


def _cors_headers(cors: dict, origin: str, preflight: bool) -> dict:
    allowed = cors.get("AllowOrigins") or []
    if "*" in allowed:
        allow_origin = "*" if not cors.get("AllowCredentials") else origin
    elif origin in allowed:
        allow_origin = origin
    else:
        return {}
    out = {"access-control-allow-origin": allow_origin, "vary": "Origin"}
    if cors.get("AllowCredentials"):
        out["access-control-allow-credentials"] = "true"
    if preflight:
        if cors.get("AllowMethods"):
            out["access-control-allow-methods"] = ",".join(m.upper() for m in cors["AllowMethods"])
        if cors.get("AllowHeaders"):
            out["access-control-allow-headers"] = ",".join(h.lower() for h in cors["AllowHeaders"])
        if "MaxAge" in cors:
            out["access-control-max-age"] = str(cors["MaxAge"])
    elif cors.get("ExposeHeaders"):
        out["access-control-expose-headers"] = ",".join(h.lower() for h in cors["ExposeHeaders"])
    return out


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def checked_request(method, url, headers, body) -> tuple[str, str, dict, bytes]:
    """What an HTTP client would refuse to send, refused here too (http.client's words), before anything runs."""
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise ValueError(f"Invalid method {method!r}: an HTTP method is a token such as 'GET'")
    if not isinstance(url, str) or any(c in url for c in "\r\n "):
        raise ValueError(f"Invalid URL {url!r}")
    if headers is not None and not isinstance(headers, dict):
        raise TypeError(f"headers must be a dict of str to str, not {type(headers).__name__}")
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"Invalid header name {name!r}")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"Invalid header value {value!r} for {name!r}: a str without line breaks")
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif body is None:
        body = b""
    elif not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
    return method, url, dict(headers or {}), bytes(body)


def lab_http(lab, method: str, url: str, *, headers: dict | None = None, body: bytes = b"") -> dict:
    """``lab.http``: one request to a function URL, answered in the lab's time."""
    method, url, headers, body = checked_request(method, url, headers, body)
    result = lab.driver.call(lab.url_frontend.request, method, url, headers, body)
    if isinstance(result, dict):
        return result
    if not result.done:
        lab.wait_for(lambda: result.done)
    if not result.done:
        raise RuntimeError("the request did not finish: nothing left to run in the lab")
    return lab.driver.call(lab.url_frontend.answer, result)

