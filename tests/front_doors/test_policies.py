"""Resource-based policies as a user sees them: AddPermission's 201 statement, GetPolicy, RemovePermission, errors."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll


@pytest.fixture
def lab():
    lab = ll.Lab(seed=1)
    lab.create_function("target", "def handler(event, context):\n    return 'ok'\n")
    return lab


def add(lab, sid="s3", **params):
    params = {"FunctionName": "target", "StatementId": sid, "Action": "lambda:InvokeFunction",
              "Principal": "s3.amazonaws.com", **params}
    return lab.client("lambda").add_permission(**params)


def test_add_permission_answers_201_with_the_statement_as_aws_writes_it(lab):
    response = add(lab, SourceArn="arn:aws:s3:::photos", SourceAccount="123456789012")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(response["Statement"]) == {
        "Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:target",
        "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"},
                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::photos"}}}


def test_get_policy_returns_the_document_and_a_revision_that_changes_with_it(lab):
    lam = lab.client("lambda")
    add(lab, "one")
    first = lam.get_policy(FunctionName="target")
    add(lab, "two", Principal="*", Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE")
    second = lam.get_policy(FunctionName="target")
    document = json.loads(second["Policy"])
    assert document["Version"] == "2012-10-17" and document["Id"] == "default"
    assert [s["Sid"] for s in document["Statement"]] == ["one", "two"]
    assert document["Statement"][1]["Principal"] == "*"
    assert document["Statement"][1]["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert first["RevisionId"] != second["RevisionId"]


def test_account_principal_and_qualified_resource(lab):
    lam = lab.client("lambda")
    lam.publish_version(FunctionName="target")
    lam.create_alias(FunctionName="target", Name="live", FunctionVersion="1")
    statement = json.loads(add(lab, "acct", Principal="210987654321", Qualifier="live")["Statement"])
    assert statement["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert statement["Resource"].endswith(":function:target:live")
    # the alias has its own policy: the unqualified function still has none
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName="target")
    assert json.loads(lam.get_policy(FunctionName="target", Qualifier="live")["Policy"])["Statement"][0]["Sid"] == \
        "acct"


def test_get_policy_without_a_policy_is_resource_not_found(lab):
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as caught:
        lam.get_policy(FunctionName="target")
    assert caught.value.response["Error"]["Message"] == "The resource you requested does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_duplicate_statement_id_is_a_conflict_and_changes_nothing(lab):
    lam = lab.client("lambda")
    add(lab)
    before = lam.get_policy(FunctionName="target")
    with pytest.raises(lam.exceptions.ResourceConflictException) as caught:
        add(lab, Principal="sns.amazonaws.com")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert "The statement id (s3) provided already exists" in caught.value.response["Error"]["Message"]
    after = lam.get_policy(FunctionName="target")
    assert (after["Policy"], after["RevisionId"]) == (before["Policy"], before["RevisionId"])


def test_the_policy_may_not_grow_past_20_kb(lab):
    lam = lab.client("lambda")
    long_arn = "arn:aws:s3:::" + "b" * 3000
    n = 0
    with pytest.raises(lam.exceptions.PolicyLengthExceededException) as caught:
        while True:
            add(lab, f"s{n}", SourceArn=long_arn)
            n += 1
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("The final policy size (") and message.endswith("is bigger than the limit (20480).")
    assert len(lam.get_policy(FunctionName="target")["Policy"]) <= 20480
    assert len(json.loads(lam.get_policy(FunctionName="target")["Policy"])["Statement"]) == n


@pytest.mark.parametrize("params, code", [
    ({"StatementId": "has space"}, "ValidationException"),
    ({"Action": "invoke"}, "ValidationException"),
    ({"Principal": "not a principal"}, "ValidationException"),
    ({"Principal": "someone"}, "InvalidParameterValueException"),
    ({"SourceArn": "photos"}, "ValidationException"),
    ({"FunctionUrlAuthType": "OPEN"}, "ValidationException"),
])
def test_malformed_permissions_get_aws_errors_and_store_nothing(lab, params, code):
    lam = lab.client("lambda")
    with pytest.raises(ll.ClientError) as caught:
        add(lab, **params)
    assert caught.value.response["Error"]["Code"] == code
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName="target")


def test_remove_permission_takes_one_statement_and_the_last_one_takes_the_policy(lab):
    lam = lab.client("lambda")
    add(lab, "one")
    add(lab, "two")
    assert lam.remove_permission(FunctionName="target", StatementId="one")["ResponseMetadata"][
        "HTTPStatusCode"] == 204
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName="target")["Policy"])["Statement"]] == ["two"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as caught:
        lam.remove_permission(FunctionName="target", StatementId="one")
    assert caught.value.response["Error"]["Message"] == "Statement one is not found in resource policy."
    lam.remove_permission(FunctionName="target", StatementId="two")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName="target")


def test_a_stale_revision_id_is_refused(lab):
    lam = lab.client("lambda")
    add(lab, "one")
    old = lam.get_policy(FunctionName="target")["RevisionId"]
    add(lab, "two")
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        add(lab, "three", RevisionId=old)
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.remove_permission(FunctionName="target", StatementId="one", RevisionId=old)
    assert len(json.loads(lam.get_policy(FunctionName="target")["Policy"])["Statement"]) == 2


def test_unknown_function_is_not_found(lab):
    lam = lab.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.add_permission(FunctionName="nope", StatementId="x", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com")


def test_a_deleted_and_recreated_function_starts_without_a_policy(lab):
    lam = lab.client("lambda")
    add(lab)
    lam.delete_function(FunctionName="target")
    lab.create_function("target", "def handler(event, context):\n    return 1\n")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName="target")


def test_allows_matches_principal_action_and_conditions(lab):
    fn = lab.control_plane.functions["target"]
    add(lab, "s3", SourceArn="arn:aws:s3:::photos-*")
    add(lab, "url", Principal="*", Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE")
    allows = lab.policies.allows
    assert allows(fn, None, "s3.amazonaws.com", source_arn="arn:aws:s3:::photos-2026")
    assert not allows(fn, None, "s3.amazonaws.com", source_arn="arn:aws:s3:::videos")
    assert not allows(fn, None, "sns.amazonaws.com", source_arn="arn:aws:s3:::photos-2026")
    assert allows(fn, None, "*", "lambda:InvokeFunctionUrl", url_auth_type="NONE")
    assert not allows(fn, None, "*", "lambda:InvokeFunctionUrl", url_auth_type="AWS_IAM")
    assert not allows(fn, None, "*", "lambda:InvokeFunction")
