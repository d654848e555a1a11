"""Response streaming: InvokeWithResponseStream's event stream in virtual time, generator handlers, errors part-way,
the 6 MB full-speed allowance, and function URLs in RESPONSE_STREAM mode."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll

TICKER = '''
import time
def handler(event, context):
    for i in range(3):
        time.sleep(0.5)
        yield f"tick {i}\\n"
'''


@pytest.fixture
def lab():
    lab = ll.Lab(seed=6)
    lab.create_function("ticker", TICKER, timeout=10)
    return lab


def test_chunks_arrive_at_their_virtual_times(lab):
    lam = lab.client("lambda")
    lam.invoke(FunctionName="ticker")                       # warm it up: a cold start would add Init
    start = lab.now
    response = lam.invoke_with_response_stream(FunctionName="ticker", Payload=b"{}")
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert lab.now == start                                 # the headers come back before any chunk
    seen = [(round(lab.now - start, 3), event) for event in response["EventStream"]]
    assert seen[:3] == [(0.5, {"PayloadChunk": {"Payload": b"tick 0\n"}}),
                        (1.0, {"PayloadChunk": {"Payload": b"tick 1\n"}}),
                        (1.5, {"PayloadChunk": {"Payload": b"tick 2\n"}})]
    assert seen[3] == (1.5, {"InvokeComplete": {}})


def test_the_trace_shows_each_chunk_and_the_time_to_first_byte(lab):
    with lab.scene("streamed") as scene:
        for _ in lab.client("lambda").invoke_with_response_stream(FunctionName="ticker")["EventStream"]:
            pass
    streamed = [s for s in scene.steps if (s.component, s.action) == ("frontend", "stream")]
    assert len(streamed) == 3 and "time to first byte" in streamed[0].text
    assert streamed[0].detail["ttfb_ms"] == pytest.approx((streamed[0].t - scene.steps[0].t) * 1000)
    assert [s.t for s in streamed] == sorted(s.t for s in streamed) and streamed[0].t < streamed[-1].t
    assert len([s for s in scene.steps if (s.component, s.action) == ("runtime_api", "stream")]) == 3
    assert scene.steps[-1].action == "stream_end"


def test_a_plain_invoke_of_a_streaming_handler_gets_the_chunks_joined(lab):
    payload = lab.client("lambda").invoke(FunctionName="ticker")["Payload"].read()
    assert payload == b"tick 0\ntick 1\ntick 2\n"


def test_an_error_part_way_ends_the_stream_with_invoke_complete_error(lab):
    lab.create_function("half", "def handler(event, context):\n    yield 'first'\n    raise ValueError('half done')\n")
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="half")["EventStream"])
    assert events[0] == {"PayloadChunk": {"Payload": b"first"}}
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "ValueError" and json.loads(complete["ErrorDetails"])["errorMessage"] == \
        "half done"


def test_a_timeout_part_way_keeps_what_was_sent(lab):
    lab.create_function("slow", "import time\ndef handler(event, context):\n    yield 'a'\n    time.sleep(5)\n"
                                "    yield 'b'\n", timeout=1)
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="slow")["EventStream"])
    assert events[0] == {"PayloadChunk": {"Payload": b"a"}}
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timedout"


def test_a_non_streaming_handler_streams_its_result_as_one_chunk(lab):
    lab.create_function("plain", "def handler(event, context):\n    return {'ok': True}\n")
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="plain")["EventStream"])
    assert events == [{"PayloadChunk": {"Payload": b'{"ok": true}'}}, {"InvokeComplete": {}}]


def test_past_6_mb_the_stream_slows_to_2_mb_per_second(lab):
    lab.create_function("big", "def handler(event, context):\n    for _ in range(10):\n"
                               "        yield b'x' * (1024 * 1024)\n", memory=1024, timeout=30)
    lam = lab.client("lambda")
    lam.invoke(FunctionName="big")
    start = lab.now
    times = [lab.now - start for event in lam.invoke_with_response_stream(FunctionName="big")["EventStream"]
             if "PayloadChunk" in event]
    assert len(times) == 10 and times[5] == 0.0           # the first 6 MB at full speed (handler takes no time)
    assert times[6:] == pytest.approx([0.5, 1.0, 1.5, 2.0])   # then 1 MB every half second


def test_bad_chunks_and_invocation_types_are_refused(lab):
    lab.create_function("numbers", "def handler(event, context):\n    yield 1\n")
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="numbers")["EventStream"])
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Runtime.MarshalError"
    with pytest.raises(ll.ClientError) as caught:
        lab.client("lambda").invoke_with_response_stream(FunctionName="ticker", InvocationType="Event")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(lab.client("lambda").exceptions.ResourceNotFoundException):
        lab.client("lambda").invoke_with_response_stream(FunctionName="nope")


def test_a_throttled_stream_raises_at_once(lab):
    lam = lab.client("lambda")
    lam.put_function_concurrency(FunctionName="ticker", ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke_with_response_stream(FunctionName="ticker")


def test_a_response_stream_url_sends_the_prelude_and_the_chunks(lab):
    lab.create_function("page", '''
import time
def handler(event, context):
    yield {"statusCode": 201, "headers": {"content-type": "text/html"}}
    yield "<p>one</p>"
    time.sleep(1)
    yield "<p>two</p>"
''', timeout=5)
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName="page", AuthType="NONE",
                                         InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    lam.add_permission(FunctionName="page", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    response = lab.http("GET", url)
    assert response["status"] == 201 and response["headers"]["content-type"] == "text/html"
    assert response["body"] == b"<p>one</p><p>two</p>"
    sent = [(round(t, 3), data) for t, data in response["chunks"][1:]]
    assert sent[1][0] - sent[0][0] == pytest.approx(1.0) and sent[1][1] == b"<p>two</p>"


def test_a_buffered_url_sends_a_streaming_handlers_prelude_and_whole_body_at_the_end(lab):
    lab.create_function("page", '''
import time
def handler(event, context):
    yield {"statusCode": 202, "headers": {"content-type": "text/plain", "x-kind": "report"}}
    yield "one;"
    time.sleep(1)
    yield "two;"
''', timeout=5)
    lam = lab.client("lambda")
    url = lam.create_function_url_config(FunctionName="page", AuthType="NONE")["FunctionUrl"]
    lam.add_permission(FunctionName="page", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    lab.http("GET", url)                                     # warm
    start = lab.now
    response = lab.http("GET", url)
    assert (response["status"], response["headers"]["x-kind"], response["body"]) == (202, "report", b"one;two;")
    assert "chunks" not in response and lab.now - start == pytest.approx(1.0, abs=0.05)


def test_an_endless_stream_is_cut_at_200_mb_and_its_generator_closed(lab):
    # Without the cut, the generator ran until the wall-clock guard, holding millions of chunks (GBs).
    lab.create_function("endless", '''
def handler(event, context):
    chunk = b"x" * (8 << 20)
    try:
        while True:
            yield chunk
    finally:
        print("generator closed")
''', memory=1024, timeout=300)
    events = list(lab.client("lambda").invoke_with_response_stream(FunctionName="endless")["EventStream"])
    assert sum(len(e["PayloadChunk"]["Payload"]) for e in events[:-1]) == 200 * 1024 * 1024
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Function.ResponseSizeTooLarge"
    assert "generator closed" in lab.logs("endless")
