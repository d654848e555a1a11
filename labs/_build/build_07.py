#!/usr/bin/env python3
"""Generate labs/07_runtime_api_and_custom_runtimes.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_07.py            # write, run, strip
    PYTHONPATH=. python labs/_build/build_07.py --no-run   # write only

Uses the cell helpers of labs/_build/build_00_01.py so this lab is written like the others. The code the lab
deploys (bootstrap, extensions) lives in lambdalab/check/lab07.py. This lab runs in real time: only the check
cells (which print fixed text) are compared against golden output.
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from build_00_01 import (build_labs, Exercise, check_cell, code, md, nav, what_aws_does_differently)  # noqa: E402

from lambdalab.check.lab07 import BOOTSTRAP, LOGGER_EXTENSION, TELEMETRY_EXTENSION  # noqa: E402

STEM = "07_runtime_api_and_custom_runtimes"
INDEX = 7


def text_constant(name: str, text: str) -> str:
    return f"{name} = r'''{text}'''"


def lab07() -> list:
    return [
        md(f"""
# 07 · Runtime API and custom runtimes

**Goal (25 minutes):** look at Lambda from the runtime's side of the wall. Every runtime, the managed Python one
included, is a program that asks an HTTP API for work and posts back the answer: the **Runtime API**. In this
lab the lab runs in **real time** and serves that API over real HTTP, one server per execution environment. You
will

1. be the runtime yourself: ask `/next` for an event, watch it block, post a response and an error;
2. write a custom runtime in bash + curl (`provided.al2023`);
3. run the unmodified AWS runtime client (`awslambdaric`) and call the function with the real `boto3`;
4. drive the lab with the real AWS CLI and boto3 over HTTP, as you would drive AWS;
5. add an extension, and subscribe to the Telemetry API.

{nav(INDEX)}
"""),
        md("""
## 1. A real-time lab

`ll.Lab(clock="real")` is the same model as before (frontend, worker manager, environments) but its clock is
the wall clock, and it can start HTTP servers and processes. Everything you start, `lab.close()` stops.
"""),
        code("""
import http.client
import io
import json
import time
import zipfile

import lambdalab as ll

lab = ll.Lab(clock="real")


def call(api, method, path, body=None, headers=None, timeout=10):
    \"\"\"One HTTP request to a Runtime API at `api` (host:port): returns (status, headers, body).\"\"\"
    host, port = api.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, dict(reply.getheaders()), data


def package(files):
    \"\"\"A deployment package (a zip) from {path: text}.\"\"\"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return {"ZipFile": buffer.getvalue()}
"""),
        md("""
## 2. You are the runtime

The function below has a runtime that does nothing at all: its `bootstrap` is `sleep 600`, so the process
exists but never calls the API. **You** will do its job from this notebook. Start an invoke in the background
(`lab.submit` does not wait), then find the environment's Runtime API address: it is what Lambda puts in
`AWS_LAMBDA_RUNTIME_API` for the runtime.
"""),
        code("""
lab.create_function("by-hand", runtime="provided.al2023", bootstrap=["sleep", "600"], timeout=60)
first = lab.submit(FunctionName="by-hand", Payload=json.dumps({"name": "Ada"}))
API = lab.realtime.runtime_api("by-hand")     # waits until the environment's Init reaches the runtime
print("Runtime API of the new environment:", API)
print("is the invoke done?", first.done)
"""),
        md("""
The invoke is waiting: the environment is in its Init phase, and Init only ends when the runtime asks for its
first piece of work. Ask for it:
"""),
        code("""
status, headers, event = call(API, "GET", "/2018-06-01/runtime/invocation/next")
print(status, event)
for name, value in headers.items():
    if name.startswith("Lambda-Runtime") or name == "Content-Type":
        print(f"  {name}: {value}")
request_id = headers["Lambda-Runtime-Aws-Request-Id"]
"""),
        md("""
The body is the event; everything else is in headers: the request id, the deadline (epoch milliseconds, so the
runtime can tell the handler how much time is left), the function ARN and the X-Ray trace id. Now answer it:
"""),
        code("""
