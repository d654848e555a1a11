"""Provisioned concurrency: pre-initialised environments, used first, never cold; AWS's states and messages."""
from __future__ import annotations

import pytest

import lambdalab as ll

from .helpers import invoke, lines_starting, make_lab, reports

CODE = "import os\nimport time\ntime.sleep(0.5)\ndef handler(e, c):\n    time.sleep(e.get('t', 0))\n" \
       "    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"


def setup(n=2, code=CODE, **kw):
    lab = make_lab(**kw)
    lam = lab.client("lambda")
    lab.create_function("f", code, timeout=30)
    version = lam.publish_version(FunctionName="f")["Version"]
    lam.create_alias(FunctionName="f", Name="live", FunctionVersion=version)
    config = lam.put_provisioned_concurrency_config(FunctionName="f", Qualifier="live",
                                                   ProvisionedConcurrentExecutions=n)
    return lab, lam, config


def test_config_goes_in_progress_then_ready_once_every_environment_is_initialised():
    lab, lam, config = setup(3)
    assert config["Status"] == "IN_PROGRESS" and config["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert config["AllocatedProvisionedConcurrentExecutions"] == 0
    assert lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")["Status"] == "IN_PROGRESS"
    lab.advance(5)
    got = lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")
    assert got["Status"] == "READY"
    assert got["RequestedProvisionedConcurrentExecutions"] == got["AllocatedProvisionedConcurrentExecutions"] \
        == got["AvailableProvisionedConcurrentExecutions"] == 3
    assert len(lines_starting(lab, "f", "INIT_START")) == 3


def test_invokes_use_provisioned_environments_first_without_init_duration_and_overflow_goes_on_demand():
    lab, lam, _ = setup(2)
    lab.advance(5)
    burst = [lab.submit(FunctionName="f", Qualifier="live", Payload=b'{"t": 1}') for _ in range(3)]
    lab.run(until=lab.now + 10)
    kinds = sorted(json_body(i) for i in burst)
    assert kinds == ["on-demand", "provisioned-concurrency", "provisioned-concurrency"]
    assert [i.cold for i in burst].count(True) == 1
    with_init = [r for r in reports(lab, "f") if "Init Duration" in r]
    assert len(with_init) == 1                        # only the on-demand overflow environment


def json_body(inv):
    import json
    return json.loads(inv.response["Payload"].read())


def test_with_n_provisioned_and_fewer_than_n_concurrent_requests_no_invoke_is_cold():
    lab, lam, _ = setup(4, idle_timeout=60)
    lab.advance(5)
    sent = 0
    for second in range(0, 1800, 37):                  # for 30 minutes: bursts of 1-3 concurrent requests
        size = 1 + (second // 37) % 3
        for _ in range(size):
            lab.submit(at=lab.now + 0.01, FunctionName="f", Qualifier="live", Payload=b'{"t": 2}')
            sent += 1
        lab.advance(37)
    stats = lab.stats("f")
    assert stats["invocations"] == sent
    assert stats["cold_starts"] == 0
    assert all("Init Duration" not in r for r in reports(lab, "f"))


def test_provisioned_environments_survive_the_idle_timeout():
    lab, lam, _ = setup(1, idle_timeout=60)
    lab.advance(5)
    lab.advance(3600)
    _, body = invoke(lab, "f", Qualifier="live")
    assert body == "provisioned-concurrency"
    assert lab.stats("f")["cold_starts"] == 0


def provisioned_envs(lab):
    return sorted((e for e in lab.fleet.environments.values() if e.init_type != "on-demand"), key=lambda e: e.id)


def test_provisioned_environments_are_recycled_at_their_lifetime_and_off_a_draining_worker_and_replaced():
    lab, lam, _ = setup(2, environment_lifetime=1800, worker_lease=3600)
    lab.advance(60)
    first = provisioned_envs(lab)
    lab.advance(1800)                                 # past the lifetime of the first two
    second = provisioned_envs(lab)
    assert len(second) == 2 and not set(second) & set(first)
    assert all(e.state == "Gone" for e in first)
    assert {s.detail["reason"] for s in lab.trace.filter(component="worker_manager", action="reclaim")} == \
        {"it reached its maximum lifetime"}
    old_worker = second[0].worker
    lab.advance(3600 - lab.now + 60)                  # the first worker's lease is ending: it drains
    third = provisioned_envs(lab)
    assert len(third) == 2 and all(e.worker is not old_worker for e in third)
    got = lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")
    assert got["Status"] == "READY" and got["AvailableProvisionedConcurrentExecutions"] == 2
    _, body = invoke(lab, "f", Qualifier="live")
    assert body == "provisioned-concurrency" and lab.stats("f")["cold_starts"] == 0


def test_run_with_no_end_stops_when_only_the_fleets_upkeep_is_left():
    """Provisioned environments live on (recycled, moved off draining workers) for as long as the config
    stands: ``lab.run()`` ends with the workload, not with the fleet; ``advance`` still runs the upkeep."""
    lab, lam, _ = setup(2, environment_lifetime=1800, worker_lease=3600)
    lab.run()
    assert lab.now < 60 and len(provisioned_envs(lab)) == 2
    invoke(lab, "f", Qualifier="live")
    lab.run()
    assert lab.now < 60
    lab.advance(4000)                                 # a recycle at 1,800 s, a drain at 2,700 s (lease - 15 min)
    assert len(provisioned_envs(lab)) == 2 and all(e.created_at > 2700 for e in provisioned_envs(lab))


def test_an_init_error_makes_the_config_failed_with_function_error_init_failure():
    lab, lam, _ = setup(1, code="raise ImportError('nope')\ndef handler(e, c):\n    return 1\n")
    lab.advance(5)
    got = lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")
    assert got["Status"] == "FAILED" and got["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
    assert lab.trace.filter(component="environment", action="shutdown")[0].detail["reason"] == "failure"


def test_pre_initialised_environments_may_init_longer_than_10_s():
    lab, lam, _ = setup(1, code="import time\ntime.sleep(40)\ndef handler(e, c):\n    return 1\n")
    lab.advance(60)
    assert lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")["Status"] == "READY"
    assert not lines_starting(lab, "f", "INIT_REPORT")


@pytest.mark.parametrize("qualifier, n, code, message", [
    ("$LATEST", 1, "InvalidParameterValueException",
     "Provisioned Concurrency Configs cannot be applied to unpublished function versions."),
    ("live", 0, "ValidationException", "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' "
     "failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ("live", 950, "InvalidParameterValueException", "Specified ProvisionedConcurrentExecutions for function "
     "decreases account's UnreservedConcurrentExecution below its minimum value of [100]."),
    ("99", 1, "ResourceNotFoundException", None),
])
def test_validation_messages(qualifier, n, code, message):
    lab, lam, _ = setup(1)
    params = dict(FunctionName="f", Qualifier=qualifier, ProvisionedConcurrentExecutions=n)
    if n < 1:      # below the model's minimum: botocore refuses it before sending; the service's own check stays
        from botocore.exceptions import ParamValidationError
        with pytest.raises(ParamValidationError, match="ProvisionedConcurrentExecutions, value: 0, valid min"):
            lam.put_provisioned_concurrency_config(**params)
    with pytest.raises(ll.ClientError) as err:
        if n < 1:
            lab.concurrency.put_provisioned_concurrency_config(**params)
        else:
            lam.put_provisioned_concurrency_config(**params)
    assert err.value.response["Error"]["Code"] == code
    if message:
        assert err.value.response["Error"]["Message"] == message


def test_provisioned_concurrency_cannot_exceed_reserved_concurrency():
    lab, lam, _ = setup(1)
    lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=5)
    with pytest.raises(ll.ClientError) as err:
        lam.put_provisioned_concurrency_config(FunctionName="f", Qualifier="live", ProvisionedConcurrentExecutions=6)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "reservedConcurrentExecution" in err.value.response["Error"]["Message"]


def test_an_alias_on_latest_cannot_get_provisioned_concurrency():
    lab = make_lab()
    lam = lab.client("lambda")
    lab.create_function("f", CODE)
    lam.create_alias(FunctionName="f", Name="dev", FunctionVersion="$LATEST")
    with pytest.raises(ll.ClientError) as err:
        lam.put_provisioned_concurrency_config(FunctionName="f", Qualifier="dev", ProvisionedConcurrentExecutions=1)
    assert "unpublished function versions" in err.value.response["Error"]["Message"]


def test_provisioned_utilization_metric_is_recorded():
    import lambdalab as ll
    lab = ll.Lab(seed=0)
    lab.create_function("p", None, duration=1)
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="p")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="p", Qualifier=version, ProvisionedConcurrentExecutions=4)
    lab.advance(5)
    for _ in range(2):
        lab.submit(FunctionName="p", Qualifier=version)
    lab.run()
    points = lab.metrics("p", "ProvisionedConcurrencyUtilization")
    assert points and max(v for _, v in points) == 0.5
