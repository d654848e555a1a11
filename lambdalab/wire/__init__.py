"""AWS on the wire: one model-driven dispatcher answers every AWS request the lab serves.

Real AWS tools talk to the lab the way they talk to AWS. A botocore client (``lab.client(service)``, or
``boto3.client(service, endpoint_url=lab.serve())``, or the AWS CLI) serializes each call from the service's
model; the lab reads the request back with the same model, calls the in-process service, and writes the
answer as AWS would, so botocore parses it, validates nothing twice and raises AWS's modelled exceptions. In
process the request never leaves Python (a ``before-send`` hook); over HTTP ``lab.serve()`` hands it over.

- ``models``: botocore's service models (one session and loader per process) and the index that finds an
  operation: method + ``requestUri`` template (rest-json, rest-xml), ``X-Amz-Target`` (json), ``Action``
  (query). No route is written by hand.
- ``request``: the operation's parameters from the URI, query string, headers, payload or body.
- ``response`` / ``xml`` / ``values``: the result or the error, as the protocol writes it.
- ``eventstream``: binary event-stream framing for streamed responses.
- ``dispatcher``: ``Dispatcher`` (``lab.dispatcher``): finds the backend method, calls it, answers.

The backend convention (every service of the lab follows it; nothing else is needed to be served):

- A backend is an object registered with ``lab.register_backend(service, obj)`` (``service`` as botocore
  names it: "lambda", "sqs", "kinesis", "s3", "sns"...). It has one method per operation, named as boto3
  names the client method (``create_bucket``, ``publish``, ``add_permission``: botocore's ``xform_name`` of
  the operation), taking AWS's parameter names as keyword-only arguments (a ``**params`` catch-all is allowed;
  otherwise a parameter the method lacks is refused with the service's invalid-parameter error).
- It returns boto3's response shape as a dict, without ``ResponseMetadata`` (optionally with
  ``ResponseMetadata.RequestId`` / ``HTTPStatusCode`` to set them; the status otherwise comes from the model).
  Timestamps may be datetimes or epoch seconds, blobs bytes (or an object with ``read()``).
- Errors: ``raise control_plane.errors.aws_error(code, message, status, operation=..., service=...)``.
- An answer that comes later (a synchronous invoke still running) is an object with ``done``,
  ``callbacks`` (called with it when done), ``response`` and ``error``: the Invocation's shape. In process
  the caller waits in the lab's time; over HTTP the connection waits.
- A streamed result (``InvokeWithResponseStream``'s ``EventStream``) is an iterable of events such as
  ``{"PayloadChunk": {"Payload": b"..."}}`` ... ``{"InvokeComplete": {}}``, or an ``eventstream.EventStream``
  filled with ``push(event)`` / ``end()`` as chunks are produced (then they reach the caller as produced).
- Lambda's operations live on its components (control plane, aliases, tags, concurrency, frontend, async
  invoke, event source mappings...), each registered as a "lambda" backend; the one registered last that has
  the method answers (a test or a learner can stand a backend of their own in for part of a service). ``lab.dispatcher.served(service)`` lists what is served (the README's table).
"""
from __future__ import annotations

__all__ = ["Dispatcher", "EventStream"]


def __getattr__(name: str):
    if name == "Dispatcher":
        from .dispatcher import Dispatcher
        return Dispatcher
    if name == "EventStream":
        from .eventstream import EventStream
        return EventStream
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
