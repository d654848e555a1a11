"""AWS errors as botocore raises them: ``ClientError`` here *is* ``botocore.exceptions.ClientError``.

A backend raises ``aws_error(code, message, status)``; the dispatcher writes it on the wire as the service's
protocol does, and the caller's botocore client raises it again as the modelled class
(``lam.exceptions.ResourceNotFoundException``...). Errors made outside a client call (a refused
``lab.submit``, ``lab.create_function``) are instances of the same modelled classes, with botocore's
``response`` shape: ``Error.Code``, ``Error.Message``, ``ResponseMetadata.HTTPStatusCode`` and, where Lambda
sends them, ``Type``, ``message`` and ``Reason`` at the top level (the error shape's members).

botocore is imported on first use (a raised error, a client), so ``import lambdalab`` stays light.
"""
from __future__ import annotations

__all__ = ["ClientError", "ParamValidationError", "aws_error", "error_code", "error_message", "error_status"]


def aws_error(code: str, message: str, status: int = 400, *, request_id: str = "", operation: str = "Invoke",
              service: str = "lambda", shape: str | None = None, **extra):
    """Build (not raise) the ClientError ``service`` would answer with; ``extra`` are top-level members.

    ``shape``: the modelled exception's name when it differs from the wire code (SQS keeps its old query codes:
    ``AWS.SimpleQueueService.NonExistentQueue`` is the shape ``QueueDoesNotExist``); botocore reads it back from
    ``Error.QueryErrorCode``."""
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status}}
    if shape is not None:
        response["Error"]["QueryErrorCode"] = shape
    # botocore puts the modelled members of Lambda's error shapes (Type, Reason, message) at the top level
    if service == "lambda":
        response["Type"] = extra.pop("Type", "User")
        response["message"] = message
    response.update(extra)
    from ..wire.models import exceptions
    return exceptions(service).from_code(shape or code)(response, operation)


def error_code(error) -> str:
    return error.response["Error"]["Code"]


def error_message(error) -> str:
    return error.response["Error"].get("Message", "")


def error_status(error) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


def __getattr__(name: str):
    if name in ("ClientError", "ParamValidationError"):
        import botocore.exceptions
        return getattr(botocore.exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
