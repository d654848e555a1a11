"""Tags: key-value labels on a function (``TagResource``, ``UntagResource``, ``ListTags``, ``Tags`` on create).

Lambda tags the function itself, never one of its versions or aliases, and names it by its ARN. AWS's limits:
at most 50 tags per resource, keys of 1-128 characters that do not start with ``aws:`` (reserved for AWS),
values of up to 256 characters. ``GetFunction`` returns them under ``Tags``. Tags change nothing else here
(in AWS they drive cost allocation and attribute-based access control).
"""
from __future__ import annotations

from . import validation as v
from .errors import aws_error

__all__ = ["Tags", "check_tags"]

MAX_TAGS = 50


def check_tags(tags: dict, operation: str) -> None:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise aws_error("InvalidParameterValueException", f"Tag keys must be 1 to 128 characters and values at "
                            f"most 256: {key!r}", 400, operation=operation)
        if key.lower().startswith("aws:"):
            raise aws_error("InvalidParameterValueException", "Tag keys starting with 'aws:' are reserved for "
                            f"AWS use: {key}", 400, operation=operation)
    if len(tags) > MAX_TAGS:
        raise aws_error("InvalidParameterValueException", f"Number of tags exceeds resource tag limit ({MAX_TAGS}).",
                        400, operation=operation)


class Tags:
    """The tagging operations of the Lambda API (a backend of ``lab.client("lambda")``)."""

    def __init__(self, lab) -> None:
        self.lab = lab

    def _function(self, arn, operation: str):
        prefix = f"arn:aws:lambda:{self.lab.region}:{self.lab.account_id}:function:"
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise aws_error("ValidationException", f"1 validation error detected: Value '{arn}' at 'resource' "
                            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                            "arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
                            "(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|.+)", 400, operation=operation)
        name, qualifier = v.split_qualifier(arn)
        if qualifier is not None:
            raise aws_error("InvalidParameterValueException", "Tags on function aliases and versions are not "
                            "supported. Please specify a function ARN.", 400, operation=operation)
        fn = self.lab.control_plane.functions.get(name)
        if fn is None or not arn.startswith(prefix):
            raise aws_error("ResourceNotFoundException", f"Function not found: {arn}", 404, operation=operation)
        return fn

    def tag_resource(self, *, Resource, Tags) -> dict:
        op = "TagResource"
        fn = self._function(Resource, op)
        merged = {**fn.tags, **Tags}
        check_tags(merged, op)
        fn.tags = merged
        return {}

    def untag_resource(self, *, Resource, TagKeys) -> dict:
        fn = self._function(Resource, "UntagResource")
        fn.tags = {k: val for k, val in fn.tags.items() if k not in set(TagKeys)}
        return {}

    def list_tags(self, *, Resource) -> dict:
        return {"Tags": dict(self._function(Resource, "ListTags").tags)}
