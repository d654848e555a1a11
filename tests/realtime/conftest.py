"""Helpers for the real-time tests: a real-clock lab and functions created in one batch (creation takes 1 s). One
plain HTTP request is tests/http_helpers.py's (the wire tests use it too)."""
from __future__ import annotations

import os

import pytest

import lambdalab as ll
from lambdalab.lab import DEFAULT_ROLE, handler_source, make_zip

CURL_BOOTSTRAP = r"""#!/bin/bash
# A custom runtime in bash + curl: the loop every provided.* runtime runs.
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
if [ "$MODE" = initerr ]; then
  curl -sS -X POST "$API/init/error" -H "Lambda-Runtime-Function-Error-Type: Runtime.BadConfig" \
       -d '{"errorMessage":"missing setting","errorType":"Runtime.BadConfig"}'
  exit 1
fi
echo "bootstrap ready in $MODE mode"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  RID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
  echo "got $RID"
  case "$MODE" in
    ok)    curl -sS -X POST "$API/invocation/$RID/response" -d "{\"echo\": $EVENT, \"pid\": $$}" ;;
    err)   curl -sS -X POST "$API/invocation/$RID/error" -H "Lambda-Runtime-Function-Error-Type: Function.Oops" \
                -d '{"errorMessage":"oops","errorType":"Function.Oops"}' ;;
    sleep) sleep 30 ;;
    crash) exit 7 ;;
  esac
done
"""

PY_OK = '''
import os
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    print("handling", context.aws_request_id)
    return {"event": event, "pid": os.getpid(), "count": COUNT,
            "remaining": context.get_remaining_time_in_millis(), "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
            "fn": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "cwd": os.getcwd(),
            "root": os.environ["LAMBDA_TASK_ROOT"]}
'''
PY_ERR = '''
def handler(event, context):
    raise ValueError("boom")
'''
PY_INITERR = '''
raise RuntimeError("broken at import")
def handler(event, context):
    return 1
'''
PY_SLEEP = '''
import os, time
def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"pid": os.getpid()}
'''
PY_CRASH = '''
import os
def handler(event, context):
    if event.get("crash"):
        os._exit(3)
    return {"pid": os.getpid()}
'''


def create_many(lab, specs: dict) -> None:
    """Create functions without waiting for each one: {name: (source or None, model dict, extra params)}."""
    def create_all():
        for name, (source, model, extra) in specs.items():
            files = {}
            if source is not None:
                text, handler_name, _ = handler_source(source)
                files["lambda_function.py"] = text
            files.update(extra.pop("files", {}))
            params = {"FunctionName": name, "Role": DEFAULT_ROLE.format(account=lab.account_id),
                      "Runtime": extra.pop("Runtime", "python3.12"), "Handler": "lambda_function.handler",
                      "Code": {"ZipFile": make_zip(files)}, "Timeout": extra.pop("Timeout", 3), **extra}
            lab.control_plane.create_function(_model=dict(model), **params)
    lab.realtime.driver.call(create_all)
    lab.wait_for(lambda: all(lab.control_plane.functions[n].latest.config["State"] == "Active" for n in specs),
                 limit=lab.now + 10)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                                   # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def real_lab():
    lab = ll.Lab(clock="real")
    yield lab
    lab.close()
