#!/usr/bin/env python3
"""Generate labs/02_lifecycle.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_02.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_02.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way. The scenarios' code lives in
lambdalab/check/lab02.py, so the checks replay exactly what the notebook runs.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (build_labs, CHECK, Exercise, check_cell, code, link, md, nav,
                         what_aws_does_differently)  # noqa: E402

from lambdalab.check.lab02 import MODEL_CODE, PROVISIONED_CODE, SLOW_INIT_CODE, STATEFUL_CODE  # noqa: E402

STEM = "02_lifecycle"


def source(name: str, text: str) -> str:
    """A notebook line that defines ``name`` as the given function source."""
    return f"{name} = '''\\\n{text}'''"


def lab02() -> list:
    return [
        md(f"""
# 02 · Lifecycle

**Goal (25 minutes):** follow one execution environment from birth to death. In {link(1)} you saw a request
travel to an environment; here you watch what the environment itself goes through: the **Init** phase and its
sub-steps, **Invoke**, the **freeze** between requests, and the **Shutdown** phase at the end. Then you break
things on purpose. You will

1. time each step of a cold start and find what Init Duration leaves out;
2. see a warm start skip all of it;
3. find out what survives a timeout, and what an Init error and an Init timeout look like;
4. stop a runaway handler without losing the kernel;
5. add an extension, watch the environment be reclaimed, and pre-warm environments with provisioned concurrency.

{nav(2)}
"""),
        md("""
## 1. A cold start, phase by phase

The function below does its expensive work at **module level**: it "loads a model" for 300 ms when the module
is imported. That code runs once per execution environment, during Init. The handler then only needs 20 ms
per request.
"""),
        code(f"""
import lambdalab as ll

{source("MODEL_CODE", MODEL_CODE)}

lab = ll.Lab(seed=0)
lab.create_function("model", MODEL_CODE)
lam = lab.client("lambda")
cold = lam.invoke(FunctionName="model", Payload=b'{{"x": 2}}')
cold_id = cold["ResponseMetadata"]["RequestId"]
print(cold["Payload"].read())
"""),
        md("""
Every step that takes time carries a `duration` and names its `phase` in the trace. Here are the new
environment's timed steps, in order:
"""),
        code(f"""
{CHECK}
env_id = lab.trace.filter(component="environment", action="create")[0].env_id
for s in lab.trace.filter(env_id=env_id):
    if s.detail.get("phase") and "duration" in s.detail:
        print(f"t = {{s.t:6.3f}} s  {{s.detail['phase']:<15}} {{s.detail['duration'] * 1000:8.2f}} ms   "
              f"{{s.component}}.{{s.action}}")
"""),
        md("""
Read it top to bottom:

- **microvm**: a worker host boots a Firecracker microVM for the new environment;
- **code**: the deployment package is fetched. This is the first time the fleet sees this code, so it comes
  all the way from S3; later cold starts find it in the AZ-level or the worker's own cache and are faster;
- **extension_init**, **runtime_init**, **function_init**: the Init phase proper. Extensions start (there are
  none yet), the Python runtime bootstraps, and your module-level code runs, including its `ll.sleep(0.3)`.

The Init phase starts with an `INIT_START` line in the logs, and the first REPORT line of the environment
carries `Init Duration`:
"""),
        code(f"""
{CHECK}
for line in lab.logs("model"):
    print(line)
"""),
        md("""
Step through the cold start on the Stepper. It opens at the environment's first step; the timeline under the
diagram shows the environment's states (init, invoking, frozen).
"""),
        code("""
first_env_step = lab.trace.filter(env_id=env_id)[0].seq
stepper = ll.widgets.Stepper(lab, position=first_env_step)
stepper
"""),
        md("""