status, _, body = call(API, "POST", f"/2018-06-01/runtime/invocation/{request_id}/response",
                       json.dumps({"greeting": "Hello, Ada"}))
print("Runtime API says:", status, body)
lab.wait_for(lambda: first.done)
print("the caller gets:", first.response["StatusCode"], first.response["Payload"].read())
"""),
        md("""
### Watch `/next` block

Between invokes there is nothing to hand out, so `/next` simply does not answer. (The environment is frozen at
this point, here as in AWS: its processes are stopped, and the runtime's request stays open until the next
invoke thaws it.) Give up after 2 s:
"""),
        code("""
start = time.monotonic()
try:
    call(API, "GET", "/2018-06-01/runtime/invocation/next", timeout=2)
except TimeoutError:
    print(f"/next was still waiting after {time.monotonic() - start:.1f} s: no invocation to hand out")
"""),
        md("""
Now send an event that your "runtime" will refuse, and report a **function error** with
`POST /invocation/{id}/error`. The optional `Lambda-Runtime-Function-Error-Type` header names the error type.
"""),
        code("""
second = lab.submit(FunctionName="by-hand", Payload=json.dumps({"fail": True}))
status, headers, event = call(API, "GET", "/2018-06-01/runtime/invocation/next")
request_id = headers["Lambda-Runtime-Aws-Request-Id"]
status, _, body = call(API, "POST", f"/2018-06-01/runtime/invocation/{request_id}/error",
                       json.dumps({"errorMessage": "I do not like this event", "errorType": "Function.Picky"}),
                       {"Lambda-Runtime-Function-Error-Type": "Function.Picky"})
print("Runtime API says:", status, body)
lab.wait_for(lambda: second.done)
print("the caller gets:", second.response["StatusCode"], second.response.get("FunctionError"),
      second.response["Payload"].read())
"""),
        md("""
### Exercise 1: answer the wrong invocation

Start a third invoke, take it with `/next`, and then post a response to
`/2018-06-01/runtime/invocation/not-a-real-id/response`. What status code does the Runtime API answer?
"""),
        code("""
third = lab.submit(FunctionName="by-hand", Payload="{}")
status, headers, event = call(API, "GET", "/2018-06-01/runtime/invocation/next")
request_id = headers["Lambda-Runtime-Aws-Request-Id"]
print(call(API, "POST", "/2018-06-01/runtime/invocation/not-a-real-id/response", "{}"))
"""),
        Exercise("wrong_id_status = {answer}   # the status code you saw", "400"),
        check_cell("lab07.wrong_id_status", "wrong_id_status"),
        md("""
### Exercise 2: answer twice

Now answer `third` properly, and then post a second response for the same request id. What status does the
second one get?
"""),
        code("""
print("first answer: ", call(API, "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", '"one"')[0])
print("second answer:", call(API, "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", '"two"'))
"""),
        Exercise("second_response_status = {answer}", "403"),
        check_cell("lab07.second_response_status", "second_response_status"),
        md("""
## 3. A custom runtime in bash

A `provided.al2023` function ships its own runtime: an executable called `bootstrap` in the package. Lambda
starts it with `AWS_LAMBDA_RUNTIME_API` set, and the bootstrap loops: `/next`, work, response. Here is the
whole thing in bash and curl (curl's `-D` writes the response headers to a file, where `grep` finds the
request id):
"""),
        code(f"""
{text_constant("BOOTSTRAP", BOOTSTRAP)}

lab.create_function("bash-echo", runtime="provided.al2023", Handler="function.handler",
                    Code=package({{"bootstrap": BOOTSTRAP}}))
lam = lab.client("lambda")
with lab.scene("a bash runtime answers over HTTP") as bash_invoke:
    reply = lam.invoke(FunctionName="bash-echo", Payload=json.dumps({{"name": "Grace"}}), LogType="Tail")
print(reply["StatusCode"], reply["Payload"].read())
"""),
        md("""
The log tail (`LogType="Tail"`) shows what the bootstrap printed between `START` and `END`: the runtime's
stdout goes to the function's log stream. Now ask it to fail:
"""),
        code("""
