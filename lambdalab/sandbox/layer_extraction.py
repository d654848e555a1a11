"""Layers at a cold start: fetch each layer archive and unpack it under ``/opt``, in the function's order.

In AWS, after the function's own package, Lambda brings each of the function's layers (through the same code
caches: a layer many functions use is usually near) and extracts them into ``/opt`` one after the other, so a
file of a later layer replaces the same path of an earlier one. ``/opt`` is read-only to the function. The
Python runtime searches ``/var/task`` first, then ``/opt/python/lib/python3.x/site-packages``, then
``/opt/python``, so a layer's ``python/`` folder holds importable modules; ``/opt/bin`` is on ``PATH``.

Here the time is, per layer, the fetch from the tier that holds its archive (``CostModel.code_fetch``) plus
the unzip of its real unzipped size at ``layer_extract_rate``. The merged ``/opt`` is unpacked once per list of
layer versions into a directory that every environment of those functions reads (layer versions are
immutable, so one copy serves all) and removed when the lab closes. Handler code sees it as ``/opt/...``
(``open``, ``os.listdir``, ``os.path.exists`` ... map it, as they map ``/tmp``); writing there fails with
EROFS, "Read-only file system", as in AWS.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import zipfile

from . import scratch

__all__ = ["extract_layers", "opt_directory", "opt_real_path", "opt_module_path", "read_opt_source"]


def extract_layers(chain) -> float:
    """The cold-start phase after the code fetch of a function with layers."""
    env = chain.env
    lab = env.lab
    layers = env.snapshot.model["layers"]
    total, parts = 0.0, []
    for layer in layers:
        tier = env.worker.code_tier(layer.code_sha256)
        seconds = lab.cost.code_fetch(tier, layer.code_size) + layer.unzipped_size / lab.cost.layer_extract_rate
        total += seconds
        parts.append({"layer": layer.arn, "tier": tier, "bytes": layer.code_size, "unzipped": layer.unzipped_size,
                      "seconds": seconds})
    env.opt_path = opt_directory(lab, layers)
    names = ", ".join(f"{layer.name}:{layer.version}" for layer in layers)
    env.emit("environment", "extract_layers", "Fetch and unpack {} layer{} into /opt in order ({}): {:.2f} ms",
             len(layers), 's' if len(layers) != 1 else '', names, total * 1000, phase="code", duration=total,
             layers=parts)
    return total


def opt_directory(lab, layers) -> str:
    """The directory holding ``layers`` unpacked in order (made on first use, shared, removed at close)."""
    store = lab.layers.extracted
    key = tuple(layer.arn for layer in layers)
    path = store.get(key)
    if path is None:
        if not store:
            lab.on_close(lambda: _remove_all(store))
        path = store[key] = scratch.make_directory(lab, "opt-")
        for layer in layers:                   # later layers overwrite earlier ones
            with zipfile.ZipFile(io.BytesIO(layer.zip_bytes)) as archive:
                archive.extractall(path)       # (extractall keeps every member inside ``path``)
    return path


def _remove_all(store: dict) -> None:
    for path in store.values():
        shutil.rmtree(path, ignore_errors=True)
    store.clear()


def opt_real_path(env, path, write: bool = False):
    """Where ``/opt/...`` really is for this environment, or None when ``path`` is not under /opt."""
    root = getattr(env, "opt_path", None)
    if root is None or not isinstance(path, str) or not (path == "/opt" or path.startswith("/opt/")):
        return None
    if write:
        raise OSError(errno.EROFS, "Read-only file system", path)
    return root + path[4:]


def _import_roots(env) -> tuple[str, ...]:
    version = env.snapshot.runtime.removeprefix("python")
    return (f"/opt/python/lib/python{version}/site-packages", "/opt/python")


def opt_module_path(env, candidate: str) -> str | None:
    """``/opt/.../candidate`` if a layer provides that module file (``mod.py`` or ``pkg/__init__.py``)."""
    if getattr(env, "opt_path", None) is None:
        return None
    for root in _import_roots(env):
        virtual = f"{root}/{candidate}"
        if os.path.isfile(opt_real_path(env, virtual)):
            return virtual
    return None


def read_opt_source(env, virtual: str) -> bytes:
    with open(opt_real_path(env, virtual), "rb") as handle:
        return handle.read()
