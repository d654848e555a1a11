"""The Runtime API's protocol rules (REFERENCE.md §5), without HTTP: states, status codes, error bodies."""
from __future__ import annotations

import json

from lambdalab.sandbox.runtime_api import MAX_RESPONSE_BYTES, RuntimeAPI, RuntimeInvocation


def make():
    seen = []
    api = RuntimeAPI(lambda: seen.append("next"), lambda inv, body: seen.append(("response", inv.request_id, body)),
                     lambda inv, body, t: seen.append(("error", inv.request_id, t)),
                     lambda body, t: seen.append(("init_error", t)))
    return api, seen


def inv(rid="r-1"):
    return RuntimeInvocation(rid, b'{"k": 1}', 1767225603000, "arn:aws:lambda:us-east-1:1:function:f", "Root=1-x")


def error_type(result):
    return json.loads(result[1])["errorType"]


def test_started_ready_running_response_sent_and_back_to_ready():
    api, seen = make()
    assert api.state == "Started"
    assert api.next() is None and api.state == "Ready" and seen == ["next"]
    api.deliver(inv())
    got = api.next()
    assert got.request_id == "r-1" and api.state == "Running"
    assert got.headers()["Content-Type"] == "application/json"
    assert api.post_response("r-1", b'"ok"')[0] == 202 and api.state == "ResponseSent"
    assert seen[-1] == ("response", "r-1", b'"ok"')
    assert api.next() is None and api.state == "Ready"


def test_wrong_request_id_is_400_and_a_second_answer_is_403():
    api, _ = make()
    api.next()
    api.deliver(inv())
    api.next()
    bad = api.post_response("nope", b"1")
    assert bad[0] == 400 and error_type(bad) == "InvalidRequestID"
    assert api.post_error("r-1", b"{}", "Function.Oops")[0] == 202 and api.state == "ErrorSent"
    again = api.post_response("r-1", b"1")
    assert again[0] == 403 and error_type(again) == "InvalidStateTransition"


def test_init_error_only_while_starting():
    api, seen = make()
    assert api.post_init_error(b"{}", "Runtime.ImportModuleError")[0] == 202
    assert api.state == "InitError" and seen == [("init_error", "Runtime.ImportModuleError")]
    api2, _ = make()
    api2.next()
    late = api2.post_init_error(b"{}")
    assert late[0] == 403 and error_type(late) == "InvalidStateTransition"


def test_oversized_response_is_413_and_the_invoke_stays_open():
    api, _ = make()
    api.next()
    api.deliver(inv())
    api.next()
    big = api.post_response("r-1", b"x" * (MAX_RESPONSE_BYTES + 1))
    assert big[0] == 413 and error_type(big) == "RequestEntityTooLarge"
    assert api.state == "Running"


def test_error_without_type_header_is_runtime_unknown():
    api, seen = make()
    api.next()
    api.deliver(inv())
    api.next()
    api.post_error("r-1", b"{}")
    assert seen[-1] == ("error", "r-1", "Runtime.Unknown")


def test_reset_puts_a_fresh_runtime_back_to_started():
    api, _ = make()
    api.next()
    api.deliver(inv())
    api.next()
    api.reset()
    assert api.state == "Started" and api.current is None and api.pending is None
