"""Lambda layers through the lambda client: shapes (checked against botocore's model), ARNs, numbering,
immutability, filters, pages, and every CreateFunction / UpdateFunctionConfiguration refusal with AWS's words."""
import io
import random
import zipfile

import botocore.session
import pytest

import lambdalab as ll
from lambdalab.lab import make_zip

ROLE = "arn:aws:iam::123456789012:role/r"
LAYER_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:"


def model_keys(operation: str, shape: str | None = None) -> set:
    model = botocore.session.get_session().get_service_model("lambda")
    out = model.shape_for(shape) if shape else model.operation_model(operation).output_shape
    return set(out.members)


def stored_zip(files: dict) -> bytes:
    """A zip whose members are stored, not deflated (incompressible data zips to its own size)."""
    return make_zip(files)


def deflated(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def publish(lam, name="deps", files=None, **kw):
    files = files or {"python/deps.py": "VALUE = 1\n"}
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)}, **kw)


def create(lam, name="fn", **kw):
    params = dict(FunctionName=name, Role=ROLE, Runtime="python3.12", Handler="app.handler",
                  Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})})
    params.update(kw)
    return lam.create_function(**params)


def test_publish_answers_aws_shape_and_arns(lam):
    out = publish(lam, Description="shared code", CompatibleRuntimes=["python3.12", "python3.13"],
                  CompatibleArchitectures=["arm64"], LicenseInfo="MIT")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["LayerArn"] == LAYER_ARN + "deps" and out["LayerVersionArn"] == LAYER_ARN + "deps:1"
    assert out["Version"] == 1 and out["Description"] == "shared code" and out["LicenseInfo"] == "MIT"
    assert out["CompatibleRuntimes"] == ["python3.12", "python3.13"] and out["CompatibleArchitectures"] == ["arm64"]
    assert set(out["Content"]) == {"Location", "CodeSha256", "CodeSize"}
    assert out["CreatedDate"] == "2026-01-01T00:00:00.000+0000"
    assert set(out) - {"ResponseMetadata"} <= model_keys("PublishLayerVersion")
    assert set(out["Content"]) <= model_keys("", "LayerVersionContentOutput")
    got = lam.get_layer_version(LayerName="deps", VersionNumber=1)
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in out.items() if k != "ResponseMetadata"}
    assert lam.get_layer_version_by_arn(Arn=out["LayerVersionArn"])["Version"] == 1
    assert lam.get_layer_version(LayerName=out["LayerArn"], VersionNumber=1)["Version"] == 1


def test_versions_count_up_and_numbers_are_never_reused(lam):
    assert [publish(lam)["Version"] for _ in range(3)] == [1, 2, 3]
    for n in (1, 2, 3):
        assert lam.delete_layer_version(LayerName="deps", VersionNumber=n)["ResponseMetadata"]["HTTPStatusCode"] \
            == 204
    assert lam.list_layers()["Layers"] == [] and lam.list_layer_versions(LayerName="deps")["LayerVersions"] == []
    assert publish(lam)["Version"] == 4


def test_a_published_version_is_immutable(lab, lam):
    first = publish(lam, files={"python/deps.py": "VALUE = 1\n"})
    second = publish(lam, files={"python/deps.py": "VALUE = 2\n"})
    again = lam.get_layer_version(LayerName="deps", VersionNumber=1)
    assert again["Content"]["CodeSha256"] == first["Content"]["CodeSha256"] != second["Content"]["CodeSha256"]
    # the API offers no call that changes a version; the stored object has no setter for its content either
    layer = lab.layers.versions["deps"][1]
    with pytest.raises(AttributeError):
        layer.no_such_field = 1


def test_missing_versions_and_deletes(lam):
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="The resource you requested does not exist"):
        lam.get_layer_version(LayerName="nope", VersionNumber=1)
    publish(lam)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName="deps", VersionNumber=99)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_by_arn(Arn=LAYER_ARN + "deps:99")
    # deleting what does not exist succeeds, as in AWS; listing an unknown layer is an empty list
    assert lam.delete_layer_version(LayerName="deps", VersionNumber=99)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_layer_versions(LayerName="other")["LayerVersions"] == []


