"""One test, two doors: the same boto3 code against ``lab.client(service)`` (botocore answered in process, in
virtual time) and against ``boto3.client(service, endpoint_url=lab.serve())`` (real HTTP, real time)."""
from __future__ import annotations

import itertools

import boto3
import botocore.config
import pytest

import lambdalab as ll
from lambdalab.lab import DEFAULT_ROLE, make_zip

ROLE = DEFAULT_ROLE.format(account="123456789012")
SOURCE = "def handler(event, context):\n    return {'got': event}\n"
_names = itertools.count()


class Door:
    """A lab and a way to get an AWS client for it (``door.client("lambda")``)."""

    def __init__(self, kind: str, lab, url: str | None = None) -> None:
        self.kind, self.lab, self.url = kind, lab, url

    def client(self, service: str):
        if self.url is None:
            return self.lab.client(service)
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="learner",
                            aws_secret_access_key="secret",
                            config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=30))

    def name(self, prefix: str = "fn") -> str:
        """A function/queue name no other test of this module's lab has used."""
        return f"{prefix}-{next(_names)}"

    def create(self, lam, name: str, **params) -> dict:
        """CreateFunction with a small Python handler, then wait (botocore's waiter) until it is Active."""
        request = {"FunctionName": name, "Role": ROLE, "Runtime": "python3.12", "Handler": "lambda_function.handler",
                   "Code": {"ZipFile": make_zip({"lambda_function.py": SOURCE})}, **params}
        out = lam.create_function(**request)
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2}
                                                  if self.url else {})
        return out


@pytest.fixture(scope="module", params=["in-process", "http"])
def door(request):
    if request.param == "in-process":
        yield Door("in-process", ll.Lab(seed=0))
        return
    lab = ll.Lab(clock="real")
    try:
        yield Door("http", lab, lab.serve())
    finally:
        lab.close()
