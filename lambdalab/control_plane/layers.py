"""Lambda layers: shared .zip archives that Lambda extracts under ``/opt`` before a function's code runs.

In AWS a layer is a name with numbered, immutable versions (``arn:aws:lambda:<region>:<account>:layer:<name>:<n>``).
PublishLayerVersion stores a new version; numbers are never reused, even after every version was deleted. A
function lists up to five layer versions in ``Layers``; at a cold start Lambda extracts them into ``/opt`` in
that order (a later layer's file replaces an earlier one's), and the Python runtime puts ``/opt/python`` and
``/opt/python/lib/python3.x/site-packages`` on the import path. Function code and layers together must stay
under 250 MB unzipped. Deleting a version only stops new functions from using it: functions that already list
it keep their copy. ``CompatibleRuntimes`` and ``CompatibleArchitectures`` are advisory in AWS (the console and
the List calls filter on them; CreateFunction does not refuse a layer whose list leaves out the function's
runtime), and so they are here.

Here a ``LayerVersion`` keeps its archive bytes (its size is measured by really decompressing it, see
``archives``); functions keep references to the versions they list, so a deleted version still serves them.
We simplify: no layer permissions (``AddLayerVersionPermission``): only this lab's account and region exist, so
a layer of another account or region is one that does not exist; content comes as ``ZipFile`` bytes (no S3).
Messages follow AWS's answers as recorded by public emulator test suites (LocalStack, moto).
"""
from __future__ import annotations

import base64
import hashlib
import re

from . import archives
from .errors import aws_error
from .validation import SUPPORTED_RUNTIMES, check_upload

__all__ = ["Layers", "LayerVersion", "MAX_LAYERS"]

MAX_LAYERS = 5
ARCHITECTURES = ("x86_64", "arm64")
_NAME = re.compile(r"^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):layer:)?([a-zA-Z0-9-_]+)$")
_VERSION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):layer:"
                          r"([a-zA-Z0-9-_]+):([0-9]+)$")
_VERSION_ARN_PATTERN = (r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|"
                        r"(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)")


class LayerVersion:
    """One immutable version of a layer: its archive and what PublishLayerVersion was told about it."""

    __slots__ = ("name", "version", "arn", "layer_arn", "zip_bytes", "code_size", "code_sha256", "unzipped_size",
                 "description", "runtimes", "architectures", "license", "created", "location")

    def __init__(self, name, version, layer_arn, zip_bytes, unzipped_size, description, runtimes, architectures,
                 license_info, created, location) -> None:
        self.name, self.version, self.layer_arn = name, version, layer_arn
        self.arn = f"{layer_arn}:{version}"
        self.zip_bytes = bytes(zip_bytes)
        self.code_size = len(self.zip_bytes)
        self.code_sha256 = base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode()
        self.unzipped_size = unzipped_size
        self.description, self.runtimes, self.architectures = description, runtimes, architectures
        self.license, self.created, self.location = license_info, created, location

    def _common(self) -> dict:
        out = {"LayerVersionArn": self.arn, "Version": self.version, "Description": self.description,
               "CreatedDate": self.created}
        if self.runtimes:
            out["CompatibleRuntimes"] = list(self.runtimes)
        if self.architectures:
            out["CompatibleArchitectures"] = list(self.architectures)
        if self.license is not None:
            out["LicenseInfo"] = self.license
        return out

    def describe(self) -> dict:
        """PublishLayerVersion's and GetLayerVersion's answer."""
        return {"Content": {"Location": self.location, "CodeSha256": self.code_sha256, "CodeSize": self.code_size},
                "LayerArn": self.layer_arn, **self._common()}

    def list_item(self) -> dict:
        """One entry of ListLayerVersions (and ListLayers' LatestMatchingVersion)."""
        item = self._common()
        if not item["Description"]:
            del item["Description"]
        return item

    def matches(self, runtime, architecture) -> bool:
        return (runtime is None or runtime in self.runtimes) and \
            (architecture is None or architecture in self.architectures)

    def __repr__(self) -> str:
        return f"<LayerVersion {self.name}:{self.version} {self.unzipped_size:,} bytes unzipped>"


