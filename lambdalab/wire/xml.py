"""XML bodies (rest-xml, query responses) and query-protocol forms, shape by shape.

Both follow the same naming rules from the model: a member's element is its ``locationName`` (else its name);
a list is ``<Name><member>..</member></Name>`` unless ``flattened`` (then the items repeat as ``<Name>``, named
after the list member's ``locationName`` when it has one, as S3's ``<CloudFunctionConfiguration>``); a map is
``<entry><key/><value/></entry>``. A query form spells the same tree as dotted keys: ``Attributes.entry.1.key``,
``Tags.member.2.Value``.
"""
from __future__ import annotations

from xml.etree import ElementTree as ET

from .values import format_timestamp, from_text, to_text

__all__ = ["to_xml", "from_xml", "from_form", "element_name"]


def element_name(shape, name: str) -> str:
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        return shape.member.serialization.get("name") or shape.serialization.get("name", name)
    return shape.serialization.get("name", name)


def to_xml(parent: ET.Element, shape, value, name: str) -> None:
    """Append ``value`` (of ``shape``) to ``parent`` as the element(s) called ``name``."""
    kind = shape.type_name
    if kind == "list":
        if shape.serialization.get("flattened"):
            holder, item_name = parent, name
        else:
            holder, item_name = ET.SubElement(parent, name), shape.member.serialization.get("name", "member")
        for item in value:
            to_xml(holder, shape.member, item, item_name)
        return
    node = ET.SubElement(parent, name)
    if kind == "structure":
        for key, member in shape.members.items():
            if key not in value or value[key] is None or "location" in member.serialization:
                continue
            if member.serialization.get("xmlAttribute"):
                node.set(member.serialization.get("name", key), str(value[key]))
            else:
                to_xml(node, member, value[key], element_name(member, key))
    elif kind == "map":
        flat = shape.serialization.get("flattened")
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for k, v in value.items():
            entry = node if flat else ET.SubElement(node, "entry")
            to_xml(entry, shape.key, k, key_name)
            to_xml(entry, shape.value, v, value_name)
    elif kind == "timestamp":
        node.text = str(format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601")))
    else:
        node.text = to_text(shape, value, "iso8601")


def from_xml(shape, node: ET.Element):
    """The Python value of ``node`` (an element of ``shape``)."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        children = _children(node)
        for key, member in shape.members.items():
            if member.serialization.get("xmlAttribute"):
                attribute = _attribute(node, member.serialization.get("name", key))
                if attribute is not None:
                    out[key] = from_text(member, attribute)
                continue
            found = children.get(element_name(member, key)) or children.get(member.serialization.get("name", key))
            if found:
                out[key] = _list_from(member, found) if member.type_name == "list" and \
                    member.serialization.get("flattened") else from_xml(member, found[0])
        return out
    if kind == "list":
        return _list_from(shape, [c for c in node])
    if kind == "map":
        entries = [c for c in node if _local(c.tag) == "entry"] or [node]
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in entries:
            parts = _children(entry)
            if key_name in parts:
                out[from_xml(shape.key, parts[key_name][0])] = from_xml(shape.value, parts[value_name][0]) \
                    if value_name in parts else None
        return out
    return from_text(shape, node.text or "")


def _list_from(shape, nodes) -> list:
    return [from_xml(shape.member, n) for n in nodes]


def _children(node) -> dict:
    out: dict[str, list] = {}
    for child in node:
        out.setdefault(_local(child.tag), []).append(child)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute(node, name: str):
    local = name.rsplit(":", 1)[-1]
    for key, value in node.attrib.items():
        if _local(key) == local:
            return value
    return None


def from_form(shape, form: dict, prefix: str = ""):
    """The members of a query-protocol form (``{key: [values]}``) under ``prefix``; None when absent."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for key, member in shape.members.items():
            name = member.serialization.get("name", key)
            value = from_form(member, form, f"{prefix}.{name}" if prefix else name)
            if value is not None:
                out[key] = value
        return out if out or not prefix else (out if _present(form, prefix) else None)
    if kind == "list":
        if form.get(prefix) == [""]:
            return []
        base = prefix if shape.serialization.get("flattened") else \
            f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items, i = [], 1
        while _present(form, f"{base}.{i}"):
            items.append(from_form(shape.member, form, f"{base}.{i}"))
            i += 1
        return items if items else None
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out, i = {}, 1
        while _present(form, f"{base}.{i}"):
            out[from_form(shape.key, form, f"{base}.{i}.{key_name}")] = \
                from_form(shape.value, form, f"{base}.{i}.{value_name}")
            i += 1
        return out if out else None
    values = form.get(prefix)
    return None if values is None else from_text(shape, values[0])


def _present(form: dict, prefix: str) -> bool:
    dotted = prefix + "."
    return prefix in form or any(key.startswith(dotted) for key in form)