import base64

reply = lam.invoke(FunctionName="bash-echo", Payload=json.dumps({"fail": True}), LogType="Tail")
print(reply["StatusCode"], reply.get("FunctionError"), reply["Payload"].read())
print(base64.b64decode(reply["LogResult"]).decode())
"""),
        md("""
### Exercise 3

Which response header of `/next` does the bootstrap read to know which invocation it is answering?
"""),
        Exercise("request_id_header = {answer}   # a header name, as a string", '"Lambda-Runtime-Aws-Request-Id"'),
        check_cell("lab07.request_id_header", "request_id_header"),
        md("""
## 4. The real runtime client, and the real SDK

The managed Python runtime does exactly what your bash loop does, in the AWS Lambda
[runtime interface client](GLOSSARY.md#runtime-interface-client) (`awslambdaric`, on PyPI). With `process=True`, lambdalab runs your handler under the unmodified
client, as its own process, talking to this environment's Runtime API.
"""),
        code("""
def handler(event, context):
    import os
    return {"pid": os.getpid(), "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
            "ms_left": context.get_remaining_time_in_millis(), "event": event}


lab.create_function("py-ric", handler, process=True, timeout=5)
for _ in range(2):
    print(json.loads(lam.invoke(FunctionName="py-ric", Payload=b'{"n": 1}')["Payload"].read()))
"""),
        md("""
Same pid twice: the second invoke was warm, served by the same process. `lab.serve()` puts the **Invoke API**
on HTTP too, so the real `boto3` can call the lab; only the endpoint differs from calling AWS.
"""),
        code("""
import boto3

url = lab.serve()
aws = boto3.client("lambda", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="lab", aws_secret_access_key="lab")
reply = aws.invoke(FunctionName="py-ric", Payload=json.dumps({"from": "boto3"}))
print(reply["StatusCode"], reply["ExecutedVersion"], json.loads(reply["Payload"].read())["event"])
try:
    aws.invoke(FunctionName="no-such-function", Payload=b"{}")
except aws.exceptions.ResourceNotFoundException as error:
    print("boto3 raised:", error.response["Error"]["Code"], "-", error.response["Error"]["Message"])
"""),
        md("""
## 5. The AWS CLI and boto3, against the lab

`lab.serve()` is not just the Invoke API: it answers **every** operation the lab models, of Lambda, SQS,
Kinesis, S3 and SNS, in each service's own wire protocol. So the real **AWS CLI** works against it unchanged;
only `--endpoint-url` says where AWS is. The helper below runs `aws` the way you would in a terminal (any
credentials do: the lab does not check signatures). `aws` is still the boto3 Lambda client of section 4.
"""),
        code("""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

AWS_CLI = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
WORKDIR = tempfile.mkdtemp(prefix="lab07-cli-")      # where the CLI reads the zip and writes out.json
CLI_ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}


def cli(command):
    \"\"\"Run `aws --endpoint-url <lab> <command>` and show what a terminal would.\"\"\"
    print("$ aws --endpoint-url $LAB", command)
    done = subprocess.run([AWS_CLI, "--endpoint-url", url, *shlex.split(command)], env=CLI_ENV,
                          capture_output=True, text=True, timeout=120, cwd=WORKDIR)
    shown = (done.stdout or done.stderr).strip()
    if done.returncode:
        shown += f"\\n(exit status {done.returncode})"
    if shown:
        print(shown)


version = subprocess.run([AWS_CLI, "--version"], capture_output=True, text=True)
print("the AWS CLI:", (version.stdout or version.stderr).split()[0])

with open(os.path.join(WORKDIR, "hello.zip"), "wb") as zip_file:
    zip_file.write(package({"app.py": "def handler(event, context):\\n    return {'via': 'cli', 'event': event}\\n"})["ZipFile"])
cli("lambda create-function --function-name from-cli --runtime python3.12 --handler app.handler "
    "--role arn:aws:iam::123456789012:role/lambdalab-execution-role --zip-file fileb://hello.zip "
    "--query '[FunctionName, State]'")
