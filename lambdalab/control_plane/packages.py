"""Where a function's code comes from: a .zip deployment package (with layers) or a container image.

CreateFunction takes ``PackageType`` "Zip" (the default: ``Runtime``, ``Handler``, ``Code.ZipFile``, optional
``Layers``) or "Image" (``Code.ImageUri`` in ECR, optional ``ImageConfig`` overriding the image's
``EntryPoint``/``Command``/``WorkingDirectory``; an image brings its own runtime, so Runtime, Handler and Layers
are refused). UpdateFunctionCode swaps the code within the same package type. The checks and AWS's messages:

- zip: 50 MB zipped per request, 250 MB unzipped for code + layers (``archives``, ``layers``);
- image: a well-formed ECR URI of this account and region that exists ("Source image ... is not valid" /
  "does not exist. Provide a valid source image."); an image over 10 GiB uncompressed is accepted by the call
  and the function then fails (``State: Failed``, ``StateReasonCode: InvalidImage``), as AWS does it.

Creating an image function takes longer than a zip one: Lambda flattens and chunks the image first (its
"optimization"); we take ``IMAGE_PENDING_SECONDS`` plus the image's unique bytes at ``OPTIMIZE_RATE``.
Every check runs before anything changes, so a refused call leaves no trace.
"""
from __future__ import annotations

import base64
import hashlib

from . import layers as layer_rules
from . import validation as v
from .errors import aws_error

__all__ = ["Package", "for_create", "for_code_update", "IMAGE_PENDING_SECONDS", "OPTIMIZE_RATE"]

IMAGE_PENDING_SECONDS = 5.0
OPTIMIZE_RATE = 200e6                 # bytes per second of unique image content flattened and chunked
IMAGE_FAILURE = ("InvalidImage", "SizeLimitExceeded: Uncompressed container image size exceeds 10 GiB limit")


class Package:
    """The code part of a function version: files, FunctionConfiguration fields and model entries."""

    __slots__ = ("files", "config", "model", "pending", "failure")

    def __init__(self, files: dict, config: dict, model: dict, pending: float = 0.0, failure=None) -> None:
        self.files, self.config, self.model = files, config, model
        self.pending = pending            # extra seconds in Pending / InProgress (image optimization)
        self.failure = failure            # (StateReasonCode, StateReason) when the function ends up Failed

    @property
    def runtime(self) -> str:
        """The runtime that will run the code: Runtime for a .zip, the base image's for an image."""
        return self.config.get("Runtime") or self.model["image"].runtime


def for_create(lab, op: str, *, PackageType, Code, Runtime, Handler, Layers, ImageConfig) -> Package:
    if PackageType == "Image":
        if Runtime is not None or Handler is not None or Layers:
            raise aws_error("InvalidParameterValueException", "Please don't provide Handler or Runtime or Layer "
                            "when the intended function PackageType is Image.", 400, operation=op)
        image_uri = Code.get("ImageUri") if isinstance(Code, dict) else None
        if image_uri is None:
            raise aws_error("InvalidParameterValueException", "Please provide a source for function code.", 400,
                            operation=op)
        return _image(lab, op, image_uri, _image_config(ImageConfig, op))
    if PackageType != "Zip":
        raise aws_error("ValidationException", f"1 validation error detected: Value '{PackageType}' at "
                        "'packageType' failed to satisfy constraint: Member must satisfy enum value set: "
                        "[Zip, Image]", 400, operation=op)
    if ImageConfig is not None:
        raise aws_error("InvalidParameterValueException", "ImageConfig is not supported for functions with "
                        "package type Zip.", 400, operation=op)
    if Runtime is None or (Handler is None and not Runtime.startswith("provided")):
        raise aws_error("InvalidParameterValueException", "Runtime and Handler are mandatory parameters for "
                        "functions created with deployment packages.", 400, operation=op)
    v.check_runtime(Runtime, op)
    handler = Handler if Handler is not None else "bootstrap"
    v.check_handler(handler, op)
    if not isinstance(Code, dict) or "ZipFile" not in Code:
        raise aws_error("InvalidParameterValueException",
                        "Please provide a source for function code (Code.ZipFile).", 400, operation=op)
    package = _zip(lab, op, Code["ZipFile"], Layers or [])
    package.config.update(Runtime=Runtime, Handler=handler,
                          RuntimeVersionConfig={"RuntimeVersionArn": lab.runtime_version_arn(Runtime)})
    return package


