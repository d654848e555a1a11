"""What an invoke of a function version that is not ``Active`` answers, in AWS's words.

- A SnapStart version whose snapshot is not ready (``Pending`` after PublishVersion, or ``Inactive`` after its
  snapshot was removed): SnapStartNotReadyException (409); an Inactive one starts taking a new snapshot.
- A VPC function that went ``Inactive`` (its Hyperplane ENI was released): ResourceNotReadyException (502), and
  the invoke starts re-creating the ENI (the function is ``Pending`` with ``StateReasonCode: Restoring``).
- Anything else (``Pending`` while being created, ``Failed``): ResourceConflictException (409) naming the state.
"""
from __future__ import annotations

from . import snapstart, vpc
from .errors import aws_error

__all__ = ["refuse_invoke"]


def refuse_invoke(lab, fn, snap, state: str):
    """The error for invoking ``snap`` in ``state`` (and what that invoke sets going)."""
    if snap.version != "$LATEST" and snapstart.enabled(snap.config) and state in ("Pending", "Inactive"):
        if state == "Inactive":
            lab.snapstart.retake(snap)
        return aws_error("SnapStartNotReadyException", "Lambda is initializing your function. You can invoke the "
                         "function when the function state becomes Active.", 409)
    if state == "Inactive" and vpc.pairs(snap.config):
        lab.vpc.reactivate(fn)
        return aws_error("ResourceNotReadyException", "The function is inactive and its VPC connection is no "
                         "longer available. Wait for the VPC connection to reestablish and try again.", 502)
    return aws_error("ResourceConflictException", "The operation cannot be performed at this time. The function "
                     f"is currently in the following state: {state}", 409)
