"""Writing a backend's answer as the service's wire response, per protocol, as botocore's parsers read it.

- rest-json (Lambda): the ``statusCode`` member is the status, ``header`` members are headers, the ``payload``
  member is the raw body (a blob: the function's result) or the other members are one JSON document.
  Errors: ``x-amzn-ErrorType: <Code>`` and a JSON body of the error shape's members (``Type``, ``message``...).
- json (SQS, Kinesis): one JSON document. Errors: ``{"__type": <shape>, "message": ...}``; a service that
  keeps its old query error codes (SQS's ``awsQueryCompatible``) adds ``x-amzn-query-error: <Code>;Sender``.
- rest-xml (S3): headers as in rest-json, the body an XML document named after the output shape. Errors:
  ``<Error><Code/><Message/><RequestId/></Error>``.
- query (SNS): ``<OpResponse><OpResult>...</OpResult><ResponseMetadata><RequestId/>...``. Errors:
  ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.
An event stream (``InvokeWithResponseStream``) is a body of eventstream frames (``eventstream.py``).
"""
from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from .eventstream import Frames
from .values import to_json, to_text
from .xml import element_name, to_xml

__all__ = ["Reply", "reply", "error_reply", "CONTENT_TYPES"]

CONTENT_TYPES = {"rest-json": "application/json", "rest-xml": "application/xml", "query": "text/xml"}


class Reply:
    """A wire response: status, headers, and a body of bytes or (event streams) an iterable of byte chunks."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict, body) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, bytes)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.headers.get('Content-Type', '')}>"


def _json_type(model) -> str:
    return f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"


def _request_id_headers(protocol: str, request_id: str) -> dict:
    if protocol == "rest-xml":
        return {"x-amz-request-id": request_id, "x-amz-id-2": request_id}
    return {"x-amzn-RequestId": request_id}


def reply(model, op, result: dict, request_id: str, status: int | None = None) -> Reply:
    """The success response of ``op`` carrying ``result`` (boto3's response shape)."""
    protocol = model.protocol
    shape = op.output_shape
    status = status or op.http.get("responseCode", 200)
    headers = _request_id_headers(protocol, request_id)
    if protocol == "json":
        headers["Content-Type"] = _json_type(model)
        body = to_json(shape, result) if shape is not None else {}
        return Reply(status, headers, json.dumps(body, separators=(",", ":")).encode())
    if protocol == "query":
        return Reply(status, {**headers, "Content-Type": "text/xml"}, _query_body(model, op, result, request_id))
    if shape is None:
        return Reply(status, headers, b"")
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        value = result.get(name)
        if value is None:
            continue
        wire = member.serialization.get("name", name)
        if where == "statusCode":
            status = int(value)
        elif where == "header":
            headers[wire] = to_text(member, value, "rfc822")
        elif where == "headers":
            headers.update({wire + k: str(v) for k, v in value.items()})
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        value = result.get(payload)
        if member.serialization.get("eventstream"):
            headers.setdefault("Content-Type", "application/vnd.amazon.eventstream")
            return Reply(status, headers, Frames(member, value or ()))
        if member.type_name in ("blob", "string"):
            headers.setdefault("Content-Type", "application/octet-stream" if protocol == "rest-xml"
                               else CONTENT_TYPES[protocol])
            return Reply(status, headers, _raw(value))
        headers.setdefault("Content-Type", CONTENT_TYPES[protocol])
        if value is None:
            return Reply(status, headers, b"")
        return Reply(status, headers, _document(protocol, member, value, element_name(member, payload)))
    headers.setdefault("Content-Type", CONTENT_TYPES[protocol])
    return Reply(status, headers, _document(protocol, shape, result, shape.serialization.get("name", shape.name)))


def _raw(value) -> bytes:
    if value is None:
        return b""
    if hasattr(value, "read"):
        value = value.read()
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _document(protocol: str, shape, value, name: str) -> bytes:
    if protocol == "rest-json":
        return json.dumps(to_json(shape, value), separators=(",", ":")).encode()
    holder = ET.Element("holder")
    to_xml(holder, shape, value, name)
    root = holder[0]
    namespace = shape.serialization.get("xmlNamespace")
    if namespace:
        root.set("xmlns", namespace["uri"] if isinstance(namespace, dict) else namespace)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _query_body(model, op, result: dict, request_id: str) -> bytes:
    namespace = model.metadata.get("xmlNamespace", "")
    root = ET.Element(f"{op.name}Response", {"xmlns": namespace} if namespace else {})
    shape = op.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{op.name}Result")
        holder = ET.Element("holder")
        to_xml(holder, shape, result, wrapper)
        root.append(holder[0])
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = request_id
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def error_reply(model, error, request_id: str) -> Reply:
    """The error response for a botocore ClientError raised by a backend (or made by the dispatcher)."""
    protocol = model.protocol
    response = error.response
    code = response["Error"]["Code"]
    message = response["Error"].get("Message", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
    shape = model.shape_for_error_code(response["Error"].get("QueryErrorCode") or code)
    headers = _request_id_headers(protocol, request_id)
    if protocol in ("rest-json", "json"):
        body = {}
        fields = {**response, "message": message, "Message": message}
        members = shape.members if shape is not None else {"Type": None, "message": None}
        for name, member in members.items():
            where = member.serialization.get("location") if member is not None else None
            value = fields.get(name)
            if value is None:
                continue
            if where == "header":
                headers[member.serialization.get("name", name)] = to_text(member, value, "rfc822")
            elif where is None:
                body[name] = value
        if protocol == "rest-json":
            headers.update({"x-amzn-ErrorType": code, "Content-Type": "application/json"})
            body.setdefault("Type", response.get("Type", "User"))
        else:
            headers["Content-Type"] = _json_type(model)
            body["__type"] = response["Error"].get("QueryErrorCode") or (shape.name if shape is not None else code)
            if model.metadata.get("awsQueryCompatible") is not None:
                fault = response["Error"].get("Type", "Sender")
                headers["x-amzn-query-error"] = f"{code};{fault}"
        if "message" not in body and "Message" not in body:
            body["message"] = message
        return Reply(status, headers, json.dumps(body, separators=(",", ":")).encode())
    headers["Content-Type"] = CONTENT_TYPES[protocol]
    details = {k: v for k, v in response["Error"].items() if k not in ("Code", "Message", "Type")}
    if protocol == "rest-xml":
        root = ET.Element("Error")
        for key, value in (("Code", code), ("Message", message), *details.items(), ("RequestId", request_id)):
            ET.SubElement(root, key).text = str(value)
    else:
        namespace = model.metadata.get("xmlNamespace", "")
        root = ET.Element("ErrorResponse", {"xmlns": namespace} if namespace else {})
        node = ET.SubElement(root, "Error")
        fault = response["Error"].get("Type", "Sender")
        for key, value in (("Type", fault), ("Code", code), ("Message", message), *details.items()):
            ET.SubElement(node, key).text = str(value)
        ET.SubElement(root, "RequestId").text = request_id
    return Reply(status, headers, ET.tostring(root, encoding="utf-8", xml_declaration=True))
