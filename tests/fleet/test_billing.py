"""What an invocation costs: billed duration (1 ms steps, Init billed on demand), GB-seconds, requests, provisioned."""
from __future__ import annotations

import math
import re

import pytest

import lambdalab as ll

PRICE_REQUEST = 0.20 / 1e6
PRICE_GB_S = 0.0000166667
PRICE_PC_ALLOCATED = 0.0000041667
PRICE_PC_USED = 0.0000097222


def report(lab: ll.Lab, name: str) -> list[dict]:
    out = []
    for line in lab.logs(name):
        if line.startswith("REPORT"):
            out.append({k: float(v) for k, v in re.findall(r"(Billed Duration|Init Duration|Duration): ([0-9.]+)", line)})
    return out


def test_billed_duration_rounds_up_to_the_millisecond_and_bills_init_on_demand():
    lab = ll.Lab(seed=1)
    lab.create_function("f", None, memory=512, duration=ll.Fixed(0.0101), init_duration=ll.Fixed(0.2503))
    lam = lab.client("lambda")
    for _ in range(3):
        lam.invoke(FunctionName="f")
    cold, warm, _ = report(lab, "f")
    assert warm == {"Duration": 10.10, "Billed Duration": 11.0}
    # the cold one: Init Duration is shown apart and billed on top (on-demand functions since Aug 2025)
    assert cold["Init Duration"] == pytest.approx(250.30)
    assert cold["Billed Duration"] == 11 + math.ceil(250.3)
    stats = lab.stats("f")
    billed_ms = (11 + 251) + 11 + 11
    assert stats["billed_gb_seconds"] == pytest.approx(billed_ms / 1000 * 512 / 1024)
    assert stats["cost_usd"] == pytest.approx(3 * PRICE_REQUEST + stats["billed_gb_seconds"] * PRICE_GB_S)


def test_a_request_costs_at_least_one_millisecond_and_throttles_cost_nothing():
    lab = ll.Lab(seed=2, trace="off")
    lab.create_function("f", None, memory=1024, duration=ll.Fixed(0.0), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=1)
    invs = [lab.submit(FunctionName="f") for _ in range(3)]           # one runs, two get 429
    lab.run()
    assert [i.status for i in invs] == ["ok", "throttled", "throttled"]
    assert invs[0].billed_ms == 1
    stats = lab.stats("f")
    assert stats["requests"] == 3 and stats["invocations"] == 1
    assert stats["billed_gb_seconds"] == pytest.approx(0.001)
    assert stats["cost_usd"] == pytest.approx(PRICE_REQUEST + 0.001 * PRICE_GB_S)


def test_provisioned_concurrency_bills_allocation_and_use_not_init():
    lab = ll.Lab(seed=3, trace="off")
    lab.create_function("pc", None, memory=2048, timeout=60, duration=ll.Fixed(1.0), init_duration=ll.Fixed(2.0))
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="pc")["Version"]
    t0 = lab.now
    lam.put_provisioned_concurrency_config(FunctionName="pc", Qualifier=version, ProvisionedConcurrentExecutions=2)
    lab.advance(10)
    for _ in range(4):
        lam.invoke(FunctionName="pc", Qualifier=version)
    lab.run(until=t0 + 3600)
    stats = lab.stats("pc")
    assert stats["cold_starts"] == 0
    used_gb_s = 4 * 1.0 * 2                           # 4 x 1,000 ms at 2 GB, no Init billed
    allocated_gb_s = 2 * 2 * 3600                     # 2 environments x 2 GB for an hour
    assert stats["billed_gb_seconds"] == pytest.approx(used_gb_s)
    assert stats["cost_usd"] == pytest.approx(4 * PRICE_REQUEST + used_gb_s * PRICE_PC_USED
                                              + allocated_gb_s * PRICE_PC_ALLOCATED)
