"""Checks for labs/09_event_driven_patterns.ipynb: a fan-out's invocations, S3 key filters, a streamed response's
first line, and a recursive loop's rounds.

The streaming exercise is checked against the engine: ``reference_first_line_ms()`` runs ``STREAM_CODE`` (the
exact text the notebook shows) in a fresh namespace, so the check follows the model if its numbers change.
"""
from __future__ import annotations

import functools

from . import register

#: The streamed report of section 3 (the notebook's generator embeds this exact text).
STREAM_CODE = '''\
REPORT = r"""
import time

def handler(event, context):
    yield {"statusCode": 200, "headers": {"content-type": "text/plain"}}   # the prelude: status and headers
    for month in ("Jan", "Feb", "Mar", "Apr"):
        time.sleep(0.25)                     # a quarter of a second to compute each month
        yield f"{month}: ok\\n"
"""

urls = {}
for name, mode in (("report", "BUFFERED"), ("report-live", "RESPONSE_STREAM")):
    lab.create_function(name, REPORT, timeout=10)
    urls[name] = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode=mode)["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="public-url", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")
    lab.http("GET", urls[name])              # a first request, so the ones below find a warm environment
'''

#: Which keys of section 2's list the notification (prefix ``incoming/``, suffix ``.csv``) fires for.
KEYS = ["incoming/sales.csv", "incoming/sales.CSV", "incoming/2026/jan.csv", "processed/sales.csv",
        "incoming/notes.txt", "Incoming/feb.csv"]
TRIGGERING = {"incoming/sales.csv", "incoming/2026/jan.csv"}


@functools.lru_cache(maxsize=1)
def reference_first_line_ms() -> float:
    """Milliseconds from a warm request to the streamed report's first line of data, replayed afresh."""
    import lambdalab as ll

    lab = ll.Lab(seed=0)
    namespace = {"ll": ll, "lab": lab, "lam": lab.client("lambda")}
    exec(STREAM_CODE, namespace)   # noqa: S102 - our own constant, the same text the lab shows
    response = lab.http("GET", namespace["urls"]["report-live"])
    return response["chunks"][1][0] * 1000


# -- 1. one publish, how many invocations ---------------------------------------------------------------------

def _fanout_hint(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "give a whole number."
    if n == 1:
        return "billing ran once, but the topic has a second subscriber. What reads the shipping queue?"
    if n == 3:
        return "count only what the *second* publish caused: the first one reached the shipping queue alone."
    return "compare lab.stats('billing') and lab.stats('shipping') before and after the second publish."


register(
    "lab09.fanout_invocations",
    verify=lambda v: int(v) == 2 and not isinstance(v, bool),
    hint=_fanout_hint,
    right=[2, "2"],
    wrong=[1, 3, 0],
    explain="SNS pushed one copy to each subscription: an asynchronous invoke of billing, and a message on the "
            "shipping queue, which the event source mapping then handed to shipping. One message, two functions, "
            "and neither knows about the other.",
)


# -- 2. which keys fire the notification -------------------------------------------------------------------------

def _keys(value) -> set:
    if isinstance(value, str):
        raise TypeError("a list of keys, not one string")
    return {str(k) for k in value}


def _keys_hint(value) -> str:
    try:
        given = _keys(value)
    except TypeError:
        return "give a list (or set) of keys, e.g. ['incoming/a.csv']."
    if given - set(KEYS):
        return "pick keys from the list in the exercise only."
    if "incoming/sales.CSV" in given or "Incoming/feb.csv" in given:
        return "S3's prefix and suffix rules compare the key exactly: upper and lower case differ."
    if "incoming/2026/jan.csv" not in given:
        return "a prefix rule is 'starts with': a key in a 'subfolder' of incoming/ still starts with incoming/."
    return "a key must start with the prefix *and* end with the suffix."


register(
    "lab09.s3_keys",
    verify=lambda v: _keys(v) == TRIGGERING,
    hint=_keys_hint,
    right=[["incoming/sales.csv", "incoming/2026/jan.csv"], {"incoming/2026/jan.csv", "incoming/sales.csv"}],
    wrong=[["incoming/sales.csv"], ["incoming/sales.csv", "incoming/sales.CSV", "incoming/2026/jan.csv"],
           "incoming/sales.csv"],
    explain="S3 keys are flat names: 'folders' are only a prefix, so incoming/2026/jan.csv starts with incoming/; "
            "and the filters are case-sensitive, so .CSV and Incoming/ do not match.",
)


# -- 3. the streamed report's first line -------------------------------------------------------------------------

def _near(value, target: float, tolerance: float = 0.05) -> bool:
    return abs(float(value) - target) <= max(1.0, abs(target) * tolerance)


def _stream_hint(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "give a number of milliseconds."
    ref = reference_first_line_ms()
    if v < 1:
        return "the first *chunk* (the prelude with status and headers) comes at once; the question is the first " \
               "line of data, the next chunk. (And give milliseconds, not seconds.)"
    if v > ref * 2:
        return "that is when the whole body arrives, as with the buffered URL. Look at response['chunks'] of the " \
               "streamed one."
    return "read the time of the first chunk after the prelude in response['chunks'] (seconds: times 1000)."


register(
    "lab09.first_line_ms",
    verify=lambda v: _near(v, reference_first_line_ms()),
    hint=_stream_hint,
    right=[250, 250.0, "250"],
    wrong=[0, 1000, 0.25],
    explain="with RESPONSE_STREAM the first line leaves as soon as the handler yields it, a quarter of a second "
            "in; the buffered URL sends nothing until the handler is done, a whole second in. Same work, same "
            "cost: only the time to first byte changes.",
)


# -- 4. the recursive loop's rounds --------------------------------------------------------------------------------

def _loop_hint(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "give a whole number."
    if n == 17:
        return "17 objects were written and 17 events sent, but was the last one invoked? Look at the metric."
    if n > 17:
        return "Lambda does not let it run forever. Count the START lines in lab.logs('thumbnailer')."
    return "count the invocations: lab.stats('thumbnailer')['invocations']."


register(
    "lab09.loop_runs",
    verify=lambda v: int(v) == 16 and not isinstance(v, bool),
    hint=_loop_hint,
    right=[16, "16"],
    wrong=[17, 1, 100],
    explain="the trace header's Lineage count reached 16 for thumbnailer; the 17th event of the same chain was "
            "not invoked (RecursiveInvocationsDropped 1) and its record went to the on-failure destination.",
)

