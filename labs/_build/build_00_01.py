#!/usr/bin/env python3
"""Generate labs/00_start_here.ipynb, labs/01_synchronous_invoke.ipynb and their solutions.

    PYTHONPATH=. python labs/_build/build_00_01.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_00_01.py --no-run   # write only (labs/_golden is left as it is)

Each lab is one list of cells. An exercise cell is written twice from one template: in the lab its answer
variable is ``None``; in labs/solutions/ it holds the reference answer (computed from the lab where it can
be). The notebooks are executed once here so that the outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` are
recorded in labs/_golden/ (what ``pytest --nbval-lax`` compares against, via labs/conftest.py); the notebooks
themselves are written with no outputs at all (scripts/strip_notebooks.py's ``write_notebook``).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from lambdalab.check.lab01 import HANDLER_CODE  # noqa: E402  (the code lab 01 deploys, shared with its check)

CHECK = "# NBVAL_CHECK_OUTPUT"

COURSE = [
    ("00_start_here", "Start here", 15,
     "what Lambda is, the install check, the architecture diagram and how to drive the Stepper"),
    ("01_synchronous_invoke", "Synchronous invoke", 25,
     "one request hop by hop: frontend, placement, environment, Runtime API; cold vs warm; the REPORT line"),
    ("02_lifecycle", "Lifecycle", 20,
     "Init, Invoke and Shutdown; freeze and thaw; what happens after a crash or a timeout"),
    ("03_asynchronous_invocations", "Asynchronous invocations", 25,
     "the internal queue and poller fleet, retries, event age, destinations and dead-letter queues"),
    ("04_event_source_mappings", "Event source mappings", 25,
     "SQS and stream pollers: batching windows, partial batch failures, per-shard ordering"),
    ("05_scaling_and_concurrency", "Scaling and concurrency", 25,
     "concurrency limits, reserved and provisioned concurrency, the scaling rate and throttles"),
    ("06_keep_alive_reuse_and_cost", "Keep-alive policies and cost", 25,
     "keep-alive on a day of real Azure Functions traffic: cold starts against idle memory, your own policy, the bill"),
    ("07_runtime_api_and_custom_runtimes", "Runtime API and custom runtimes", 25,
     "the HTTP Runtime API from the inside: the real awslambdaric and a bootstrap of your own"),
    ("08_cold_starts", "Cold starts", 25,
     "where a cold start's time goes, and what layers, images, SnapStart, VPC networking and memory do to it"),
    ("09_event_driven_patterns", "Event-driven patterns and anti-patterns", 25,
     "SNS fan-out, S3 uploads, a streamed function URL; and three mistakes measured: waiting, loops, monoliths"),
]


def link(index: int) -> str:
    stem, title, *_ = COURSE[index]
    return f"[{stem[:2]} · {title}]({stem}.ipynb)"


def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": text.strip("\n"), "execution_count": None, "outputs": []}


class Exercise:
    """An exercise cell: ``template`` has one ``{answer}`` slot, ``None`` in the lab, ``solution`` in solutions."""

    def __init__(self, template: str, solution: str):
        self.template, self.solution = template, solution

    def render(self, solved: bool) -> dict:
        return code(self.template.replace("{answer}", self.solution if solved else "None"))


def check_cell(key: str, var: str) -> dict:
    # The trailing semicolon keeps Jupyter from echoing the result object after answer() has printed it.
    return code(f"{CHECK}\nll.check.answer(\"{key}\", {var});")


def what_aws_does_differently(points: list[str]) -> dict:
    body = "\n".join(f"> - {p}" for p in points)
    return md(f"> ### What real AWS does differently\n>\n{body}")


def nav(index: int) -> str:
    parts = []
    if index > 0:
        parts.append(f"⬅ back: {link(index - 1)}")
    parts.append("[course map](00_start_here.ipynb#The-course-map)")
    parts.append("[glossary](GLOSSARY.md)")
    if index + 1 < len(COURSE):
        parts.append(f"next: {link(index + 1)} ➡")
    return " · ".join(parts)


# ----------------------------------------------------------------------------------------------------- lab 00

def lab00() -> list:
    course_rows = "\n".join(
        f"| {stem[:2]} | [{title}]({stem}.ipynb) | {minutes} min | {what} |" for stem, title, minutes, what in COURSE)
    return [
        md(f"""
