import io
import zipfile

import pytest

import lambdalab as ll
from lambdalab.lab import make_zip

SOURCE = "def handler(event, context):\n    return {'v': 1}\n"


def create(lam, name="fn", **kw):
    params = dict(FunctionName=name, Role="arn:aws:iam::123456789012:role/r", Runtime="python3.12",
                  Handler="app.handler", Code={"ZipFile": make_zip({"app.py": SOURCE})})
    params.update(kw)
    return lam.create_function(**params)


def test_create_is_pending_then_active_with_aws_defaults(lab, lam):
    cfg = create(lam)
    assert cfg["State"] == "Pending" and cfg["StateReasonCode"] == "Creating"
    assert cfg["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (cfg["MemorySize"], cfg["Timeout"], cfg["EphemeralStorage"], cfg["Architectures"], cfg["PackageType"]) \
        == (128, 3, {"Size": 512}, ["x86_64"], "Zip")
    assert cfg["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    lam.get_waiter("function_active_v2").wait(FunctionName="fn")
    assert lam.get_function(FunctionName="fn")["Configuration"]["State"] == "Active"
    assert lab.now >= 1.0


@pytest.mark.parametrize("kw, code, fragment", [
    ({"MemorySize": 10241}, "ValidationException", "Member must have value less than or equal to 10240"),
    ({"Timeout": 901}, "ValidationException", "less than or equal to 900"),
    ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException",
     "Reserved keys used in this request: AWS_REGION"),
    ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException", "exceeded the 4KB limit"),
    ({"Handler": "app handler"}, "ValidationException", "at 'handler' failed to satisfy constraint"),
    ({"Description": "x" * 257}, "ValidationException", "Member must have length less than or equal to 256"),
    ({"Runtime": "python2.9"}, "ValidationException", "Member must satisfy enum value set"),
    ({"Runtime": "python3.7"}, "InvalidParameterValueException", "is no longer supported"),
    ({"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException", "Could not unzip uploaded file"),
    ({"Code": {"ZipFile": b"x" * 60_000_000}}, "RequestEntityTooLargeException", "Request must be smaller than"),
])
def test_create_validation_matches_aws_and_changes_nothing(lab, lam, kw, code, fragment):
    with pytest.raises(ll.ClientError) as info:
        create(lam, **kw)
    err = info.value.response["Error"]
    assert err["Code"] == code and fragment in err["Message"]
    assert info.value.operation_name == "CreateFunction"
    assert lam.list_functions()["Functions"] == []
    assert type(info.value) is lam.exceptions.from_code(code)      # modelled class, or ClientError if unmodelled


@pytest.mark.parametrize("kw, fragment", [
    ({"MemorySize": 127}, "Invalid value for parameter MemorySize, value: 127, valid min value: 128"),
    ({"Timeout": 0}, "Invalid value for parameter Timeout, value: 0, valid min value: 1"),
    ({"EphemeralStorage": {"Size": 511}}, "Invalid value for parameter EphemeralStorage.Size, value: 511"),
])
def test_botocore_refuses_what_the_model_bounds_before_sending(lab, lam, kw, fragment):
    from botocore.exceptions import ParamValidationError
    with pytest.raises(ParamValidationError, match=fragment):
        create(lam, **kw)
    assert lab.control_plane.functions == {}


@pytest.mark.parametrize("kw, fragment", [
    ({"memory": 127}, "Member must have value greater than or equal to 128"),
    ({"timeout": 0}, "at 'timeout' failed to satisfy constraint"),
    ({"EphemeralStorage": {"Size": 511}}, "ephemeralStorage.size"),
])
def test_the_control_plane_still_checks_the_low_ends_itself(lab, kw, fragment):
    # lab.create_function goes straight to the control plane (no botocore in between)
    with pytest.raises(ll.ClientError) as info:
        lab.create_function("fn", **kw)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in info.value.response["Error"]["Message"]
    assert lab.control_plane.functions == {}


def test_unzipped_limit_is_checked():
    from lambdalab.control_plane import validation
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * (validation.MAX_UNZIPPED + 1))
    with pytest.raises(ll.ClientError, match="Unzipped size must be smaller than 262144000 bytes"):
        validation.unzip_code(buffer.getvalue(), "CreateFunction")


def test_duplicate_and_missing_functions(lab, lam):
    create(lam)
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Function already exist: fn"):
        create(lam)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.get_function(FunctionName="nope")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "function:nope" in info.value.response["Error"]["Message"]


def test_missing_required_parameter_is_refused_before_sending(lam):
    from botocore.exceptions import ParamValidationError
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "Role"'):
        lam.create_function(FunctionName="x", Code={"ZipFile": b""})


def test_update_configuration_goes_in_progress_then_successful(lab, lam):
    create(lam)
    lab.advance(2)
    out = lam.update_function_configuration(FunctionName="fn", MemorySize=512)
    assert out["LastUpdateStatus"] == "InProgress" and out["MemorySize"] == 512
    with pytest.raises(lam.exceptions.ResourceConflictException, match="An update is in progress"):
        lam.update_function_configuration(FunctionName="fn", Timeout=10)
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    cfg = lam.get_function_configuration(FunctionName="fn")
    assert (cfg["MemorySize"], cfg["Timeout"], cfg["LastUpdateStatus"]) == (512, 3, "Successful")


def test_failed_update_changes_nothing(lab, lam):
    create(lam)
    lab.advance(2)
    before = lam.get_function_configuration(FunctionName="fn")
    with pytest.raises(ll.ClientError):
        lam.update_function_configuration(FunctionName="fn", MemorySize=10241)
    after = lam.get_function_configuration(FunctionName="fn")
    before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
    assert before == after


def test_code_update_reaches_new_invokes_in_new_environments(lab, lam):
    create(lam)
    lab.advance(2)
    first = lam.invoke(FunctionName="fn")
    lam.update_function_code(FunctionName="fn", ZipFile=make_zip({"app.py": SOURCE.replace("1", "2")}))
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    second = lam.invoke(FunctionName="fn")
    assert first["Payload"].read() == b'{"v": 1}' and second["Payload"].read() == b'{"v": 2}'
    envs = [s.env_id for s in lab.trace.filter(component="environment", action="create")]
    assert len(envs) == 2


def test_versions_aliases_and_weighted_routing(lab, lam):
    create(lam)
    lab.advance(2)
    v1 = lam.publish_version(FunctionName="fn")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(":1")
    assert lam.publish_version(FunctionName="fn")["Version"] == "1"      # unchanged: same version back
    lam.update_function_code(FunctionName="fn", ZipFile=make_zip({"app.py": SOURCE.replace("1", "2")}))
    lab.advance(2)
    assert lam.publish_version(FunctionName="fn")["Version"] == "2"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="fn")["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    alias = lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
    assert alias["AliasArn"].endswith(":live")
    executed = [lam.invoke(FunctionName="fn", Qualifier="live")["ExecutedVersion"] for _ in range(400)]
    share = executed.count("2") / len(executed)
    assert 0.18 < share < 0.32 and set(executed) == {"1", "2"}
    assert lam.invoke(FunctionName="fn:1")["ExecutedVersion"] == "1"


@pytest.mark.parametrize("version, routing, code, fragment", [
    ("7", None, "ResourceNotFoundException", "function:fn:7"),
    ("$LATEST", {"AdditionalVersionWeights": {"1": 0.5}}, "InvalidParameterValueException", "$LATEST is not supported"),
    ("1", {"AdditionalVersionWeights": {"1": 1.5}}, "ValidationException", "less than or equal to 1.0"),
])
def test_alias_validation(lab, lam, version, routing, code, fragment):
    create(lam)
    lab.advance(2)
    lam.publish_version(FunctionName="fn")
    kwargs = {"RoutingConfig": routing} if routing else {}
    with pytest.raises(ll.ClientError) as info:
        lam.create_alias(FunctionName="fn", Name="live", FunctionVersion=version, **kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == code and fragment in error["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName="fn", Name="live")


def test_delete_function_then_404(lab, lam):
    create(lam)
    lab.advance(2)
    lam.invoke(FunctionName="fn")
    assert lam.delete_function(FunctionName="fn")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="fn")
    lab.run()
    assert lab.fleet.environments == {}


def test_vpc_subnet_without_ips_ends_failed(lab, lam):
    create(lam, VpcConfig={"SubnetIds": ["subnet-full-1"], "SecurityGroupIds": ["sg-1"]})
    from botocore.exceptions import WaiterError
    with pytest.raises(WaiterError, match="terminal failure"):
        lam.get_waiter("function_active_v2").wait(FunctionName="fn")
    cfg = lam.get_function_configuration(FunctionName="fn")
    assert cfg["State"] == "Failed" and cfg["StateReasonCode"] == "SubnetOutOfIPAddresses"
    with pytest.raises(lam.exceptions.ResourceConflictException, match="state: Failed"):
        lam.invoke(FunctionName="fn")
