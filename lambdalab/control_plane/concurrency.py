"""Concurrency settings: the account limit, reserved concurrency and provisioned concurrency.

An account has 1,000 concurrent executions per region by default. Reserving concurrency for a function both
caps it and sets that share aside; at least 100 must stay unreserved for everything else. Provisioned
concurrency keeps N environments of a published version (or an alias) initialised ahead of time; it cannot
exceed the function's reserved concurrency and does not apply to ``$LATEST``.

Provisioned environments are built through the same Worker Manager and Init path as on-demand ones
(``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency``); the config is ``IN_PROGRESS`` until all are
initialised, then ``READY``, or ``FAILED`` if Init fails. We simplify: allocation is not rate limited.
"""
from __future__ import annotations

from . import snapstart
from .errors import aws_error

__all__ = ["Concurrency", "MIN_UNRESERVED"]

MIN_UNRESERVED = 100


class Concurrency:
    # (slots: the frontend asks total_reserved() on every request once 100 unreserved are in flight, and an
    # object with slots is one cache line to read instead of the object, its values and its keys)
    __slots__ = ("lab", "_total")

    def __init__(self, lab) -> None:
        self.lab = lab
        self._total: int | None = None        # the account's reserved total, while no reservation changes

    def total_reserved(self, excluding: str | None = None) -> int:
        if excluding is None:                 # (the frontend asks on every request: keep it, do not re-add it)
            if self._total is None:
                self._total = sum(fn.reserved or 0 for fn in self.lab.control_plane.functions.values())
            return self._total
        return sum(fn.reserved or 0 for name, fn in self.lab.control_plane.functions.items() if name != excluding)

    def reserved_changed(self) -> None:
        """A reservation was set or removed, or a function deleted: the total is summed again when next asked."""
        self._total = None

    def unreserved(self, skip: tuple[str, str] | None = None) -> int:
        """The account's UnreservedConcurrentExecutions: what neither reserved concurrency nor the provisioned
        concurrency of functions without a reservation has set aside (``skip``: one (function, qualifier)
        config to leave out, when it is being replaced)."""
        aside = 0
        for name, fn in self.lab.control_plane.functions.items():
            if fn.reserved is not None:
                aside += fn.reserved          # provisioned concurrency then lives inside the reservation
            else:
                aside += sum(c["RequestedProvisionedConcurrentExecutions"] for q, c in fn.provisioned_configs.items()
                             if (name, q) != skip)
        return self.lab.account_concurrency - aside

    # --- reserved -----------------------------------------------------------------------------------------
    def put_function_concurrency(self, *, FunctionName, ReservedConcurrentExecutions) -> dict:
        op = "PutFunctionConcurrency"
        fn = self.lab.control_plane.get(FunctionName, op)
        n = ReservedConcurrentExecutions
        if not isinstance(n, int) or n < 0:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{n}' at "
                            "'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value "
                            "greater than or equal to 0", 400, operation=op)
        if self.lab.account_concurrency - self.total_reserved(fn.name) - n < MIN_UNRESERVED:
            raise aws_error("InvalidParameterValueException",
                            "Specified ReservedConcurrentExecutions for function decreases account's "
                            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].", 400,
                            operation=op)
        provisioned = sum(c["RequestedProvisionedConcurrentExecutions"] for c in fn.provisioned_configs.values())
        if n < provisioned:
            raise aws_error("InvalidParameterValueException",
                            f"ReservedConcurrentExecutions {n} should not be lower than function's total "
                            f"provisioned concurrency [{provisioned}].", 400, operation=op)
        fn.reserved = n
        self.reserved_changed()
        return {"ReservedConcurrentExecutions": n}

    def get_function_concurrency(self, *, FunctionName) -> dict:
        fn = self.lab.control_plane.get(FunctionName, "GetFunctionConcurrency")
        return {} if fn.reserved is None else {"ReservedConcurrentExecutions": fn.reserved}

    def delete_function_concurrency(self, *, FunctionName) -> dict:
        fn = self.lab.control_plane.get(FunctionName, "DeleteFunctionConcurrency")
        fn.reserved = None
        self.reserved_changed()
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    def get_account_settings(self) -> dict:
        functions = self.lab.control_plane.functions.values()
        code_size = sum(fn.latest.config["CodeSize"] + sum(v.config["CodeSize"] for v in fn.versions.values())
                        for fn in functions)
        return {
            "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
                             "CodeSizeZipped": 52428800, "ConcurrentExecutions": self.lab.account_concurrency,
                             "UnreservedConcurrentExecutions": self.unreserved()},
            "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(self.lab.control_plane.functions)},
        }

    # --- provisioned ----------------------------------------------------------------------------------------
    def put_provisioned_concurrency_config(self, *, FunctionName, Qualifier, ProvisionedConcurrentExecutions):
        op = "PutProvisionedConcurrencyConfig"
        cp = self.lab.control_plane
        fn = cp.get(FunctionName, op)
        n = ProvisionedConcurrentExecutions
        if not isinstance(n, int) or n < 1:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{n}' at "
                            "'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value "
                            "greater than or equal to 1", 400, operation=op)
        if Qualifier == "$LATEST":
            raise aws_error("InvalidParameterValueException",
                            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
                            400, operation=op)
        if Qualifier in fn.aliases:
            alias = fn.aliases[Qualifier]
            if alias.function_version == "$LATEST":
                raise aws_error("InvalidParameterValueException",
                                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
                                400, operation=op)
            version = alias.function_version
        elif Qualifier in fn.versions:
            version = Qualifier
        else:
            raise cp.not_found(fn.name, Qualifier, op)
        snapstart.check_provisioned(fn.versions.get(version), op)
        other = sum(c["RequestedProvisionedConcurrentExecutions"] for q, c in fn.provisioned_configs.items()
                    if q != Qualifier)
        if fn.reserved is not None and other + n > fn.reserved:
            raise aws_error("InvalidParameterValueException",
                            f"Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution "
                            f"for function: {fn.reserved}", 400, operation=op)
        if fn.reserved is None and self.unreserved(skip=(fn.name, Qualifier)) - n < MIN_UNRESERVED:
            raise aws_error("InvalidParameterValueException",
                            "Specified ProvisionedConcurrentExecutions for function decreases account's "
                            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].", 400,
                            operation=op)
        return self.lab.provisioned.configure(fn, Qualifier, fn.versions[version], n)

    def get_provisioned_concurrency_config(self, *, FunctionName, Qualifier) -> dict:
        op = "GetProvisionedConcurrencyConfig"
        fn = self.lab.control_plane.get(FunctionName, op)
        config = fn.provisioned_configs.get(Qualifier)
        if config is None:
            raise aws_error("ProvisionedConcurrencyConfigNotFoundException",
                            "No Provisioned Concurrency Config found for this function", 404, operation=op)
        return {k: val for k, val in config.items() if not k.startswith("_")}

    def delete_provisioned_concurrency_config(self, *, FunctionName, Qualifier) -> dict:
        op = "DeleteProvisionedConcurrencyConfig"
        fn = self.lab.control_plane.get(FunctionName, op)
        if Qualifier not in fn.provisioned_configs:
            raise aws_error("ProvisionedConcurrencyConfigNotFoundException",
                            "No Provisioned Concurrency Config found for this function", 404, operation=op)
        self.lab.provisioned.remove(fn, Qualifier)
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}