# 00 · Start here

**Goal:** get the lab running, meet the parts of Lambda that this course opens up, and learn to drive the
**Stepper**, the widget every lab uses to replay what Lambda did one hop at a time.

**Time:** about 15 minutes · {nav(0)}
"""),
        md("""
## What is AWS Lambda?

You hand Lambda a *function*: a bundle of code plus the name of one entry point, the *handler*. From then on,
whenever an event turns up (an HTTP request, a message on a queue, a new object in a bucket, a direct `Invoke`
call), Lambda runs the handler with that event and hands back what it returned.

What you do **not** do is pick machines. Lambda finds somewhere to run the code, starts more copies when more
events arrive at once, and tears copies down after they sit idle. You are charged per request and per
millisecond of run time, scaled by the memory you configured.

"Serverless" still runs on servers. Behind the API sits a fleet of worker hosts, each running many small
Firecracker microVMs, and a handful of services that accept requests, pick hosts, and keep warm copies around.
This course opens that box. Everything you will see runs inside this notebook's Python kernel on a
*virtual clock*: there is no AWS account, nothing costs money, and the same cells give the same result every
time.
"""),
        md("""
## 1. Install check

Run the next cell (click it, then press **Shift+Enter**). It prints the versions in use and ends with
`ready`. If it fails instead, see *How to recover* in [INSTRUCTORS.md](INSTRUCTORS.md), or restart the kernel
(**Kernel → Restart Kernel**) and run it again.
"""),
        code("""
import sys
import importlib.metadata as md

import lambdalab as ll

print(f"Python     {sys.version.split()[0]}")
print(f"lambdalab  {ll.__version__}")
for package in ("ipywidgets", "matplotlib", "networkx"):
    print(f"{package:<10} {md.version(package)}")
assert sys.version_info >= (3, 11), "lambdalab needs Python 3.11 or newer"
print("ready")
"""),
        md("""
## 2. Your first invoke

A `Lab` is one simulated AWS region. `create_function` deploys a handler (here a plain Python function) and
waits until the function is *Active*; `lab.client("lambda")` gives an object with the same methods and
parameters as boto3's Lambda client, so `invoke` below is exactly the call you would make against AWS.
"""),
        code("""
lab = ll.Lab(seed=0)   # the seed makes every run of this notebook identical


def handler(event, context):
    return {"hello": event.get("name", "world")}


lab.create_function("hello", handler, memory=128, timeout=3)
lam = lab.client("lambda")
"""),
        code(f"""
{CHECK}
with lab.scene("your first invoke") as first_invoke:
    response = lam.invoke(FunctionName="hello", Payload=b'{{"name": "Ada"}}')
print("StatusCode:", response["StatusCode"])
print("Payload:   ", response["Payload"].read().decode())
"""),
        md("""
That one call travelled through most of Lambda's architecture. The lab recorded every hop in `lab.trace`; the
`with lab.scene(...)` block around the call marked those hops as one story, `first_invoke`, for the Stepper
below. (A scene records nothing of its own: it only remembers where in the trace its story starts and ends.)
"""),
        code("""
print(f"{len(lab.trace)} steps, from t = {lab.trace[0].t:.3f} s to t = {lab.trace[-1].t:.3f} s (virtual time)")
for step in lab.trace:
    print(f"{step.seq:>3}  {step.t:7.3f}s  {step.component:<15} {step.text}")
"""),
        md("""
