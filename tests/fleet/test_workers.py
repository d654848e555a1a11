"""The worker fleet: per-host microVM rate, code cache tiers, leases that drain, CPU share from memory."""
from __future__ import annotations

from collections import Counter

import pytest

import lambdalab as ll
from lambdalab.fleet.cost_model import CostModel


def burst(lab: ll.Lab, n: int, name: str = "f") -> list:
    return [lab.submit(FunctionName=name) for _ in range(n)]


def test_a_host_creates_at_most_150_microvms_per_second():
    lab = ll.Lab(seed=1, trace="off", worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Fixed(30.0))
    burst(lab, 400)
    per_worker = Counter(env.worker.id for env in lab.fleet.environments.values())
    # plenty of memory on one host (64 GiB = 512 x 128 MB), but only 150 boots in one second
    assert sorted(per_worker.values(), reverse=True) == [150, 150, 100]
    lab.advance(1.0)
    burst(lab, 150)
    per_worker = Counter(env.worker.id for env in lab.fleet.environments.values())
    assert len(per_worker) == 3                       # one second later the same hosts may boot again
    assert sum(per_worker.values()) == 550


def test_first_fetch_of_a_package_on_a_host_is_slower_than_the_next():
    lab = ll.Lab(seed=2)
    lab.create_function("f", None, duration=ll.Fixed(0.01))
    burst(lab, 151)                                    # the 151st environment lands on a second host
    lab.run(until=lab.now + 5)
    fetches = lab.trace.filter(component="environment", action="fetch_code")
    tiers = Counter((step.worker_id, step.detail["tier"]) for step in fetches)
    # first ever fetch: S3; later ones on that host: its local cache; a new host: the AZ cache
    assert tiers == {("w-1", "s3"): 1, ("w-1", "local"): 149, ("w-2", "az"): 1}
    seconds = {step.detail["tier"]: step.detail["duration"] for step in fetches}
    assert seconds["s3"] > seconds["az"] > seconds["local"]
    assert fetches[0].detail["tier"] == "s3"
    # a bigger package takes longer to fetch from the same tier
    assert lab.cost.code_fetch("az", 50_000_000) > lab.cost.code_fetch("az", 1_000)


def test_a_worker_near_the_end_of_its_lease_drains_and_takes_no_new_environments():
    lab = ll.Lab(seed=3, worker_lease=3600)           # drain window: the last 15 minutes of the lease
    lab.create_function("f", None, timeout=900, duration=ll.Fixed(0.5))
    lab.create_function("slow", None, timeout=900, duration=ll.Fixed(200.0))
    t0 = lab.now
    first = lab.submit(FunctionName="f")
    lab.advance(1)
    w1 = lab.fleet.environments[first.env_id].worker
    assert w1.id == "w-1"
    drain_at = w1.lease_end - 15 * 60
    lab.run(until=drain_at - 100)
    long_running = lab.submit(FunctionName="slow")    # still busy when the drain starts
    lab.advance(1)
    assert lab.fleet.environments[long_running.env_id].worker is w1
    lab.run(until=drain_at + 1)
    assert w1.draining
    drains = lab.trace.filter(component="worker", action="drain", worker_id="w-1")
    assert len(drains) == 1 and drains[0].t == pytest.approx(drain_at)
    # its idle environment was shut down; the busy one keeps running
    assert first.env_id not in lab.fleet.environments
    assert long_running.env_id in lab.fleet.environments
    late = lab.submit(FunctionName="f")
    lab.advance(1)
    assert late.cold and lab.fleet.environments[late.env_id].worker.id != "w-1"
    lab.run(until=drain_at + 150)
    assert long_running.done and long_running.status == "ok"
    assert lab.trace.filter(component="worker", action="retire", worker_id="w-1")
    assert "w-1" not in lab.fleet.workers
    assert t0 < drain_at


def test_cpu_share_follows_memory_one_vcpu_at_1769_mb():
    cost = CostModel()
    assert cost.cpu_share(1769) == pytest.approx(1.0)
    assert cost.cpu_share(3538) == pytest.approx(2.0)
    assert cost.cpu_share(128) == pytest.approx(128 / 1769)
    assert cost.cpu_share(10_240) <= 6.0
    assert cost.cpu_share(20_000) == 6.0              # capped at 6 vCPUs