**Exercise 1.** The caller of a cold invoke waits for more than Init Duration. How many milliseconds passed
between the client's `invoke` step and the environment's `init_start` step? Compute it from `lab.trace`
(each step's `t` is in seconds).
"""),
        Exercise("""
before_init_ms = {answer}   # milliseconds
""", '(lab.trace.filter(component="environment", action="init_start")[0].t\n'
     '                  - lab.trace.filter(request_id=cold_id, action="invoke")[0].t) * 1000'),
        check_cell("lab02.before_init_ms", "before_init_ms"),
        md("""
## 2. Warm starts: thaw, invoke, freeze

After its invoke the environment was **frozen**: the microVM is paused, nothing in it runs, and it waits in
the Worker Manager's pool. The next request thaws it and goes straight to the handler:
"""),
        code(f"""
{CHECK}
warm = lam.invoke(FunctionName="model", Payload=b'{{"x": 3}}')
warm_id = warm["ResponseMetadata"]["RequestId"]
print(warm["Payload"].read())
print(" → ".join(f"{{s.component}}.{{s.action}}" for s in lab.trace.filter(request_id=warm_id)))
print(lab.logs("model")[-1])
"""),
        md("""
No microVM, no code fetch, no Init: `thaw` → the runtime's `next` → the handler → `freeze`. The REPORT line
has no `Init Duration`. The model loaded at module level is still in memory, which is why expensive set-up
belongs outside the handler.

## 3. What survives a timeout

Module globals live in the runtime *process*; `/tmp` lives in the *environment*. Most of the time the two live
and die together, but not after a failure. This function counts its invocations in a global and leaves a file
in `/tmp`. Its timeout is 1 second, and a request can ask it to work for 5.
"""),
        code(f"""
{CHECK}
{source("STATEFUL_CODE", STATEFUL_CODE)}

lab.create_function("stateful", STATEFUL_CODE, timeout=1)
for payload in (b'{{}}', b'{{}}', b'{{"work": 5}}'):
    response = lam.invoke(FunctionName="stateful", Payload=payload)
    print(response.get("FunctionError", "-"), response["Payload"].read().decode())
"""),
        md("""
The third request ran into its deadline. The caller still got `StatusCode` 200, with `FunctionError:
Unhandled` and a `Sandbox.Timedout` payload whose message names the configured timeout with two decimals.
Behind the scenes Lambda *reset* the environment: it stopped the runtime process, and a new one will start
inside the next invoke.

**Exercise 2.** Predict what the next invoke returns, as a pair `(count, tmp_file_was_there)`. Answer first,
then run the cell after the check.
"""),
        Exercise("""
after_timeout = {answer}   # (count, tmp_file_was_there)
""", "(1, True)"),
        check_cell("lab02.after_timeout", "after_timeout"),
        code(f"""
{CHECK}
print(lam.invoke(FunctionName="stateful")["Payload"].read().decode())
for line in lab.logs("stateful"):
    if line.startswith("REPORT"):
        fields = line.split("\\t")
        print("REPORT", fields[1], *(f for f in fields if f.startswith(("Init Duration", "Status"))))
"""),
        md("""
Look at the last REPORT: its Duration is not the 10 ms of work. The new runtime had to bootstrap and import
the module again *inside* this invoke, before the handler could run. Lambda calls this a **suppressed init**:
no `INIT_START`, no `Init Duration`, the time simply shows up in the invoke's Duration (and its bill). A
`sys.exit()` in a handler does the same, with the error type `Runtime.ExitError`.

## 4. When Init itself fails

Two ways Init can go wrong. First, an exception at import time, here a missing environment variable:
"""),
        code(f"""
{CHECK}
lab.create_function("needs_config", "import os\\nTABLE = os.environ['TABLE_NAME']\\n\\n"
                                    "def handler(event, context):\\n    return TABLE\\n")
broken = lam.invoke(FunctionName="needs_config")
print(broken["FunctionError"], broken["Payload"].read().decode()[:160])
for line in lab.logs("needs_config"):
    if line.startswith(("INIT", "START", "REPORT")):
        print(line.split("\\tMemory")[0][:110])
"""),
        md("""
The error names the exception class (`KeyError`) and has an **empty `requestId`**: it happened during Init,
before any request was handed over. The `INIT_REPORT` line says `Status: error`. Lambda does not give up on
the environment: Init is tried again inside the invoke (you can see a START right after), and again on every
following invoke until the module imports cleanly.

Second, Init can be too slow. The Init phase of an on-demand environment may take at most **10 seconds**.
This module needs 12:
"""),
        code(f"""
{CHECK}
{source("SLOW_INIT_CODE", SLOW_INIT_CODE)}

lab.create_function("slow", SLOW_INIT_CODE, timeout=30)
print(lam.invoke(FunctionName="slow")["Payload"].read())
print(next(line for line in lab.logs("slow") if line.startswith("INIT_REPORT")))
"""),
        md("""
The first attempt was cut off at 10 s (`Status: timeout`). Then Lambda retried Init inside the invoke, this
time under the **function's** timeout (30 s), and it finished. The request succeeded.

**Exercise 3.** What `Duration` (in ms) does the REPORT line of that invoke show? Work it out from what you
know about suppressed inits, then check it in `lab.logs("slow")`.
"""),
        Exercise("""
suppressed_ms = {answer}   # the REPORT line's Duration, in ms
""", 'float(next(l for l in lab.logs("slow") if l.startswith("REPORT")).split("Duration: ")[1].split(" ms")[0])'),
        check_cell("lab02.suppressed_ms", "suppressed_ms"),
        md("""
## 5. Runaway code and the wall-clock guard

Virtual time moves only when code calls `ll.sleep` (or `time.sleep`). A handler stuck in `while True: pass`,
or blocked in a real system call, never does, so it would freeze the notebook. Each run of your code is
therefore also watched by a **wall-clock guard**:

- before your code runs, the sandbox arms a real-time timer (`signal.setitimer`, in the kernel's main thread);
- if the code is still running when the timer fires, the `SIGALRM` handler raises an exception *inside* your
  code. That stops a Python loop as well as a blocking call such as `select` or `socket.recv`;
- the sandbox reports what happened the way Lambda would: the invoke (or Init) timed out at its deadline.

`Lab(wall_guard=...)` sets the real seconds allowed (default 3). The guard keeps alarming until your code
gives up, and it only ever interrupts *your* code, never the lab's own bookkeeping.
"""),
        code(f"""
{CHECK}
import json
import time

guarded = ll.Lab(seed=0, wall_guard=0.5)
guarded.create_function("spin", "def handler(event, context):\\n    while True:\\n        pass\\n", timeout=2)
guarded.create_function("ok", "def handler(event, context):\\n    return 'still here'\\n")
started = time.monotonic()
stuck = guarded.client("lambda").invoke(FunctionName="spin")
print("stopped within 2 real seconds:", time.monotonic() - started < 2)
error = json.loads(stuck["Payload"].read())
print(error["errorType"], "-", error["errorMessage"].split("Error: ")[1])
print(guarded.client("lambda").invoke(FunctionName="ok")["Payload"].read())
"""),
        md("""
## 6. Extensions, telemetry, and the end of an environment

An **extension** runs beside your function. An *external* one is its own process in the microVM: it registers
with the Extensions API during Init, receives an `INVOKE` event with every request and a `SHUTDOWN` event at
the end, and may keep working after the handler has answered, for example to ship logs. Here is such a log
shipper. It also subscribes to the **Telemetry API**, which hands it batches of lifecycle and log events.
"""),
        code(f"""
{CHECK}
from lambdalab.sandbox.extensions import Extension
from lambdalab.sandbox.telemetry import Subscription

batches = []
shipper = Extension("log-shipper", init=0.04, invoke=0.03, shutdown=0.2,
                    telemetry=Subscription(types=["platform", "function"], buffering={{"timeoutMs": 25}},
                                           destination=batches))
ext_lab = ll.Lab(seed=0, idle_timeout=300)
ext_lab.create_function("shipped", MODEL_CODE, extensions=[shipper])
t0 = ext_lab.now
ext_lab.client("lambda").invoke(FunctionName="shipped")
print(f"the caller waited {{(ext_lab.now - t0) * 1000:.0f}} ms")
ext_lab.advance(1)
report = next(line for line in ext_lab.logs("shipped") if line.startswith("REPORT"))
print("REPORT", report.split("\\t")[1])
"""),
        md("""
The caller had its answer after the cold start and the 20 ms handler, but REPORT's Duration is 30 ms longer:
the invoke phase lasts until the runtime *and* every extension are done, and the shipper worked on after the
response. (While it works, the environment is still busy: a request arriving then needs another environment.)

The function now sits idle. `idle_timeout=300` makes this lab reclaim idle environments after 5 minutes. Let
the clock run past that and look at the end of the environment's life:
"""),
        code(f"""
{CHECK}
ext_lab.advance(400)
for s in ext_lab.trace:
    if (s.component, s.action) in {{("worker_manager", "reclaim"), ("environment", "shutdown"),
                                     ("runtime", "shutdown"), ("extension", "shutdown"), ("environment", "kill")}}:
        print(f"t = {{s.t:8.3f}} s  {{s.component}}.{{s.action:<9}} {{s.text[:75]}}")
print()
print("events the shipper received:", [event["eventType"] for _, event in shipper.received])
print("telemetry batches:", [len(batch) for batch in batches])
print("event types:", sorted({{event["type"] for batch in batches for event in batch}}))
"""),
        md("""
The **Shutdown** phase: the runtime gets `SIGTERM` and 300 ms to exit, then the external extension gets its
`SHUTDOWN` event (`shutdownReason: spindown`) and the rest of a 2-second budget, then everything left is
killed. With no extension at all there is nothing to wait for and the environment is killed at once; an
*internal* extension (one inside the runtime process) gives the runtime 500 ms but can never receive
`SHUTDOWN`. The last telemetry batch went out during Shutdown: a frozen environment runs nothing, so events
buffered at the freeze wait for the next thaw or for the end.

## 7. Provisioned concurrency: Init before the requests

Cold starts happen because Init runs when a request needs an environment. **Provisioned concurrency** runs
Init ahead of time for a published version or alias: `put_provisioned_concurrency_config` starts N
environments (`IN_PROGRESS`), and once all of them are initialised the config is `READY`. Requests use them
first. Here, two provisioned environments meet a burst of three requests:
"""),
        code(f"""
{CHECK}
{PROVISIONED_CODE}
for inv in burst:
    print(inv.response["Payload"].read(), "from", inv.env_id)
"""),
        md("""
**Exercise 4.** How many REPORT lines of `pc.logs("api")` contain an `Init Duration`?
"""),
        Exercise("""
cold_in_burst = {answer}   # a whole number
""", 'sum("Init Duration" in line for line in pc.logs("api") if line.startswith("REPORT"))'),
        check_cell("lab02.cold_in_burst", "cold_in_burst"),
        code(f"""
{CHECK}
for line in pc.logs("api"):
    if line.startswith("INIT_START"):
        print("INIT_START")
    elif line.startswith("REPORT"):
        fields = line.split("\\t")
        print("REPORT", fields[1], *(f for f in fields if f.startswith("Init Duration")))
"""),
        md("""
The two pre-initialised environments logged their `INIT_START` before any request arrived, and their REPORT
lines carry no `Init Duration`. Inside them `AWS_LAMBDA_INITIALIZATION_TYPE` is `provisioned-concurrency`
instead of `on-demand`. The third request found no free provisioned environment and spilled over to an
ordinary on-demand one: with N provisioned environments, only the moments with more than N requests in flight
see cold starts. A provisioned environment whose Init fails makes the config `FAILED` with the reason
`FUNCTION_ERROR_INIT_FAILURE`.
"""),
        what_aws_does_differently([
            "Each Init sub-step here takes a fixed, modelled time (a 125 ms microVM boot, a cache-tier fetch, a "
            "150 ms Python bootstrap). Real cold starts vary from request to request and with package size, "
            "language, memory and VPC settings.",
            "This lab reclaims an idle environment after exactly `idle_timeout` seconds and recycles every "
            "environment after a fixed lifetime (4 hours). AWS promises neither: idle environments are observed "
            "to last roughly 5 to 15 minutes, and all of them are replaced every few hours.",
            "AWS stops a runaway sandbox at the deadline itself. The wall-clock guard is a safety net for the "
            "notebook; code that swallows every `BaseException` in a loop can still defeat it.",
            "Extensions here are time models, not processes: they cannot crash (`Extension.Crash`), print logs or "
            "post errors, and the reset after a timeout takes no time. Telemetry batches are handed to a Python "
            "list instead of being POSTed to an HTTP or TCP listener, and none are ever dropped.",
            "Provisioned environments start all at once here; in AWS allocating them takes a few minutes, and "
            "they are also recycled now and then, with a fresh Init that no request waits for.",
            "Billing: since August 2025 AWS bills the Init phase of on-demand cold starts, which the REPORT's "
            "Billed Duration here includes; how a failed Init is billed is not modelled.",
        ]),
        md(f"""
## Summary

- A cold start is microVM boot and code fetch, then the Init phase: extensions, runtime bootstrap and your
  module-level code. `Init Duration` covers only the Init phase, and only the first REPORT of an environment
  shows it.
- Between invokes an environment is frozen; a warm start thaws it and skips all of Init.
- A timeout or a crash resets the runtime: globals are rebuilt inside the next invoke (a suppressed init, in
  its Duration), `/tmp` is kept.
- An Init error is reported with an empty `requestId` and `INIT_REPORT ... Status: error`; an Init over 10 s
  with `Status: timeout`. Either way Init is tried again inside the next invoke.
- Idle environments are shut down: SIGTERM to the runtime, SHUTDOWN to external extensions, at most 2 s,
  then SIGKILL. The next request is cold again, unless provisioned concurrency keeps environments ready.

**Next:** {link(3)} sends events that nobody waits for, through Lambda's internal queue.

{nav(2)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab02),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
