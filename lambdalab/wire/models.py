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
    """In process: no signing, no retries (a throttle is the caller's to see), S3 by path, no proxies."""
    from botocore import UNSIGNED
    from botocore.config import Config
    return Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1, "mode": "legacy"}, proxies={},
                  s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                  response_checksum_validation="when_required", region_name="us-east-1")


@functools.lru_cache(maxsize=None)
def exceptions(service: str):
    """``client.exceptions`` of every lambdalab client of ``service``: one set of modelled classes per process
    (botocore's session makes them once per service, so a second client's are the same classes)."""
    return session().create_client(service, endpoint_url=IN_PROCESS_URL, config=client_config()).exceptions


@functools.lru_cache(maxsize=None)
def service_model(service: str):
    return session().get_service_model(service)


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
        # the most specific template first: more fixed query keys, more literal text, no greedy label; of two
        # operations on one route (S3's PutBucketNotification / ...Configuration) the current one first
        self._routes.sort(key=lambda r: (-len(r[3]), -r[4], r[5], bool(r[6].deprecated)))

    def operation(self, name: str):
        return self._by_name.get(name)

    def find(self, method: str, path: str, query: str, headers: dict, form: dict | None = None):
        """(OperationModel, uri labels) for a request, or None when no operation of this service matches."""
        if self.protocol == "json":
            target = headers.get("x-amz-target", "")
            prefix, _, name = target.rpartition(".")
            op = self._by_name.get(name) if prefix == self.target_prefix else None
            return (op, {}) if op is not None else None
        if self.protocol == "query":
            op = self._by_name.get((form or {}).get("Action", [""])[0])
            return (op, {}) if op is not None else None
        given = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        for verb, pattern, labels, fixed, _, _, op, needs in self._routes:
            if verb != method or any(k not in given or (v is not None and given[k] != v) for k, v in fixed.items()):
                continue
            if any(name not in (headers if where == "header" else given) for where, name in needs):
                continue              # (S3's CopyObject is PutObject's path with a required x-amz-copy-source)
            match = pattern.match(path)
            if match is not None:
                return op, {name: unquote(match.group(i + 1)) for i, name in enumerate(labels)}
        return None


_LABEL = re.compile(r"\{([^}]+)\}")


def _route(op):
    """(method, path regex, label names, fixed query, literal length, greedy?, op, required headers and query
    keys) for one REST operation."""
    uri = op.http["requestUri"]
    if "authPath" in op.http:          # botocore's S3 client took the bucket out of the model's path: put it back
        uri = "/{Bucket}" + uri
    template, _, fixed_query = uri.partition("?")
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
    needs = tuple((member.serialization["location"], member.serialization.get("name", name).lower()
                   if member.serialization["location"] == "header" else member.serialization.get("name", name))
                  for name, member in (shape.members.items() if shape is not None else ())
                  if name in shape.required_members and member.serialization.get("location") in ("header",
                                                                                                "querystring"))
    return op.http["method"], re.compile("".join(regex)), labels, fixed, literal, greedy, op, needs
