"""Event invoke configs: per function (and qualifier) retry, event age and destination settings.

``PutFunctionEventInvokeConfig`` replaces a function's asynchronous settings, ``UpdateFunctionEventInvokeConfig``
changes only the fields given, ``Get`` reads them back and ``Delete`` removes them (204). Each config belongs to
one qualifier (``$LATEST`` when none is given, or a version / alias) and is stored on the Function object
(``fn.event_invoke_config``: qualifier -> config), so it disappears with the function. Every check runs before
anything is stored, so a refused call changes nothing.
"""
from __future__ import annotations

import copy
import datetime as _dt
import re

from ..control_plane import validation as v
from ..control_plane.errors import aws_error

__all__ = ["EventInvokeConfigs", "DEFAULT_RETRIES", "DEFAULT_MAX_AGE", "DESTINATION_ARN"]

DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 21_600
# the destination types Lambda accepts for asynchronous invocation records
DESTINATION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:(sqs|sns|events|lambda|s3):[a-z0-9-]*:\d{12}:.+$")


class EventInvokeConfigs:
    """The four Lambda API operations on event invoke configs (mixed into the async component)."""

    def _configs(self, fn) -> dict:
        if fn.event_invoke_config is None:
            fn.event_invoke_config = {}
        return fn.event_invoke_config

    def _target(self, FunctionName, Qualifier, op):
        fn, qualifier, _ = self.lab.control_plane.resolve(FunctionName, Qualifier, op)
        return fn, qualifier or "$LATEST"

    def _check(self, params: dict, op: str) -> None:
        if "MaximumRetryAttempts" in params and params["MaximumRetryAttempts"] is not None:
            v.check_range(params["MaximumRetryAttempts"], "maximumRetryAttempts", 0, 2, op)
        if "MaximumEventAgeInSeconds" in params and params["MaximumEventAgeInSeconds"] is not None:
            v.check_range(params["MaximumEventAgeInSeconds"], "maximumEventAgeInSeconds", 60, 21_600, op)
        destinations = params.get("DestinationConfig") or {}
        unknown = set(destinations) - {"OnSuccess", "OnFailure"}
        if unknown:
            raise aws_error("InvalidParameterValueException", f"Unknown DestinationConfig field(s): "
                            f"{', '.join(sorted(unknown))}", 400, operation=op)
        for when in ("OnSuccess", "OnFailure"):
            arn = (destinations.get(when) or {}).get("Destination")
            if arn is None:
                continue
            match = DESTINATION_ARN.match(arn) if isinstance(arn, str) else None
            if match is None or (when == "OnSuccess" and match.group(1) == "s3"):
                raise aws_error("InvalidParameterValueException", f"The destination ARN {arn} is invalid. Use the "
                                "ARN of an SQS queue, SNS topic, EventBridge event bus or Lambda function.", 400,
                                operation=op)

    def _store(self, fn, qualifier: str, params: dict) -> dict:
        config = {"LastModified": _dt.datetime.fromtimestamp(self.lab.epoch + self.lab.now, _dt.timezone.utc),
                  "FunctionArn": f"{fn.arn}:{qualifier}"}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if params.get(key) is not None:
                config[key] = params[key]
        destinations = params.get("DestinationConfig") or {}
        config["DestinationConfig"] = {when: dict(destinations.get(when) or {}) for when in ("OnSuccess", "OnFailure")}
        self._configs(fn)[qualifier] = config
        return copy.deepcopy(config)

    # --- the Lambda API -------------------------------------------------------------------------------------
    def put_function_event_invoke_config(self, *, FunctionName, Qualifier=None, MaximumRetryAttempts=None,
                                         MaximumEventAgeInSeconds=None, DestinationConfig=None) -> dict:
        op = "PutFunctionEventInvokeConfig"
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        params = {"MaximumRetryAttempts": MaximumRetryAttempts, "MaximumEventAgeInSeconds": MaximumEventAgeInSeconds,
                  "DestinationConfig": DestinationConfig}
        self._check(params, op)
        return self._store(fn, qualifier, params)

    def update_function_event_invoke_config(self, *, FunctionName, Qualifier=None, MaximumRetryAttempts=None,
                                            MaximumEventAgeInSeconds=None, DestinationConfig=None) -> dict:
        op = "UpdateFunctionEventInvokeConfig"
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        changes = {"MaximumRetryAttempts": MaximumRetryAttempts, "MaximumEventAgeInSeconds": MaximumEventAgeInSeconds,
                   "DestinationConfig": DestinationConfig}
        self._check(changes, op)
        old = self._configs(fn).get(qualifier)
        if old is None:
            raise self._missing(fn, qualifier, op)
        merged = {k: old.get(k) for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")}
        merged.update({k: val for k, val in changes.items() if val is not None and k != "DestinationConfig"})
        destinations = dict(old["DestinationConfig"])
        destinations.update(DestinationConfig or {})
        merged["DestinationConfig"] = destinations
        return self._store(fn, qualifier, merged)

    def get_function_event_invoke_config(self, *, FunctionName, Qualifier=None) -> dict:
        op = "GetFunctionEventInvokeConfig"
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        config = self._configs(fn).get(qualifier)
        if config is None:
            raise self._missing(fn, qualifier, op)
        return copy.deepcopy(config)

    def delete_function_event_invoke_config(self, *, FunctionName, Qualifier=None) -> dict:
        op = "DeleteFunctionEventInvokeConfig"
        fn, qualifier = self._target(FunctionName, Qualifier, op)
        if self._configs(fn).pop(qualifier, None) is None:
            raise self._missing(fn, qualifier, op)
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    @staticmethod
    def _missing(fn, qualifier: str, op: str):
        return aws_error("ResourceNotFoundException", f"The function {fn.arn}:{qualifier} doesn't have an "
                         "EventInvokeConfig", 404, operation=op)

    # --- what the poller uses -------------------------------------------------------------------------------
    def settings(self, fn, qualifier: str | None) -> tuple[int, int, dict]:
        """(MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig) in force for an event right now."""
        config = (fn.event_invoke_config or {}).get(qualifier or "$LATEST") or {}
        retries = config.get("MaximumRetryAttempts")
        age = config.get("MaximumEventAgeInSeconds")
        return (DEFAULT_RETRIES if retries is None else retries, DEFAULT_MAX_AGE if age is None else age,
                config.get("DestinationConfig") or {})
