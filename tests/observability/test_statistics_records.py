"""statistics() answers a frozen record made at the call: read by attribute or by key, unchanged by later work."""
import dataclasses

import pytest

import lambdalab as ll


def test_component_statistics_are_frozen_snapshots():
    lab = ll.Lab(seed=1)
    lab.create_function("f", None, duration=0.1)
    before = lab.fleet.statistics()
    lab.client("lambda").invoke(FunctionName="f")
    after = lab.fleet.statistics()
    assert before.environments == 0 and after["environments"] == after.environments == 1
    assert dict(after) == after.as_dict() and after.by_state == {"Idle": 1} and after.idle == 1
    env = next(iter(lab.fleet.environments.values()))
    record = env.statistics()
    assert (record.state, record.invocations, record["worker"]) == ("Idle", 1, env.worker.id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = "Gone"
    with pytest.raises(KeyError):
        record["no_such_field"]
    assert lab.frontend.statistics().in_use == {"f": 0}
    assert lab.fleet.placement.statistics().workers == 1 == env.worker.statistics()["environments"]
