"""Invoking a function with a batch of records: what the SQS and stream pollers of event source mappings share.

In AWS an event source mapping's pollers read a batch, invoke the function synchronously with ``{"Records":
[...]}`` through the same Invoke API as any caller, and read a ReportBatchItemFailures answer to learn which
records failed. Here ``invoke_batch`` sends the batch through the lab's frontend and ``batch_item_failures``
reads the answer. ``MappingStatistics`` is the record a mapping answers ``statistics()`` with, which each
poller extends with its own counts. (They live apart from ``mappings`` so the pollers need not import the
mapping manager that makes them.)
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..observability.records import Statistics

__all__ = ["MAX_PAYLOAD", "MappingStatistics", "invoke_batch", "batch_item_failures"]

MAX_PAYLOAD = 6 * 1024 * 1024          # a batch never exceeds the synchronous invoke payload limit


def invoke_batch(mapping, records: list[dict], on_done, trace_header: str | None = None,
                 **detail):
    """Invoke the mapping's function synchronously with ``{"Records": records}``; ``on_done(inv)`` gets the result.
    ``trace_header``: the request chain the records belong to (their messages' AWSTraceHeader)."""
    lab = mapping.lab
    params = {"FunctionName": mapping.function_name,
              "Payload": json.dumps({"Records": records}, separators=(",", ":")).encode()}
    if mapping.qualifier:
        params["Qualifier"] = mapping.qualifier
    step = None
    if lab.trace.full:                 # recorded first so it precedes the frontend's steps for this request
        step = len(lab.trace)
        lab.trace.emit("event_source_mapping", "invoke", "Invoke {} with a batch of {} record(s)",
                       mapping.function_name, len(records), function=mapping.function_name, target="frontend",
                       uuid=mapping.uuid, batch_size=len(records), **detail)
    inv = lab.frontend.submit(params, source="event_source_mapping",   # the frontend answers this component
                              trace_header=trace_header)
    if step is not None:
        lab.trace.attach_request_id(step, inv.request_id)
    if inv.done:
        on_done(inv)
    else:
        inv.callbacks.append(on_done)
    return inv


def batch_item_failures(inv, identifiers) -> list[str] | None:
    """What a ReportBatchItemFailures response says failed: a list of ids, [] for none, None when malformed.

    An empty or null list, a null body or an object without the key mean success; anything that is not JSON,
    an entry without a non-empty string ``itemIdentifier`` or an id not in the batch makes the whole batch fail.
    """
    try:
        body = json.loads(inv.body) if inv.body else None
    except ValueError:
        return None
    if body is None:
        return []
    if not isinstance(body, dict):
        return None
    entries = body.get("batchItemFailures")
    if entries is None:
        return []
    if not isinstance(entries, list):
        return None
    failed = []
    for entry in entries:
        ident = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(ident, str) or not ident or ident not in identifiers:
            return None
        failed.append(ident)
    return failed


@dataclass(frozen=True)
class MappingStatistics(Statistics):
    uuid: str
    state: str              # Creating, Enabled, Disabled, ... (a mapping with no poller yet has only these)
