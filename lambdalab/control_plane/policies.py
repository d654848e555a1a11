"""Resource-based policies: who, other than the function's own account, may invoke a function.

In AWS a function (and each of its versions and aliases) can carry one resource-based policy: a JSON document
whose statements each allow a principal (an AWS service such as ``s3.amazonaws.com``, another account, or
``*``) to call an action on it, optionally only for a given source (``AWS:SourceArn``, ``AWS:SourceAccount``)
or a given function URL auth type. ``AddPermission`` appends one statement (201, the statement as a JSON
string), ``RemovePermission`` takes one out (204; the policy goes with its last statement), ``GetPolicy`` reads
the whole document and its ``RevisionId``. The document may not grow past 20 KB. Services check it when they
invoke: S3 refuses a notification configuration that names a function it may not invoke, SNS cannot deliver,
and a function URL with ``AuthType: NONE`` answers 403 without a statement for ``*``.

What we simplify: callers in the lab's own account are allowed by IAM, which we do not model, so the policy is
only asked when a service or a function URL invokes. A policy applies to the resource it was added to: the
unqualified function's policy for unqualified invokes, a version's or alias's own policy for invokes of that
qualifier. Conditions understood: ``ArnLike`` on ``AWS:SourceArn`` (with ``*`` and ``?``), ``StringEquals`` on
``AWS:SourceAccount`` and ``lambda:FunctionUrlAuthType``; a statement with any other condition
(``PrincipalOrgID``, ``EventSourceToken``) matches no caller of the lab.
"""
from __future__ import annotations

import fnmatch
import json
import re

from .errors import aws_error

__all__ = ["Policies", "Policy", "MAX_POLICY_BYTES"]

MAX_POLICY_BYTES = 20 * 1024
STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,100}$")
ACTION = re.compile(r"^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")
SOURCE_ARN = re.compile(r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?"
                        r":(\d{12})?:(.*)$")
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
IAM_PRINCIPAL = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:(root|user/.+|role/.+)$")
AUTH_TYPES = ("NONE", "AWS_IAM")


class Policy:
    """The statements on one resource (a function, or one of its versions or aliases)."""

    __slots__ = ("statements", "revision_id")

    def __init__(self) -> None:
        self.statements: list[dict] = []
        self.revision_id = ""

    def document(self, statements: list[dict] | None = None) -> str:
        return json.dumps({"Version": "2012-10-17", "Id": "default",
                           "Statement": self.statements if statements is None else statements},
                          separators=(",", ":"))


def _invalid(value, field: str, constraint: str, op: str):
    return aws_error("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' failed to "
                     f"satisfy constraint: {constraint}", 400, operation=op)


def _pattern(value, regex: re.Pattern, field: str, shown: str, op: str) -> None:
    if not isinstance(value, str) or not regex.match(value):
        raise _invalid(value, field, f"Member must satisfy regular expression pattern: {shown}", op)