class Layers:
    """The layer registry of one account and region, with Lambda's layer API (boto3's names and shapes)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.versions: dict[str, dict[int, LayerVersion]] = {}    # name -> live versions
        self._last: dict[str, int] = {}                             # name -> highest number ever given
        self.extracted: dict[tuple, str] = {}       # layer version ARNs -> their /opt, unpacked (data plane)

    # --- names ----------------------------------------------------------------------------------------------
    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.lab.region}:{self.lab.account_id}:layer:{name}"

    def _name(self, layer_name, op: str) -> str:
        """A layer name or layer ARN -> the bare name (another account's or region's layer does not exist here)."""
        match = _NAME.match(layer_name) if isinstance(layer_name, str) and len(layer_name) <= 140 else None
        if match is None:
            raise _constraint(layer_name, "layerName", "Member must satisfy regular expression pattern: "
                              r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|"
                              r"[a-zA-Z0-9-_]+", op)
        region, account, name = match.groups()
        if (region or self.lab.region, account or self.lab.account_id) != (self.lab.region, self.lab.account_id):
            return ""        # a name no layer of this lab has
        return name

    def _find(self, layer_name, version, op: str) -> LayerVersion:
        name = self._name(layer_name, op)
        found = self.versions.get(name, {}).get(version) if isinstance(version, int) else None
        if found is None:
            raise aws_error("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                            operation=op)
        return found

    # --- the API --------------------------------------------------------------------------------------------
    def publish_layer_version(self, *, LayerName, Content, Description="", CompatibleRuntimes=None,
                              LicenseInfo=None, CompatibleArchitectures=None) -> dict:
        op = "PublishLayerVersion"
        name = self._name(LayerName, op)
        if not name:
            raise aws_error("AccessDeniedException", "Layers can only be published in this lab's account and "
                            "region.", 403, operation=op)
        if not isinstance(Description, str) or len(Description) > 256:
            raise _constraint(Description, "description", "Member must have length less than or equal to 256", op)
        runtimes = _check_runtimes(CompatibleRuntimes, op)
        architectures = _check_architectures(CompatibleArchitectures, op)
        if not isinstance(Content, dict) or "ZipFile" not in Content:
            if isinstance(Content, dict) and ("S3Bucket" in Content or "S3Key" in Content):
                raise aws_error("InvalidParameterValueException", "Unsupported parameter(s) in lambdalab: "
                                "Content.S3Bucket (give the layer as Content={'ZipFile': bytes})", 400, operation=op)
            raise aws_error("InvalidParameterValueException", "Missing Content", 400, operation=op)
        zip_bytes = Content["ZipFile"]
        check_upload(zip_bytes, op)
        size = archives.unzipped_size(zip_bytes, op)
        # all checks passed: from here on nothing can fail
        version = self._last.get(name, 0) + 1
        self._last[name] = version
        created = self.lab.iso_time(self.lab.now, millis=True, offset="+0000")
        digest = hashlib.sha256(bytes(zip_bytes)).hexdigest()[:32]
        location = (f"https://awslambda-{self.lab.region}-layers.s3.{self.lab.region}.amazonaws.com/snapshots/"
                    f"{self.lab.account_id}/{name}-{digest}")
        layer = LayerVersion(name, version, self.layer_arn(name), zip_bytes, size, Description, runtimes,
                             architectures, LicenseInfo, created, location)
        self.versions.setdefault(name, {})[version] = layer
        return layer.describe()

    def get_layer_version(self, *, LayerName, VersionNumber) -> dict:
        return self._find(LayerName, VersionNumber, "GetLayerVersion").describe()

    def get_layer_version_by_arn(self, *, Arn) -> dict:
        op = "GetLayerVersionByArn"
        match = _VERSION_ARN.match(Arn) if isinstance(Arn, str) else None
        if match is None:
            raise _constraint(Arn, "arn", f"Member must satisfy regular expression pattern: {_VERSION_ARN_PATTERN}",
                              op)
        region, account, name, number = match.groups()
        return self._find(f"arn:aws:lambda:{region}:{account}:layer:{name}", int(number), op).describe()

    def list_layer_versions(self, *, LayerName, CompatibleRuntime=None, Marker=None, MaxItems=None,
                            CompatibleArchitecture=None) -> dict:
        op = "ListLayerVersions"
        name = self._name(LayerName, op)
        versions = [v for _, v in sorted(self.versions.get(name, {}).items(), reverse=True)
                    if v.matches(CompatibleRuntime, CompatibleArchitecture)]
        page, marker = _page(versions, Marker, MaxItems, op)
        out = {"LayerVersions": [v.list_item() for v in page]}
        if marker:
            out["NextMarker"] = marker
        return out

    def list_layers(self, *, CompatibleRuntime=None, Marker=None, MaxItems=None, CompatibleArchitecture=None) -> dict:
        op = "ListLayers"
        layers = []
        for name in sorted(self.versions):
            matching = [v for _, v in sorted(self.versions[name].items(), reverse=True)
                        if v.matches(CompatibleRuntime, CompatibleArchitecture)]
            if matching:
                layers.append({"LayerName": name, "LayerArn": self.layer_arn(name),
                               "LatestMatchingVersion": matching[0].list_item()})
        page, marker = _page(layers, Marker, MaxItems, op)
        out = {"Layers": page}
        if marker:
            out["NextMarker"] = marker
        return out

    def delete_layer_version(self, *, LayerName, VersionNumber) -> dict:
        """Deleting a version that does not exist succeeds too (AWS answers 204 either way)."""
        name = self._name(LayerName, "DeleteLayerVersion")
        self.versions.get(name, {}).pop(VersionNumber, None)
        if name in self.versions and not self.versions[name]:
            del self.versions[name]
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    # --- what functions list ----------------------------------------------------------------------------------
    def resolve(self, arns, op: str) -> tuple[LayerVersion, ...]:
        """A function's ``Layers`` list -> the layer versions, checked as CreateFunction checks it."""
        if not isinstance(arns, (list, tuple)) or not all(isinstance(a, str) for a in arns):
            raise aws_error("InvalidParameterValueException", "Layers must be a list of layer version ARNs.", 400,
                            operation=op)
        if len(arns) > MAX_LAYERS:
            raise aws_error("InvalidParameterValueException", f"Cannot reference more than {MAX_LAYERS} layers.",
                            400, operation=op)
        found: list[LayerVersion] = []
        seen: dict[str, str] = {}
        for arn in arns:
            match = _VERSION_ARN.match(arn)
            if match is None:
                raise _constraint("[" + arn + "]", "layers", "Member must satisfy constraint: [Member must have "
                                  "length less than or equal to 140, Member must have length greater than or equal "
                                  f"to 1, Member must satisfy regular expression pattern: {_VERSION_ARN_PATTERN}, "
                                  "Member must not be null]", op)
            region, account, name, number = match.groups()
            if region != self.lab.region:
                raise aws_error("InvalidParameterValueException", "Layers are not in the same region as the "
                                f"function. Layers are expected to be in region {self.lab.region}.", 400,
                                operation=op)
            layer = self.versions.get(name, {}).get(int(number)) if account == self.lab.account_id else None
            if layer is None:
                raise aws_error("InvalidParameterValueException", f"Layer version {arn} does not exist.", 400,
                                operation=op)
            base = arn.rpartition(":")[0]
            if base in seen:
                raise aws_error("InvalidParameterValueException", "Two different versions of the same layer are "
                                "not allowed to be referenced in the same function. "
                                f"{seen[base]} and {arn} are versions of the same layer.", 400, operation=op)
            seen[base] = arn
            found.append(layer)
        return tuple(found)


