"""botocore's service models, loaded once per process, and the index that finds an operation from a request.

AWS services speak one of four protocols, and each names its operation in a different place: ``rest-json``
(Lambda) and ``rest-xml`` (S3) by HTTP method + path (the operation's ``requestUri`` template, sometimes with a
fixed query part such as ``?list-type=2`` or ``?notification``), ``json`` (SQS, Kinesis) by the
``X-Amz-Target: <targetPrefix>.<Operation>`` header, ``query`` (SNS) by the ``Action`` form field. ``Index``
builds these lookups from the model itself, so every operation botocore knows is found the same way.
"""
from __future__ import annotations

import functools
import re
import threading
from urllib.parse import parse_qsl, unquote

__all__ = ["session", "service_model", "index", "Index", "xform_name", "exceptions", "client_config",
           "IN_PROCESS_URL"]

IN_PROCESS_URL = "http://lambdalab.invalid"     # where in-process clients "send" (nothing leaves the process)

_lock = threading.Lock()
_session = None


def session():
    """The one botocore session behind every lambdalab client (its loader caches the JSON models)."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                import botocore.session
                # a profile named in the learner's environment (AWS_PROFILE) must not break the lab's clients
                _session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return _session


def client_config():
    """In process: no signing, no retries (a throttle is the caller's to see), S3 by path, no proxies, and a
    fixed User-Agent (botocore would rebuild its platform string for every request)."""
    from botocore import UNSIGNED
    from botocore.config import Config
    return Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1, "mode": "legacy"}, proxies={},
                  s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                  response_checksum_validation="when_required", region_name="us-east-1",
                  user_agent="lambdalab")


@functools.lru_cache(maxsize=None)
def exceptions(service: str):
    """``client.exceptions`` of every lambdalab client of ``service``: one set of modelled classes per process
    (botocore's session makes them once per service, so a second client's are the same classes)."""
    return session().create_client(service, endpoint_url=IN_PROCESS_URL, config=client_config()).exceptions


@functools.lru_cache(maxsize=None)
def service_model(service: str):
    """The service's model as AWS publishes it, from a loader of its own: botocore's clients edit their
    loader's data as they run (S3's handlers strip ``/{Bucket}`` from a ``requestUri`` the first time the
    operation is called, since the endpoint ruleset puts the bucket back in the URL), and the server side must
    read the templates unchanged."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel
    return ServiceModel(create_loader().load_service_model(service, "service-2"), service)


def xform_name(operation: str) -> str:
    """``ListObjectsV2`` -> ``list_objects_v2``: the boto3 method (and backend method) of an operation."""
    from botocore import xform_name as transform
    return transform(operation)


@functools.lru_cache(maxsize=None)
def index(service: str) -> "Index":
    return Index(service_model(service))


class Index:
    """Finds the operation a wire request calls, for one service."""

    def __init__(self, model) -> None:
        self.model = model
        self.service = model.service_name
        self.protocol = model.protocol
        self.target_prefix = model.metadata.get("targetPrefix", "")
        self._by_name = {}
        self._routes: list[tuple] = []
        for name in model.operation_names:
            op = model.operation_model(name)
            self._by_name[name] = op
            if self.protocol.startswith("rest-"):
                self._routes.append(_route(op))
        # the most specific route first: more fixed query keys and required header/query members (PutObject,
        # CopyObject and UploadPart share PUT /{Bucket}/{Key+}), more literal text, no greedy label
        # (and the current operation before a deprecated twin: PutBucketNotificationConfiguration first)
        self._routes.sort(key=lambda r: (-len(r[3]) - len(r[4]), -r[5], r[6], r[7].deprecated))
        # routes by method and by the template's first path segment (None: it starts with a label)
        self._by_start: dict[tuple, list] = {}
        self._rank = {route[7].name: i for i, route in enumerate(self._routes)}
        for route in self._routes:
            first = route[7].http["requestUri"].split("?")[0].lstrip("/").split("/")[0]
            self._by_start.setdefault((route[0], None if "{" in first else first), []).append(route)
        #: the literal first path segments of the service's routes (``2015-03-31`` for Lambda)
        self.starts = frozenset(start for _, start in self._by_start if start)

    def operation(self, name: str):
        return self._by_name.get(name)

    def find(self, method: str, path: str, query: str, headers: dict, form: dict | None = None):
        """(OperationModel, uri labels) for a request, or None when no operation of this service matches."""
        return next(self.matches(method, path, query, headers, form), None)

    def matches(self, method: str, path: str, query: str, headers: dict, form: dict | None = None):
        """Every (OperationModel, uri labels) the request could be, the most specific first."""
        if self.protocol == "json":
            target = headers.get("x-amz-target", "")
            prefix, _, name = target.rpartition(".")
            op = self._by_name.get(name) if prefix == self.target_prefix else None
            if op is not None:
                yield op, {}
            return
        if self.protocol == "query":
            op = self._by_name.get((form or {}).get("Action", [""])[0])
            if op is not None:
                yield op, {}
            return
        given = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        first = path.lstrip("/").split("/", 1)[0]
        fixed_start, any_start = self._by_start.get((method, first), ()), self._by_start.get((method, None), ())
        candidates = sorted((*fixed_start, *any_start), key=lambda r: self._rank[r[7].name]) \
            if fixed_start and any_start else fixed_start or any_start
        for _, pattern, labels, fixed, needs, _, _, op in candidates:
            if any(k not in given or (v is not None and given[k] != v) for k, v in fixed.items()):
                continue
            if any((name not in given) if where == "querystring" else (name not in headers) for where, name in needs):
                continue
            match = pattern.match(path)
            if match is not None:
                yield op, {name: unquote(match.group(i + 1)) for i, name in enumerate(labels)}


_LABEL = re.compile(r"\{([^}]+)\}")


def _route(op):
    """(method, path regex, label names, fixed query, required header/query members, literal length, greedy?,
    op) for one REST operation."""
    template, _, fixed_query = op.http["requestUri"].partition("?")
    fixed = {}
    for part in filter(None, fixed_query.split("&")):
        key, eq, value = part.partition("=")
        fixed[key] = value if eq else None
    labels, regex, pos, greedy = [], ["^"], 0, False
    for match in _LABEL.finditer(template):
        regex.append(re.escape(template[pos:match.start()]))
        name = match.group(1)
        if name.endswith("+"):
            labels.append(name[:-1])
            regex.append("(.+)")
            greedy = True
        else:
            labels.append(name)
            regex.append("([^/]+)")
        pos = match.end()
    regex.append(re.escape(template[pos:]).rstrip("/") if pos < len(template) else "")
    regex.append("/?$")
    literal = len(_LABEL.sub("", template))
    shape = op.input_shape
    needs = []
    for name in (shape.required_members if shape is not None else ()):
        where = shape.members[name].serialization.get("location")
        if where in ("header", "querystring"):
            wire = shape.members[name].serialization.get("name", name)
            needs.append((where, wire.lower() if where == "header" else wire))
    return op.http["method"], re.compile("".join(regex)), labels, fixed, needs, literal, greedy, op
