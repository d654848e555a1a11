"""The Lambda API as boto3 sees it, through both doors: pagination, tags, Publish, waiters, errors, invoke."""
from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError, ParamValidationError, WaiterError

import lambdalab as ll
from lambdalab.lab import make_zip

from .conftest import ROLE


def test_client_error_is_botocores_and_errors_are_modelled(door):
    lam = door.client("lambda")
    assert ll.ClientError is ClientError
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as info:
        lam.get_function(FunctionName="no-such-function")
    response = info.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function:$LATEST"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"
    assert response["Type"] == "User"
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "Role"'):
        lam.create_function(FunctionName="x", Code={"ZipFile": b"zip"})


def test_list_functions_pages_with_marker_and_max_items(door):
    lam = door.client("lambda")
    names = sorted(door.name("page") for _ in range(5))
    for name in names:
        lam.create_function(FunctionName=name, Role=ROLE, Runtime="python3.12", Handler="a.h",
                            Code={"ZipFile": make_zip({"a.py": "def h(e, c):\n    return 1\n"})})
    ours = [n for n in (f["FunctionName"] for f in lam.list_functions()["Functions"]) if n in names]
    assert ours == names                                         # one page (at most 50) holds them all
    first = lam.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2 and first["NextMarker"]
    second = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] != [f["FunctionName"] for f in first["Functions"]]
    paged = []
    for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["Functions"]) <= 2
        paged += [f["FunctionName"] for f in page["Functions"]]
    assert paged == [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert [n for n in paged if n in names] == names
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Invalid Marker"):
        lam.list_functions(Marker="not-a-marker")


def test_tags_on_create_tag_untag_and_list(door):
    lam = door.client("lambda")
    name = door.name("tagged")
    arn = door.create(lam, name, Tags={"team": "blue", "stage": "dev"})["FunctionArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "blue", "stage": "dev"}
    assert lam.tag_resource(Resource=arn, Tags={"stage": "prod", "cost": "42"})["ResponseMetadata"][
        "HTTPStatusCode"] == 204
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "prod", "cost": "42"}
    assert lam.get_function(FunctionName=name)["Tags"] == {"stage": "prod", "cost": "42"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="aliases and versions"):
        lam.tag_resource(Resource=arn + ":1", Tags={"x": "y"})
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="reserved"):
        lam.tag_resource(Resource=arn, Tags={"aws:owner": "me"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "prod", "cost": "42"}   # refused: unchanged
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_tags(Resource=arn + "-gone")


def test_publish_true_on_create_and_code_update(door):
    lam = door.client("lambda")
    name = door.name("published")
    created = door.create(lam, name, Publish=True)
    assert created["Version"] == "1" and not created["FunctionArn"].endswith(":1")
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    updated = lam.update_function_code(FunctionName=name, Publish=True,
                                       ZipFile=make_zip({"lambda_function.py": "def handler(e, c):\n    return 2\n"}))
    assert updated["Version"] == "2" and updated["FunctionArn"].endswith(f":{name}:2")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2} if door.url else {})
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == \
        ["$LATEST", "1", "2"]
    assert json.loads(lam.invoke(FunctionName=name, Qualifier="2")["Payload"].read()) == 2
    assert lam.publish_version(FunctionName=name)["Version"] == "2"      # nothing changed since: same version
    # UpdateFunctionConfiguration has no Publish parameter (the CLI says "Unknown options: --publish")
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Publish"'):
        lam.update_function_configuration(FunctionName=name, Publish=True, MemorySize=256)
    pages = list(lam.get_paginator("list_versions_by_function").paginate(FunctionName=name,
                                                                          PaginationConfig={"PageSize": 1}))
    assert [p["Versions"][0]["Version"] for p in pages] == ["$LATEST", "1", "2"]


def test_aliases_list_and_page(door):
    lam = door.client("lambda")
    name = door.name("aliased")
    door.create(lam, name, Publish=True)
    for alias in ("b", "a", "c"):
        lam.create_alias(FunctionName=name, Name=alias, FunctionVersion="1")
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["a", "b", "c"]
    page = lam.list_aliases(FunctionName=name, MaxItems=2)
    assert [a["Name"] for a in page["Aliases"]] == ["a", "b"]
    rest = lam.list_aliases(FunctionName=name, Marker=page["NextMarker"])
    assert [a["Name"] for a in rest["Aliases"]] == ["c"] and "NextMarker" not in rest


