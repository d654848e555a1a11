"""Container images: lab.push_image (the in-process ECR) and CreateFunction / UpdateFunctionCode with
PackageType Image, with AWS's refusals and the 10 GiB limit (the function is created, then Failed)."""
import tracemalloc

import botocore.session
import pytest

from lambdalab.lab import make_zip

ROLE = "arn:aws:iam::123456789012:role/r"
HANDLER = "def handler(event, context):\n    return {'from': 'image'}\n"


def create(lam, uri, name="img", **kw):
    return lam.create_function(FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": uri}, **kw)


def test_push_gives_an_ecr_uri_and_the_function_runs_the_image(lab, lam):
    uri = lab.push_image("api", HANDLER, size_mb=80)
    assert uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest"
    cfg = create(lam, uri)
    assert cfg["ResponseMetadata"]["HTTPStatusCode"] == 201 and cfg["State"] == "Pending"
    assert cfg["PackageType"] == "Image" and cfg["CodeSize"] == 0 and len(cfg["CodeSha256"]) == 64
    assert "Runtime" not in cfg and "Handler" not in cfg and "RuntimeVersionConfig" not in cfg
    model = botocore.session.get_session().get_service_model("lambda")
    assert set(cfg) - {"ResponseMetadata"} <= set(model.shape_for("FunctionConfiguration").members)
    # optimizing an image takes longer than a zip's 1 s: 5 s + the unique bytes at 200 MB/s (5.42 s here)
    lab.advance(5.41)
    assert lam.get_function_configuration(FunctionName="img")["State"] == "Pending"
    lab.advance(0.02)
    assert lam.get_function_configuration(FunctionName="img")["State"] == "Active"
    out = lam.invoke(FunctionName="img")
    assert out["Payload"].read() == b'{"from": "image"}'
    code = lam.get_function(FunctionName="img")["Code"]
    assert code["RepositoryType"] == "ECR" and code["ImageUri"] == uri
    assert code["ResolvedImageUri"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:")


def test_image_config_command_names_the_handler(lab, lam):
    uri = lab.push_image("multi", "def handler(e, c):\n    return 1\n\ndef other(e, c):\n    return 2\n")
    cfg = create(lam, uri, ImageConfig={"Command": ["lambda_function.other"]})
    assert cfg["ImageConfigResponse"] == {"ImageConfig": {"Command": ["lambda_function.other"]}}
    lam.get_waiter("function_active_v2").wait(FunctionName="img")
    assert lam.invoke(FunctionName="img")["Payload"].read() == b"2"
    assert "_HANDLER" in next(iter(lab.fleet.environments.values())).environ


@pytest.mark.parametrize("kw, fragment", [
    ({"Runtime": "python3.12"}, "Please don't provide Handler or Runtime or Layer when the intended function "
                                "PackageType is Image."),
    ({"Handler": "app.handler"}, "Please don't provide Handler or Runtime or Layer"),
    ({"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:x:1"]}, "Please don't provide Handler or Runtime"),
])
def test_an_image_brings_its_own_runtime(lab, lam, kw, fragment):
    uri = lab.push_image("api", HANDLER)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match=fragment):
        create(lam, uri, **kw)
    assert lam.list_functions()["Functions"] == []


@pytest.mark.parametrize("uri, message", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:latest",
     "Source image 123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:latest does not exist. Provide a valid "
     "source image."),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2",
     "Source image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2 does not exist."),
    ("api:latest", "Source image api:latest is not valid. Provide a valid source image."),
])
def test_unknown_or_malformed_images_are_refused(lab, lam, uri, message):
    lab.push_image("api", HANDLER)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match=message.replace(".", r"\.")):
        create(lam, uri)


def test_a_digest_uri_names_one_image_even_after_the_tag_moves(lab, lam):
    first = lab.push_image("api", HANDLER)
    lam_digest = lab.ecr.resolve(first)[0].digest
    lab.push_image("api", "def handler(e, c):\n    return 'v2'\n")
    create(lam, f"123456789012.dkr.ecr.us-east-1.amazonaws.com/api@{lam_digest}")
    lam.get_waiter("function_active_v2").wait(FunctionName="img")
    assert lam.invoke(FunctionName="img")["Payload"].read() == b'{"from": "image"}'


def test_an_image_over_10_gib_is_created_then_fails(lab, lam):
    tracemalloc.start()
    uri = lab.push_image("huge", HANDLER, size_mb=10 * 1024)        # 10 GiB on top of the base: too big
    assert tracemalloc.get_traced_memory()[1] < 2_000_000            # described, never allocated
    tracemalloc.stop()
    cfg = create(lam, uri)
    assert cfg["State"] == "Pending"
    lab.run()
    cfg = lam.get_function_configuration(FunctionName="img")
    assert cfg["State"] == "Failed" and cfg["StateReasonCode"] == "InvalidImage"
    assert cfg["StateReason"] == "SizeLimitExceeded: Uncompressed container image size exceeds 10 GiB limit"
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Failed"):
        lam.invoke(FunctionName="img")


def test_a_10_gb_image_within_the_limit_works(lab, lam):
    uri = lab.push_image("big", HANDLER, size_mb=9 * 1024)
    create(lam, uri)
    lam.get_waiter("function_active_v2").wait(FunctionName="img")
    assert lam.invoke(FunctionName="img")["StatusCode"] == 200


def test_update_function_code_keeps_the_package_type(lab, lam):
    uri = lab.push_image("api", HANDLER)
    create(lam, uri)
    lam.create_function(FunctionName="zip", Role=ROLE, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": HANDLER})})
    lab.run()
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="Please provide ImageUri when updating a function with packageType Image."):
        lam.update_function_code(FunctionName="img", ZipFile=make_zip({"app.py": HANDLER}))
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="Please don't provide ImageUri when updating a function with packageType Zip."):
        lam.update_function_code(FunctionName="zip", ImageUri=uri)
    new = lab.push_image("api", "def handler(e, c):\n    return 'new'\n", tag="v2")
    lam.update_function_code(FunctionName="img", ImageUri=new)
    lam.get_waiter("function_updated_v2").wait(FunctionName="img")
    assert lam.invoke(FunctionName="img")["Payload"].read() == b'"new"'
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Please don't provide Handler"):
        lam.update_function_configuration(FunctionName="img", Runtime="python3.13")


def test_zip_functions_still_need_runtime_and_handler(lam):
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="Runtime and Handler are mandatory parameters for functions created with deployment "
                             "packages."):
        lam.create_function(FunctionName="z", Role=ROLE, Code={"ZipFile": make_zip({"app.py": HANDLER})})


def test_push_image_checks_its_arguments(lab):
    with pytest.raises(ValueError, match="unknown base image"):
        lab.push_image("api", HANDLER, base="ubuntu:24.04")
    with pytest.raises(ValueError, match="repository names"):
        lab.push_image("API", HANDLER)
    with pytest.raises(ValueError, match="Python handler code"):
        lab.push_image("api", HANDLER, base="nodejs:20")
    assert lab.push_image("node", None, base="nodejs:20").endswith("/node:latest")
