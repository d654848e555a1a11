"""Function URL configurations: a function's own HTTPS endpoint, ``https://<url-id>.lambda-url.<region>.on.aws/``.

``CreateFunctionUrlConfig`` gives a function (or one of its aliases, never a version) a dedicated URL whose id is
32 lowercase letters and digits. ``AuthType`` says who may call it: ``NONE`` (anyone, provided the function's
resource policy allows ``lambda:InvokeFunctionUrl`` for ``*`` with ``lambda:FunctionUrlAuthType: NONE``) or
``AWS_IAM`` (SigV4-signed requests only). ``InvokeMode`` is ``BUFFERED`` (the whole response at once, up to
6 MB) or ``RESPONSE_STREAM``; ``Cors`` makes the URL answer browsers' preflight requests and add CORS headers.
Get, Update, Delete and List read and change the same records. Every check runs before anything is stored.

The HTTP side (``lab.http``, and ``lab.serve()`` in real time) is ``lambdalab.url_frontend``.
"""
from __future__ import annotations

import copy
import re

from .errors import aws_error

__all__ = ["FunctionUrls", "UrlConfig"]

QUALIFIER = re.compile(r"^(?!\d+$)[0-9a-zA-Z-_]{1,128}$")
AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
CORS_FIELDS = {"AllowCredentials": bool, "AllowHeaders": list, "AllowMethods": list, "AllowOrigins": list,
               "ExposeHeaders": list, "MaxAge": int}
METHODS = ("GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*")
URL_ID_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


class UrlConfig:
    """One function URL: the function (and alias) it fronts and its settings."""

    __slots__ = ("url_id", "fn", "qualifier", "auth_type", "cors", "invoke_mode", "created", "modified")

    def __init__(self, url_id: str, fn, qualifier, auth_type: str, cors, invoke_mode: str, now: str) -> None:
        self.url_id, self.fn, self.qualifier = url_id, fn, qualifier
        self.auth_type, self.cors, self.invoke_mode = auth_type, cors, invoke_mode
        self.created = self.modified = now

    def url(self, region: str) -> str:
        return f"https://{self.url_id}.lambda-url.{region}.on.aws/"

    def describe(self, region: str, modified: bool = True) -> dict:
        out = {"FunctionUrl": self.url(region), "FunctionArn": f"{self.fn.arn}:{self.qualifier}" if self.qualifier
               else self.fn.arn, "AuthType": self.auth_type}
        if self.cors:
            out["Cors"] = copy.deepcopy(self.cors)
        out["CreationTime"] = self.created
        if modified:
            out["LastModifiedTime"] = self.modified
        out["InvokeMode"] = self.invoke_mode
        return out


def _invalid(value, field: str, constraint: str, op: str):
    return aws_error("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' failed to "
                     f"satisfy constraint: {constraint}", 400, operation=op)


