"""``lab.client(service)``: real botocore clients whose requests are answered inside the process by the lab.

The client is botocore's own, from the service's model: it validates parameters, serializes the request,
parses the response, raises the modelled exceptions and gives paginators and waiters. One ``before-send``
handler takes the prepared HTTP request before it reaches a socket and hands it to the lab's dispatcher, which
answers with AWS's wire response; botocore reads that back as if it came from AWS. So a learner's code runs
unchanged against the lab here and against AWS there.

What differs from a boto3 client pointed at AWS: requests are not signed and not retried (a throttle is
raised at once, as the lab's lessons want to show it), and a waiter's delay between polls passes in the lab's
time (``lab.advance``), not on the wall clock. Clients are made once per lab and service (botocore's session
and loader once per process), so ``lab.client("lambda")`` is cheap to call again.
"""
from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["client_for"]


def client_for(lab, service: str):
    clients = lab._clients
    client = clients.get(service)
    if client is None:
        if service not in lab.services():
            names = ", ".join(lab.services())
            raise ValueError(f"Unknown service: {service!r}. Valid service names are: {names}")
        from ..wire import models
        session = models.session()
        _install_mixin(session)
        client = session.create_client(service, region_name=lab.region, endpoint_url=models.IN_PROCESS_URL,
                                       config=models.client_config())
        client._lab = lab
        client.meta.events.register("before-send", _Transport(lab, service))
        clients[service] = client
    return client


class _Transport:
    """The ``before-send`` handler: the lab answers the prepared request; botocore never opens a socket."""

    def __init__(self, lab, service: str) -> None:
        self.lab, self.service = lab, service

    def __call__(self, request, **_):
        from botocore.awsrequest import AWSResponse

        from ..wire.request import WireRequest
        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        body = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        headers = {k.lower(): (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        reply = self.lab.dispatcher.call(self.service, WireRequest(request.method, url.path or "/", url.query,
                                                                   headers, body))
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if not reply.streaming:
            headers["content-length"] = str(len(reply.body))
        return AWSResponse(request.url, reply.status, headers, _Body(reply.body))


class _Body:
    """The response body as urllib3's response offers it to botocore: ``read(amt)`` and ``stream()``."""

    def __init__(self, body) -> None:
        self._chunks = iter((body,) if isinstance(body, bytes) else body)
        self._buffer = b""

    def stream(self, amt: int = 2 ** 16, decode_content=None):
        if self._buffer:
            data, self._buffer = self._buffer, b""
            yield data
        for chunk in self._chunks:
            if chunk:
                yield chunk

    def read(self, amt: int | None = None) -> bytes:
        while amt is None or len(self._buffer) < amt:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if amt is None:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:amt], self._buffer[amt:]
        return data

    def close(self) -> None:
        self._chunks = iter(())


def _install_mixin(session) -> None:
    # registering the same function twice is a no-op in botocore's event system (unique by id)
    session.register("creating-client-class", _add_lab_methods, unique_id="lambdalab-client")


def _add_lab_methods(base_classes, **_) -> None:
    base_classes.insert(0, LabClient)


class LabClient:
    """Mixed into every lambdalab client class (botocore's ``creating-client-class`` event)."""

    _lab = None

    def get_waiter(self, waiter_name: str):
        return VirtualWaiter(self, super().get_waiter(waiter_name))


class VirtualWaiter:
    """botocore's waiter for ``waiter_name``, its delay between polls spent in the lab's time."""

    def __init__(self, client, waiter) -> None:
        self._client, self._waiter = client, waiter
        self.name, self.config = waiter.name, waiter.config

    def wait(self, **kwargs) -> None:
        from botocore.waiter import NormalizedOperationMethod, Waiter

        from ..wire.models import xform_name
        config = dict(kwargs.pop("WaiterConfig", None) or {})
        delay = config.get("Delay", self.config.delay)
        method = getattr(self._client, xform_name(self.config.operation))
        lab = self._client._lab
        polls = 0

        def poll(**params):
            nonlocal polls
            if polls:
                lab.advance(delay)
            polls += 1
            return method(**params)
        Waiter(self.name, self.config, NormalizedOperationMethod(poll)).wait(WaiterConfig={**config, "Delay": 0},
                                                                             **kwargs)

    def __repr__(self) -> str:
        return f"<VirtualWaiter {self.name}>"
