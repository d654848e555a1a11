"""Recursive loop detection: a request chain that keeps invoking the same function is stopped.

A function that writes to the queue, topic or bucket it is triggered by (or that invokes itself) runs forever
and bills every round. Lambda notices such loops from the X-Ray trace header that travels with each event
(``X-Amzn-Trace-Id`` on the SDK's requests, ``AWSTraceHeader`` on SQS messages, the same header inside SNS,
S3 and Lambda): its ``Lineage`` field counts, per function, how many times this chain of requests has invoked
it. After 16 the next invocation is not made: a synchronous caller (or an event source mapping) gets
``RecursiveInvocationException``, an asynchronous event goes to its on-failure destination or dead-letter
queue, and the function's ``RecursiveInvocationsDropped`` metric counts it. ``PutFunctionRecursionConfig``
with ``RecursiveLoop: Allow`` lets a function loop on purpose (default ``Terminate``).

How we write the header: ``Root=1-<8 hex seconds>-<24 hex>;Parent=<16 hex>;Sampled=0;Lineage=<h>:<n>|...``
where ``<h>`` is 8 hex characters of a hash of the function's ARN and ``<n>`` counts its invocations in this
chain, starting at 1 (AWS's hashes and exact counting are its own; the threshold is the documented one).
A chain starts at a request that carries no header (a notebook cell, a client); every request made by handler
code, and every event that results from it, carries the invoking request's header on, so ``Root`` is shared by
every invocation of one chain and ``Parent`` names the span that caused each one.
"""
from __future__ import annotations

import functools
import hashlib

from .errors import aws_error

__all__ = ["Recursion", "MAX_CHAIN", "lineage_of", "merge_headers", "chain_start"]

MAX_CHAIN = 16
LOOP_MODES = ("Allow", "Terminate")


def _fields(header: str | None) -> dict[str, str]:
    out = {}
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            out[key] = value
    return out


def lineage_of(header: str | None) -> dict[str, int]:
    """The Lineage counts of a trace header: {function hash: invocations in this chain}."""
    out: dict[str, int] = {}
    for entry in _fields(header).get("Lineage", "").split("|"):
        name, _, count = entry.rpartition(":")
        if name and count.isdigit():
            out[name.rpartition(":")[2]] = int(count)
    return out


def _format(fields: dict[str, str], lineage: dict[str, int]) -> str:
    text = ";".join(f"{k}={fields[k]}" for k in ("Root", "Parent", "Sampled") if k in fields)
    if lineage:
        text += ";Lineage=" + "|".join(f"{h}:{n}" for h, n in lineage.items())
    return text


def chain_start(epoch_seconds: float, request_id: str, arn: str) -> str:
    """The header of a request that starts a chain (it carried none): its own root, the first round of ``arn``.
    (``Recursion.descend`` gives the same for such a request; an Invocation makes it when first read.)"""
    span = request_id.replace("-", "")           # (what _format makes of these fields, written out: once a request)
    return f"Root=1-{int(epoch_seconds):08x}-{span[:24]};Parent={span[-16:]};Sampled=0;Lineage={_lineage_hash(arn)}:1"


@functools.lru_cache(maxsize=1024)
def _lineage_hash(arn: str) -> str:
    return hashlib.sha256(arn.encode()).hexdigest()[:8]


def merge_headers(headers) -> str | None:
    """One header for an invocation made of several events (an SQS batch): the first one's root, and for each
    function the highest count any of them carries."""
    headers = [h for h in headers if h]
    if not headers:
        return None
    lineage: dict[str, int] = {}
    for header in headers:
        for name, count in lineage_of(header).items():
            lineage[name] = max(count, lineage.get(name, 0))
    return _format(_fields(headers[0]), lineage)


class Recursion:
    """``lab.recursion``: the recursion config API and the chain counting the frontend asks for."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self._modes: dict = {}             # Function -> "Allow" (Terminate is the default and is not stored)
        self._hashes: dict[str, str] = {}   # function ARN -> its Lineage hash

    # --- the Lambda API -------------------------------------------------------------------------------------
    def put_function_recursion_config(self, *, FunctionName, RecursiveLoop) -> dict:
        op = "PutFunctionRecursionConfig"
        fn = self.lab.control_plane.get(FunctionName, op)
        if RecursiveLoop not in LOOP_MODES:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{RecursiveLoop}' at "
                            "'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[Allow, Terminate]", 400, operation=op)
        if RecursiveLoop == "Allow":
            self._modes[fn] = "Allow"
        else:
            self._modes.pop(fn, None)
        return {"RecursiveLoop": RecursiveLoop}

    def get_function_recursion_config(self, *, FunctionName) -> dict:
        fn = self.lab.control_plane.get(FunctionName, "GetFunctionRecursionConfig")
        return {"RecursiveLoop": self.mode(fn)}

    def mode(self, fn) -> str:
        return self._modes.get(fn, "Terminate")

    # --- the request chain ----------------------------------------------------------------------------------
    def lineage_hash(self, fn) -> str:
        digest = self._hashes.get(fn.arn)
        if digest is None:
            digest = self._hashes[fn.arn] = _lineage_hash(fn.arn)
        return digest

    def descend(self, fn, header: str | None, request_id: str) -> tuple[str, int]:
        """The trace header of an invocation of ``fn`` caused by a request that carried ``header`` (None: a new
        chain), and how many times this chain has now invoked ``fn``."""
        lab = self.lab
        fields = _fields(header)
        span = request_id.replace("-", "")
        if "Root" not in fields:
            fields = {"Root": f"1-{int(lab.epoch + lab.now):08x}-{span[:24]}"}
        fields["Parent"] = span[-16:]
        fields["Sampled"] = "0"
        lineage = lineage_of(header)
        mine = self.lineage_hash(fn)
        count = lineage.pop(mine, 0) + 1
        lineage[mine] = count
        return _format(fields, lineage), count

    def count(self, fn, header: str | None) -> int:
        """How many times the chain of ``header`` has invoked ``fn`` (0 if it never did)."""
        return lineage_of(header).get(self.lineage_hash(fn), 0)

    def stops(self, fn, header: str | None) -> bool:
        """Is an invocation of ``fn`` with this header one round too many (and the function not allowed to loop)?"""
        return self.count(fn, header) > MAX_CHAIN and self.mode(fn) == "Terminate"

    def dropped(self, fn) -> None:
        self.lab.counters.put(fn.name, "RecursiveInvocationsDropped", 1)

    @staticmethod
    def error(request_id: str = ""):
        return aws_error("RecursiveInvocationException", "Lambda has detected your function being invoked in a "
                         "recursive loop with other AWS resources and stopped your function's invocation.", 400,
                         request_id=request_id)
