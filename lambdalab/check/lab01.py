"""Checks for labs/01_synchronous_invoke.ipynb: one request's path, cold vs warm, the REPORT line, errors.

The Init exercise is checked against the engine itself: ``reference()`` replays the lab's first cold invoke
(same seed, same code) and reads its REPORT line, so the check follows the cost model if that is retuned.
"""
from __future__ import annotations

import functools
import re

from . import register, words

#: The function code the lab deploys (the notebook's generator embeds this exact text).
HANDLER_CODE = '''\
import lambdalab as ll

GREETING = "Hello"
ll.sleep(0.12)  # module-level code: pretend to read config and open a connection (120 ms), once per environment


def handler(event, context):
    ll.sleep(0.025)  # the work done for each request (25 ms)
    return {"message": f"{GREETING}, {event.get('name', 'world')}!"}
'''

_REPORT_FIELD = re.compile(r"(Duration|Billed Duration|Init Duration|Max Memory Used|Memory Size): ([0-9.]+)")


def report_fields(line: str) -> dict[str, float]:
    """The numbers of a REPORT line: {"Duration": 25.0, "Billed Duration": 295.0, ...} (ms or MB)."""
    return {name: float(value) for name, value in _REPORT_FIELD.findall(line)}


@functools.lru_cache(maxsize=1)
def reference() -> dict[str, float]:
    """The lab's first (cold) invoke replayed in a fresh Lab(seed=0): its REPORT numbers and the caller's wait."""
    import lambdalab as ll

    lab = ll.Lab(seed=0)
    lab.create_function("hello", HANDLER_CODE, memory=128, timeout=3)
    response = lab.client("lambda").invoke(FunctionName="hello", Payload=b'{"name": "Ada"}')
    report = next(line for line in lab.logs("hello") if line.startswith("REPORT"))
    fields = report_fields(report)
    latency = next(s for s in lab.trace.filter(request_id=response["ResponseMetadata"]["RequestId"],
                                               component="client") if s.action == "response")
    fields["latency_ms"] = float(latency.detail.get("latency_ms", 0.0))
    return fields


# -- 1. who picks the worker host ----------------------------------------------------------------------------

def _picks_worker_hint(value) -> str:
    w = words(value)
    if w in {"worker manager", "workermanager"}:
        return ("close: the Worker Manager notices that no idle environment exists, but it does not choose the host "
                "itself. Read the step right after it.")
    if w in {"worker", "worker host", "environment"}:
        return "that component is *chosen*; it does not do the choosing. Look one or two steps earlier."
    if w == "frontend":
        return "the frontend only checks the request and hands it on; step further through the cold start."
    return "step through the cold invoke until a worker id (w-1) appears for the first time; which component named it?"


register(
    "lab01.picks_worker",
    verify=lambda v: words(v) in {"placement", "placement service", "placementservice"},
    hint=_picks_worker_hint,
    right=["placement", "Placement Service", "the placement service"],
    wrong=["worker_manager", "frontend", "worker", "w-1"],
    explain="the Placement Service chooses a worker host with room for a new execution environment; the Worker "
            "Manager only asks for one when no idle environment exists.",
)


# -- 2. how much of the first bill was Init ------------------------------------------------------------------

def _ms(value) -> float:
    """A number of milliseconds, also from text such as "270.00 ms"."""
    if isinstance(value, str):
        value = value.strip().lower().removesuffix("ms").strip()
    return float(value)


def _init_ms_ok(value) -> bool:
    return abs(_ms(value) - reference()["Init Duration"]) <= 1.0


