"""A boto3-shaped client for an in-process service backend (``lab.register_backend``).

A backend is an object with one method per AWS operation it implements, named as boto3 names the client method
(``create_bucket``, ``publish``), taking AWS's parameter names as keyword arguments and returning boto3's response
shape without ``ResponseMetadata``; it raises ``aws_error(...)`` for AWS's errors. This client forwards to it and
stamps errors with the operation's name, as botocore does.
"""
from __future__ import annotations

import copy

from ..control_plane.errors import ClientError, Exceptions

__all__ = ["BackendClient"]


def operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


class BackendClient:
    def __init__(self, lab, service: str) -> None:
        self._lab = lab
        self._backend = lab.backend(service)
        self.exceptions = Exceptions()
        self.meta = type("Meta", (), {"region_name": lab.region, "service_model": None})()

    def __getattr__(self, method: str):
        target = getattr(self._backend, method, None) if not method.startswith("_") else None
        if target is None:
            raise AttributeError(f"client has no attribute '{method}'")
        operation = operation_name(method)

        def call(**params):
            try:
                result = target(**params)
            except ClientError as error:
                error.operation_name = operation
                error.args = (f"An error occurred ({error.code}) when calling the {operation} operation: "
                              f"{error.message}",)
                raise
            result = copy.deepcopy(result) if isinstance(result, dict) else {}
            meta = result.setdefault("ResponseMetadata", {})
            meta.setdefault("HTTPStatusCode", 200)
            meta.setdefault("RequestId", self._lab.control_ids.uuid())
            return result

        call.__name__ = method
        return call
