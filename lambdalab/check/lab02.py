"""Checks for labs/02_lifecycle.ipynb: before Init, what survives a timeout, a suppressed init.

The numeric answers are checked against the engine: ``reference()`` replays the lab's scenarios (the exact
code the notebook shows, same seed) in fresh Labs and reads the trace and the logs, so the checks follow the
cost model if its numbers are retuned.
"""
from __future__ import annotations

import functools
import re

from . import register

#: Section 1: a function whose module-level code loads a "model" (the notebook's generator embeds this text).
MODEL_CODE = '''\
import lambdalab as ll

ll.sleep(0.3)                      # module-level code: load a model (300 ms), once per environment
MODEL = {"weight": 42}


def handler(event, context):
    ll.sleep(0.02)                 # the work for one request (20 ms)
    return {"prediction": MODEL["weight"] * event.get("x", 1)}
'''

#: Section 3: a global counter and a file in /tmp, and a way to make one invoke time out.
STATEFUL_CODE = '''\
import os
import lambdalab as ll

COUNT = 0                          # a module global: lives as long as the runtime process
ll.sleep(0.2)                      # module-level code takes 200 ms


def handler(event, context):
    global COUNT
    COUNT += 1
    first = not os.path.exists("/tmp/cache.txt")
    if first:
        with open("/tmp/cache.txt", "w") as f:
            f.write("written by the first invoke")
    ll.sleep(event.get("work", 0.01))
    return {"count": COUNT, "tmp_file_was_there": not first}
'''

#: Section 4: module-level code that needs 12 s, longer than the 10 s Init limit.
SLOW_INIT_CODE = '''\
import lambdalab as ll

ll.sleep(12)                       # e.g. downloading a large model at import time


def handler(event, context):
    return "ready"
'''

_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms")


def first_report_duration(lines) -> float:
    report = next(line for line in lines if line.startswith("REPORT"))
    return float(_DURATION.search(report).group(1))


@functools.lru_cache(maxsize=1)
def reference() -> dict:
    """The lab's scenarios replayed in fresh labs: the numbers the exercises ask for."""
    import lambdalab as ll

    out = {}
    lab = ll.Lab(seed=0)
    lab.create_function("model", MODEL_CODE)
    rid = lab.client("lambda").invoke(FunctionName="model")["ResponseMetadata"]["RequestId"]
    invoke_t = lab.trace.filter(request_id=rid, component="client", action="invoke")[0].t
    init_t = lab.trace.filter(component="environment", action="init_start")[0].t
    out["before_init_ms"] = (init_t - invoke_t) * 1000
    out["init_duration_ms"] = float(re.search(r"Init Duration: ([0-9.]+)", next(
        line for line in lab.logs("model") if line.startswith("REPORT"))).group(1))

    slow = ll.Lab(seed=0)
    slow.create_function("slow", SLOW_INIT_CODE, timeout=30)
    slow.client("lambda").invoke(FunctionName="slow")
    out["suppressed_ms"] = first_report_duration(slow.logs("slow"))

    return out


def _number(value) -> float:
    if isinstance(value, bool):
        raise TypeError("a number, please")
    return float(value)


# -- 1. what the caller waits for before Init even starts ----------------------------------------------------

def _before_init_hint(value) -> str:
    try:
        v = _number(value)
    except (TypeError, ValueError):
        return "give a number of milliseconds."
    ref = reference()
    if abs(v - ref["init_duration_ms"]) < 1:
        return "that is Init Duration, which starts *at* INIT_START. The question is about the time before it."
    if v < 1:
        return "the trace's t values are in seconds: multiply the difference by 1000."
    return ("subtract the t of the client's invoke step from the t of the environment's init_start step "
            "(both in lab.trace), then convert seconds to milliseconds.")


register(
    "lab02.before_init_ms",
    verify=lambda v: abs(_number(v) - reference()["before_init_ms"]) <= 1.0,
    hint=_before_init_hint,
    right=[reference()["before_init_ms"], round(reference()["before_init_ms"])],
    wrong=[0, 450.0, 0.305],
    explain="placing the environment, booting its microVM and fetching the code happen before INIT_START. "
            "The caller waits for them, but REPORT's Init Duration does not count them.",
)


# -- 2. what survives a timeout ------------------------------------------------------------------------------

def _after_timeout_verify(value) -> bool:
    count, kept = value
    return _number(count) == 1 and kept is True


def _after_timeout_hint(value) -> str:
    try:
        count, kept = value
        count = _number(count)
    except (TypeError, ValueError):
        return "give a pair: (count, tmp_file_was_there), e.g. (5, False)."
    if count != 1:
        return ("after a timeout Lambda restarts the runtime process. What happens to a module global such as "
                "COUNT when the module is imported again?")
    return "the runtime restarted, but did the microVM change? /tmp belongs to the environment, not to the process."


register(
    "lab02.after_timeout",
    verify=_after_timeout_verify,
    hint=_after_timeout_hint,
    right=[(1, True), [1, True]],
    wrong=[(4, True), (1, False), (3, False), "1, True"],
    explain="the timeout reset the runtime, so module globals were built again (COUNT starts over), while the "
            "environment and its /tmp stayed: the file written earlier is still there.",
)


# -- 3. the suppressed init inside the first invoke --------------------------------------------------------

def _suppressed_hint(value) -> str:
    try:
        v = _number(value)
    except (TypeError, ValueError):
        return "give the Duration in milliseconds, as a number."
    if abs(v - 10_000) < 1:
        return "10,000 ms is the first Init attempt, cut off at the limit (INIT_REPORT). Look at the REPORT line."
    if abs(v - 12_000) < 1:
        return ("close: the retried Init starts a fresh runtime process first. Which Init sub-step comes before "
                "the module-level code?")
    return "read the Duration field of the first REPORT line of lab.logs('slow')."


register(
    "lab02.suppressed_ms",
    verify=lambda v: abs(_number(v) - reference()["suppressed_ms"]) <= 1.0,
    hint=_suppressed_hint,
    right=[reference()["suppressed_ms"], str(reference()["suppressed_ms"])],
    wrong=[10_000, 12_000, 0],
    explain="the retried Init ran inside the invoke, under the function timeout: the runtime bootstrap plus 12 s "
            "of module code, all counted (and billed) in that invoke's Duration.",
)