def test_invoke_errors_waiters_and_request_ids(door):
    lam = door.client("lambda")
    name = door.name("invoked")
    door.create(lam, name)
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"k": 1}), LogType="Tail")
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert json.loads(response["Payload"].read()) == {"got": {"k": 1}}
    assert response["ResponseMetadata"]["RequestId"] == response["ResponseMetadata"]["HTTPHeaders"][
        "x-amzn-requestid"]
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{not json")
    with pytest.raises(WaiterError):
        lam.get_waiter("function_exists").wait(FunctionName="never-there",
                                               WaiterConfig={"Delay": 0.1, "MaxAttempts": 2})


def test_waiters_wait_in_virtual_time():
    lab = ll.Lab(seed=0)
    lam = lab.client("lambda")
    lam.create_function(FunctionName="w", Role=ROLE, Runtime="python3.12", Handler="a.h",
                        Code={"ZipFile": make_zip({"a.py": "def h(e, c):\n    return 1\n"})})
    import time
    start = time.perf_counter()
    lam.get_waiter("function_active_v2").wait(FunctionName="w", WaiterConfig={"Delay": 30})
    assert time.perf_counter() - start < 2.0           # thirty virtual seconds, not thirty real ones
    assert lab.now == 30.0                             # one poll saw Pending, the next (30 s later) Active


def test_layers_vpc_and_snapstart_settings_travel_both_ways(door):
    lam = door.client("lambda")
    layer = door.name("deps")
    for value in (1, 2):
        out = lam.publish_layer_version(LayerName=layer, CompatibleRuntimes=["python3.12"], Content={
            "ZipFile": make_zip({"python/deps.py": f"VALUE = {value}\n"})})
        assert out["Version"] == value and out["LayerVersionArn"].endswith(f":layer:{layer}:{value}")
    pages = lam.get_paginator("list_layer_versions").paginate(LayerName=layer, PaginationConfig={"PageSize": 1})
    assert [v["Version"] for page in pages for v in page["LayerVersions"]] == [2, 1]      # newest first
    found = lam.get_layer_version_by_arn(Arn=out["LayerVersionArn"])    # GET /layers?find=LayerVersion&Arn=...
    assert found["Version"] == 2 and found["Content"]["CodeSize"] > 0
    name = door.name("with-layer")
    door.create(lam, name, Layers=[out["LayerVersionArn"]], Handler="app.handler",
                Code={"ZipFile": make_zip({"app.py": "import deps\n\ndef handler(e, c):\n    return deps.VALUE\n"})})
    assert [item["Arn"] for item in lam.get_function_configuration(FunctionName=name)["Layers"]] == \
        [out["LayerVersionArn"]]
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == 2      # /opt/python is importable
    vpc = {"SubnetIds": ["subnet-0a1b2c3d4e5f60718"], "SecurityGroupIds": ["sg-0a1b2c3d4e5f60718"]}
    in_vpc = door.name("in-vpc")           # (not waited for: its ENI keeps it Pending for 20 s)
    lam.create_function(FunctionName=in_vpc, Role=ROLE, Runtime="python3.12", Handler="lambda_function.handler",
                        VpcConfig=vpc, Code={"ZipFile": make_zip({"lambda_function.py": "def handler(e, c):\n    pass\n"})})
    config = lam.get_function_configuration(FunctionName=in_vpc)["VpcConfig"]
    assert config["SubnetIds"] == vpc["SubnetIds"] and config["SecurityGroupIds"] == vpc["SecurityGroupIds"]
    assert config["VpcId"].startswith("vpc-")
    lam.delete_layer_version(LayerName=layer, VersionNumber=1)
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] == [2]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName=layer, VersionNumber=1)

    snap = door.name("snap")
    door.create(lam, snap, SnapStart={"ApplyOn": "PublishedVersions"})
    assert lam.get_function_configuration(FunctionName=snap)["SnapStart"]["ApplyOn"] == "PublishedVersions"
    publishing = lam.publish_version(FunctionName=snap)         # Init runs now, and the snapshot is taken
    version = publishing["Version"]
    assert publishing["State"] == "Pending" and publishing["SnapStart"] == {"ApplyOn": "PublishedVersions",
                                                                           "OptimizationStatus": "On"}
    lam.get_waiter("published_version_active").wait(FunctionName=snap, Qualifier=version,
                                                    WaiterConfig={"Delay": 0.5} if door.url else {})
    assert lam.get_function_configuration(FunctionName=snap, Qualifier=version)["State"] == "Active"
    reply = lam.invoke(FunctionName=snap, Qualifier=version, Payload=b'{"n": 1}', LogType="Tail")
    assert json.loads(reply["Payload"].read()) == {"got": {"n": 1}}
    assert "Restore Duration:" in base64.b64decode(reply["LogResult"]).decode()     # restored, not initialised