cli("lambda wait function-active-v2 --function-name from-cli")
cli("lambda invoke --function-name from-cli --payload '{\\"n\\": 1}' out.json --query StatusCode")
print(open(os.path.join(WORKDIR, "out.json")).read())
"""),
        md("""
`create-function` answered `Pending`; the CLI's waiter polled `GetFunction` until the function was `Active`,
exactly as against AWS. Listing pages the same way: Lambda returns at most `MaxItems` functions and a
`NextMarker`, and the CLI follows the markers for you (`--page-size` sets `MaxItems`). A failing call exits with
status 255 and AWS's error code and message:
"""),
        code("""
cli("lambda list-functions --page-size 2 --query 'Functions[].FunctionName'")
cli("lambda get-function --function-name no-such-function")
cli("sqs create-queue --queue-name orders --query QueueUrl")
"""),
        md("""
That error travelled as AWS sends it: a status code, the code in the `x-amzn-ErrorType` header and a small JSON
body. botocore (under both the CLI and boto3) turns that header into `error.response["Error"]["Code"]` and
raises the matching exception class. Here is the raw answer, as `curl` would see it:
"""),
        code("""
status, headers, body = call(url.split("//")[1], "GET", "/2015-03-31/functions/no-such-function")
print(status, "x-amzn-ErrorType:", headers["x-amzn-ErrorType"])
print(body.decode())
"""),
        md("""
And with boto3, everything botocore builds from AWS's service models works too: paginators, waiters, modelled
exceptions, for every service. (In the earlier labs, `lab.client("lambda")` was already this same botocore
client; its requests simply never left the notebook's process.)
"""),
        code("""
sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="lab", aws_secret_access_key="lab")
queue_url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "ok", "MessageBody": "one order"},
                                                            {"Id": "late", "MessageBody": "x", "DelaySeconds": 901}])
print("sent:", [e["Id"] for e in sent["Successful"]], "failed:", [(e["Id"], e["Code"]) for e in sent["Failed"]])
pages = aws.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
print("function names, page by page:", [[f["FunctionName"] for f in page["Functions"]] for page in pages])
try:
    sqs.get_queue_url(QueueName="no-such-queue")
except sqs.exceptions.QueueDoesNotExist as error:
    print("boto3 raised:", type(error).__name__, error.response["Error"]["Code"])
shutil.rmtree(WORKDIR)
"""),
        md("""
## 6. An extension

Extensions are processes started next to the runtime (in AWS, from a layer's `/opt/extensions/`; here, from an
`extensions/` folder in the package). An extension **registers** during Init, then long-polls
`/2020-01-01/extension/event/next` for `INVOKE` and `SHUTDOWN` events. This one logs every event it gets:
"""),
        code(f"""
{text_constant("LOGGER_EXTENSION", LOGGER_EXTENSION)}

lab.create_function("with-logger", runtime="provided.al2023", Handler="function.handler",
                    Code=package({{"bootstrap": BOOTSTRAP, "extensions/logger": LOGGER_EXTENSION}}))
reply = lam.invoke(FunctionName="with-logger", Payload=json.dumps({{"name": "Linus"}}))
request_id = reply["ResponseMetadata"]["RequestId"]
time.sleep(0.5)                               # the extension prints on its own schedule
for line in lab.logs("with-logger"):
    if "[logger]" in line or "START" in line:
        print(line[:160])
"""),
        md("""
The extension saw the `INVOKE` event with the same request id, at the same moment the runtime got the event.
Registration is only open during Init: it closes when the runtime first calls `/next`.

## 7. Telemetry

An extension can also **subscribe to the Telemetry API** (`PUT /2022-07-01/telemetry`): Lambda then POSTs
batches of events (the platform's lifecycle records, the function's log lines) to an HTTP listener the
extension runs. This extension, in Python, prints the types of each batch it receives:
"""),
        code(f"""
{text_constant("TELEMETRY_EXTENSION", TELEMETRY_EXTENSION)}

lab.create_function("with-telemetry", runtime="provided.al2023", Handler="function.handler",
                    Code=package({{"bootstrap": BOOTSTRAP, "extensions/telemetry.py": TELEMETRY_EXTENSION}}))