## 3. A tour of the architecture

These are the parts of Lambda that appear on the diagram, in the order a first request meets them. Each one is
a component in `lambdalab/` with the same name.

| on the diagram | what it does |
|---|---|
| **client** | whoever calls `Invoke`: an SDK, API Gateway, another AWS service |
| **frontend** | the Invoke API: checks the request, finds the function version, checks concurrency, routes it on |
| **worker manager** | keeps track of execution environments; reuses an idle one or asks for a new one |
| **placement** | the Placement Service: chooses a worker host with room for a new environment |
| **worker** | an EC2 host that runs many Firecracker microVMs |
| **environment** | one microVM sandbox for one version of one function, with its own lifecycle |
| **runtime API** | a small HTTP API inside the environment that the runtime asks for its next event |
| **runtime** / **extension** | the language runtime that calls your handler; optional helper processes beside it |
| **function** | your code: module-level code once per environment, the handler once per request |

Boxes you will meet later: the **async queue** and **poller** (lab 03), **event source mapping** pollers
(lab 04) and **destinations** (lab 03). Every term has an entry in the [glossary](GLOSSARY.md).

On a projector, `ll.widgets.Stepper(first_invoke, presentation=True)` draws the same story larger, for the back
of the room.
"""),
        md("""
## 4. Driving the Stepper

The next cell shows the scene as a **Stepper**: the architecture diagram with the acting component lit up,
the timeline of the execution environments, the step in words, and the log lines written so far. It starts at
step 1 of the scene, whatever else the lab did before or after.

- **Step** moves one hop forward, **Back** one hop back (the trace is a recording, so going back is free).
- **Play** walks forward on its own; press it again to pause. **Reset** returns to the first step.
- Drag the **slider** to jump anywhere.

Try it now: press **Step** a few times and watch the highlighted box move from the client into Lambda.
"""),
        code("""
stepper = ll.widgets.Stepper(first_invoke)
stepper
"""),
        md("""
You can drive the same widget from code, which helps when a trace is long: `stepper.goto(i)` jumps to step
`i` (try `stepper.goto(5)` in a new cell and watch the widget above move), and `stepper.current` is the step
shown. The scene keeps its steps in a list, `first_invoke.steps`, each with `.component`, `.action`, `.text`,
`.t`, `.env_id`, `.worker_id` and a `.detail` dict; the cell below reads one without moving the widget.
"""),
        code("""
step = first_invoke.steps[5]
print(step.seq, step.component, step.action, "|", step.text)
"""),
        md("""
## 5. Exercises

Each exercise asks you to put an answer in a variable that starts as `None`, then run the check cell under
it. The check prints **✓** with a short explanation when you are right, or **✗** with a hint (never the
answer) when you are not. Try as often as you like; worked answers are in [solutions/](solutions/).

**Exercise 1.** Which component is the first one *inside* Lambda to handle the request (the one right after the
client)? Give its name as it appears on the diagram.
"""),
        Exercise("""
first_component = {answer}   # a component name, as a string
""", 'lab.trace[1].component'),
        check_cell("lab00.first_component", "first_component"),
        md("""
**Exercise 2.** Inside the environment, the runtime does not get the event pushed to it: it asks for work over
HTTP. Step to the first `runtime_api` step. Which **path** does the runtime `GET` to receive its next event?
"""),
        Exercise("""
next_path = {answer}   # a string starting with "/"
""", 'lab.trace.filter(component="runtime_api")[0].detail["path"]'),
        check_cell("lab00.next_path", "next_path"),
        md("""
Whenever you want to see which exercises you have passed, in this lab or any other, ask (your right answers
are kept in a small file in your home folder, so this works across labs and restarts):
"""),
        code("""
ll.check.progress()
"""),
        md(f"""
## The course map

| lab | title | time | what you will see |
|---|---|---|---|
{course_rows}

