"""``snapshot_restore_py``: the module SnapStart functions use to register runtime hooks, one per runtime.

AWS's Python runtimes (3.12+) ship this module (the open-source ``snapshot-restore-py``): functions call
``register_before_snapshot(func, *args, **kwargs)`` to run code just before Lambda takes the snapshot (close
connections, drop secrets) and ``register_after_restore(func, *args, **kwargs)`` to run code in every
environment resumed from it (reseed random numbers, make new ids, reconnect). Both return ``func``, so they also
work as decorators; ``get_before_snapshot()`` / ``get_after_restore()`` list what is registered. Each runtime
gets its own registry, as each microVM has its own interpreter; ``sandbox.snapstart`` runs the hooks.
"""
from __future__ import annotations

import types

__all__ = ["snapshot_restore_module"]


def snapshot_restore_module() -> tuple[dict, types.ModuleType]:
    """(the registry ``{"before": [...], "after": [...]}`` of (func, args, kwargs), the module handler code sees)."""
    hooks: dict[str, list] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py", "Runtime hooks for Lambda SnapStart (lambdalab's copy).")

    def register_before_snapshot(func, *args, **kwargs):
        hooks["before"].append((func, args, kwargs))
        return func

    def register_after_restore(func, *args, **kwargs):
        hooks["after"].append((func, args, kwargs))
        return func

    module.register_before_snapshot = register_before_snapshot
    module.register_after_restore = register_after_restore
    module.get_before_snapshot = lambda: list(hooks["before"])
    module.get_after_restore = lambda: list(hooks["after"])
    return hooks, module
