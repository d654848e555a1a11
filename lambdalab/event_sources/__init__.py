"""Event sources: in-process SQS and Kinesis services, and the event source mapping (ESM) pollers that read them.

``attach(lab)`` registers each service that exists with the lab (``lab.client("sqs")``, ``lab.client("kinesis")``)
and the ESM manager (``lab.event_sources``) used by the Lambda client's ``*_event_source_mapping`` methods.
"""
from __future__ import annotations

import importlib

_PARTS = ("sqs", "kinesis", "mappings")


def attach(lab) -> None:
    for part in _PARTS:
        try:
            module = importlib.import_module(f"{__name__}.{part}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{part}":
                continue
            raise
        module.attach(lab)
