"""FilterCriteria: which records an event source mapping hands to the function.

In AWS a mapping may carry up to five filters, each an EventBridge-style pattern given as a JSON string. The
poller tests every record against them before it builds a batch; a record that matches no pattern is dropped
for good (an SQS message is deleted, a stream's checkpoint moves past it) and the function never sees it, so
you are not billed for it. With no filters every record passes.

A pattern is a JSON object whose leaves are lists of allowed values. It is matched against the record as the
function would see it, except that the payload (an SQS ``body``, a Kinesis ``data``) is parsed as JSON when it
is JSON, so ``{"body": {"kind": ["order"]}}`` looks inside a message. We implement the subset Lambda
documents for event filtering: exact values (strings, numbers, ``null``), ``prefix``, ``suffix``,
``equals-ignore-case``, ``numeric`` ranges, ``exists`` and ``anything-but`` (values, or a ``prefix``). A record
field that holds a list matches when any element does. We do not implement ``$or``, ``wildcard`` or ``cidr``.
"""
from __future__ import annotations

import json

from ..control_plane.errors import aws_error

__all__ = ["FilterSet", "compile_filters", "matches", "MAX_FILTERS"]

MAX_FILTERS = 5
_NUMERIC_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "=": lambda a, b: a == b,
                ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_MISSING = object()


def _invalid(operation: str):
    return aws_error("InvalidParameterValueException", "Invalid filter pattern definition.", 400,
                     operation=operation)


def _check_pattern(node, operation: str) -> None:
    """Refuse what EventBridge would refuse: leaves must be non-empty lists of values or known operators."""
    if not isinstance(node, dict) or not node:
        raise _invalid(operation)
    for value in node.values():
        if isinstance(value, dict):
            _check_pattern(value, operation)
        elif isinstance(value, list) and value:
            for rule in value:
                if isinstance(rule, dict) and not _valid_rule(rule):
                    raise _invalid(operation)
                if isinstance(rule, list):
                    raise _invalid(operation)
        else:
            raise _invalid(operation)


def _valid_rule(rule: dict) -> bool:
    if len(rule) != 1:
        return False
    (op, arg), = rule.items()
    if op in ("prefix", "suffix", "equals-ignore-case"):
        return isinstance(arg, str)
    if op == "exists":
        return isinstance(arg, bool)
    if op == "numeric":
        if not isinstance(arg, list) or not arg or len(arg) % 2:
            return False
        pairs = zip(arg[::2], arg[1::2])
        return all(o in _NUMERIC_OPS and isinstance(n, (int, float)) and not isinstance(n, bool) for o, n in pairs)
    if op == "anything-but":
        if isinstance(arg, dict):
            return len(arg) == 1 and "prefix" in arg and isinstance(arg["prefix"], str)
        if isinstance(arg, list):
            return bool(arg) and all(isinstance(v, (str, int, float)) for v in arg)
        return isinstance(arg, (str, int, float))
    return False


def compile_filters(criteria, operation: str = "CreateEventSourceMapping") -> list[dict]:
    """``{"Filters": [{"Pattern": "<json>"}]}`` -> list of parsed patterns (raises AWS's error when invalid)."""
    if criteria is None:
        return []
    if not isinstance(criteria, dict) or not isinstance(criteria.get("Filters", []), list):
        raise _invalid(operation)
    filters = criteria.get("Filters", [])
    if len(filters) > MAX_FILTERS:
        raise aws_error("InvalidParameterValueException",
                        f"The number of filters exceeds the limit of {MAX_FILTERS}.", 400, operation=operation)
    patterns = []
    for entry in filters:
        text = entry.get("Pattern") if isinstance(entry, dict) else None
        if not isinstance(text, str) or not text:
            raise _invalid(operation)
        try:
            pattern = json.loads(text)
        except ValueError:
            raise _invalid(operation) from None
        _check_pattern(pattern, operation)
        patterns.append(pattern)
    return patterns


def _match_rule(rule, value) -> bool:
    """One entry of a leaf list against one scalar field value (never called with _MISSING)."""
    if not isinstance(rule, dict):
        if isinstance(rule, bool) or isinstance(value, bool):
            return rule is value          # JSON true is not the number 1
        return rule == value
    (op, arg), = rule.items()
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if op == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return all(_NUMERIC_OPS[o](value, n) for o, n in zip(arg[::2], arg[1::2]))
    if op == "anything-but":
        if isinstance(arg, dict):
            return isinstance(value, str) and not value.startswith(arg["prefix"])
        excluded = arg if isinstance(arg, list) else [arg]
        return value not in excluded
    return False


def _match_leaf(rules: list, value) -> bool:
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] == (value is not _MISSING):
                return True
            continue
        if value is _MISSING:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_match_rule(rule, v) for v in values):
            return True
    return False


def matches(pattern: dict, document) -> bool:
    """Does one record (a dict) match one pattern? Every key of the pattern must match."""
    for key, want in pattern.items():
        value = document.get(key, _MISSING) if isinstance(document, dict) else _MISSING
        if isinstance(want, dict):
            if isinstance(value, list):
                if not any(isinstance(v, dict) and matches(want, v) for v in value):
                    return False
            elif not isinstance(value, dict) or not matches(want, value):
                return False
        elif not _match_leaf(want, value):
            return False
    return True


def parse_payload(text):
    """A body / data string as the filter sees it: parsed JSON when it is a JSON object or array, else the text."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return _MISSING
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return text
    return value if isinstance(value, (dict, list)) else text


class FilterSet:
    """The compiled FilterCriteria of one mapping: ``keep(document)`` is True when any pattern matches."""

    def __init__(self, criteria=None, operation: str = "CreateEventSourceMapping") -> None:
        self.criteria = criteria
        self.patterns = compile_filters(criteria, operation)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def keep(self, document: dict) -> bool:
        return not self.patterns or any(matches(p, document) for p in self.patterns)
