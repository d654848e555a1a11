"""``lab.client("lambda")``: the Lambda API with boto3's method names, parameters and response shapes.

The client holds no state of its own; each method forwards to the component that owns the operation and stamps
errors with the operation's name, as botocore does. ``invoke`` with ``RequestResponse`` runs the lab's clock
until the invocation is over, so it returns with ``lab.now`` at the moment the caller got its answer.
"""
from __future__ import annotations

import copy

from ..control_plane.errors import ClientError, Exceptions, ParamValidationError
from ..frontend import INVOKE_PARAMETERS

__all__ = ["LambdaClient"]

# method -> (component attribute on the lab, operation name, required parameters)
OPERATIONS = {
    "create_function": ("control_plane", "CreateFunction", ("FunctionName", "Role", "Code")),
    "get_function": ("control_plane", "GetFunction", ("FunctionName",)),
    "get_function_configuration": ("control_plane", "GetFunctionConfiguration", ("FunctionName",)),
    "list_functions": ("control_plane", "ListFunctions", ()),
    "update_function_code": ("control_plane", "UpdateFunctionCode", ("FunctionName",)),
    "update_function_configuration": ("control_plane", "UpdateFunctionConfiguration", ("FunctionName",)),
    "delete_function": ("control_plane", "DeleteFunction", ("FunctionName",)),
    "publish_version": ("control_plane", "PublishVersion", ("FunctionName",)),
    "list_versions_by_function": ("control_plane", "ListVersionsByFunction", ("FunctionName",)),
    "create_alias": ("control_plane", "CreateAlias", ("FunctionName", "Name", "FunctionVersion")),
    "get_alias": ("control_plane", "GetAlias", ("FunctionName", "Name")),
    "update_alias": ("control_plane", "UpdateAlias", ("FunctionName", "Name")),
    "delete_alias": ("control_plane", "DeleteAlias", ("FunctionName", "Name")),
    "put_function_concurrency": ("concurrency", "PutFunctionConcurrency",
                                 ("FunctionName", "ReservedConcurrentExecutions")),
    "get_function_concurrency": ("concurrency", "GetFunctionConcurrency", ("FunctionName",)),
    "delete_function_concurrency": ("concurrency", "DeleteFunctionConcurrency", ("FunctionName",)),
    "put_provisioned_concurrency_config": ("concurrency", "PutProvisionedConcurrencyConfig",
                                           ("FunctionName", "Qualifier", "ProvisionedConcurrentExecutions")),
    "get_provisioned_concurrency_config": ("concurrency", "GetProvisionedConcurrencyConfig",
                                           ("FunctionName", "Qualifier")),
    "delete_provisioned_concurrency_config": ("concurrency", "DeleteProvisionedConcurrencyConfig",
                                              ("FunctionName", "Qualifier")),
    "get_account_settings": ("concurrency", "GetAccountSettings", ()),
    "publish_layer_version": ("layers", "PublishLayerVersion", ("LayerName", "Content")),
    "get_layer_version": ("layers", "GetLayerVersion", ("LayerName", "VersionNumber")),
    "get_layer_version_by_arn": ("layers", "GetLayerVersionByArn", ("Arn",)),
    "list_layers": ("layers", "ListLayers", ()),
    "list_layer_versions": ("layers", "ListLayerVersions", ("LayerName",)),
    "delete_layer_version": ("layers", "DeleteLayerVersion", ("LayerName", "VersionNumber")),
    "put_function_event_invoke_config": ("async_invoke", "PutFunctionEventInvokeConfig", ("FunctionName",)),
    "get_function_event_invoke_config": ("async_invoke", "GetFunctionEventInvokeConfig", ("FunctionName",)),
    "update_function_event_invoke_config": ("async_invoke", "UpdateFunctionEventInvokeConfig", ("FunctionName",)),
    "delete_function_event_invoke_config": ("async_invoke", "DeleteFunctionEventInvokeConfig", ("FunctionName",)),
    "create_event_source_mapping": ("event_sources", "CreateEventSourceMapping", ("FunctionName",)),
    "get_event_source_mapping": ("event_sources", "GetEventSourceMapping", ("UUID",)),
    "update_event_source_mapping": ("event_sources", "UpdateEventSourceMapping", ("UUID",)),
    "delete_event_source_mapping": ("event_sources", "DeleteEventSourceMapping", ("UUID",)),
    "list_event_source_mappings": ("event_sources", "ListEventSourceMappings", ()),
}