def principal_json(principal: str, op: str):
    """How a statement names the principal AddPermission was given."""
    if principal == "*":
        return "*"
    if SERVICE_PRINCIPAL.match(principal):
        return {"Service": principal}
    if re.fullmatch(r"\d{12}", principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if IAM_PRINCIPAL.match(principal):
        return {"AWS": principal}
    raise aws_error("InvalidParameterValueException",
                    "The provided principal was invalid. Please check the principal and try again.", 400,
                    operation=op)


class Policies:
    """``lab.policies``: AddPermission, RemovePermission, GetPolicy, and ``allows`` for the services."""

    def __init__(self, lab) -> None:
        self.lab = lab
        # (Function, qualifier or None) -> Policy; a deleted function's entries never match a new one
        self._policies: dict[tuple, Policy] = {}

    def _resource(self, FunctionName, Qualifier, op: str):
        fn, qualifier, _ = self.lab.control_plane.resolve(FunctionName, Qualifier, op)
        qualifier = None if qualifier in (None, "$LATEST") else qualifier
        return fn, qualifier, f"{fn.arn}:{qualifier}" if qualifier else fn.arn

    # --- the Lambda API -------------------------------------------------------------------------------------
    def add_permission(self, *, FunctionName, StatementId, Action, Principal, SourceArn=None, SourceAccount=None,
                       EventSourceToken=None, Qualifier=None, RevisionId=None, PrincipalOrgID=None,
                       FunctionUrlAuthType=None, InvokedViaFunctionUrl=None) -> dict:
        op = "AddPermission"
        fn, qualifier, resource = self._resource(FunctionName, Qualifier, op)
        _pattern(StatementId, STATEMENT_ID, "statementId", "([a-zA-Z0-9-_]+)", op)
        _pattern(Action, ACTION, "action", "(lambda:[*]|lambda:[a-zA-Z]+|[*])", op)
        if not isinstance(Principal, str) or not Principal or any(c.isspace() for c in Principal):
            raise _invalid(Principal, "principal", r"Member must satisfy regular expression pattern: [^\s]+", op)
        if SourceArn is not None:
            _pattern(SourceArn, SOURCE_ARN, "sourceArn", r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|"
                     r"(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)", op)
        if SourceAccount is not None:
            _pattern(SourceAccount, re.compile(r"^\d{12}$"), "sourceAccount", r"\d{12}", op)
        if FunctionUrlAuthType is not None and FunctionUrlAuthType not in AUTH_TYPES:
            raise _invalid(FunctionUrlAuthType, "functionUrlAuthType",
                           "Member must satisfy enum value set: [NONE, AWS_IAM]", op)
        statement = {"Sid": StatementId, "Effect": "Allow", "Principal": principal_json(Principal, op),
                     "Action": Action, "Resource": resource}
        equals = {}
        if SourceAccount is not None:
            equals["AWS:SourceAccount"] = SourceAccount
        if FunctionUrlAuthType is not None:
            equals["lambda:FunctionUrlAuthType"] = FunctionUrlAuthType
        if EventSourceToken is not None:
            equals["lambda:EventSourceToken"] = EventSourceToken
        if PrincipalOrgID is not None:
            equals["aws:PrincipalOrgID"] = PrincipalOrgID
        condition = {}
        if equals:
            condition["StringEquals"] = equals
        if SourceArn is not None:
            condition["ArnLike"] = {"AWS:SourceArn": SourceArn}
        if InvokedViaFunctionUrl:
            condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
        if condition:
            statement["Condition"] = condition
        policy = self._policies.get((fn, qualifier)) or Policy()
        self._check_revision(policy, RevisionId, op)
        if any(s["Sid"] == StatementId for s in policy.statements):
            raise aws_error("ResourceConflictException", f"The statement id ({StatementId}) provided already "
                            "exists. Please provide a new statement id, or remove the existing statement.", 409,
                            operation=op)
        size = len(policy.document(policy.statements + [statement]))
        if size > MAX_POLICY_BYTES:
            raise aws_error("PolicyLengthExceededException", f"The final policy size ({size}) is bigger than the "
                            f"limit ({MAX_POLICY_BYTES}).", 400, operation=op)
        policy.statements.append(statement)
        policy.revision_id = self.lab.control_ids.uuid()
        self._policies[(fn, qualifier)] = policy
        return {"Statement": json.dumps(statement, separators=(",", ":"))}

    def remove_permission(self, *, FunctionName, StatementId, Qualifier=None, RevisionId=None) -> dict:
        op = "RemovePermission"
        fn, qualifier, policy = self._existing(FunctionName, Qualifier, op)
        self._check_revision(policy, RevisionId, op)
        kept = [s for s in policy.statements if s["Sid"] != StatementId]
        if len(kept) == len(policy.statements):
            raise aws_error("ResourceNotFoundException", f"Statement {StatementId} is not found in resource "
                            "policy.", 404, operation=op)
        if kept:
            policy.statements = kept
            policy.revision_id = self.lab.control_ids.uuid()
        else:
            del self._policies[(fn, qualifier)]
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    def get_policy(self, *, FunctionName, Qualifier=None) -> dict:
        _, _, policy = self._existing(FunctionName, Qualifier, "GetPolicy")
        return {"Policy": policy.document(), "RevisionId": policy.revision_id}

    def _existing(self, name, qualifier, op: str):
        """(function, qualifier, its policy); ResourceNotFoundException when it has none."""
        fn, qualifier, _ = self._resource(name, qualifier, op)
        policy = self._policies.get((fn, qualifier))
        if policy is None:
            raise aws_error("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                            operation=op)
        return fn, qualifier, policy

    @staticmethod
    def _check_revision(policy: Policy, revision_id, op: str) -> None:
        if revision_id is not None and revision_id != policy.revision_id:
            raise aws_error("PreconditionFailedException", "The Revision Id provided does not match the latest "
                            "Revision Id. Call the GetPolicy API to retrieve the latest Revision Id", 412,
                            operation=op)

    # --- what the services ask ------------------------------------------------------------------------------
    def allows(self, fn, qualifier: str | None, principal: str, action: str = "lambda:InvokeFunction", *,
               source_arn: str | None = None, source_account: str | None = None,
               url_auth_type: str | None = None) -> bool:
        """May ``principal`` (a service principal, or ``*`` for anyone) call ``action`` on this resource?
        ``url_auth_type`` is given for a request that came in through a function URL."""
        qualifier = None if qualifier in (None, "$LATEST") else qualifier
        policy = self._policies.get((fn, qualifier))
        if policy is None:
            return False
        context = {"AWS:SourceArn": source_arn, "AWS:SourceAccount": source_account,
                   "lambda:FunctionUrlAuthType": url_auth_type,
                   "lambda:InvokedViaFunctionUrl": "true" if url_auth_type else "false"}
        return any(_principal_matches(s["Principal"], principal) and _action_matches(s["Action"], action)
                   and _conditions_hold(s.get("Condition") or {}, context) for s in policy.statements)

    def statistics(self) -> dict:
        return {f"{fn.name}:{q}" if q else fn.name: len(p.statements) for (fn, q), p in self._policies.items()
                if self.lab.control_plane.functions.get(fn.name) is fn}


def _principal_matches(granted, principal: str) -> bool:
    if granted == "*":
        return True
    if isinstance(granted, dict):
        return granted.get("Service") == principal or (principal == "*" and granted.get("AWS") == "*")
    return False


def _action_matches(granted: str, action: str) -> bool:
    return granted in ("*", "lambda:*", action)


def _conditions_hold(condition: dict, context: dict) -> bool:
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "ArnLike" and not fnmatch.fnmatchcase(actual, expected):
                return False
            if operator in ("StringEquals", "Bool") and actual != expected:
                return False
            if operator not in ("ArnLike", "StringEquals", "Bool"):
                return False
    return True