for n in range(3):
    lam.invoke(FunctionName="with-telemetry", Payload=json.dumps({{"n": n}}))
    time.sleep(0.3)
for line in lab.logs("with-telemetry"):
    if "[telemetry]" in line:
        print(line[:160])
"""),
        md("""
Look at when the batches arrived. Events are buffered for `timeoutMs` (25 ms here), but an invoke of this
function is over in a few milliseconds, and then the environment is **frozen**: nothing inside it runs, not
even the delivery of telemetry. So the events of one invoke typically arrive at the start of the **next**
one. That is what happens in AWS too, and why log-shipping extensions flush at `SHUTDOWN`.

### Exercise 4

Which `platform.*` event says "the runtime has posted its answer" (it comes between `platform.start` and
`platform.report`)?
"""),
        Exercise("runtime_done_event = {answer}   # an event type, as a string", '"platform.runtimeDone"'),
        check_cell("lab07.runtime_done_event", "runtime_done_event"),
        md("""
## 8. The same trace, the same vocabulary

A real-time lab records the same steps as a virtual one, so everything from the earlier labs (the Stepper,
`lab.trace.filter`) works on it. Here is the bash invoke of section 3 (its scene, `bash_invoke`), with the
Runtime API's `next` and `response` hops coming from real HTTP requests of the bootstrap's curl:
"""),
        code("""
for step in bash_invoke.steps:
    print(f"{step.t:8.3f} s  {step.component:15} {step.action:10} {step.text[:80]}")
"""),
        md("""
The Stepper replays that scene like any other: press **Step** and watch the hops light up on the diagram (the
real-time lab keeps running underneath; the Stepper only reads what was recorded).
"""),
        code("""
ll.widgets.Stepper(bash_invoke)
"""),
        what_aws_does_differently([
            "The Runtime API lives inside each microVM at a fixed address (`127.0.0.1:9001`); here each "
            "environment gets its own port on this machine's loopback.",
            "Runtimes and extensions run in a Firecracker microVM that is **frozen** between invokes; here they "
            "are ordinary processes, stopped (SIGSTOP) once the environment is idle and its runtime waits on "
            "`/next`, and resumed (SIGCONT) by the next invoke or the Shutdown. An extension still busy after the "
            "response is stopped mid-way; AWS would wait for it.",
            "Extensions come from layers (`/opt/extensions`); here from `extensions/` in the package. AWS also "
            "waits for every extension to call `event/next` again before the invoke ends (it can lengthen "
            "Duration); we answer the caller when the runtime has answered.",
            "The microVM boot and the code download are still modelled, but in real time you actually wait for "
            "them; the runtime's start and its Init are real processes and real milliseconds.",
            "There is no authentication: any credentials work against `lab.serve()`, and the Telemetry API "
            "only delivers over HTTP (not TCP).",
            "AWS has one endpoint per service and region (`lambda.us-east-1.amazonaws.com`, ...); `lab.serve()` "
            "is one endpoint for all of them and tells the service from the request (the signature's scope, "
            "`X-Amz-Target`, the query `Action`, the path). It serves the operations listed in the README and "
            "answers the others with AWS's error shape (`NotImplemented`, 501).",
            "`lab.client(...)` does not sign its requests nor retry them: a throttle (429) is raised at once, "
            "where boto3 against AWS would retry it a few times with backoff first.",
        ]),
        md("""
## Clean up

`lab.close()` stops every runtime and extension process (SIGTERM, then SIGKILL) and every server:
"""),
        code("""
pids = list(lab.realtime.all_pids)
lab.close()
time.sleep(0.2)
still_running = [pid for pid in pids if pathlib.Path(f"/proc/{pid}").exists()
                 and pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"]
print(f"{len(pids)} processes were started; still running after close: {still_running}")
""".replace("pids = list", "import pathlib\n\npids = list")),
        md(f"""
**Done.** You have been a runtime, written one, run the real one, driven the lab with the AWS CLI and boto3,
and looked at what extensions and telemetry see. {nav(INDEX)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab07),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
