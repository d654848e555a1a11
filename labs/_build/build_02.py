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

from lambdalab.check.lab02 import MODEL_CODE, SLOW_INIT_CODE, STATEFUL_CODE  # noqa: E402

PROBE_CODE = """\
import logging, os, os.path

def handler(event, context):
    library = logging.getLogger("a.library")          # module state of a library
    first = library.level == logging.NOTSET
    library.setLevel(logging.DEBUG)
    return {"own_process": os.getpid() != event["kernel"],
            "library_sees": os.path.expandvars("$TABLE_NAME"),   # a library reading os.environ
            "first_to_set_up": first}
"""
LEAK_CODE = """\
import os

CACHE = []

def handler(event, context):
    if "exit" in event:
        print("exiting with", event["exit"])
        os._exit(event["exit"])
    CACHE.append(bytearray(48 * 1024 * 1024))         # 48 MB more on every request, never freed
    return f"{len(CACHE) * 48} MB cached"
"""

STEM = "02_lifecycle"


def source(name: str, text: str) -> str:
    """A notebook line that defines ``name`` as the given function source."""
    return f"{name} = '''\\\n{text}'''"


def lab02() -> list:
    return [
        md(f"""
# 02 · Lifecycle

**Goal:** follow one execution environment from birth to death. In {link(1)} you saw a request travel to an
environment; here you watch what the environment itself goes through: the **Init** phase and its sub-steps,
**Invoke**, the **freeze** between requests, and the **Shutdown** phase at the end. Then you break things on
purpose: a timeout, an Init that fails, an Init that is too slow.

**Time:** about 20 minutes · {nav(2)}
"""),
        md("""
## 1. A cold start, phase by phase

The function below does its expensive work at **module level**: it "loads a model" for 300 ms when the module
is imported. That code runs once per execution environment, during Init. The handler then needs only 20 ms
per request.
"""),
        code(f"""
import lambdalab as ll

{source("MODEL_CODE", MODEL_CODE)}

lab = ll.Lab(seed=0)
lab.create_function("model", MODEL_CODE)
lam = lab.client("lambda")
with lab.scene("a cold start, phase by phase") as cold_start:
    cold = lam.invoke(FunctionName="model", Payload=b'{{"x": 2}}')
cold_id = cold["ResponseMetadata"]["RequestId"]
print(cold["Payload"].read())
"""),
        md("""
Step through it. The timeline under the diagram shows the environment's phases in the same colours as the
legend: microVM boot and code fetch (before Init), then the Init sub-phases, then the invoke, then frozen.
"""),
        code("""
stepper = ll.widgets.Stepper(cold_start)
stepper
"""),
        md("""
Every step that takes time carries a `duration` and names its `phase`. The new environment's timed steps:
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
- **microvm**: a worker host boots a Firecracker microVM for the new environment;
- **code**: the deployment package is fetched, here all the way from S3 (later cold starts find it in the
  AZ-level or the worker's own cache and are faster);
- **extension_init**, **runtime_init**, **function_init**: the [init phase](GLOSSARY.md#init-phase) proper:
  extensions start (none yet), the Python runtime bootstraps, your module-level code runs.

The Init phase opens with `INIT_START` in the logs, and the environment's first REPORT carries
`Init Duration`:
"""),
        code(f"""
{CHECK}
for line in lab.logs("model"):
    print(line)
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

After its invoke the environment was **frozen**: the microVM is paused and waits in the Worker Manager's pool.
The next request [thaws](GLOSSARY.md#thaw) it and goes straight to the handler:
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
No microVM, no code fetch, no Init, and no `Init Duration` on the REPORT line. The model loaded at module
level is still in memory: expensive set-up belongs outside the handler.

## 3. What survives a timeout

Module globals live in the runtime *process*; `/tmp` lives in the *environment*. This function counts its
invocations in a global and leaves a file in `/tmp`. Its timeout is 1 second, and a request can ask it to work
for 5.
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
The third request ran into its deadline: `StatusCode` 200, `FunctionError: Unhandled`, a `Sandbox.Timedout`
payload. Behind the scenes Lambda *reset* the environment: it stopped the runtime process, and a new one will
start inside the next invoke.

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
The last REPORT's Duration is not the 10 ms of work: the new runtime had to bootstrap and import the module
again *inside* this invoke. That is a [suppressed init](GLOSSARY.md#suppressed-init): no `INIT_START`, no
`Init Duration`, the time shows up in the invoke's Duration (and its bill). A `sys.exit()` in a handler does
the same, with the error type `Runtime.ExitError`.

## 4. When Init itself fails

An exception at import time, here a missing environment variable:
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
The error names the exception class (`KeyError`) and has an **empty `requestId`**: it happened before any
request was handed over. `INIT_REPORT` says `Status: error`, and Init is tried again inside the invoke, and on
every following invoke until the module imports cleanly.

Init can also be too slow: on demand it may take at most **10 seconds**. This module needs 12:
"""),
        code(f"""
{CHECK}
{source("SLOW_INIT_CODE", SLOW_INIT_CODE)}

lab.create_function("slow", SLOW_INIT_CODE, timeout=30)
print(lam.invoke(FunctionName="slow")["Payload"].read())
print(next(line for line in lab.logs("slow") if line.startswith("INIT_REPORT")))
"""),
        md("""
The first attempt was cut off at 10 s (`Status: timeout`). Lambda retried Init inside the invoke, this time
under the **function's** timeout (30 s), and it finished.

**Exercise 3.** What `Duration` (in ms) does the REPORT line of that invoke show? Work it out from what you
know about suppressed inits, then check it in `lab.logs("slow")`.
"""),
        Exercise("""
suppressed_ms = {answer}   # the REPORT line's Duration, in ms
""", 'float(next(l for l in lab.logs("slow") if l.startswith("REPORT")).split("Duration: ")[1].split(" ms")[0])'),
        check_cell("lab02.suppressed_ms", "suppressed_ms"),
        md("""
## 5. The end of an environment

An **extension** runs beside your function. This log shipper is an external one: it registers during Init,
gets an `INVOKE` event with every request and a `SHUTDOWN` event at the end, and keeps working 30 ms after the
handler has answered. `idle_timeout=300` makes this lab reclaim idle environments after 5 minutes; we invoke
once, then let the clock run past that.
"""),
        code(f"""
{CHECK}
from lambdalab.sandbox.extensions import Extension

shipper = Extension("log-shipper", init=0.04, invoke=0.03, shutdown=0.2)
ext_lab = ll.Lab(seed=0, idle_timeout=300)
ext_lab.create_function("shipped", MODEL_CODE, extensions=[shipper])
with ext_lab.scene("an environment's whole life") as whole_life:
    ext_lab.client("lambda").invoke(FunctionName="shipped")
    ext_lab.advance(400)
report = next(line for line in ext_lab.logs("shipped") if line.startswith("REPORT"))
print("REPORT", report.split("\\t")[1])
print("events the shipper received:", [event["eventType"] for _, event in shipper.received])
"""),
        md("""
REPORT's Duration is 30 ms longer than the handler: the invoke phase lasts until the runtime *and* every
extension are done. Step to the end of this scene for the [shutdown phase](GLOSSARY.md#shutdown-phase): the
runtime gets `SIGTERM` and 300 ms, the extension its `SHUTDOWN` event (`spindown`) and the rest of a 2-second
budget, then the microVM is killed. (The timeline squeezes the 5 idle minutes into a hatched band.)
"""),
        code("""
ll.widgets.Stepper(whole_life)
"""),
        md("""
### Optional: your code in a process of its own

In AWS every execution environment is a microVM: nothing its code does reaches another environment. By
default this lab runs your handlers **inside this notebook's kernel** (`isolation="inline"`): fast, and it works
in any Jupyter. The sandbox hands your code stand-ins for `os.environ`, `/tmp`, `time` and the signal table, so
*your* code sees its environment; but a **library** your code imports reads the kernel's real process: its
environment variables, its module state (shared by every environment), its `/tmp`.

`ll.Lab(isolation="process")` (or `create_function(..., isolation="process")`) runs each environment's code in
a **child process of its own**, as Lambda runs each in a microVM. The same function in both, twice (two
functions, so two environments):
"""),
        code(f"""
{CHECK}
import json
import os

{source("PROBE_CODE", PROBE_CODE)}

print("isolation  function  own_process  library_sees  first_to_set_up")
for mode in ("inline", "process"):
    iso_lab = ll.Lab(seed=0, isolation=mode)
    for name in ("first", "second"):
        iso_lab.create_function(name, PROBE_CODE, environment={{"TABLE_NAME": "orders"}})
        answer = iso_lab.client("lambda").invoke(FunctionName=name, Payload=json.dumps({{"kernel": os.getpid()}}))
        seen = json.loads(answer["Payload"].read())
        print(f"{{mode:10}} {{name:9}} {{seen['own_process']!s:12}} {{seen['library_sees']:13}} {{seen['first_to_set_up']}}")
    iso_lab.close()
"""),
        md("""
Inline, the code runs in the kernel's own process, `os.path.expandvars` (a library function: it reads the real
`os.environ`) does not see the function's `TABLE_NAME`, and the second environment finds the library (here the
`logging` module's logger) already set up by the first. In a process of its own each environment has a real `os.environ` with the function's and
Lambda's variables, and module state nobody else touches. Its `/tmp` is its own too, at most `EphemeralStorage`
in size.

**Memory is the process's own.** This handler leaks 48 MB per request at 128 MB of memory. The third request
pushes the process past MemorySize: the runtime dies with `Runtime.OutOfMemory`, the REPORT says
`Status: error`, and the next request gets a new runtime (and an empty cache). (Inline, a guard gives the same
error by limiting how far the kernel may grow while the code runs, and the leak lives in the kernel until the
environment goes.) A runtime that exits (`os._exit`, a segfault in a C extension) ends only its own invoke, with
`Runtime.ExitError`:
"""),
        code(f"""
{CHECK}
{source("LEAK_CODE", LEAK_CODE)}

iso_lab = ll.Lab(seed=0, isolation="process")
iso_lab.create_function("leaky", LEAK_CODE, memory=128)
for payload in ("{{}}", "{{}}", "{{}}", "{{}}", '{{"exit": 3}}', "{{}}"):
    answer = iso_lab.client("lambda").invoke(FunctionName="leaky", Payload=payload)
    body = json.loads(answer["Payload"].read())
    print(answer.get("FunctionError", "-"), body if "FunctionError" not in answer else
          f'{{body["errorType"]}}: {{body["errorMessage"].split(" Error: ")[-1]}}')
print(*(line.split("\\t")[-2:] for line in iso_lab.logs("leaky") if "Status: error" in line), sep="\\n")
iso_lab.close()
"""),
        md("""
Inline, the lab contains most of what handler code can do to a process: `sys.exit`, `os._exit`, signals, timers,
patched `time` or `json`, a loop that never ends, `fork`. What it **cannot** contain is code that goes around
the stand-ins to the kernel's real process: `posix._exit()`, closing every file descriptor
(`os.closerange(3, 4096)`, the kernel's own sockets with them), a C extension that calls `exit()`. That ends the
kernel itself (restart it from the *Kernel* menu). A forked child that detaches (`os.setsid()`) and ignores the
real alarm outlives its environment, and the kernel's module state and environment variables stay shared. If your code or a library it uses might do that, or reads
environment variables through a library, use `isolation="process"`: each environment then costs a fork of a
small server process (a few milliseconds of real time; `bench/isolation.py` measures it), and virtual time,
the trace and the answers stay what they are inline.
"""),
        md("""
### Optional: the whole lab in a profiler

`lab.trace.to_perfetto(path)` writes the trace as Chrome trace-event JSON. Download the file (right-click it
in the file browser) and drop it on [ui.perfetto.dev](https://ui.perfetto.dev): one track per component, one
per environment, every invocation a slice, in virtual microseconds. Zoom into the cold start and the Init
phases nest inside it.
"""),
        code("""
path = lab.trace.to_perfetto("lab02_trace.json")
print(f"wrote {path} ({path.stat().st_size:,} bytes)")
"""),
        what_aws_does_differently([
            "Each Init sub-step here takes a fixed, modelled time (a 125 ms microVM boot, a cache-tier fetch, a "
            "150 ms Python bootstrap). Real cold starts vary from request to request and with package size, "
            "language, memory and VPC settings.",
            "This lab reclaims an idle environment after exactly `idle_timeout` seconds and recycles every "
            "environment after a fixed lifetime (4 hours). AWS promises neither: idle environments are observed "
            "to last roughly 5 to 15 minutes, and all of them are replaced every few hours.",
            "Extensions here are time models, not processes: they cannot crash (`Extension.Crash`), print logs or "
            "post errors, and the reset after a timeout takes no time (lab 07 runs real extension processes).",
            "A runaway handler (`while True: pass`) is stopped here by a wall-clock guard that reports a timeout; "
            "AWS simply stops the sandbox at the deadline.",
            "An execution environment here is a Python runtime inside the notebook's kernel, or with "
            "`isolation=\"process\"` a child process on the notebook's machine (its own environment variables, "
            "module state, `/tmp` and memory limit, but no kernel, disk or CPU of its own); in AWS it is a "
            "Firecracker microVM.",
            "Billing: since August 2025 AWS bills the Init phase of on-demand cold starts, which the REPORT's "
            "Billed Duration here includes; how a failed Init is billed is not modelled.",
        ]),
        md(f"""
## Summary

- A cold start is microVM boot and code fetch, then the Init phase: extensions, runtime bootstrap and your
  module-level code. `Init Duration` covers only the Init phase, on the environment's first REPORT.
- Between invokes an environment is frozen; a warm start thaws it and skips all of Init.
- A timeout or a crash resets the runtime: globals are rebuilt inside the next invoke (a suppressed init, in
  its Duration), `/tmp` is kept.
- An Init error is reported with an empty `requestId` and `INIT_REPORT ... Status: error`; an Init over 10 s
  with `Status: timeout`. Either way Init is tried again inside the next invoke.
- Idle environments are shut down: SIGTERM to the runtime, SHUTDOWN to external extensions, at most 2 s, then
  SIGKILL. The next request is cold again (lab 05 shows provisioned concurrency, which initialises
  environments before requests arrive).

**Next:** {link(3)} sends events that nobody waits for, through Lambda's internal queue.

{nav(2)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab02),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