def _init_ms_hint(value) -> str:
    ref = reference()
    try:
        v = _ms(value)
    except (TypeError, ValueError):
        return "give a number of milliseconds, e.g. 123.4 (no units)."
    if abs(v - ref["Billed Duration"]) <= 1.0:
        return "that is the whole Billed Duration. Part of it was the handler's own Duration: take that out."
    if abs(v - ref["Duration"]) <= 1.0:
        return "that is the handler's Duration, the part that is *not* Init. Which other field was billed?"
    if abs(v - ref.get("latency_ms", -1e9)) <= 1.0:
        return ("that is how long the caller waited, which includes steps that are not billed (microVM boot, code "
                "download). Use the numbers in the REPORT line only.")
    if v > ref["Billed Duration"]:
        return "that is more than the whole Billed Duration; the Init part must be smaller than the total."
    return "read the first REPORT line in lab.logs('hello'): Billed Duration is made of two of its other fields."


register(
    "lab01.init_ms",
    verify=_init_ms_ok,
    hint=_init_ms_hint,
    right=[reference()["Init Duration"], round(reference()["Init Duration"]), str(reference()["Init Duration"]),
           f"{reference()['Init Duration']:.2f} ms"],
    wrong=[reference()["Billed Duration"], reference()["Duration"], 0, "about 300"],
    explain="on a cold start the Init phase (runtime bootstrap + your module-level code) is billed too: "
            "Billed Duration = Duration + Init Duration, rounded up to the next ms.",
)


# -- 3. what the warm invoke skips ---------------------------------------------------------------------------

_INIT_WORDS = {"init", "init phase", "initialization", "initialisation", "initialization phase",
               "initialisation phase", "cold start", "init_start", "init start"}


def _warm_skips_hint(value) -> str:
    w = words(value)
    if w in {"invoke", "invoke phase", "handler"}:
        return "the warm invoke still runs the handler (its Invoke phase). Something *before* the first GET /next is missing."
    if w in {"shutdown", "shutdown phase", "freeze"}:
        return "neither request reaches that. Compare the environment steps of both requests from the top."
    if w in {"placement", "worker", "microvm", "boot", "fetch code", "code download", "extension", "runtime init"}:
        return "yes, that is skipped, but it is one piece of something bigger. Name the whole lifecycle phase."
    return "compare the environment steps of both requests: one lifecycle phase (it has a log line of its own) ran only once."


register(
    "lab01.warm_skips",
    verify=lambda v: words(v) in _INIT_WORDS,
    hint=_warm_skips_hint,
    right=["Init", "init phase", "the Init phase", "cold start"],
    wrong=["invoke", "shutdown", "placement", "handler"],
    explain="a warm invoke thaws a frozen environment whose Init already ran, so no microVM, no code download, "
            "no runtime bootstrap and no module-level code: it goes straight to GET /next.",
)


# -- 4. how a caller sees that the handler failed ------------------------------------------------------------

def _error_key_hint(value) -> str:
    w = str(value).strip().strip("'\"[]")
    if w.lower() == "functionerror":
        return "right key, wrong spelling: dict keys are case-sensitive, so copy it exactly as the response shows it."
    if w.lower() == "statuscode":
        return "look at its value in the failed invoke: the Invoke request itself succeeded. Which other key is new?"
    if w.lower() in {"errortype", "errormessage", "stacktrace", "requestid"}:
        return ("that key lives inside the Payload, which you must read and parse first. Which top-level key of "
                "the response dict appears only when the handler failed?")
    if w.lower() in {"payload", "responsemetadata", "executedversion", "logresult"}:
        return "that key is there on a successful invoke too. Compare the keys of a good and a failed response."
    return "compare sorted(r_ok) with sorted(r_err): one key appears only in the failed response."


register(
    "lab01.error_key",
    verify=lambda v: str(v).strip().strip("'\"[]") == "FunctionError",
    hint=_error_key_hint,
    right=["FunctionError", " FunctionError ", "'FunctionError'"],
    wrong=["StatusCode", "errorType", "Payload", "functionerror"],
    explain="an invoke whose handler raised still returns StatusCode 200; the FunctionError key ('Unhandled') is "
            "how a caller tells a failed handler from a good one, and the payload then holds errorType/errorMessage.",
)
