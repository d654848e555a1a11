"""Aliases: a name (``live``, ``prod``) that points at one published version, and optionally sends a weighted
share of invokes to one more (``RoutingConfig.AdditionalVersionWeights``), for canary releases.

An alias never points at another alias, and a weighted alias never involves ``$LATEST``. Invokes of
``fn:live`` are routed by the frontend (``alias.function_version`` or, with the weight's probability, the
extra version), so the lab's RNG decides each request's version reproducibly.
"""
from __future__ import annotations

from . import validation as v
from .errors import aws_error
from .pagination import paginate

__all__ = ["Alias", "Aliases"]


class Alias:
    __slots__ = ("name", "function_version", "weights", "description", "revision_id", "arn")

    def __init__(self, arn, name, function_version, weights, description, revision_id):
        self.arn, self.name, self.function_version = arn, name, function_version
        self.weights, self.description, self.revision_id = weights, description, revision_id

    def configuration(self) -> dict:
        out = {"AliasArn": self.arn, "Name": self.name, "FunctionVersion": self.function_version,
               "Description": self.description, "RevisionId": self.revision_id}
        if self.weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(self.weights)}
        return out


class Aliases:
    """The alias operations of the Lambda API (a backend of ``lab.client("lambda")``)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.functions = lab.control_plane

    def _check_target(self, fn, version: str, routing, op: str) -> dict:
        if version != "$LATEST" and version not in fn.versions:
            raise self.functions.not_found(fn.name, version, op)
        weights = dict((routing or {}).get("AdditionalVersionWeights", {}) or {})
        if len(weights) > 1:
            raise aws_error("InvalidParameterValueException",
                            "Number of items in AdditionalVersionWeights cannot be greater than 1", 400, operation=op)
        for extra, weight in weights.items():
            if not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
                raise aws_error("ValidationException",
                                f"1 validation error detected: Value '{weight}' at 'routingConfig."
                                "additionalVersionWeights' failed to satisfy constraint: Map value must satisfy "
                                "constraint: [Member must have value less than or equal to 1.0, Member must have "
                                "value greater than or equal to 0.0]", 400, operation=op)
            if version == "$LATEST" or extra == "$LATEST":
                raise aws_error("InvalidParameterValueException",
                                "$LATEST is not supported for an alias pointing to more than 1 version", 400,
                                operation=op)
            if extra not in fn.versions:
                raise self.functions.not_found(fn.name, extra, op)
            if extra == version:
                raise aws_error("InvalidParameterValueException",
                                f"Invalid function version {extra}. Function version {extra} is already included in "
                                "routing configuration.", 400, operation=op)
        return weights

    def create_alias(self, *, FunctionName, Name, FunctionVersion, Description="", RoutingConfig=None) -> dict:
        op = "CreateAlias"
        fn = self.functions.get(FunctionName, op)
        if not isinstance(Name, str) or not v.ALIAS_NAME.match(Name) or len(Name) > 128:
            raise aws_error("ValidationException",
                            f"1 validation error detected: Value '{Name}' at 'name' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", 400,
                            operation=op)
        weights = self._check_target(fn, FunctionVersion, RoutingConfig, op)
        if Name in fn.aliases:
            raise aws_error("ResourceConflictException", f"Alias already exists: {fn.arn}:{Name}", 409, operation=op)
        alias = Alias(f"{fn.arn}:{Name}", Name, FunctionVersion, weights, Description, self.functions.revision())
        fn.aliases[Name] = alias
        return alias.configuration()

    def _alias(self, FunctionName, Name, op) -> tuple:
        fn = self.functions.get(FunctionName, op)
        if Name not in fn.aliases:
            raise aws_error("ResourceNotFoundException", f"Alias not found: {fn.arn}:{Name}", 404, operation=op)
        return fn, fn.aliases[Name]

    def get_alias(self, *, FunctionName, Name) -> dict:
        return self._alias(FunctionName, Name, "GetAlias")[1].configuration()

    def update_alias(self, *, FunctionName, Name, FunctionVersion=None, Description=None, RoutingConfig=None,
                     RevisionId=None) -> dict:
        op = "UpdateAlias"
        fn, alias = self._alias(FunctionName, Name, op)
        if RevisionId and RevisionId != alias.revision_id:
            raise aws_error("PreconditionFailedException",
                            "The Revision Id provided does not match the latest Revision Id. Call the "
                            "GetFunction/GetAlias API to retrieve the latest Revision Id", 412, operation=op)
        version = FunctionVersion or alias.function_version
        routing = RoutingConfig if RoutingConfig is not None else {"AdditionalVersionWeights": alias.weights}
        weights = self._check_target(fn, version, routing, op)
        alias.function_version, alias.weights = version, weights
        if Description is not None:
            alias.description = Description
        alias.revision_id = self.functions.revision()
        return alias.configuration()

    def delete_alias(self, *, FunctionName, Name) -> dict:
        fn, alias = self._alias(FunctionName, Name, "DeleteAlias")
        del fn.aliases[Name]
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    def list_aliases(self, *, FunctionName, FunctionVersion=None, Marker=None, MaxItems=None) -> dict:
        fn = self.functions.get(FunctionName, "ListAliases")
        aliases = [a for _, a in sorted(fn.aliases.items())
                   if FunctionVersion is None or a.function_version == FunctionVersion]
        page, marker = paginate(aliases, Marker, MaxItems, 50, "ListAliases")
        out = {"Aliases": [a.configuration() for a in page]}
        if marker:
            out["NextMarker"] = marker
        return out
