"""A trace replayed in several Labs, split by app, on local processes or a Dask cluster: ``replay_sharded``.

Apps are independent (each draws from its own random streams and keeps its own environments and keep-alive
history), except for the account's concurrency limit and for worker hosts, which apps share. Each shard's Lab
gets an equal share of the limit; when no shard's peak reached its share, the limit never bound. A worker host's
lease end shuts down the idle environments on it, whoever's they are, so with worker leases a shard's results
differ slightly from one piece's; with ``worker_lease=None`` (and the limit not binding) they are the same, row
for row. (In AWS the account's limit is one pool for the whole Region; here each shard holds a fixed part.)

It is a module of its own because it makes Labs: ``lab.py`` imports ``replay.py`` (for ``lab.replay``), so the
dependency goes one way.
"""
from __future__ import annotations

import copy

from .lab import Lab
from .replay import ReplayResult
from .sweep import sweep

__all__ = ["replay_sharded"]


def _replay_shard(params: dict, seed) -> dict:
    """One shard of ``replay_sharded`` (runs wherever the sweep sends it)."""
    trace = params["trace"].shard(params["shard"], params["shards"])
    options = dict(params["lab_options"])
    options["account_concurrency"] = max(100, options.get("account_concurrency", 1000) // params["shards"])
    lab = Lab(seed=seed, trace="off", **options)
    replay = lab.replay(trace, keep_alive=copy.deepcopy(params["keep_alive"]))
    lab.run(until=replay.end)
    result = replay.result()
    return {"rows": result.rows, "labs": [dict(info, shard=params["shard"]) for info in result.labs]}


def replay_sharded(trace, *, keep_alive=None, shards: int = 2, executor=None, seed=0, progress=True,
                   **lab_options) -> ReplayResult:
    """Replay ``trace`` in ``shards`` Labs, split by app, on local processes or ``executor`` (see ``ll.sweep``).

    Each shard replays its apps with ``trace="off"``, its own copy of ``keep_alive`` and 1/``shards`` of the
    account concurrency (``lab_options`` go to every ``Lab``); the rows of all shards make one result.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    grid = [{"shard": i, "shards": shards, "trace": trace, "keep_alive": keep_alive, "lab_options": lab_options}
            for i in range(shards)]
    out = sweep(_replay_shard, grid, seeds=(seed,), executor=executor, progress=progress)
    failed = [r for r in out if r.get("error")]
    if failed:
        raise RuntimeError(f"shard {failed[0]['shard']} failed: {failed[0]['error']}")
    return ReplayResult([row for r in out for row in r["rows"]], [lab for r in out for lab in r["labs"]])
