"""The dispatcher's own promises: one place per operation, every route found from the model, a README that says
what is served."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

import lambdalab as ll
from lambdalab.wire import models


def test_each_lambda_operation_lives_on_one_component():
    lab = ll.Lab(seed=0)
    model = models.service_model("lambda")
    for op in model.operation_names:
        owners = [type(b).__name__ for b in lab.backends("lambda") if callable(getattr(b, models.xform_name(op), None))]
        assert len(owners) <= 1, f"{op} is implemented by {owners}"


@pytest.mark.parametrize("service", ["lambda", "s3"])
def test_every_rest_operation_is_found_from_its_own_template(service):
    index = models.index(service)
    model = index.model
    for name in model.operation_names:
        op = model.operation_model(name)
        path, _, query = op.http["requestUri"].partition("?")
        path = path.replace("{Key+}", "some/key").replace("+}", "}")
        for label in [p.split("}")[0] for p in path.split("{")[1:]]:
            path = path.replace("{" + label + "}", f"x{label.lower()}")
        headers, params = {}, dict(p.partition("=")[::2] for p in query.split("&") if p)
        shape = op.input_shape
        for member in (shape.required_members if shape is not None else ()):
            where = shape.members[member].serialization.get("location")
            wire = shape.members[member].serialization.get("name", member)
            if where == "header":
                headers[wire.lower()] = "1"
            elif where == "querystring":
                params[wire] = "1"
        query = "&".join(f"{k}={v}" if v else k for k, v in params.items())
        found = [m[0].name for m in index.matches(op.http["method"], path, query, headers)]
        assert name in found, f"{name}: {op.http['method']} {path}?{query} found {found}"
        if service == "lambda":         # no two Lambda operations share a route (S3 has twins: the served one wins)
            assert found[0] == name or op.deprecated, f"{name} comes after {found[:found.index(name)]}"


def test_every_operation_the_lab_implements_is_served(repo_root):
    """A method named like a boto3 operation anywhere in the package (layers, URLs, policies, recursion...) is
    reachable through lab.client and lab.serve(): a component that implements one and is not registered as a
    backend would show up here."""
    lab = ll.Lab(seed=0)
    services = ["lambda", "sqs", "kinesis", "s3", "sns"]
    assert sorted(lab.services()) == sorted(services)
    operations = {}
    for service in services:
        for op in models.service_model(service).operation_names:
            operations.setdefault(models.xform_name(op), set()).add(service)
    served = {(service, models.xform_name(op)) for service in services for op in lab.dispatcher.served(service)}
    unserved = set()
    for path in (repo_root / "lambdalab").rglob("*.py"):
        for name in re.findall(r"^\s*def (\w+)\(self", path.read_text(encoding="utf-8"), re.MULTILINE):
            if name in operations and not any((service, name) in served for service in operations[name]):
                unserved.add(f"{path.relative_to(repo_root)}: {name}")
    assert not unserved, sorted(unserved)
    assert len(served) > 90


def test_readme_lists_exactly_what_is_served(repo_root):
    done = subprocess.run([sys.executable, "scripts/served_operations.py", "--check"], cwd=repo_root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unknown_service_is_refused_with_the_names_that_exist():
    lab = ll.Lab(seed=0)
    with pytest.raises(ValueError, match="Unknown service: 'dynamodb'. Valid service names are: lambda"):
        lab.client("dynamodb")
    assert lab.client("lambda") is lab.client("lambda")          # made once per lab
