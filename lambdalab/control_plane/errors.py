"""Errors shaped like botocore's, so lab code catches what it would catch against AWS.

``ClientError.response`` has ``Error.Code``, ``Error.Message``, ``ResponseMetadata.HTTPStatusCode`` and, where
Lambda sends them, ``Reason`` and ``Type`` (throttling). Each client also exposes ``client.exceptions.<Code>``,
subclasses of ClientError created once per code, exactly as boto3's modelled exceptions are.
"""
from __future__ import annotations

__all__ = ["ClientError", "ParamValidationError", "error_class", "aws_error", "Exceptions"]


class ClientError(Exception):
    """An AWS service error (botocore.exceptions.ClientError's shape)."""

    def __init__(self, error_response: dict, operation_name: str = "Invoke") -> None:
        self.response = error_response
        self.operation_name = operation_name
        err = error_response.get("Error", {})
        super().__init__(f"An error occurred ({err.get('Code')}) when calling the {operation_name} operation: "
                         f"{err.get('Message')}")

    @property
    def code(self) -> str:
        return self.response["Error"]["Code"]

    @property
    def message(self) -> str:
        return self.response["Error"]["Message"]

    @property
    def status(self) -> int:
        return self.response["ResponseMetadata"]["HTTPStatusCode"]


class ParamValidationError(ValueError):
    """A call that botocore would refuse before sending it (missing or mistyped parameter)."""

    def __init__(self, report: str) -> None:
        super().__init__(f"Parameter validation failed:\n{report}")


_classes: dict[str, type] = {}


def error_class(code: str) -> type:
    """The ClientError subclass for one error code (one class per code, shared by all clients)."""
    cls = _classes.get(code)
    if cls is None:
        cls = _classes[code] = type(code, (ClientError,), {"__module__": "lambdalab.errors"})
    return cls


def aws_error(code: str, message: str, status: int = 400, *, request_id: str = "", operation: str = "Invoke",
              **extra) -> ClientError:
    """Build (not raise) the ClientError AWS would answer with."""
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status}}
    # botocore puts the modelled members of Lambda's error shapes (Type, Reason, message) at the top level
    if "Type" in extra or code.endswith("Exception"):
        response["Type"] = extra.pop("Type", "User")
    response.update(extra)
    response.setdefault("message", message)
    return error_class(code)(response, operation)


class Exceptions:
    """``client.exceptions``: attribute access gives the class for that code; ClientError is there too."""

    ClientError = ClientError

    def __getattr__(self, code: str) -> type:
        if code.startswith("_"):
            raise AttributeError(code)
        return error_class(code)