Each lab opens with its goal and has a box on what real AWS does differently from this model. Labs
build on each other a little, but from lab 02 on you can take them in any order.
"""),
        what_aws_does_differently([
            "Every hop here is a method call on one virtual clock; in AWS each is a network call between fleets "
            "of servers spread over several Availability Zones, and each fleet has its own retries and caches.",
            "Timings come from a cost model built on published numbers (Firecracker boot, code-cache hit rates, "
            "runtime start-up), not from measurements, and the same seed always gives the same numbers.",
            "The lab has one account in one region, no IAM permission checks and no network, so nothing can fail "
            "for reasons outside Lambda itself.",
            "AWS does not publish all of its internals; where it is silent, this lab follows the public "
            "descriptions (re:Invent talks, the security whitepaper, papers) and keeps the simplest behaviour "
            "that matches what you can observe.",
        ]),
        md(f"""
**Next:** {link(1)} follows one request through every one of these components and reads the bill it
leaves behind.

{nav(0)}
"""),
    ]


# ----------------------------------------------------------------------------------------------------- lab 01

def lab01() -> list:
    return [
        md(f"""
# 01 · A synchronous invoke, hop by hop

**Goal:** follow one `RequestResponse` invoke through the frontend, the Worker Manager, the Placement Service,
a worker host, an execution environment and the Runtime API, and back; tell a cold start from a warm one;
read every field of the `REPORT` log line; and recognise what a failed invoke looks like to the caller.

**Time:** about 25 minutes · {nav(1)}
"""),
        md("""
## 1. Deploy a function

This time the code is a *source file*, as you would upload it in a zip. Note the two kinds of code in it:

- **module-level code** (the `ll.sleep(0.12)` standing in for reading config and opening a connection) runs
  once, when a new execution environment starts: that is the **Init** phase;
- the **handler** runs once per request: the **Invoke** phase.

`ll.sleep` spends *virtual* time, so the lab can show realistic durations without making you wait.
"""),
        code(f'''
import lambdalab as ll

CODE = """\\
{HANDLER_CODE}"""

lab = ll.Lab(seed=0)
lab.create_function("hello", CODE, memory=128, timeout=3)
lam = lab.client("lambda")
print(f"virtual time after deploying: {{lab.now:.1f}} s")
'''),
        md("""
## 2. Invoke it, synchronously

