"""CreateFunction / UpdateFunctionConfiguration checks, with the codes and messages Lambda answers with.

Limits (REFERENCE.md §4, §8): memory 128-10,240 MB, timeout 1-900 s, ephemeral storage 512-10,240 MB,
environment variables 4 KB in all with reserved keys refused, a 50 MB zipped upload, 250 MB unzipped.
Every check runs before any state changes, so a failed call leaves the function as it was.
"""
from __future__ import annotations

import functools
import json
import re

from . import archives
from .errors import aws_error

SUPPORTED_RUNTIMES = (
    "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "provided.al2", "provided.al2023",
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "java11", "java17", "java21", "dotnet8", "ruby3.2", "ruby3.3",
)
DEPRECATED_RUNTIMES = {"python2.7": "python3.12", "python3.6": "python3.12", "python3.7": "python3.12",
                       "python3.8": "python3.12", "nodejs14.x": "nodejs20.x", "nodejs16.x": "nodejs20.x",
                       "provided": "provided.al2023", "go1.x": "provided.al2023"}
RESERVED_ENV_KEYS = (
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
)
MAX_ZIP_REQUEST = 70_167_211          # the request-size limit behind "50 MB zipped" (base64 included)
MAX_UNZIPPED = archives.MAX_UNZIPPED   # 250 MB
MAX_ENV_BYTES = 4096
FUNCTION_NAME = re.compile(r"^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
                           r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$")
ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$")


def _constraint(value, field: str, constraint: str, operation: str):
    return aws_error("ValidationException",
                     f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
                     f"{constraint}", 400, operation=operation)


def check_range(value, field: str, lo: int, hi: int, operation: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise aws_error("InvalidParameterValueException", f"{field} must be an integer, got {value!r}",
                        400, operation=operation)
    if value < lo:
        raise _constraint(value, field, f"Member must have value greater than or equal to {lo}", operation)
    if value > hi:
        raise _constraint(value, field, f"Member must have value less than or equal to {hi}", operation)


@functools.lru_cache(maxsize=1024)
def _parse_name(name: str):
    """FUNCTION_NAME's match groups (bare name, qualifier) or None; cached, as every invoke parses its name."""
    m = FUNCTION_NAME.match(name)
    return None if m is None else (m.group(7), m.group(9))


def check_function_name(name, operation: str) -> str:
    """Accept a name, a partial or a full ARN; return the bare function name."""
    if not isinstance(name, str) or not name or len(name) > 140 or _parse_name(name) is None:
        raise _constraint(name, "functionName", "Member must satisfy regular expression pattern: "
                          r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
                          r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?", operation)
    return _parse_name(name)[0]


def split_qualifier(name: str) -> tuple[str, str | None]:
    """'fn:live' or an ARN with a qualifier -> (fn, 'live')."""
    parsed = _parse_name(name) if isinstance(name, str) else None
    if parsed is None:
        return name, None
    return parsed


def check_runtime(runtime, operation: str) -> None:
    if runtime in DEPRECATED_RUNTIMES:
        raise aws_error("InvalidParameterValueException",
                        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS "
                        f"Lambda functions. We recommend you use the new runtime ({DEPRECATED_RUNTIMES[runtime]}) "
                        f"while creating or updating functions.", 400, operation=operation)
    if runtime not in SUPPORTED_RUNTIMES:
        raise _constraint(runtime, "runtime", "Member must satisfy enum value set: [" +
                          ", ".join(SUPPORTED_RUNTIMES) + "] or be a valid ARN", operation)


def check_handler(handler, operation: str) -> None:
    if not isinstance(handler, str) or not handler or len(handler) > 128 or re.search(r"\s", handler):
        raise _constraint(handler, "handler", r"Member must satisfy regular expression pattern: [^\s]+", operation)


def check_description(description, operation: str) -> None:
    if not isinstance(description, str) or len(description) > 256:
        raise _constraint(description, "description", "Member must have length less than or equal to 256", operation)


def check_environment(environment, operation: str) -> dict:
    if environment is None:
        return {}
    variables = environment.get("Variables", {}) if isinstance(environment, dict) else None
    if not isinstance(variables, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in variables.items()):
        raise aws_error("InvalidParameterValueException",
                        "Environment variables must be a map of string keys to string values.", 400,
                        operation=operation)
    reserved = [k for k in variables if k in RESERVED_ENV_KEYS]
    if reserved:
        raise aws_error("InvalidParameterValueException",
                        "Lambda was unable to configure your environment variables because the environment "
                        "variables you have provided contains reserved keys that are currently not supported "
                        f"for modification. Reserved keys used in this request: {', '.join(reserved)}", 400,
                        operation=operation)
    for key in variables:
        if not re.match(r"^[a-zA-Z]([a-zA-Z0-9_])*$", key):
            raise aws_error("InvalidParameterValueException",
                            f"Lambda was unable to configure your environment variables because the environment "
                            f"variables you have provided contains an invalid key: {key}", 400, operation=operation)
    for key, value in variables.items():
        if "\0" in value:                  # a process environment cannot hold it (execve stops at NUL)
            raise aws_error("InvalidParameterValueException",
                            "Lambda was unable to configure your environment variables because the environment "
                            f"variables you have provided contains an invalid value for key {key}: the NUL "
                            "character is not allowed.", 400, operation=operation)
    # measured as AWS does: the variables as compact JSON, in UTF-8 bytes (é is 2 bytes, not a 6-byte \u escape)
    measured = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode("utf-8")) > MAX_ENV_BYTES:
        raise aws_error("InvalidParameterValueException",
                        "Lambda was unable to configure your environment variables because the environment "
                        f"variables you have provided exceeded the 4KB limit. String measured: {measured[:200]}...",
                        400, operation=operation)
    return dict(variables)


def check_file_systems(configs, operation: str) -> list | None:
    """FileSystemConfigs: at most one EFS access point, mounted under /mnt/ (stored; lambdalab mounts nothing)."""
    if not configs:
        return None
    ok = isinstance(configs, list) and len(configs) == 1 and isinstance(configs[0], dict) and \
        re.fullmatch(r"arn:aws[a-zA-Z-]*:elasticfilesystem:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:"
                     r"access-point/fsap-[a-f0-9]{17}", str(configs[0].get("Arn", ""))) and \
        re.fullmatch(r"/mnt/[a-zA-Z0-9-_.]+", str(configs[0].get("LocalMountPath", "")))
    if not ok:
        raise _constraint(configs, "fileSystemConfigs", "Member must satisfy constraint: [one EFS access point ARN "
                          "and a LocalMountPath matching /mnt/[a-zA-Z0-9-_.]+]", operation)
    return [{"Arn": configs[0]["Arn"], "LocalMountPath": configs[0]["LocalMountPath"]}]


def check_upload(zip_bytes, operation: str) -> None:
    """A .zip given inline (``ZipFile``): bytes, and within the request-size limit behind "50 MB zipped"."""
    if not isinstance(zip_bytes, (bytes, bytearray)):
        raise aws_error("InvalidParameterValueException", "ZipFile must be bytes.", 400, operation=operation)
    if len(zip_bytes) * 4 // 3 > MAX_ZIP_REQUEST:
        raise aws_error("RequestEntityTooLargeException",
                        f"Request must be smaller than {MAX_ZIP_REQUEST} bytes for the {operation} operation",
                        413, operation=operation)


def unzip_code(zip_bytes, operation: str) -> dict[str, bytes]:
    """Open a deployment package: {path: bytes}. Size limits and corrupt archives fail like Lambda.

    The unzipped size is measured by decompressing (``archives``), never taken from the zip's directory, and
    before any member is kept, so a zip bomb is refused without being held in memory.
    """
    check_upload(zip_bytes, operation)
    archives.unzipped_size(zip_bytes, operation)    # measure first, keeping nothing: a bomb costs no memory
    return archives.read_members(zip_bytes, operation)
