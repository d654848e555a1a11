"""VPC access: the Hyperplane ENIs Lambda makes for functions with a ``VpcConfig``, and the model before them.

Since 2019 a VPC function reaches its subnets through Hyperplane elastic network interfaces that Lambda creates
when the function is created or its VpcConfig changes, one per subnet and security-group set, shared by every
function and environment with that same pair. Creating one keeps a new function ``Pending`` (tens of seconds,
up to ~90); a VpcConfig update keeps the function ``Active`` with ``LastUpdateStatus: InProgress`` while it is
made, and the old configuration keeps serving invokes. A function whose ENIs already exist is ready as fast as
any other. A cold start then pays nothing for the VPC. After ~14 idle days the function becomes ``Inactive`` and
its ENI is released (when no other function uses it); the next invoke fails with ResourceNotReadyException and
re-creates the ENI (``Pending``, ``StateReasonCode: Restoring``).

Before 2019 each execution environment attached an ENI of its own during its cold start, ~10 s, and functions
were ready at once. ``Lab(vpc_eni="per-environment")`` brings that model back (a cold-start phase
``attach_eni``, ``CostModel.vpc_eni_attach``) so learners can compare; the default is ``"hyperplane"``.

We simplify: ENI creation takes ``ENI_SECONDS``; a subnet id containing ``full`` has no free address, so
creation fails (``Failed``, ``SubnetOutOfIPAddresses``), which lets a lab show the Failed state; no ENI limits.
"""
from __future__ import annotations

import hashlib

from . import inactivity
from .errors import aws_error

__all__ = ["Hyperplane", "ENI_SECONDS", "MODES"]

ENI_SECONDS = 20.0
MODES = ("hyperplane", "per-environment")
FAILURE = ("SubnetOutOfIPAddresses", "Lambda was not able to create an ENI in the VPC of the Lambda function "
                                     "because the subnet has no free IP addresses.")


def check(vpc_config, op: str) -> dict | None:
    """VpcConfig as FunctionConfiguration shows it, or None for no VPC."""
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return None
    if not vpc_config.get("SecurityGroupIds"):
        raise aws_error("InvalidParameterValueException",
                        "SecurityGroupIds are required when SubnetIds are specified.", 400, operation=op)
    return {"SubnetIds": list(vpc_config["SubnetIds"]), "SecurityGroupIds": list(vpc_config["SecurityGroupIds"]),
            "VpcId": "vpc-" + hashlib.sha1(repr(sorted(vpc_config["SubnetIds"])).encode()).hexdigest()[:17]}


def pairs(config: dict) -> list[tuple[str, tuple]]:
    vpc = config.get("VpcConfig")
    if not vpc:
        return []
    groups = tuple(sorted(vpc["SecurityGroupIds"]))
    return [(subnet, groups) for subnet in sorted(vpc["SubnetIds"])]


class Hyperplane:
    """The region's Hyperplane ENIs: ``(subnet, security groups) -> the time it is (or was) ready``."""

    def __init__(self, lab, mode: str = "hyperplane") -> None:
        if mode not in MODES:
            raise ValueError(f"vpc_eni must be one of {', '.join(MODES)}; got {mode!r}")
        self.lab = lab
        self.mode = mode
        self.enis: dict[tuple, float] = {}

    @property
    def per_environment(self) -> bool:
        return self.mode == "per-environment"

    def prepare(self, config: dict) -> tuple[float, tuple | None]:
        """Make the ENIs ``config`` needs: (seconds until they are all ready, failure or None)."""
        needed = pairs(config)
        if self.per_environment or not needed:
            return 0.0, None
        if any("full" in subnet for subnet, _ in needed):
            return ENI_SECONDS, FAILURE
        now = self.lab.now
        for pair in needed:
            self.enis.setdefault(pair, now + ENI_SECONDS)
        return max(0.0, max(self.enis[pair] for pair in needed) - now), None

    def interfaces(self, config: dict) -> list[str]:
        """The ENI ids a function's VpcConfig uses (for the lab to show)."""
        return ["eni-" + hashlib.sha1(repr(pair).encode()).hexdigest()[:17] for pair in pairs(config)]

    # --- going idle and coming back ------------------------------------------------------------------------
    def watch(self, fn) -> None:
        """Start the 14-day idle watch of a function that is Active in a VPC (Hyperplane model only)."""
        if self.per_environment or not pairs(fn.latest.config):
            return
        latest = fn.latest
        inactivity.watch(self.lab, fn.name, self.lab.now,
                         lambda: self.lab.control_plane.functions.get(fn.name) is fn and fn.latest is latest
                         and latest.config["State"] == "Active",
                         lambda: self._deactivate(fn))

    def _deactivate(self, fn) -> None:
        for snap in (fn.latest, *fn.versions.values()):
            snap.config.update(State="Inactive", StateReasonCode="Idle",
                               StateReason="The function is inactive because it has not been invoked for a while; "
                                           "its VPC network interface was released.")
        in_use = {pair for other in self.lab.control_plane.functions.values() if other is not fn
                  and other.latest.config.get("State") != "Inactive" for pair in pairs(other.latest.config)}
        for pair in pairs(fn.latest.config):
            if pair not in in_use:
                self.enis.pop(pair, None)
        self.lab.on_snapshot_replaced(fn.latest)    # its idle environments go too

    def reactivate(self, fn) -> None:
        """An invoke found ``fn`` Inactive: re-create its ENIs (Pending, Restoring), then Active again."""
        for snap in (fn.latest, *fn.versions.values()):
            snap.config.update(State="Pending", StateReasonCode="Restoring",
                               StateReason="The function is being restored from Inactive.")
        seconds, _ = self.prepare(fn.latest.config)
        self.lab.engine.schedule(max(seconds, 1.0), self._active_again, fn)

    def _active_again(self, fn) -> None:
        if self.lab.control_plane.functions.get(fn.name) is not fn:
            return
        for snap in (fn.latest, *fn.versions.values()):
            snap.config.update(State="Active", StateReasonCode="Idle")
            snap.config.pop("StateReason", None)
        self.watch(fn)
