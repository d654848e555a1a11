"""Optional components attach themselves to a new Lab here (async path, SQS, Kinesis, event sources).

Each entry imports lazily and is skipped when its module does not exist yet, so the core never depends on them.
"""
from __future__ import annotations

import importlib

_ATTACHERS = (
    "lambdalab.async_invoke",
    "lambdalab.event_sources",
)


def attach(lab) -> None:
    for name in _ATTACHERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        hook = getattr(module, "attach", None)
        if hook is not None:
            hook(lab)
