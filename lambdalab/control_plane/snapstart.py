"""SnapStart in the control plane: which functions may use it, and what PublishVersion does with it.

``SnapStart={"ApplyOn": "PublishedVersions"}`` asks Lambda to initialise each *published* version once and
keep a Firecracker snapshot of it; ``$LATEST`` never uses it. AWS refuses it, with InvalidParameterValueException
"<what> is not supported for SnapStart enabled functions.", for runtimes other than Java 11+, Python 3.12+ and
.NET 8+, and it does not combine with provisioned concurrency, EFS (``FileSystemConfigs``) or ephemeral storage
above 512 MB. AWS long refused container images; it now documents SnapStart for them (on its base images of
those runtimes, and on other bases whose runtime client runs the hooks itself). We simplify: an image may use it
when its base is one of the supported runtimes (an image's runtime is its base's), else it is refused like a zip
of that runtime; lab 08 says so. The runtime wording is AWS's; the EFS, ephemeral-storage and
provisioned-concurrency subjects follow the same pattern (we found no capture of those three).

PublishVersion of such a function answers with ``State: Pending`` (``StateReasonCode: Creating``) and
``SnapStart.OptimizationStatus: On``; the data plane then runs Init and takes the snapshot
(``sandbox/snapstart``) and the version becomes Active. Invoking it before that fails with
SnapStartNotReadyException (409).
"""
from __future__ import annotations

from .errors import aws_error

__all__ = ["SUPPORTED_RUNTIMES", "check", "enabled", "pending_on_publish", "check_provisioned"]

SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "java11", "java17", "java21", "dotnet8")


def _refuse(what: str, op: str):
    return aws_error("InvalidParameterValueException", f"{what} is not supported for SnapStart enabled functions.",
                     400, operation=op)


def check(snap_start, runtime: str, storage_mb: int, file_systems, op: str) -> dict:
    """A function's SnapStart setting against the rest of its configuration -> its ``SnapStart`` config."""
    apply_on = snap_start.get("ApplyOn", "None") if isinstance(snap_start, dict) else snap_start or "None"
    if apply_on not in ("PublishedVersions", "None"):
        raise aws_error("ValidationException", f"1 validation error detected: Value '{apply_on}' at "
                        "'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: "
                        "[PublishedVersions, None]", 400, operation=op)
    if apply_on == "PublishedVersions":
        if runtime not in SUPPORTED_RUNTIMES:
            raise _refuse(runtime, op)
        if storage_mb > 512:
            raise _refuse("Ephemeral storage greater than 512 MB", op)
        if file_systems:
            raise _refuse("EFS", op)
    return {"ApplyOn": apply_on, "OptimizationStatus": "Off"}


def enabled(config: dict) -> bool:
    return config.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions"


def pending_on_publish(config: dict) -> None:
    """A new version of a SnapStart function: Pending until its snapshot exists."""
    if enabled(config):
        config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating",
                      SnapStart={"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"})


def check_provisioned(snapshot, op: str) -> None:
    """Provisioned concurrency and SnapStart do not combine."""
    if snapshot is not None and enabled(snapshot.config):
        raise _refuse("Provisioned concurrency", op)