def test_lists_filter_on_runtime_and_architecture_newest_first(lam):
    publish(lam, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])
    publish(lam, CompatibleRuntimes=["nodejs20.x"])
    publish(lam, "tools", CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"])
    versions = lam.list_layer_versions(LayerName="deps")["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert set(versions[0]) <= model_keys("", "LayerVersionsListItem") and "Description" not in versions[0]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="deps", CompatibleRuntime="python3.12")
            ["LayerVersions"]] == [1]
    layers = lam.list_layers(CompatibleRuntime="python3.12")["Layers"]
    assert [(x["LayerName"], x["LatestMatchingVersion"]["Version"]) for x in layers] == [("deps", 1), ("tools", 1)]
    assert set(layers[0]) <= model_keys("", "LayersListItem")
    assert [x["LayerName"] for x in lam.list_layers(CompatibleArchitecture="arm64")["Layers"]] == ["tools"]
    assert [x["LatestMatchingVersion"]["Version"] for x in lam.list_layers()["Layers"]] == [2, 1]


def test_list_pages_follow_next_marker(lam):
    for _ in range(5):
        publish(lam)
    seen, marker = [], None
    while True:
        page = lam.list_layer_versions(LayerName="deps", MaxItems=2, **({"Marker": marker} if marker else {}))
        seen += [v["Version"] for v in page["LayerVersions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("kw, code, fragment", [
    ({"LayerName": "bad name"}, "ValidationException", "at 'layerName' failed to satisfy constraint"),
    ({"Content": {}}, "InvalidParameterValueException", "Missing Content"),
    ({"Content": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException", "Could not unzip uploaded file"),
    ({"CompatibleRuntimes": ["python2.9"]}, "ValidationException", "at 'compatibleRuntimes'"),
    ({"CompatibleArchitectures": ["sparc"]}, "ValidationException", "at 'compatibleArchitectures'"),
    ({"Description": "x" * 257}, "ValidationException", "length less than or equal to 256"),
])
def test_publish_refusals_change_nothing(lam, kw, code, fragment):
    params = {"LayerName": "deps", "Content": {"ZipFile": make_zip({"a.txt": "a"})}, **kw}
    with pytest.raises(ll.ClientError) as info:
        lam.publish_layer_version(**params)
    assert info.value.response["Error"]["Code"] == code and fragment in info.value.response["Error"]["Message"]
    assert lam.list_layers()["Layers"] == []


def test_a_layer_over_250_mb_unzipped_is_refused(lam):
    bomb = deflated({"zeros.bin": b"\0" * (262_144_000 + 1)})       # ~255 KB zipped
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="Unzipped size must be smaller than 262144000 bytes"):
        lam.publish_layer_version(LayerName="big", Content={"ZipFile": bomb})


def test_functions_list_layers_in_order_with_code_size(lam):
    one, two = publish(lam, "a"), publish(lam, "b")
    cfg = create(lam, Layers=[two["LayerVersionArn"], one["LayerVersionArn"]])
    assert cfg["Layers"] == [{"Arn": two["LayerVersionArn"], "CodeSize": two["Content"]["CodeSize"]},
                             {"Arn": one["LayerVersionArn"], "CodeSize": one["Content"]["CodeSize"]}]
    assert set(cfg["Layers"][0]) <= model_keys("", "Layer")
    lam.get_waiter("function_active_v2").wait(FunctionName="fn")
    lam.update_function_configuration(FunctionName="fn", Layers=[one["LayerVersionArn"]])
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    assert [x["Arn"] for x in lam.get_function_configuration(FunctionName="fn")["Layers"]] == [one["LayerVersionArn"]]
    lam.update_function_configuration(FunctionName="fn", Layers=[])
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    assert "Layers" not in lam.get_function_configuration(FunctionName="fn")


def test_a_deleted_version_keeps_serving_functions_that_list_it(lab, lam):
    layer = publish(lam)
    create(lam, Layers=[layer["LayerVersionArn"]])
    lam.delete_layer_version(LayerName="deps", VersionNumber=1)
    assert lab.control_plane.functions["fn"].latest.model["layers"][0].version == 1
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not exist"):
        create(lam, "other", Layers=[layer["LayerVersionArn"]])


def test_runtimes_a_layer_declares_are_advisory_as_in_aws(lam):
    layer = publish(lam, CompatibleRuntimes=["nodejs20.x"])
    assert create(lam, Layers=[layer["LayerVersionArn"]])["Layers"][0]["Arn"] == layer["LayerVersionArn"]


def many(lam, n):
    return [publish(lam, f"l{i}")["LayerVersionArn"] for i in range(n)]


@pytest.mark.parametrize("layers, code, message", [
    (lambda lam: many(lam, 6), "InvalidParameterValueException", "Cannot reference more than 5 layers."),
    (lambda lam: [LAYER_ARN + "ghost:1"], "InvalidParameterValueException",
     f"Layer version {LAYER_ARN}ghost:1 does not exist."),
    (lambda lam: ["arn:aws:lambda:eu-west-1:123456789012:layer:deps:1"], "InvalidParameterValueException",
     "Layers are not in the same region as the function. Layers are expected to be in region us-east-1."),
    (lambda lam: ["deps"], "ValidationException", "Value '[deps]' at 'layers' failed to satisfy constraint"),
    (lambda lam: [publish(lam)["LayerVersionArn"], publish(lam)["LayerVersionArn"]],
     "InvalidParameterValueException", "Two different versions of the same layer are not allowed to be "
     f"referenced in the same function. {LAYER_ARN}deps:1 and {LAYER_ARN}deps:2 are versions of the same layer."),
])
def test_function_layer_refusals(lam, layers, code, message):
    arns = layers(lam)
    with pytest.raises(ll.ClientError) as info:
        create(lam, Layers=arns)
    assert info.value.response["Error"]["Code"] == code
    assert message in info.value.response["Error"]["Message"]
    assert lam.list_functions()["Functions"] == []


def test_update_refusal_changes_nothing(lam):
    layer = publish(lam)
    create(lam, Layers=[layer["LayerVersionArn"]])
    lam.get_waiter("function_active_v2").wait(FunctionName="fn")
    before = lam.get_function_configuration(FunctionName="fn")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Cannot reference more than 5"):
        lam.update_function_configuration(FunctionName="fn", Layers=many(lam, 6))
    after = lam.get_function_configuration(FunctionName="fn")
    before.pop("ResponseMetadata"), after.pop("ResponseMetadata")
    assert after == before


def incompressible(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def test_function_plus_layers_over_250_mb_is_measured_for_real(lam):
    # the archives are small (zeros compress ~1000:1); what counts is what they unpack to, measured
    a = lam.publish_layer_version(LayerName="a", Content={"ZipFile": deflated({"a.bin": b"\0" * 130_000_000})})
    b = lam.publish_layer_version(LayerName="b", Content={"ZipFile": deflated({"b.bin": b"\0" * 130_000_000})})
    assert a["Content"]["CodeSize"] < 1_000_000
    code = deflated({"app.py": "def handler(e, c):\n    return 1\n", "pad.bin": b"\0" * 2_144_001})
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        create(lam, Code={"ZipFile": code}, Layers=[a["LayerVersionArn"], b["LayerVersionArn"]])
    size = 130_000_000 * 2 + 2_144_001 + len("def handler(e, c):\n    return 1\n")
    assert info.value.response["Error"]["Message"] == ("Function code combined with layers exceeds the maximum "
                                                       f"allowed size of 262144000 bytes. The actual size is {size} "
                                                       "bytes.")
    # the same layers with a smaller package fit; then a bigger package fails its code update the same way
    create(lam, Layers=[a["LayerVersionArn"], b["LayerVersionArn"]])
    lam.get_waiter("function_active_v2").wait(FunctionName="fn")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="combined with layers exceeds"):
        lam.update_function_code(FunctionName="fn", ZipFile=code)


def test_stored_incompressible_layer_counts_its_real_size(lab, lam):
    data = incompressible(1_000_000)
    out = lam.publish_layer_version(LayerName="raw", Content={"ZipFile": stored_zip({"raw.bin": data})})
    assert out["Content"]["CodeSize"] > 1_000_000
    assert lab.layers.versions["raw"][1].unzipped_size == 1_000_000
