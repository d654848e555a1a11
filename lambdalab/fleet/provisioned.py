"""Provisioned concurrency: environments initialised before any request needs them.

``configure`` asks the Worker Manager for N environments of the version behind the qualifier, each going
through the ordinary Init path with ``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency``. The config
reads ``IN_PROGRESS`` until all N are initialised, then ``READY``; an Init failure makes it ``FAILED`` with
``FUNCTION_ERROR_INIT_FAILURE``. Requests use these environments first and spill over to on-demand ones.
While allocated they are billed per GB-second whether used or not.

Like every environment they are recycled: at the end of their lifetime and when their worker's lease ends. The
Worker Manager then builds a successor at once (``replace``), so the config keeps its environments for as long
as it stands. We simplify: the successor starts its Init when the old one goes (AWS does not say how it
overlaps them), and the config's counts do not dip meanwhile. Recycling is fleet upkeep, which ``lab.run()``
does not wait for (``engine.clock``).
"""
from __future__ import annotations

__all__ = ["ProvisionedConcurrency"]


class ProvisionedConcurrency:
    def __init__(self, lab) -> None:
        self.lab = lab
        self.allocated_mb = 0
        self._area = 0.0           # MB-seconds allocated
        self._since = 0.0

    def _account(self, delta_mb: int) -> None:
        now = self.lab.now
        self._area += self.allocated_mb * (now - self._since)
        self._since = now
        self.allocated_mb += delta_mb

    def allocated_gb_seconds(self) -> float:
        return (self._area + self.allocated_mb * (self.lab.now - self._since)) / 1024.0

    def configure(self, fn, qualifier: str, snap, n: int) -> dict:
        lab = self.lab
        old = fn.provisioned_configs.get(qualifier)
        if old is not None:
            self.remove(fn, qualifier)
        config = {"RequestedProvisionedConcurrentExecutions": n, "AvailableProvisionedConcurrentExecutions": 0,
                  "AllocatedProvisionedConcurrentExecutions": 0, "Status": "IN_PROGRESS",
                  "LastModified": lab.iso_time(lab.now, millis=False, offset="+0000"), "_snapshot": snap}
        fn.provisioned_configs[qualifier] = config
        snap.provisioned = config
        self._account(n * snap.memory)
        for _ in range(n):
            env = lab.fleet.new_environment(snap, "provisioned-concurrency")
            env.boot(None)
        return {k: v for k, v in config.items() if not k.startswith("_")}

    def ready(self, env) -> None:
        """A provisioned environment finished Init (first time only)."""
        config = env.snapshot.provisioned
        if config is None or config["Status"] == "FAILED":
            return
        config["AllocatedProvisionedConcurrentExecutions"] = min(
            config["RequestedProvisionedConcurrentExecutions"], config["AllocatedProvisionedConcurrentExecutions"] + 1)
        config["AvailableProvisionedConcurrentExecutions"] = config["AllocatedProvisionedConcurrentExecutions"]
        if config["AllocatedProvisionedConcurrentExecutions"] == config["RequestedProvisionedConcurrentExecutions"]:
            config["Status"] = "READY"

    def init_failed(self, env) -> None:
        config = env.snapshot.provisioned
        if config is not None:
            config["Status"] = "FAILED"
            config["StatusReason"] = "FUNCTION_ERROR_INIT_FAILURE"

    def replace(self, snap) -> None:
        """A provisioned environment was recycled (lifetime, draining worker): build its successor."""
        if snap.provisioned is not None:
            self.lab.fleet.new_environment(snap, "provisioned-concurrency").boot(None)

    def remove(self, fn, qualifier: str) -> None:
        config = fn.provisioned_configs.pop(qualifier)
        snap = config["_snapshot"]
        snap.provisioned = None
        self._account(-config["RequestedProvisionedConcurrentExecutions"] * snap.memory)
        fleet = self.lab.fleet
        for env in list(fleet.provisioned_pools.pop(snap.key, {})):
            fleet.reclaim(env, "its provisioned concurrency config was removed")
