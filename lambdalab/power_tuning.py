"""``ll.power_tune``: find a function's best memory size the way aws-lambda-power-tuning does.

The open-source AWS Lambda Power Tuning tool (a Step Functions state machine) takes a function and a list of
memory sizes; for each size it sets the memory, publishes a version with an alias (``RAM<size>``), invokes it a
number of times, reads each invocation's billed duration, drops the fastest and slowest ``discardTopBottom``
share (20% by default, which removes the cold start), averages the rest and prices them. Then it cleans up
and names the best size for a strategy: ``cost`` (cheapest, ties to the faster), ``speed`` (fastest, ties to
the cheaper) or ``balanced`` (the lowest ``weight * cost / max cost + (1 - weight) * duration / max duration``).

Here the same steps run against a lab's function, through the control plane and the frontend, in virtual
time (the clock moves on while it tunes). Because CPU scales with memory (one vCPU at 1,769 MB, see
``ll.CpuBound``), CPU-bound code gets faster with more memory until it runs out of threads to use, while the
price per GB-second stays the same: the cheapest size is often not the smallest. Cost per invocation is the
request price plus billed GB-seconds at the x86 or Arm price (``Architectures``). We simplify: invocations run
one after another (the tool can run them in parallel); the payload is the same for every invocation.
"""
from __future__ import annotations

import json
import math

__all__ = ["power_tune", "STRATEGIES", "DEFAULT_SIZES"]

STRATEGIES = ("cost", "speed", "balanced")
DEFAULT_SIZES = (128, 256, 512, 1024, 1769, 3008)


def power_tune(lab, function_name: str, memory_sizes=DEFAULT_SIZES, payload=None, invocations: int = 20,
               strategy: str = "cost", *, discard_top_bottom: float = 0.2, balanced_weight: float = 0.5) -> dict:
    """Tune ``function_name``'s memory: ``{"rows": [{memory, duration_p50, duration_avg, cost_usd}], "best",
    "strategy"}``; ``cost_usd`` is per invocation. The function's memory is set back when it is done."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    sizes = list(memory_sizes)
    if not sizes or any(not isinstance(m, int) or not 128 <= m <= 10240 for m in sizes):
        raise ValueError("memory_sizes must be MemorySize values, 128-10,240 MB")
    if not isinstance(invocations, int) or invocations < 1:
        raise ValueError("invocations must be a whole number >= 1")
    if not 0 <= discard_top_bottom < 0.5:
        raise ValueError("discard_top_bottom must be in [0, 0.5)")
    lam = lab.client("lambda")
    original = lam.get_function_configuration(FunctionName=function_name)["MemorySize"]
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload if payload is not None else {})
    rows = []
    for memory in sizes:
        rows.append(_measure(lab, lam, function_name, memory, body, invocations, discard_top_bottom))
    _set_memory(lab, lam, function_name, original)
    return {"rows": rows, "best": _best(rows, strategy, balanced_weight), "strategy": strategy}


def _set_memory(lab, lam, name: str, memory: int) -> None:
    if lam.get_function_configuration(FunctionName=name)["MemorySize"] != memory:
        lam.update_function_configuration(FunctionName=name, MemorySize=memory)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)


def _measure(lab, lam, name: str, memory: int, body, invocations: int, discard: float) -> dict:
    """One power value: publish a version at ``memory`` behind alias RAM<memory>, invoke it, clean up."""
    _set_memory(lab, lam, name, memory)
    version = lam.publish_version(FunctionName=name, Description=f"power tuning {memory} MB")["Version"]
    alias = f"RAM{memory}"
    lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    runs = []
    for _ in range(invocations):
        inv = lab.submit(FunctionName=name, Qualifier=alias, Payload=body)
        lab.wait_for(lambda: inv.done)
        if inv.error is not None:
            raise inv.error
        runs.append((inv.billed_ms, inv.duration))
    lam.delete_alias(FunctionName=name, Name=alias)
    lam.delete_function(FunctionName=name, Qualifier=version)
    runs.sort()
    cut = int(len(runs) * discard)
    kept = runs[cut:len(runs) - cut] or runs
    config = lam.get_function_configuration(FunctionName=name)
    price = lab.cost.price_gb_s_arm if config["Architectures"] == ["arm64"] else lab.cost.price_gb_s
    billed = sum(ms for ms, _ in kept) / len(kept)
    durations = sorted(d for _, d in kept)
    return {"memory": memory,
            "duration_p50": durations[min(len(durations) - 1, max(0, math.ceil(0.5 * len(durations)) - 1))],
            "duration_avg": sum(durations) / len(durations),
            "cost_usd": lab.cost.price_request + billed / 1000 * memory / 1024 * price}


def _best(rows: list[dict], strategy: str, weight: float) -> int:
    if strategy == "cost":
        return min(rows, key=lambda r: (r["cost_usd"], r["duration_avg"]))["memory"]
    if strategy == "speed":
        return min(rows, key=lambda r: (r["duration_avg"], r["cost_usd"]))["memory"]
    top_cost = max(r["cost_usd"] for r in rows) or 1.0
    top_time = max(r["duration_avg"] for r in rows) or 1.0
    return min(rows, key=lambda r: weight * r["cost_usd"] / top_cost
               + (1 - weight) * r["duration_avg"] / top_time)["memory"]