def for_code_update(lab, op: str, latest, ZipFile=None, ImageUri=None) -> Package:
    """UpdateFunctionCode: new code of the same package type (layers and image config stay)."""
    image = latest.config["PackageType"] == "Image"
    if image and ZipFile is not None:
        raise aws_error("InvalidParameterValueException", "Please provide ImageUri when updating a function with "
                        "packageType Image.", 400, operation=op)
    if not image and ImageUri is not None:
        raise aws_error("InvalidParameterValueException", "Please don't provide ImageUri when updating a function "
                        "with packageType Zip.", 400, operation=op)
    if image:
        if ImageUri is None:
            raise aws_error("InvalidParameterValueException", "Please provide ImageUri when updating a function "
                            "with packageType Image.", 400, operation=op)
        return _image(lab, op, ImageUri, latest.model.get("image_config"))
    if ZipFile is None:
        raise aws_error("InvalidParameterValueException", "Please provide a source for function code.", 400,
                        operation=op)
    return _zip(lab, op, ZipFile, layers=latest.model.get("layers", ()))


def _zip(lab, op: str, zip_bytes, layers) -> Package:
    files = v.unzip_code(zip_bytes, op)
    if not isinstance(layers, tuple):
        layers = lab.layers.resolve(layers, op)
    layer_rules.check_total_size(code_size(files), layers, op)
    config = {"CodeSize": len(zip_bytes), "PackageType": "Zip",
              "CodeSha256": base64.b64encode(hashlib.sha256(bytes(zip_bytes)).digest()).decode()}
    if layers:
        config["Layers"] = layer_rules.configuration(layers)
    return Package(files, config, {"layers": layers})


def _image(lab, op: str, uri, image_config: dict | None) -> Package:
    from ..ecr import MAX_IMAGE_BYTES
    image, well_formed = lab.ecr.resolve(uri)
    if image is None:
        state = "does not exist" if well_formed else "is not valid"
        raise aws_error("InvalidParameterValueException", f"Source image {uri} {state}. Provide a valid source "
                        "image.", 400, operation=op)
    config = {"CodeSize": 0, "PackageType": "Image", "CodeSha256": image.digest.split(":", 1)[1]}
    if image_config:
        config["ImageConfigResponse"] = {"ImageConfig": dict(image_config)}
    model = {"image": image, "image_uri": uri, "image_config": image_config, "layers": (),
             "synthetic": not image.files}
    unique = sum(layer.size for layer in image.layers if not layer.shared)
    failure = IMAGE_FAILURE if image.size > MAX_IMAGE_BYTES else None
    return Package(dict(image.files), config, model, IMAGE_PENDING_SECONDS + unique / OPTIMIZE_RATE, failure)


def _image_config(config, op: str) -> dict | None:
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) - {"EntryPoint", "Command", "WorkingDirectory"}:
        raise aws_error("InvalidParameterValueException", "ImageConfig takes EntryPoint, Command and "
                        "WorkingDirectory.", 400, operation=op)
    for key in ("EntryPoint", "Command"):
        value = config.get(key, [])
        if not isinstance(value, list) or len(value) > 1500 or not all(isinstance(x, str) for x in value):
            raise aws_error("ValidationException", f"1 validation error detected: Value at 'imageConfig."
                            f"{key[0].lower() + key[1:]}' failed to satisfy constraint: Member must have length "
                            "less than or equal to 1500", 400, operation=op)
    directory = config.get("WorkingDirectory", "")
    if not isinstance(directory, str) or len(directory) > 1000:
        raise aws_error("ValidationException", "1 validation error detected: Value at 'imageConfig."
                        "workingDirectory' failed to satisfy constraint: Member must have length less than or "
                        "equal to 1000", 400, operation=op)
    return dict(config)


def code_size(files: dict) -> int:
    """Unzipped bytes of a package's files."""
    return sum(len(data) for data in files.values())