STATUS = {"CreateFunction": 201, "PublishVersion": 201, "CreateAlias": 201, "DeleteFunction": 204,
          "DeleteAlias": 204, "DeleteFunctionConcurrency": 204, "PutProvisionedConcurrencyConfig": 202,
          "DeleteProvisionedConcurrencyConfig": 204, "CreateEventSourceMapping": 202,
          "DeleteEventSourceMapping": 202, "UpdateEventSourceMapping": 202, "PublishLayerVersion": 201,
          "DeleteLayerVersion": 204}


class LambdaClient:
    """A boto3 ``lambda`` client bound to one Lab."""

    def __init__(self, lab) -> None:
        self._lab = lab
        self.exceptions = Exceptions()
        self.meta = type("Meta", (), {"region_name": lab.region, "service_model": None})()

    def __getattr__(self, method: str):
        if method not in OPERATIONS:
            raise AttributeError(f"'Lambda' object has no attribute '{method}'")
        component, operation, required = OPERATIONS[method]

        def call(**params):
            missing = [p for p in required if p not in params]
            if missing:
                raise ParamValidationError("\n".join(f'Missing required parameter in input: "{p}"' for p in missing))
            target = getattr(self._lab, component, None)
            if target is None:
                raise NotImplementedError(f"{operation} needs the {component} component, which this lab lacks")
            try:
                result = getattr(target, method)(**params)
            except ClientError as error:
                error.operation_name = operation
                error.args = (f"An error occurred ({error.code}) when calling the {operation} operation: "
                              f"{error.message}",)
                raise
            result = copy.deepcopy(result) if isinstance(result, dict) else result
            meta = result.setdefault("ResponseMetadata", {})
            meta.setdefault("HTTPStatusCode", STATUS.get(operation, 200))
            meta.setdefault("RequestId", self._lab.control_ids.uuid())
            return result

        call.__name__ = method
        return call

    def invoke(self, **params) -> dict:
        """Invoke: RequestResponse returns once the invocation is over in virtual time."""
        if "FunctionName" not in params:
            raise ParamValidationError('Missing required parameter in input: "FunctionName"')
        unknown = sorted(set(params) - INVOKE_PARAMETERS)
        if unknown:
            raise ParamValidationError("\n".join(f'Unknown parameter in input: "{p}", must be one of: '
                                                 f'{", ".join(sorted(INVOKE_PARAMETERS))}' for p in unknown))
        for key in ("FunctionName", "InvocationType", "LogType", "ClientContext", "Qualifier"):
            if key in params and not isinstance(params[key], str):
                raise ParamValidationError(f"Invalid type for parameter {key}, value: {params[key]!r}, type: "
                                           f"{type(params[key])}, valid types: <class 'str'>")
        lab = self._lab
        inv = lab.frontend.submit(params)
        if not inv.done and inv.invocation_type == "RequestResponse":
            lab.wait_for(lambda: inv.done)
        if inv.error is not None:
            raise inv.error
        if not inv.done and inv.invocation_type == "RequestResponse":
            raise RuntimeError("the invocation did not finish: nothing left to run in the lab")
        return inv.response

    def get_waiter(self, name: str):
        from .waiters import Waiter
        return Waiter(self, name)

    def can_paginate(self, method: str) -> bool:
        return False
