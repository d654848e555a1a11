"""A version retired under its idle environments (a new $LATEST, a deleted version) still counts the memory they
held idle until that moment, as any other reclaim does (lab.fleet.idle_gb_seconds)."""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.lab import make_zip


def test_a_retired_versions_idle_environments_count_their_idle_memory():
    lab = ll.Lab(seed=1, trace="full", idle_timeout=600)
    lab.create_function("f", None, memory=512, duration=ll.Fixed(1.0))
    lab.submit(FunctionName="f")
    lab.submit(FunctionName="f")
    lab.advance(101)                                  # two environments, idle since their invokes ended
    lab.client("lambda").update_function_code(FunctionName="f", ZipFile=make_zip(
        {"lambda_function.py": "def handler(e, c):\n    return None\n"}))
    lab.run()
    assert lab.fleet.environments == {}
    idle_from = {r["env_id"]: r["t_end"] for r in lab.invocations()}
    reclaimed = {s.env_id: s.t for s in lab.trace.filter(component="worker_manager", action="reclaim")}
    assert set(reclaimed) == set(idle_from) and all("version changed" in s.text for s in
                                                    lab.trace.filter(component="worker_manager", action="reclaim"))
    expected = sum(reclaimed[e] - idle_from[e] for e in idle_from) * 0.5        # seconds x 0.5 GB
    assert expected > 2 * 100 * 0.5
    assert lab.fleet.idle_gb_seconds("f") == pytest.approx(expected, rel=1e-9)
