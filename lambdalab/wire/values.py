"""Values on the wire, shape by shape: JSON documents, and scalars as text (URI labels, query strings, headers).

botocore's models say how each member travels: blobs are base64 in JSON and XML, timestamps are epoch seconds
in a JSON body, ISO 8601 in XML and query strings, an HTTP date in headers (unless the shape names its own
``timestampFormat``), booleans are ``true``/``false`` as text, and a ``jsonvalue`` header is base64 of JSON.
``from_*`` turns what botocore sent into what a backend receives (bytes, ints, aware UTC datetimes...);
``to_*`` turns what a backend returns into what botocore's parser reads back.
"""
from __future__ import annotations

import base64
import calendar
import datetime as _dt
import functools
import json
from email.utils import formatdate

__all__ = ["from_text", "to_text", "from_json", "to_json", "timestamp", "format_timestamp"]

_INTEGERS = ("integer", "long", "short", "byte")
_FLOATS = ("float", "double")


def timestamp(value) -> _dt.datetime:
    """Any timestamp botocore sends (epoch seconds, ISO 8601, HTTP date) as an aware UTC datetime."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    from botocore.utils import parse_timestamp
    return parse_timestamp(value).astimezone(_dt.timezone.utc)


def format_timestamp(value, fmt: str):
    """A backend's timestamp (datetime, epoch seconds or text) in the wire format ``fmt``."""
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        seconds = calendar.timegm(aware.utctimetuple()) + aware.microsecond / 1e6
    else:
        seconds = float(value)
    if fmt == "unixTimestamp":
        return int(seconds) if seconds == int(seconds) else round(seconds, 3)
    if fmt == "rfc822":
        return formatdate(seconds, usegmt=True)
    moment = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}Z" if millis else "Z")


def from_text(shape, text: str):
    """A scalar sent as text (URI label, query value, header)."""
    kind = shape.type_name
    if kind in _INTEGERS:
        return int(text)
    if kind in _FLOATS:
        return float(text)
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind == "timestamp":
        return timestamp(float(text) if _numeric(text) else text)
    if kind == "blob":
        return base64.b64decode(text)
    if shape.serialization.get("jsonvalue"):
        return json.loads(base64.b64decode(text))
    return text


def to_text(shape, value, default_format: str) -> str:
    """A scalar as text for a header or query value."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", default_format)))
    if kind == "blob":
        return base64.b64encode(_bytes(value)).decode()
    if shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    if kind == "list":
        return ",".join(to_text(shape.member, v, default_format) for v in value)
    return str(value)


def from_json(shape, value):
    """A JSON document member (json and rest-json bodies) as the backend's Python value."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value:
                out[name] = from_json(member, value[key])
        return out
    if kind == "list":
        return [from_json(shape.member, v) for v in value]
    if kind == "map":
        return {k: from_json(shape.value, v) for k, v in value.items()}
    if kind == "blob":
        return base64.b64decode(value)
    if kind == "timestamp":
        return timestamp(value)
    return value


def to_json(shape, value):
    """A backend's value for a JSON document member."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        out = {}
        for name, key, member, plain in _body_members(shape):
            found = value.get(name)
            if found is not None:
                out[key] = found if plain else to_json(member, found)
        return out
    if kind == "list":
        member = shape.member
        if member.type_name in _PLAIN:
            return list(value)
        return [to_json(member, v) for v in value]
    if kind == "map":
        return {str(k): to_json(shape.value, v) for k, v in value.items()}
    if kind == "blob":
        return base64.b64encode(_bytes(value)).decode()
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    return value


_PLAIN = frozenset({"string", "integer", "long", "short", "byte", "boolean", "float", "double"})


@functools.lru_cache(maxsize=None)
def _body_members(shape) -> tuple:
    """(name, JSON key, shape, written as is?) of a structure's members that travel in the body (a shape's
    members are fixed, and botocore keeps one Shape object per model, so this is worked out once)."""
    return tuple((name, member.serialization.get("name", name), member, member.type_name in _PLAIN)
                 for name, member in shape.members.items() if "location" not in member.serialization)


def _bytes(value) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if hasattr(value, "read"):
        value = value.read()
    return bytes(value)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
