"""Reading a wire request back into the keyword arguments botocore was given.

A REST request spreads its input over the URI (``location: uri``), the query string (``querystring``, a map
member takes every other key), headers (``header``, and ``headers`` for a prefix such as ``x-amz-meta-``) and
the body: either one ``payload`` member (raw bytes for a blob, a document for a structure) or the remaining
members as one JSON / XML document. A json-protocol request is one JSON document; a query request is a form.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

from .values import from_json, from_text
from .xml import from_form, from_xml

__all__ = ["WireRequest", "parse"]


class WireRequest:
    """What arrived: method, path, raw query string, lower-case headers, body bytes."""

    __slots__ = ("method", "path", "query", "headers", "body", "_form")

    def __init__(self, method: str, path: str, query: str, headers: dict, body: bytes) -> None:
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body
        self._form = None

    @property
    def form(self) -> dict:
        """Query parameters and, for a form-encoded POST, the body's fields: ``{key: [values]}``."""
        if self._form is None:
            form = parse_qs(self.query, keep_blank_values=True) if self.query else {}
            if "x-www-form-urlencoded" in self.headers.get("content-type", "") and self.body:
                for key, values in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items():
                    form.setdefault(key, []).extend(values)
            self._form = form
        return self._form


def parse(protocol: str, op, request: WireRequest, labels: dict) -> dict:
    """The operation's input as boto3 keyword arguments."""
    shape = op.input_shape
    if shape is None:
        return {}
    if protocol == "json":
        return from_json(shape, json.loads(request.body or b"{}"))
    if protocol == "query":
        params = from_form(shape, request.form)
        return params or {}
    return _parse_rest(protocol, shape, request, labels)


def _parse_rest(protocol: str, shape, request: WireRequest, labels: dict) -> dict:
    params: dict = {}
    payload = shape.serialization.get("payload")
    query = parse_qs(request.query, keep_blank_values=True) if request.query else {}
    claimed = set()
    in_body = {}
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "uri":
            if wire in labels:
                params[name] = from_text(member, labels[wire])
        elif where == "querystring":
            if member.type_name == "map":
                continue                                     # takes the keys nobody else claims (below)
            claimed.add(wire)
            if wire in query:
                values = query[wire]
                params[name] = [from_text(member.member, v) for v in values] if member.type_name == "list" \
                    else from_text(member, values[0])
        elif where == "header":
            value = request.headers.get(wire.lower())
            if value is not None:
                params[name] = [from_text(member.member, v.strip()) for v in value.split(",")] \
                    if member.type_name == "list" else from_text(member, value)
        elif where == "headers":
            prefix = wire.lower()
            found = {k[len(prefix):]: v for k, v in request.headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        elif name == payload:
            value = _payload(protocol, member, request.body)
            if value is not None:
                params[name] = value
        elif where is None:
            in_body[name] = member
    for name, member in shape.members.items():
        if member.serialization.get("location") == "querystring" and member.type_name == "map":
            rest = {k: v[0] for k, v in query.items() if k not in claimed}
            if rest:
                params[name] = rest
    if in_body and request.body and payload is None:
        params.update(_document(protocol, shape, request.body, in_body))
    return params


def _payload(protocol: str, member, body: bytes):
    if member.type_name == "blob":
        return body if body else None
    if member.type_name == "string":
        return body.decode("utf-8") if body else None
    if not body.strip():
        return None
    if protocol == "rest-json":
        return from_json(member, json.loads(body))
    return from_xml(member, ET.fromstring(body))


def _document(protocol: str, shape, body: bytes, members: dict) -> dict:
    if protocol == "rest-json":
        document = json.loads(body)
        parsed = from_json(shape, document)
    else:
        parsed = from_xml(shape, ET.fromstring(body))
    return {k: v for k, v in parsed.items() if k in members}
