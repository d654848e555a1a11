"""Small helpers the sandbox tests share: invoke and read the payload, find steps, parse REPORT lines."""
from __future__ import annotations

import json
import re

import lambdalab as ll


def make_lab(**options) -> ll.Lab:
    options.setdefault("seed", 0)
    options.setdefault("wall_guard", 0.3)
    return ll.Lab(**options)


def invoke(lab, name, payload=None, **params):
    """Invoke synchronously; returns (response dict, decoded payload)."""
    if payload is not None:
        params["Payload"] = json.dumps(payload).encode()
    response = lab.client("lambda").invoke(FunctionName=name, **params)
    body = response["Payload"].read()
    return response, (json.loads(body) if body else None)


def reports(lab, name) -> list[dict]:
    """Every REPORT line of a function as a dict of its fields (Duration in ms as float, ...)."""
    out = []
    for line in lab.logs(name):
        if line.startswith("REPORT RequestId: "):
            fields = {}
            for part in line[len("REPORT "):].split("\t"):
                key, _, value = part.partition(": ")
                fields[key] = value
            for key in ("Duration", "Init Duration"):
                if key in fields:
                    fields[key] = float(fields[key].split()[0])
            out.append(fields)
    return out


def lines_starting(lab, name, prefix) -> list[str]:
    return [line for line in lab.logs(name) if line.startswith(prefix)]


def steps(lab, request_id=None, env_id=None):
    """(component.action) names of the trace, optionally for one request / environment."""
    criteria = {}
    if request_id is not None:
        criteria["request_id"] = request_id
    if env_id is not None:
        criteria["env_id"] = env_id
    return [f"{s.component}.{s.action}" for s in lab.trace.filter(**criteria)]


def ms_value(text: str) -> float:
    return float(re.search(r"([\d.]+) ms", text).group(1))
