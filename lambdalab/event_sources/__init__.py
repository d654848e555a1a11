"""Event sources: in-process SQS, Kinesis, SNS and S3 services, and the event source mapping (ESM) pollers.

``attach(lab)`` registers each service that exists with the lab (``lab.client("sqs")``, ``lab.client("kinesis")``,
``lab.client("sns")``, ``lab.client("s3")``) and the ESM manager (``lab.event_sources``) used by the Lambda
client's ``*_event_source_mapping`` methods. SQS and Kinesis are polled (by mappings); SNS and S3 push, with
asynchronous invokes.
"""
from __future__ import annotations

import importlib

_PARTS = ("sqs_api", "kinesis", "sns", "s3", "mappings")


def attach(lab) -> None:
    for part in _PARTS:
        try:
            module = importlib.import_module(f"{__name__}.{part}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{part}":
                continue
            raise
        module.attach(lab)
