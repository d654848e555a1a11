"""The one door into the lab's services: a wire request in, the service's wire response out.

``Dispatcher.handle(request)`` finds the operation from botocore's model (``models.Index``), reads its
parameters back (``request.parse``), calls the backend method named like the boto3 method, and writes the
result or the error as the protocol says (``response``). ``call`` is the in-process path (the botocore
clients' ``before-send`` hook): it also waits, in the lab's time, for an answer that comes later (an invoke
that is still running). ``lab.serve()``'s HTTP server calls ``handle`` and answers a ``Waiting`` when it is
ready.
"""
from __future__ import annotations

import functools
import inspect
import traceback
from xml.etree.ElementTree import ParseError

from . import models
from .request import WireRequest, parse
from .response import Reply, error_reply, reply

__all__ = ["Dispatcher", "Waiting", "WireRequest"]

# the code each service answers a parameter it does not accept with
INVALID_PARAMETER = {"lambda": "InvalidParameterValueException", "kinesis": "InvalidArgumentException",
                     "s3": "InvalidArgument", "sns": "InvalidParameter", "sqs": "InvalidParameterValue"}
# what a body botocore would never send (malformed JSON or XML) is answered with, per protocol
MALFORMED = {"rest-json": ("InvalidRequestContentException", "Could not parse request body into json: {}"),
             "json": ("SerializationException", "{}"),
             "rest-xml": ("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                                          "our published schema ({})"),
             "query": ("MalformedQueryString", "{}")}


class Waiting:
    """An answer that comes later: an operation returned an object still being worked on (an Invocation).

    ``ready()`` turns true once ``later.done``; ``later.callbacks`` are called then (``on_ready``), and
    ``answer()`` writes the reply from ``later.response`` or ``later.error``.
    """

    def __init__(self, dispatcher: "Dispatcher", model, op, later, timeout: float) -> None:
        self.dispatcher, self.model, self.op, self.later, self.timeout = dispatcher, model, op, later, timeout

    def ready(self) -> bool:
        return self.later.done

    def on_ready(self, callback) -> None:
        self.later.callbacks.append(lambda _later: callback())

    def answer(self) -> Reply:
        return self.dispatcher.answer(self.model, self.op, self.later)


class Dispatcher:
    """Answers every AWS operation the lab's backends implement, for one Lab."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self._methods: dict[tuple, object] = {}      # (service, operation, backends registered) -> method

    # --- what is served -------------------------------------------------------------------------------------
    def services(self) -> list[str]:
        return self.lab.services()

    def method(self, service: str, operation: str):
        """The backend method for ``operation`` (boto3's name for it), or None when the lab does not serve it.
        The backend registered last that has the method answers (so a later one can stand in for a part)."""
        backends = self.lab.backends(service)
        key = (service, operation, len(backends))
        if key not in self._methods:
            name = models.xform_name(operation)
            found = (getattr(b, name, None) for b in reversed(backends))
            self._methods[key] = next((m for m in found if callable(m)), None)
        return self._methods[key]

    def served(self, service: str) -> list[str]:
        """The operations of ``service`` the lab answers (the model's names), sorted."""
        model = models.service_model(service)
        return sorted(op for op in model.operation_names if self.method(service, op) is not None)

    # --- in process -----------------------------------------------------------------------------------------
    def call(self, service: str, request: WireRequest) -> Reply:
        """Answer a request from one of the lab's botocore clients, waiting in the lab's time if need be.

        The lab's driver runs the request where the components live (the real-time loop, or here) and lets
        time pass until a later answer is there: virtual time jumps, real time is waited for (bounded by the
        function's timeout and a minute)."""
        lab = self.lab
        answer = lab.driver.call(self.handle, request, service)
        if isinstance(answer, Waiting):
            lab.wait_for(answer.ready, None if lab.realtime is None else lab.now + answer.timeout)
            if not answer.ready():
                raise RuntimeError(f"no answer to {answer.op.name}: " + ("nothing left to run in the lab"
                                   if lab.realtime is None else f"not done within {answer.timeout:g} s"))
            answer = answer.answer()
        return answer

    # --- one request ----------------------------------------------------------------------------------------
    def handle(self, request: WireRequest, service: str | None = None, *, internal_errors: bool = False):
        """A Reply, or a Waiting when the answer comes later. ``internal_errors``: a bug in a backend becomes
        a 500 of the protocol's shape (the HTTP server) instead of propagating (in process)."""
        service = service or self.service_of(request)
        model = models.service_model(service)
        index = models.index(service)
        try:
            found = list(index.matches(request.method, request.path, request.query, request.headers, request.form))
            if not found:
                return self._unknown(model, request)
            # of twins on one route (a deprecated operation and its successor), the one the lab serves
            op, labels = next((f for f in found if self.method(service, f[0].name) is not None), found[0])
            try:
                params = parse(model.protocol, op, request, labels)
            except (ValueError, KeyError, TypeError, ParseError) as exc:   # (ParseError: XML that does not parse)
                code, text = MALFORMED[model.protocol]
                return self.fail(model, code, text.format(exc), 400, op.name)
            target = self.method(service, op.name)
            if target is None:
                return self.fail(model, "NotImplemented", f"lambdalab does not implement {op.name} (the README "
                                 "lists the operations it serves)", 501, op.name)
            refused = _refused(target, params)
            if refused:
                return self.fail(model, INVALID_PARAMETER.get(service, "InvalidParameterValue"),
                                 f"Unsupported parameter(s) in lambdalab: {', '.join(refused)}", 400, op.name)
            # the request chain it belongs to (X-Amzn-Trace-Id, sent by handler code's SDK): lambdalab.calls
            with self.lab.calls.answering(request.headers.get("x-amzn-trace-id")):
                return self._invoke(model, op, target, params)
        except Exception:  # noqa: BLE001 - over HTTP a bug answers 500; in process it propagates
            if not internal_errors:
                raise
            traceback.print_exc()
            code = "InternalError" if model.protocol == "rest-xml" else "ServiceException"
            return self.fail(model, code, "lambdalab failed to process the request (see the kernel's log)", 500,
                             "")

    def _invoke(self, model, op, target, params: dict):
        from botocore.exceptions import ClientError
        try:
            result = target(**params)
        except ClientError as error:
            return self.error(model, error)
        if hasattr(result, "done") and hasattr(result, "callbacks"):
            if result.done:
                return self.answer(model, op, result)
            snapshot = getattr(result, "snapshot", None)
            timeout = (getattr(snapshot, "timeout", None) or 900) + 60
            return Waiting(self, model, op, result, timeout)
        return self.result(model, op, result or {})

    def answer(self, model, op, later) -> Reply:
        if later.error is not None:
            return self.error(model, later.error)
        return self.result(model, op, later.response)

    def result(self, model, op, result: dict) -> Reply:
        meta = result.get("ResponseMetadata") or {}
        return reply(model, op, result, meta.get("RequestId") or self.lab.control_ids.uuid(),
                     meta.get("HTTPStatusCode"))

    def error(self, model, error) -> Reply:
        request_id = error.response.get("ResponseMetadata", {}).get("RequestId") or self.lab.control_ids.uuid()
        return error_reply(model, error, request_id)

    def fail(self, model, code: str, message: str, status: int, operation: str) -> Reply:
        from ..control_plane.errors import aws_error
        return self.error(model, aws_error(code, message, status, operation=operation, service=model.service_name))

    def _unknown(self, model, request: WireRequest) -> Reply:
        protocol = model.protocol
        if protocol == "query":
            action = request.form.get("Action", [""])[0]
            return self.fail(model, "InvalidAction", f"The action {action} is not valid for this web service.", 400,
                             action)
        if protocol == "rest-xml":
            return self.fail(model, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                             405, "")
        what = request.headers.get("x-amz-target") if protocol == "json" else f"{request.method} {request.path}"
        return self.fail(model, "UnknownOperationException", f"Unknown operation {what}",
                         404 if protocol == "rest-json" else 400, "")

    # --- which service an HTTP request is for ----------------------------------------------------------------
    def service_of(self, request: WireRequest) -> str:
        """From the SigV4 credential scope when the request is signed, else from what the protocols put on the
        wire: the X-Amz-Target prefix, the query Action's Version, or the first REST service whose routes
        match or whose paths start the same way (Lambda before S3, whose paths match almost anything)."""
        served = self.services()
        scope = request.headers.get("authorization", "").partition("Credential=")[2].split(",")[0].split("/")
        if len(scope) >= 4 and scope[3] in served:
            return scope[3]
        target = request.headers.get("x-amz-target", "")
        version = request.form.get("Version", [""])[0] if "Action" in request.form else ""
        rest = []
        for service in served:
            index = models.index(service)
            if target and index.protocol == "json" and target.rpartition(".")[0] == index.target_prefix:
                return service
            if version and index.protocol == "query" and index.model.api_version == version:
                return service
            if index.protocol.startswith("rest-"):
                rest.append(service)
        rest.sort(key=lambda s: s == "s3")
        # a service whose route matches, or whose paths start like this one (Lambda's /2015-03-31/...: its
        # "unknown operation" is the answer the caller needs), before S3, whose paths match almost anything
        first = request.path.lstrip("/").split("/", 1)[0]
        for service in rest:
            index = models.index(service)
            if first in index.starts or index.find(request.method, request.path, request.query, request.headers):
                return service
        return rest[0] if rest else served[0]


@functools.lru_cache(maxsize=1024)
def _accepts(function) -> tuple[bool, frozenset]:
    parameters = inspect.signature(function).parameters.values()
    return (any(p.kind is p.VAR_KEYWORD for p in parameters),
            frozenset(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)))


def _refused(method, params: dict) -> list[str]:
    open_ended, names = _accepts(getattr(method, "__func__", method))
    return [] if open_ended else sorted(set(params) - names)
