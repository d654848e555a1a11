"""Checks for labs/03_asynchronous_invocations.ipynb: who invokes, how often, event age, a throttled burst.

The burst exercise is checked against the engine: ``reference()`` runs ``BURST_CODE`` (the exact text the
notebook shows) in a fresh namespace and reads the async component's statistics, so the check follows the
model if its numbers change.
"""
from __future__ import annotations

import functools

from . import register, words

#: The throttled-burst scenario of section 4 (the notebook's generator embeds this exact text).
BURST_CODE = '''\
import json

RESIZE = """
import lambdalab as ll

def handler(event, context):
    ll.sleep(2)                     # two seconds of work per photo
    return {"resized": event["photo"]}
"""

burst = ll.Lab(seed=0)
burst.create_function("resize", RESIZE, timeout=10)
blam = burst.client("lambda")
blam.put_function_concurrency(FunctionName="resize", ReservedConcurrentExecutions=2)
for photo in range(20):             # 20 uploads arrive at the same moment
    blam.invoke(FunctionName="resize", InvocationType="Event", Payload=json.dumps({"photo": photo}))
burst.run()
'''


@functools.lru_cache(maxsize=1)
def reference():
    """The burst replayed in a fresh namespace: the async component's statistics."""
    import lambdalab as ll

    namespace = {"ll": ll}
    exec(BURST_CODE, namespace)   # noqa: S102 - our own constant, the same text the lab shows
    return namespace["burst"].async_invoke.statistics()


# -- 1. who calls the frontend for an async event ----------------------------------------------------------

def _who_hint(value) -> str:
    w = words(value)
    if w in {"client", "caller", "sdk"}:
        return "the client got its 202 and left before anything ran. Who picks the event up from the queue?"
    if w in {"async queue", "queue", "internal queue", "sqs"}:
        return "the queue only stores the event; it never calls anything. Look at the step right after 'dequeue'."
    if w in {"frontend", "worker manager", "environment"}:
        return "that component is on the synchronous path the event takes afterwards; who starts that path?"
    return "find the step whose target is the frontend after the async_queue steps of the async request."


register(
    "lab03.who_invokes",
    verify=lambda v: words(v) in {"poller", "pollers", "poller fleet", "async poller", "the poller fleet"},
    hint=_who_hint,
    right=["poller", "the poller fleet", "Pollers"],
    wrong=["client", "async_queue", "frontend"],
    explain="a poller of Lambda's internal fleet reads the event from the queue and invokes the function "
            "synchronously through the same frontend a client uses, so concurrency limits apply unchanged.",
)


# -- 2. how many times the failing function ran -------------------------------------------------------------

def _runs_hint(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "give a whole number."
    if n == 2:
        return "2 is the number of *retries*; count the first attempt as well."
    if n == 1:
        return "the first attempt failed; Lambda tried again. Count the START lines with this request id."
    return "count the START lines in lab.logs('flaky'), or read approximateInvokeCount in the record."


register(
    "lab03.invoke_count",
    verify=lambda v: int(v) == 3,
    hint=_runs_hint,
    right=[3, "3"],
    wrong=[1, 2, 4],
    explain="one attempt plus MaximumRetryAttempts (default 2) retries, about one and then two minutes apart, "
            "all with the same request id.",
)


# -- 3. predict the outcome with a 100 s age limit -----------------------------------------------------------

def _age_parts(value):
    if isinstance(value, dict):
        value = (value.get("condition"), value.get("approximateInvokeCount"))
    condition, count = value
    return words(condition).replace(" ", ""), int(count)


def _age_hint(value) -> str:
    try:
        condition, count = _age_parts(value)
    except (TypeError, ValueError):
        return 'give a pair like ("SomeCondition", 1): the condition and the number of runs.'
    if condition == "retriesexhausted":
        return "would the second retry (two minutes after the first one) still start before the event is 100 s old?"
    if condition == "eventageexceeded" and count != 2:
        return "the condition is right. The first retry comes about 60 s after the event arrived: is that < 100 s?"
    return "there are three conditions for failure: RetriesExhausted, EventAgeExceeded, ZeroReservedConcurrency."


register(
    "lab03.event_age",
    verify=lambda v: _age_parts(v) == ("eventageexceeded", 2),
    hint=_age_hint,
    right=[("EventAgeExceeded", 2), ["EventAgeExceeded", "2"],
           {"condition": "EventAgeExceeded", "approximateInvokeCount": 2}],
    wrong=[("RetriesExhausted", 3), ("EventAgeExceeded", 1), ("EventAgeExceeded", 3), "EventAgeExceeded"],
    explain="the first retry starts about 60 s after the event arrived (under 100 s); the second would start "
            "about 180 s after, past the age limit, so Lambda gives up after two runs with EventAgeExceeded.",
)


# -- 4. the throttled burst ----------------------------------------------------------------------------------

def _throttled_hint(value) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "give a whole number of throttled attempts."
    ref = reference()
    if n == 18:
        return "18 were throttled on the first try, but each of them was tried again (and again) later."
    if n == ref["accepted"]:
        return "that is the number of events; count the 429s the pollers got, retries of retries included."
    return "burst.async_invoke.statistics() or burst.stats('resize') know how many attempts were throttled."


register(
    "lab03.throttled",
    verify=lambda v: int(v) == reference()["throttled_attempts"],
    hint=_throttled_hint,
    right=[reference()["throttled_attempts"], str(reference()["throttled_attempts"])],
    wrong=[18, 20, 0],
    explain="every 429 sent the event back to the queue with a longer back-off (1 s, 2 s, 4 s ...); none was "
            "lost and none counted as a retry, but the callers never saw a single throttle.",
)