def check_total_size(code_bytes: int, layers, op: str) -> None:
    """Function code and its layers together: 250 MB unzipped at most."""
    total = code_bytes + sum(layer.unzipped_size for layer in layers)
    if layers and total > archives.MAX_UNZIPPED:
        raise aws_error("InvalidParameterValueException", "Function code combined with layers exceeds the maximum "
                        f"allowed size of {archives.MAX_UNZIPPED} bytes. The actual size is {total} bytes.", 400,
                        operation=op)


def configuration(layers) -> list[dict]:
    """FunctionConfiguration's ``Layers``."""
    return [{"Arn": layer.arn, "CodeSize": layer.code_size} for layer in layers]


def _constraint(value, field: str, constraint: str, op: str):
    return aws_error("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' failed to "
                     f"satisfy constraint: {constraint}", 400, operation=op)


def _check_runtimes(runtimes, op: str) -> tuple:
    runtimes = runtimes or []
    if not isinstance(runtimes, (list, tuple)) or len(runtimes) > 15:
        raise _constraint(runtimes, "compatibleRuntimes", "Member must have length less than or equal to 15", op)
    for runtime in runtimes:
        if runtime not in SUPPORTED_RUNTIMES:
            raise _constraint(f"[{', '.join(map(str, runtimes))}]", "compatibleRuntimes", "Member must satisfy "
                              "constraint: [Member must satisfy enum value set: [" + ", ".join(SUPPORTED_RUNTIMES)
                              + "]]", op)
    return tuple(runtimes)


def _check_architectures(architectures, op: str) -> tuple:
    architectures = architectures or []
    if not isinstance(architectures, (list, tuple)) or len(architectures) > 2 or \
            any(a not in ARCHITECTURES for a in architectures):
        raise _constraint(f"[{', '.join(map(str, architectures))}]", "compatibleArchitectures", "Member must "
                          "satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", op)
    return tuple(architectures)


def _page(items: list, marker, max_items, op: str):
    """One page of a List call: the Marker is the index of the first item (opaque to callers)."""
    start = 0
    if marker is not None:
        if not (isinstance(marker, str) and marker.isdigit() and int(marker) <= len(items)):
            raise aws_error("InvalidParameterValueException", "Invalid Marker", 400, operation=op)
        start = int(marker)
    size = 50 if max_items is None else max_items
    if not isinstance(size, int) or not 1 <= size <= 50:
        raise _constraint(max_items, "maxItems", "Member must have value less than or equal to 50", op)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