`InvocationType="RequestResponse"` (the default [invocation type](GLOSSARY.md#invocation-type)) means the
caller waits for the handler's result.
`LogType="Tail"` asks Lambda to send back the end of the invocation's log as well (section 6).
"""),
        code(f"""
{CHECK}
with lab.scene("a cold start") as cold_start:
    r_cold = lam.invoke(FunctionName="hello", Payload=b'{{"name": "Ada"}}', LogType="Tail")
cold_id = r_cold["ResponseMetadata"]["RequestId"]
print("StatusCode:     ", r_cold["StatusCode"])
print("ExecutedVersion:", r_cold["ExecutedVersion"])
print("Payload:        ", r_cold["Payload"].read().decode())
"""),
        md("""
## 3. Follow the request

Press **Step** and follow the lit box. This first request is a [cold start](GLOSSARY.md#cold-start): no
environment exists yet, so Lambda has to build one before it can run the handler. Watch for these hops:

1. **client → frontend**: the Invoke API resolves `hello` to `$LATEST` and checks there is concurrency left.
2. **frontend → worker manager**: is there an idle environment for this function version? Not yet.
3. **placement**: a worker host is chosen (here the fleet is empty, so a host joins it first).
4. **worker**: the host boots a Firecracker microVM for the new environment.
5. **environment**: the code is fetched (through a worker-local cache, an AZ cache, or S3), then **Init**:
   extensions, the runtime's bootstrap, and your module-level code.
6. **runtime API**: the runtime calls `GET .../invocation/next` and receives the event with its request id.
7. **runtime → function**: the handler runs, and the runtime `POST`s the result to `.../response`.
8. The environment is **frozen**, goes back to the pool, and the frontend returns the result to the caller.
"""),
        code("""
stepper = ll.widgets.Stepper(cold_start)
stepper
"""),
        md("""
The same steps as text, with the ids each one carries (`e-…` is an execution environment, `w-…` a worker).
Steps such as booting the microVM belong to the *environment* rather than to one request, so `steps_of` takes
every step from the request's first to its last:
"""),
        code("""
def steps_of(request_id):
    seqs = [s.seq for s in lab.trace.filter(request_id=request_id)]
    return [s for s in lab.trace if min(seqs) <= s.seq <= max(seqs)]


def show(request_id):
    for s in steps_of(request_id):
        ids = " ".join(x for x in (s.env_id, s.worker_id) if x)
        print(f"{s.t:7.3f}s  {s.component:<15} {s.action:<11} {ids:<9} {s.text}")


show(cold_id)
"""),
        md("""
**Exercise 1.** When a new environment is needed, which component decides *which worker host* it goes on?
"""),
        Exercise("""
picks_worker = {answer}   # a component name from the diagram
""", 'next(s.component for s in steps_of(cold_id) if s.action == "place")'),
        check_cell("lab01.picks_worker", "picks_worker"),
        md("""
## 4. Cold vs warm

Invoke the same function again. The environment from the first call is frozen in the pool, so this time the
Worker Manager can simply *thaw* it: a [warm start](GLOSSARY.md#warm-start).
"""),
        code("""
with lab.scene("a warm start") as warm_start:
    r_warm = lam.invoke(FunctionName="hello", Payload=b'{"name": "Grace"}')
warm_id = r_warm["ResponseMetadata"]["RequestId"]
show(warm_id)
"""),
        code("""
def waited_ms(request_id):
    done = [s for s in lab.trace.filter(request_id=request_id, component="client") if s.action == "response"]
    return done[0].detail["latency_ms"]


for name, rid in (("cold", cold_id), ("warm", warm_id)):
    steps = steps_of(rid)
    print(f"{name}: {len(steps):>2} steps, caller waited {waited_ms(rid):6.1f} ms, "
          f"components: {sorted({s.component for s in steps})}")
"""),
        md("""
Step through the warm start on its own Stepper and compare it with the cold one above: which boxes never light
up?
"""),
        code("""
ll.widgets.Stepper(warm_start)
"""),
        md("""
**Exercise 2.** Name the lifecycle phase that the second (warm) invoke skips entirely.
"""),
        Exercise("""
warm_skips = {answer}   # one or two words
""", '"Init"'),
        check_cell("lab01.warm_skips", "warm_skips"),
        md("""
## 5. Reading the REPORT line

Every invocation ends its log with a `REPORT` line. Lambda writes the log to CloudWatch Logs; the lab keeps it
in `lab.logs(name)`:
"""),
        code("""
for line in lab.logs("hello"):
    print(line)
"""),
        code("""
reports = [line for line in lab.logs("hello") if line.startswith("REPORT")]
cold_report = dict(part.split(": ", 1) for part in reports[0].split("\\t")[1:])
warm_report = dict(part.split(": ", 1) for part in reports[1].split("\\t")[1:])
for field in cold_report:
    print(f"{field:<16} cold: {cold_report[field]:<10} warm: {warm_report.get(field, '(not there)')}")
"""),
        md("""
What the fields mean:

- **Duration**: time spent in the Invoke phase for this request, from the event reaching the runtime until the
  result was posted back. Here it is the handler's 25 ms `ll.sleep`.
- **Init Duration**: only on a cold start. The Init phase: extension init, runtime bootstrap and your
  module-level code. It does *not* include booting the microVM or downloading the code.
- **Billed Duration**: what you pay for, in whole milliseconds (rounded up). Since August 2025, for on-demand
  functions packaged as zip files, the Init phase is billed too, so a cold start's bill is
  Duration + Init Duration.
- **Memory Size**: the memory you configured (CPU share grows with it). You pay for this × Billed Duration,
  in GB-seconds.
- **Max Memory Used**: the most memory the environment used so far (a fixed estimate in this lab).

Compare the caller's wait with the REPORT: the caller waited for the microVM and the code download as well,
but those never show up in the bill.
"""),
        md("""
**Exercise 3.** How many milliseconds of the *first* invoke's Billed Duration came from the Init phase? Give a
number, no units.
"""),
        Exercise("""
init_ms = {answer}   # a number of milliseconds
""", 'float(cold_report["Init Duration"].split()[0])'),
        check_cell("lab01.init_ms", "init_ms"),
        md("""
## 6. `LogType="Tail"`

With `LogType="Tail"` the response carries `LogResult`: the last 4 KB of this invocation's log, base64
encoded. It is handy for a quick look from a script or the console, without opening CloudWatch.
"""),
        code("""
import base64

print(base64.b64decode(r_cold["LogResult"]).decode())
"""),
        md("""
## 7. When things go wrong

A function that expects a `name` and fails without one, and a function that is too slow for its timeout:
"""),
        code("""
import json


def fussy(event, context):
    return {"message": "Hello, " + event["name"]}


def slow(event, context):
    ll.sleep(5)   # longer than the 1 s timeout below
    return "done"


lab.create_function("fussy", fussy)
lab.create_function("slow", slow, timeout=1)

r_ok = lam.invoke(FunctionName="fussy", Payload=b'{"name": "Ada"}')
r_err = lam.invoke(FunctionName="fussy", Payload=b"{}")
r_timeout = lam.invoke(FunctionName="slow")
"""),
        code(f"""
{CHECK}
for name, r in (("ok", r_ok), ("error", r_err), ("timeout", r_timeout)):
    body = json.loads(r["Payload"].read())
    print(f"{{name:<8}} StatusCode={{r['StatusCode']}}  FunctionError={{r.get('FunctionError')}}")
    if isinstance(body, dict) and "errorType" in body:
        print(f"         errorType={{body['errorType']}}  payload keys={{sorted(body)}}")
"""),
        md("""
All three calls returned `StatusCode` 200: the Invoke request itself worked, even when your code did not. The
error payload is JSON with `errorType` (the exception class, or `Sandbox.Timedout` for a timeout),
`errorMessage`, and, for exceptions, the `requestId` and a `stackTrace`.

Errors *of the request itself* are different: they never reach your code, and the client raises
`ClientError`, just as boto3 does:
"""),
        code(f"""
{CHECK}
try:
    lam.invoke(FunctionName="no-such-function")
except ll.ClientError as err:
    print(err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"])
"""),
        md("""
**Exercise 4.** Which top-level key of the invoke response tells a caller that the *handler* failed? (Compare
`sorted(r_ok)` with `sorted(r_err)`.)
"""),
        Exercise("""
error_key = {answer}   # a key of the response dict
""", 'sorted(set(r_err) - set(r_ok))[0]'),
        check_cell("lab01.error_key", "error_key"),
        md("""
## 8. Your turn (optional)

The console below invokes any function of this lab and points its own Stepper at the new request (that
Stepper follows the whole lab, so it keeps every request you make). Things to
try: `hello` again (warm: how many steps now?), `fussy` with the payload `{}`, `slow`, and `hello` with
the `DryRun` type (the request is checked, nothing runs, and you get 204).
"""),
        code("""
ll.widgets.InvokeConsole(lab)
"""),
        what_aws_does_differently([
            "The frontend, Worker Manager and Placement Service are large fleets reached over the network, spread "
            "across Availability Zones; AWS has also reworked them over time (for example an Assignment Service "
            "took over parts of the Worker Manager's job). The lab keeps one of each, with the classic names.",
            "The runtime is a separate process that talks HTTP to the Runtime API on the environment's local "
            "address; here the calls are direct (lab 07 serves the real HTTP API to the real runtime client).",
            "Real cold starts vary from one invoke to the next: code-cache hits, host load and package size all "
            "move them. The lab's cost model draws them from seeded distributions with published averages.",
            "Max Memory Used is measured by AWS; the lab reports a fixed estimate.",
            "How Init is billed depends on the packaging and the date: before August 2025, on-demand zip "
            "functions on managed runtimes were not billed for Init.",
        ]),
        md(f"""
## Summary

- A synchronous invoke goes client → frontend → Worker Manager → (Placement → worker → new environment, only
  when cold) → Runtime API → runtime → your handler, and back the same way.
- A warm invoke reuses a frozen environment: no Init, far less waiting.
- `REPORT` tells you Duration, Billed Duration, Memory Size, Max Memory Used, and Init Duration on cold starts.
- A failing handler still gets StatusCode 200; look for `FunctionError` and the error payload.

**Next:** {link(2)} looks at the environment's whole life: Init, Invoke and Shutdown, and what a crash or a
timeout does to it.

{nav(1)}
"""),
    ]


# ----------------------------------------------------------------------------------------------------- build

SOLUTION_BANNER = md("""
> **Solution notebook.** This is the lab with every exercise answered (mostly computed from the lab's own
> output, so you can see *where* each answer comes from). Try the exercises in the lab first.
""")


def notebook(cells: list, solved: bool) -> dict:
    rendered = [c.render(solved) if isinstance(c, Exercise) else c for c in cells]
    if solved:
        rendered = rendered[:1] + [SOLUTION_BANNER] + rendered[1:]
        # solutions live one folder down: links to sibling labs need "../"
        for c in rendered:
            if c["cell_type"] == "markdown":
                c["source"] = relink(c["source"])
    for i, c in enumerate(rendered):
        c["id"] = f"c{i:02d}"
    return {
        "cells": rendered,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def relink(text: str) -> str:
    for stem, *_ in COURSE:
        text = text.replace(f"]({stem}.ipynb", f"](../{stem}.ipynb")
    text = text.replace("](INSTRUCTORS.md)", "](../INSTRUCTORS.md)").replace("](GLOSSARY.md", "](../GLOSSARY.md")
    return text.replace("](solutions/)", "](./)")


def execute(nb: dict, cwd: pathlib.Path) -> dict:
    import nbclient
    import nbformat

    node = nbformat.from_dict(nb)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    nbclient.NotebookClient(node, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return json.loads(nbformat.writes(node))


def build_labs(labs, argv=None, doc: str = "") -> int:
    """The generators' shared command line: write each lab and its solution, execute them (recording the
    golden outputs of checked cells) and write them stripped. ``labs``: (file stem, function -> cells) pairs."""
    ap = argparse.ArgumentParser(description=(doc or __doc__).split("\n\n")[0])
    ap.add_argument("--no-run", action="store_true", help="write only; labs/_golden is left as it is")
    ap.add_argument("--only", help="build only the labs whose file name starts with this (e.g. 05)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    from strip_notebooks import write_notebook

    (LABS / "solutions").mkdir(exist_ok=True)
    for stem, make_cells in labs:
        if args.only and not stem.startswith(args.only):
            continue
        cells = make_cells()
        for solved, path in ((False, LABS / f"{stem}.ipynb"), (True, LABS / "solutions" / f"{stem}_solution.ipynb")):
            nb = notebook(cells, solved)
            if not args.no_run:
                nb = execute(nb, path.parent)
            write_notebook(path, nb)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


def main(argv=None) -> int:
    return build_labs((("00_start_here", lab00), ("01_synchronous_invoke", lab01)), argv)


if __name__ == "__main__":
    sys.exit(main())
