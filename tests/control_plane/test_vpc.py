"""VPC: Hyperplane ENIs made at create/update time and shared per subnet + security groups, no cost per cold
start; Inactive after 14 idle days and back on the next invoke; the pre-2019 ENI per environment as an option."""
import pytest

import lambdalab as ll
from lambdalab.control_plane.vpc import ENI_SECONDS

VPC = {"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]}
CODE = "def handler(event, context):\n    return 'in the vpc'\n"


def create(lab, name, vpc=VPC, wait=True):
    return lab.create_function(name, CODE, VpcConfig=vpc, wait=wait)


def test_the_first_function_waits_for_its_eni_and_the_next_shares_it(lab, lam):
    cfg = create(lab, "first", wait=False)
    assert cfg["State"] == "Pending" and cfg["VpcConfig"]["SubnetIds"] == ["subnet-a", "subnet-b"]
    lab.advance(ENI_SECONDS - 0.5)
    assert lam.get_function_configuration(FunctionName="first")["State"] == "Pending"
    lab.advance(1.0)
    assert lam.get_function_configuration(FunctionName="first")["State"] == "Active"
    start = lab.now
    create(lab, "second", vpc={"SubnetIds": ["subnet-b", "subnet-a"], "SecurityGroupIds": ["sg-1"]})
    assert lab.now - start == pytest.approx(1.0)                 # the ENIs exist: as fast as any function
    start = lab.now
    create(lab, "third", vpc={"SubnetIds": ["subnet-a"], "SecurityGroupIds": ["sg-2"]})
    assert lab.now - start == pytest.approx(ENI_SECONDS)         # a new security-group set: a new ENI
    assert lab.vpc.interfaces(lam.get_function_configuration(FunctionName="first")) == \
        lab.vpc.interfaces(lam.get_function_configuration(FunctionName="second"))


def test_a_cold_start_in_a_vpc_costs_nothing_extra():
    times = []
    for vpc in (None, VPC):
        lab = ll.Lab(seed=0)
        lab.create_function("f", CODE, **({"VpcConfig": vpc} if vpc else {}))
        lab.client("lambda").invoke(FunctionName="f")
        times.append(lab.stats("f")["cold_start_p50"])
    assert times[0] == pytest.approx(times[1])


def test_a_vpc_update_stays_active_in_progress_while_the_eni_is_made(lab, lam):
    lab.create_function("f", CODE)
    out = lam.update_function_configuration(FunctionName="f", VpcConfig=VPC)
    assert out["State"] == "Active" and out["LastUpdateStatus"] == "InProgress"
    lab.advance(ENI_SECONDS / 2)
    assert lam.invoke(FunctionName="f")["StatusCode"] == 200          # the old configuration keeps serving
    cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "InProgress"
    lab.advance(ENI_SECONDS)
    cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["LastUpdateStatus"] == "Successful" and cfg["VpcConfig"]["SecurityGroupIds"] == ["sg-1"]


def test_a_subnet_without_addresses_fails_creation_and_updates(lab, lam):
    cfg = create(lab, "f", vpc={"SubnetIds": ["subnet-full"], "SecurityGroupIds": ["sg-1"]})
    assert cfg["State"] == "Failed" and cfg["StateReasonCode"] == "SubnetOutOfIPAddresses"
    lab.create_function("g", CODE)
    lam.update_function_configuration(FunctionName="g", VpcConfig={"SubnetIds": ["subnet-full"],
                                                                   "SecurityGroupIds": ["sg-1"]})
    lab.run()
    cfg = lam.get_function_configuration(FunctionName="g")
    assert cfg["LastUpdateStatus"] == "Failed" and cfg["LastUpdateStatusReasonCode"] == "SubnetOutOfIPAddresses"
    assert "VpcConfig" not in cfg and cfg["State"] == "Active"
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="SecurityGroupIds are required"):
        lam.update_function_configuration(FunctionName="g", VpcConfig={"SubnetIds": ["subnet-a"]})


def test_fourteen_idle_days_make_the_function_inactive_and_an_invoke_brings_it_back(lab, lam):
    create(lab, "f")
    lam.invoke(FunctionName="f")
    lab.advance(10 * 86400)
    lam.invoke(FunctionName="f")                                   # used: the 14 days start again
    lab.advance(13 * 86400)
    assert lam.get_function_configuration(FunctionName="f")["State"] == "Active"
    lab.advance(2 * 86400)
    cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["State"] == "Inactive" and cfg["StateReasonCode"] == "Idle"
    assert lab.vpc.enis == {}                                       # the ENIs were released
    with pytest.raises(lam.exceptions.ResourceNotReadyException) as info:
        lam.invoke(FunctionName="f")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["State"] == "Pending" and cfg["StateReasonCode"] == "Restoring"
    restoring = lab.now
    lam.get_waiter("function_active_v2").wait(FunctionName="f")
    assert lab.now - restoring >= ENI_SECONDS - 1                   # the ENIs are made again, as at creation
    assert set(lab.vpc.enis) == {("subnet-a", ("sg-1",)), ("subnet-b", ("sg-1",))}
    assert lam.invoke(FunctionName="f")["StatusCode"] == 200


def test_lab_run_does_not_wait_fourteen_days():
    lab = ll.Lab(seed=0)
    create(lab, "f")
    lab.client("lambda").invoke(FunctionName="f")
    lab.run()
    assert lab.now < 86400


def test_the_pre_2019_model_attaches_an_eni_per_cold_start():
    lab = ll.Lab(seed=0, vpc_eni="per-environment")
    start = lab.now
    create(lab, "f")
    assert lab.now - start == pytest.approx(1.0)                  # no Hyperplane ENI to wait for
    lab.submit(FunctionName="f")
    lab.submit(FunctionName="f")                                   # two cold starts, an ENI each
    lab.run()
    attaches = [s for s in lab.trace if s.action == "attach_eni"]
    assert len(attaches) == 2 and all(s.detail["duration"] == 10.0 for s in attaches)
    hyper = ll.Lab(seed=0)
    create(hyper, "f")
    hyper.submit(FunctionName="f")
    hyper.submit(FunctionName="f")
    hyper.run()
    assert lab.stats("f")["cold_start_p99"] == pytest.approx(hyper.stats("f")["cold_start_p99"] + 10.0)
    assert lab.stats("f")["cold_start_p50"] == pytest.approx(hyper.stats("f")["cold_start_p50"] + 10.0)
    with pytest.raises(ValueError, match="vpc_eni"):
        ll.Lab(vpc_eni="classic")
