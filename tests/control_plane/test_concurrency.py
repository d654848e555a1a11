import pytest

import lambdalab as ll


@pytest.fixture
def lab():
    lab = ll.Lab(seed=0)
    lab.create_function("a", None)
    lab.create_function("b", None)
    return lab


def test_reserved_concurrency_round_trip(lab):
    lam = lab.client("lambda")
    assert set(lam.get_function_concurrency(FunctionName="a")) == {"ResponseMetadata"}
    assert lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=300)[
        "ReservedConcurrentExecutions"] == 300
    assert lam.get_function_concurrency(FunctionName="a")["ReservedConcurrentExecutions"] == 300
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 700
    lam.delete_function_concurrency(FunctionName="a")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="a")
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000


def test_at_least_100_must_stay_unreserved(lab):
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=850)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=51)
    assert info.value.response["Error"]["Message"] == ("Specified ReservedConcurrentExecutions for function decreases account's "
                                  "UnreservedConcurrentExecution below its minimum value of [100].")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="b")
    lam.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=50)


def test_reserved_limit_throttles_with_the_function_reason(lab):
    lam = lab.client("lambda")
    lab.create_function("slow", None, duration=5)
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)
    invs = [lab.submit(FunctionName="slow") for _ in range(3)]
    assert [i.done for i in invs] == [False, False, True]
    err = invs[2].error.response
    assert err["Error"]["Code"] == "TooManyRequestsException" and err["Error"]["Message"] == "Rate Exceeded."
    assert err["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded" and err["Type"] == "User"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
    lab.run()
    assert lab.stats("slow")["throttles"] == 1 and lab.stats("slow")["invocations"] == 2


def test_account_limit_throttles_with_the_account_reason():
    lab = ll.Lab(seed=0, account_concurrency=100)
    lab.create_function("slow", None, duration=5)
    invs = [lab.submit(FunctionName="slow") for _ in range(101)]
    assert invs[-1].error.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert sum(i.error is not None for i in invs) == 1


@pytest.mark.parametrize("lean", [False, True])
def test_the_unreserved_pool_follows_every_reservation_change(lean):
    """The frontend reads the account's reserved total on every request: a change must show at once."""
    lab = ll.Lab(seed=0, trace="off" if lean else "full", account_concurrency=1000)
    lam = lab.client("lambda")
    for name in ("big", "other"):
        lab.create_function(name, None, duration=100)

    def admitted():                       # how many of 1,000 concurrent requests of "other" get in now
        if lean:
            lab.poisson("other", 1e9, count=1000)
            lab.advance(1e-3)
        else:
            for _ in range(1000):
                lab.submit(FunctionName="other")
        return lab.counters.function("other").busy

    lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=800)
    assert admitted() == 200
    lam.delete_function_concurrency(FunctionName="big")
    assert admitted() == 1000
    lam.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=300)
    lab.run()
    assert admitted() == 700
    lab.run()
    lam.delete_function(FunctionName="big")
    assert admitted() == 1000


def test_reserved_zero_throttles_everything(lab):
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName="a")


def test_provisioned_concurrency_inside_a_reservation_leaves_the_unreserved_pool_alone(lab):
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=900)
    version = lam.publish_version(FunctionName="a")["Version"]
    out = lam.put_provisioned_concurrency_config(FunctionName="a", Qualifier=version,
                                                 ProvisionedConcurrentExecutions=2)
    assert out["Status"] == "IN_PROGRESS"
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100


def test_provisioned_concurrency_without_a_reservation_comes_out_of_the_unreserved_pool(lab):
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="b")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="b", Qualifier=version, ProvisionedConcurrentExecutions=850)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 150
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match=r"minimum value of \[100\]"):
        lam.put_provisioned_concurrency_config(FunctionName="b", Qualifier=version,
                                               ProvisionedConcurrentExecutions=901)
    # replacing the config is judged without the config it replaces
    lam.put_provisioned_concurrency_config(FunctionName="b", Qualifier=version, ProvisionedConcurrentExecutions=900)