class FunctionUrls:
    """``lab.function_urls``: the five function URL operations, and the URL ids the front door resolves."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.by_id: dict[str, UrlConfig] = {}
        self._by_target: dict[tuple, UrlConfig] = {}     # (Function, qualifier or None) -> config

    def _target(self, FunctionName, Qualifier, op: str):
        if Qualifier is not None and (not isinstance(Qualifier, str) or not QUALIFIER.match(Qualifier)):
            raise _invalid(Qualifier, "qualifier", r"Member must satisfy regular expression pattern: "
                           r"((?!^\d+$)^[0-9a-zA-Z-_]+$)", op)
        fn, qualifier, alias = self.lab.control_plane.resolve(FunctionName, Qualifier, op)
        if qualifier not in (None, "$LATEST") and alias is None:
            raise _invalid(qualifier, "qualifier", r"Member must satisfy regular expression pattern: "
                           r"((?!^\d+$)^[0-9a-zA-Z-_]+$)", op)
        return fn, None if qualifier in (None, "$LATEST") else qualifier

    def _check(self, auth_type, cors, invoke_mode, op: str) -> None:
        if auth_type is not None and auth_type not in AUTH_TYPES:
            raise _invalid(auth_type, "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]", op)
        if invoke_mode is not None and invoke_mode not in INVOKE_MODES:
            raise _invalid(invoke_mode, "invokeMode", "Member must satisfy enum value set: [BUFFERED, "
                           "RESPONSE_STREAM]", op)
        if cors is None:
            return
        if not isinstance(cors, dict):
            raise aws_error("InvalidParameterValueException", "Cors must be an object", 400, operation=op)
        for key, value in cors.items():
            kind = CORS_FIELDS.get(key)
            if kind is None:
                raise aws_error("InvalidParameterValueException", f"Unknown Cors field: {key}", 400, operation=op)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise aws_error("InvalidParameterValueException", f"Cors.{key} must be a {kind.__name__}", 400,
                                operation=op)
        if not 0 <= cors.get("MaxAge", 0) <= 86400:
            bound = "greater than or equal to 0" if cors["MaxAge"] < 0 else "less than or equal to 86400"
            raise _invalid(cors["MaxAge"], "cors.maxAge", f"Member must have value {bound}", op)
        methods = cors.get("AllowMethods", [])
        if len(methods) > 6:
            raise _invalid(methods, "cors.allowMethods", "Member must have length less than or equal to 6", op)
        for method in methods:
            if str(method).upper() not in METHODS:
                raise aws_error("InvalidParameterValueException", f"Invalid method in AllowMethods: {method}. "
                                f"Valid methods are {', '.join(METHODS)}", 400, operation=op)
        for key in ("AllowHeaders", "ExposeHeaders", "AllowOrigins"):
            if len(cors.get(key, [])) > 100:
                raise _invalid(cors[key], f"cors.{key[0].lower()}{key[1:]}",
                               "Member must have length less than or equal to 100", op)

    def _new_id(self) -> str:
        ids = self.lab.control_ids
        while True:
            bits = int(ids.hex(40), 16)
            url_id = "".join(URL_ID_LETTERS[(bits >> (5 * i)) % 36] for i in range(32))
            if url_id not in self.by_id:
                return url_id

    def _now(self) -> str:
        return self.lab.iso_time(self.lab.now)

    def _missing(self, op: str):
        return aws_error("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                         operation=op)

    # --- the Lambda API -------------------------------------------------------------------------------------
    def create_function_url_config(self, *, FunctionName, AuthType, Qualifier=None, Cors=None,
                                   InvokeMode=None) -> dict:
        op = "CreateFunctionUrlConfig"
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        if AuthType is None:
            raise _invalid(None, "authType", "Member must not be null", op)
        self._check(AuthType, Cors, InvokeMode, op)
        if (fn, qualifier) in self._by_target:
            arn = f"{fn.arn}:{qualifier}" if qualifier else fn.arn
            raise aws_error("ResourceConflictException", f"Failed to create function url config for [functionArn = "
                            f"{arn}]. Error message:  FunctionUrlConfig exists for this Lambda function", 409,
                            operation=op)
        config = UrlConfig(self._new_id(), fn, qualifier, AuthType, copy.deepcopy(Cors) or None,
                           InvokeMode or "BUFFERED", self._now())
        self.by_id[config.url_id] = self._by_target[(fn, qualifier)] = config
        return config.describe(self.lab.region, modified=False)

    def get_function_url_config(self, *, FunctionName, Qualifier=None) -> dict:
        return self._config(FunctionName, Qualifier, "GetFunctionUrlConfig").describe(self.lab.region)

    def _config(self, FunctionName, Qualifier, op: str) -> UrlConfig:
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        config = self._by_target.get((fn, qualifier))
        if config is None:
            raise self._missing(op)
        return config

    def update_function_url_config(self, *, FunctionName, Qualifier=None, AuthType=None, Cors=None,
                                   InvokeMode=None) -> dict:
        op = "UpdateFunctionUrlConfig"
        config = self._config(FunctionName, Qualifier, op)
        self._check(AuthType, Cors, InvokeMode, op)
        if AuthType is not None:
            config.auth_type = AuthType
        if Cors is not None:
            config.cors = copy.deepcopy(Cors) or None
        if InvokeMode is not None:
            config.invoke_mode = InvokeMode
        config.modified = self._now()
        return config.describe(self.lab.region)

    def delete_function_url_config(self, *, FunctionName, Qualifier=None) -> dict:
        config = self._config(FunctionName, Qualifier, "DeleteFunctionUrlConfig")
        del self.by_id[config.url_id]
        del self._by_target[(config.fn, config.qualifier)]
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    def list_function_url_configs(self, *, FunctionName, Marker=None, MaxItems=None) -> dict:
        op = "ListFunctionUrlConfigs"
        fn = self.lab.control_plane.get(FunctionName, op)
        if MaxItems is not None and not 1 <= MaxItems <= 50:
            raise _invalid(MaxItems, "maxItems", "Member must have value less than or equal to 50" if MaxItems > 50
                           else "Member must have value greater than or equal to 1", op)
        configs = sorted((c for (f, _), c in self._by_target.items() if f is fn), key=lambda c: c.qualifier or "")
        start = 0
        if Marker is not None:
            ids = [c.url_id for c in configs]
            if Marker not in ids:
                raise aws_error("InvalidParameterValueException", "Invalid marker", 400, operation=op)
            start = ids.index(Marker)
        page = configs[start:start + (MaxItems or 50)]
        out = {"FunctionUrlConfigs": [c.describe(self.lab.region) for c in page]}
        if start + len(page) < len(configs):
            out["NextMarker"] = configs[start + len(page)].url_id
        return out

    # --- what the front door asks ---------------------------------------------------------------------------
    def resolve(self, url_id: str) -> UrlConfig | None:
        """The live config behind a URL id (None once it, or its function or alias, is gone)."""
        config = self.by_id.get(url_id)
        if config is None:
            return None
        fn = config.fn
        if self.lab.control_plane.functions.get(fn.name) is not fn or \
                (config.qualifier is not None and config.qualifier not in fn.aliases):
            return None
        return config
