#!/usr/bin/env python3
"""Generate labs/09_event_driven_patterns.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_09.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_09.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (COURSE, build_labs, CHECK, Exercise, check_cell, code, md, nav,  # noqa: E402
                         what_aws_does_differently)

from lambdalab.check.lab09 import KEYS, STREAM_CODE  # noqa: E402  (shared with the lab's checks)

STEM = "09_event_driven_patterns"
INDEX = [stem for stem, *_ in COURSE].index(STEM)


def lab09() -> list:
    return [
        md(f"""
# 09 · Event-driven patterns and anti-patterns

**Goal (25 minutes):** wire functions to the services that push events at them, and measure the three mistakes
that make event-driven systems slow or expensive. You will

1. fan one SNS message out to a function and a queue;
2. process uploads to an S3 bucket, with key filters;
3. put a function behind a URL and stream its response;
4. run three anti-patterns and measure them: a function waiting on another (both billed), a recursive loop
   (stopped after 16 rounds), and a monolith's cold start against small functions'.

{nav(INDEX)}
"""),
        md("""
## 0. One lab, four services

`lab.client(...)` gives boto3 clients for Lambda, SQS, **SNS** and **S3**, all answered inside this notebook.
Services invoke functions only when the function's
[resource-based policy](GLOSSARY.md#resource-based-policy) lets them
(`add_permission`); that is the first thing to watch for below.
"""),
        code("""
import json

import lambdalab as ll

lab = ll.Lab(seed=0)
lam, sqs, sns, s3 = (lab.client(name) for name in ("lambda", "sqs", "sns", "s3"))
"""),
        md("""
## 1. Fan-out: one message, many subscribers

An order service publishes each new order once, to an SNS [topic](GLOSSARY.md#topic), which
[fans it out](GLOSSARY.md#fan-out) to every subscriber. Billing subscribes a function directly;
shipping subscribes an SQS queue, read by its own function through an event source mapping (lab 04), so a
shipping outage leaves orders waiting on the queue instead of lost.
"""),
        code("""
BILLING = '''
import json
def handler(event, context):
    order = json.loads(event["Records"][0]["Sns"]["Message"])
    print("bill order", order["id"], "for", order["total"])
'''
SHIPPING = '''
import json
def handler(event, context):
    for record in event["Records"]:                          # an SQS batch of SNS envelopes
        order = json.loads(json.loads(record["body"])["Message"])
        print("ship order", order["id"])
'''
billing_arn = lab.create_function("billing", BILLING)["FunctionArn"]
lab.create_function("shipping", SHIPPING)
topic = sns.create_topic(Name="orders")["TopicArn"]
queue_url = sqs.create_queue(QueueName="shipping")["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=billing_arn)
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
lam.create_event_source_mapping(FunctionName="shipping", EventSourceArn=queue_arn);
"""),
        code(f"""
{CHECK}
sns.publish(TopicArn=topic, Message=json.dumps({{"id": 1, "total": 9.5}}))
lab.advance(5)
print("billing requests:", lab.stats("billing")["requests"], "| shipping invocations:",
      lab.stats("shipping")["invocations"])
print(lab.sns.undelivered[-1]["reason"])
"""),
        md("""
Shipping got the order; billing never ran. SNS may only invoke a function whose policy names
`sns.amazonaws.com` (here: for this topic only). Add the statement and publish again, recording the scene:
"""),
        code(f"""
{CHECK}
lam.add_permission(FunctionName="billing", StatementId="orders-topic", Action="lambda:InvokeFunction",
                   Principal="sns.amazonaws.com", SourceArn=topic)
print(json.loads(lam.get_policy(FunctionName="billing")["Policy"])["Statement"][0]["Principal"])

before = {{name: lab.stats(name)["invocations"] for name in ("billing", "shipping")}}
with lab.scene("fan-out: one order, two subscribers") as fanout:
    sns.publish(TopicArn=topic, Message=json.dumps({{"id": 2, "total": 42.5}}))
    lab.advance(5)
print([line for name in ("billing", "shipping") for line in lab.logs(name) if "order 2" in line])
"""),
        code("""
ll.widgets.Stepper(fanout)
"""),
        md("""
**Exercise 1.** How many function invocations did the *second* publish cause? (`before` holds the counts from
just before it.)
"""),
        Exercise("""
fanout_invocations = {answer}   # a whole number
""", 'sum(lab.stats(n)["invocations"] - before[n] for n in before)'),
        check_cell("lab09.fanout_invocations", "fanout_invocations"),
        md("""
## 2. Processing uploads to S3

A [bucket notification](GLOSSARY.md#bucket-notification) invokes a function (asynchronously) for each new
object whose key matches a **prefix** and a **suffix** filter. The parser reads the CSV back with
`ll.client("s3")`, a client of the lab running the handler, and writes its summary under `processed/`,
outside the prefix it listens to.
"""),
        code("""
PARSER = '''
import csv, io, json
from urllib.parse import unquote_plus
import lambdalab as ll
s3 = ll.client("s3")          # made once per environment, at Init

def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])     # S3 sends keys URL-encoded
        rows = list(csv.DictReader(io.StringIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())))
        total = sum(float(row["amount"]) for row in rows)
        name = key.split("/")[-1].removesuffix(".csv")
        summary = json.dumps({"rows": len(rows), "total": total})
        s3.put_object(Bucket=bucket, Key=f"processed/{name}.json", Body=summary)
        print(f"{key}: {len(rows)} rows, total {total}")
'''
parser_arn = lab.create_function("parser", PARSER)["FunctionArn"]
s3.create_bucket(Bucket="uploads")
lam.add_permission(FunctionName="parser", StatementId="uploads-bucket", Action="lambda:InvokeFunction",
                   Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::uploads")
rules = [{"Name": "prefix", "Value": "incoming/"}, {"Name": "suffix", "Value": ".csv"}]
s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
    "LambdaFunctionConfigurations": [{"LambdaFunctionArn": parser_arn, "Events": ["s3:ObjectCreated:*"],
                                      "Filter": {"Key": {"FilterRules": rules}}}]});
"""),
        md("""
(Try the notification configuration *before* `add_permission`: S3 refuses it with `InvalidArgument`, "Unable to
validate the following destination configurations", and stores nothing.) Now upload a file:
"""),
        code(f"""
{CHECK}
with lab.scene("an upload, processed") as upload:
    s3.put_object(Bucket="uploads", Key="incoming/march sales.csv", Body=b"item,amount\\ntea,3.5\\ncake,4\\n")
    lab.advance(5)
print([o["Key"] for o in s3.list_objects_v2(Bucket="uploads")["Contents"]])
print(s3.get_object(Bucket="uploads", Key="processed/march sales.json")["Body"].read().decode())
"""),
        code("""
ll.widgets.Stepper(upload)
"""),
        md(f"""
**Exercise 2.** Which of these keys would invoke the parser? Answer with a list of keys. (You can try: upload
them and count, or reason from the two rules.)

`{KEYS}`
"""),
        Exercise("""
s3_keys = {answer}   # a list of keys
""", '["incoming/sales.csv", "incoming/2026/jan.csv"]'),
        check_cell("lab09.s3_keys", "s3_keys"),
        md("""
## 3. A function behind a URL, streamed

A [function URL](GLOSSARY.md#function-url) gives a function its own HTTPS endpoint, no API gateway in
between. `AuthType="NONE"` still needs a policy statement for `*` (without it the URL answers `403`). The
request reaches the handler as a *payload format 2.0* event; the result maps back to an HTTP response.

The same report handler sits behind two URLs: one **BUFFERED** (the response leaves when the handler is done)
and one **RESPONSE_STREAM** ([response streaming](GLOSSARY.md#response-streaming): each `yield` leaves at once),
which cuts the [time to first byte](GLOSSARY.md#time-to-first-byte). A generator handler streaming is a
lambdalab convenience; in AWS, streaming needs a Node.js or custom runtime.
"""),
        code(STREAM_CODE),
        code(f"""
{CHECK}
for name, url in urls.items():
    t0 = lab.now
    response = lab.http("GET", url)
    waited = (lab.now - t0) * 1000
    print(f"{{name:12}} {{response['status']}} {{response['body']!r}} complete after {{waited:.0f}} ms")
with lab.scene("a streamed response") as streamed:
    response = lab.http("GET", urls["report-live"])
for t, chunk in response["chunks"]:
    print(f"{{t * 1000:6.0f}} ms  {{chunk[:40]!r}}")
"""),
        code("""
ll.widgets.Stepper(streamed)
"""),
        md("""
**Exercise 3.** With the streamed URL, how many milliseconds after the request did the first line of data
(`Jan: ok`) reach the client? (The first chunk is the prelude: status and headers.)
"""),
        Exercise("""
first_line_ms = {answer}   # milliseconds
""", 'response["chunks"][1][0] * 1000'),
        check_cell("lab09.first_line_ms", "first_line_ms"),
        md("""
## 4. Anti-pattern: a function waiting on another

An orchestrator that calls a worker synchronously is billed for every millisecond it waits: two functions
billed for one piece of work. Handing the work over asynchronously (an `Event` invoke, a queue, SNS) lets the
caller finish at once.
"""),
        code("""
WORKER = '''
import time
def handler(event, context):
    time.sleep(0.8)                          # resizing a photo
    return {"resized": event["photo"]}
'''
WAITS = '''
import json
import lambdalab as ll
lam = ll.client("lambda")
def handler(event, context):
    answer = lam.invoke(FunctionName="resize", Payload=json.dumps(event))        # waits 0.8 s, billed
    return json.loads(answer["Payload"].read())
'''
HANDS_OFF = '''
import json
import lambdalab as ll
lam = ll.client("lambda")
def handler(event, context):
    lam.invoke(FunctionName="resize-later", InvocationType="Event", Payload=json.dumps(event))
    return {"accepted": event["photo"]}
'''
for name, source in (("resize", WORKER), ("resize-later", WORKER), ("waits", WAITS), ("hands-off", HANDS_OFF)):
    lab.create_function(name, source, timeout=5)
for photo in range(10):
    lam.invoke(FunctionName="waits", Payload=json.dumps({"photo": photo}))
    lam.invoke(FunctionName="hands-off", Payload=json.dumps({"photo": photo}))
lab.advance(60)
"""),
        code(f"""
{CHECK}
for caller, worker in (("waits", "resize"), ("hands-off", "resize-later")):
    paid = {{name: lab.stats(name)["billed_gb_seconds"] for name in (caller, worker)}}
    dollars = sum(lab.stats(name)["cost_usd"] for name in (caller, worker)) / 10 * 1e6
    print(f"{{caller:9}} {{paid[caller]:.3f}} GB-s + {{worker}} {{paid[worker]:.3f}} GB-s "
          f"= {{sum(paid.values()):.3f}} GB-s for 10 photos: ${{dollars:,.2f}} per million photos")
"""),
        md("""
Step through one more synchronous call (both functions are warm by now): the caller's handler calls `Invoke`,
the worker's whole run happens inside the caller's invoke, and only then does the caller's handler return. Both
environments are busy, and billed, for the same 800 ms.
"""),
        code("""
with lab.scene("a function waiting on another") as waiting:
    lam.invoke(FunctionName="waits", Payload=json.dumps({"photo": 99}))
ll.widgets.Stepper(waiting)
"""),
        md("""
## 5. Anti-pattern: a recursive loop

A thumbnail function listens to `incoming/` and, by mistake, writes its thumbnails to `incoming/` too: each
thumbnail is a new upload, which invokes it again. Lambda's
[recursive loop detection](GLOSSARY.md#recursive-loop-detection) counts the rounds of one chain of requests
(the trace header travels with each event) and stops it after 16: the event goes to the on-failure
destination and the `RecursiveInvocationsDropped` metric counts it.
"""),
        code("""
THUMBNAILER = '''
from urllib.parse import unquote_plus
import lambdalab as ll
s3 = ll.client("s3")
def handler(event, context):
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
    s3.put_object(Bucket="photos", Key="incoming/thumb-" + key.split("/")[-1], Body=b"small")   # the bug
'''
thumb_arn = lab.create_function("thumbnailer", THUMBNAILER)["FunctionArn"]
s3.create_bucket(Bucket="photos")
lam.add_permission(FunctionName="thumbnailer", StatementId="photos-bucket", Action="lambda:InvokeFunction",
                   Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::photos")
only_incoming = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}}
s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
    "LambdaFunctionConfigurations": [{"LambdaFunctionArn": thumb_arn, "Events": ["s3:ObjectCreated:*"],
                                      "Filter": only_incoming}]})
alarms_url = sqs.create_queue(QueueName="loop-alarms")["QueueUrl"]
alarms_arn = sqs.get_queue_attributes(QueueUrl=alarms_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
lam.put_function_event_invoke_config(FunctionName="thumbnailer",
                                     DestinationConfig={"OnFailure": {"Destination": alarms_arn}});
"""),
        code(f"""
{CHECK}
with lab.scene("a recursive loop, stopped") as loop:
    s3.put_object(Bucket="photos", Key="incoming/cat.jpg", Body=b"big")
    lab.advance(120)
print("objects in photos:", len(s3.list_objects_v2(Bucket="photos")["Contents"]))
print("RecursiveInvocationsDropped:", lab.metrics("thumbnailer", "RecursiveInvocationsDropped"))
record = json.loads(sqs.receive_message(QueueUrl=alarms_url)["Messages"][0]["Body"])
print(record["requestContext"]["condition"])
"""),
        md("""
The loop is a long story (17 uploads, 16 runs): drag the Stepper's slider towards the end to find the event
that Lambda stopped, and the record it sent to the `loop-alarms` queue.
"""),
        code("""
ll.widgets.Stepper(loop)
"""),
        md("""
**Exercise 4.** How many times did `thumbnailer` run before Lambda stopped the loop?
"""),
        Exercise("""
loop_runs = {answer}   # a whole number
""", 'lab.stats("thumbnailer")["invocations"]'),
        check_cell("lab09.loop_runs", "loop_runs"),
        md("""
The fix is in the design, not the setting: write thumbnails to another prefix or bucket.
(`put_function_recursion_config(FunctionName=..., RecursiveLoop="Allow")` exists for loops that are meant.)

## 6. Anti-pattern: the monolith

One function serving every route must load what *every* route needs (here a 12 MB package and 1.2 s of imports)
at each cold start; a small function per route loads only its own (0.2 s). Three routes, a request to each about
every 15 minutes, for six hours, both ways:
"""),
        code("""
import io, random, zipfile

def package(source: str, vendor_mb: int) -> bytes:
    \"\"\"A deployment package: the handler, plus vendored libraries of vendor_mb MB.\"\"\"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        libraries = random.Random(0).randbytes(vendor_mb << 20)
        for name, data in (("lambda_function.py", source), ("vendor/libs.bin", libraries)):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()

ROUTE = '''
import time
time.sleep({init})                           # importing the libraries
def handler(event, context):
    return {{"route": event["route"]}}
'''
routes = ("orders", "users", "search")
lab.create_function("monolith", Code={"ZipFile": package(ROUTE.format(init=1.2), 12)},
                    Handler="lambda_function.handler", memory=512)
for route in routes:
    lab.create_function(f"api-{route}", Code={"ZipFile": package(ROUTE.format(init=0.2), 1)},
                        Handler="lambda_function.handler", memory=512)
arrivals = random.Random(1)
start = lab.now
for route in routes:                       # the same requests, sent to the monolith and to the route's function
    t = start + arrivals.expovariate(1 / 900)
    while t < start + 6 * 3600:
        for name in ("monolith", f"api-{route}"):
            lab.submit(at=t, FunctionName=name, Payload=json.dumps({"route": route}))
        t += arrivals.expovariate(1 / 900)
lab.run(until=start + 6 * 3600 + 60)
"""),
        code(f"""
{CHECK}
def cold(names):
    stats = [lab.stats(name) for name in names]
    starts = sum(s["cold_starts"] for s in stats)
    return sum(s["invocations"] for s in stats), starts, max(s["cold_start_p50"] for s in stats)

for label, names in (("monolith", ["monolith"]), ("small functions", [f"api-{{r}}" for r in routes])):
    requests, starts, p50 = cold(names)
    print(f"{{label:16}} {{requests}} requests, {{starts}} cold starts ({{starts / requests:.0%}}), "
          f"a cold start takes {{p50 * 1000:.0f}} ms")
"""),
        md("""
The monolith's environments are shared by all three routes, so it starts cold less often; but every cold start
is about three times slower, and the user who meets one waits for code their route never uses. Small functions
cold-start more often and quickly, and each can get its own memory, timeout and permissions.
"""),
        what_aws_does_differently([
            "SNS retries a Lambda delivery that is refused or throttled for a long time (days, by its delivery "
            "policy) before it gives up; the lab sends a refused copy to the subscription's dead-letter queue at "
            "once, or records it in `lab.sns.undelivered`.",
            "S3 notifications usually arrive within seconds, at least once; the lab sends them the moment the "
            "object is stored, exactly once.",
            "AWS's Python runtime cannot stream a response; streaming needs Node.js or a custom runtime posting "
            "to the Runtime API with `Lambda-Runtime-Function-Response-Mode: streaming`. The lab lets a Python "
            "generator stream so you can see the effect here.",
            "AWS_IAM function URLs check the SigV4 signature; the lab only checks that a request is signed.",
            "Recursive loop detection uses the X-Ray trace header's `Lineage` field; AWS's exact counting and "
            "the on-failure record's condition are AWS's own (the lab writes `RecursiveInvocationException`).",
        ]),
        md(f"""
## Summary

- Services push events into Lambda asynchronously, and only as far as the function's resource policy allows:
  `add_permission` for `sns.amazonaws.com`, `s3.amazonaws.com`, or `*` for a public function URL.
- SNS fans one message out to every subscriber; S3 notifications filter keys by exact prefix and suffix.
- A function URL maps HTTP to a payload format 2.0 event and back; `RESPONSE_STREAM` cuts the time to first
  byte without changing the work.
- Anti-patterns, measured: a synchronous call bills the caller for the callee's time; a function that writes
  to its own trigger loops until Lambda stops it after 16 rounds; a monolith makes every cold start pay for
  every route.

{nav(INDEX)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab09),), argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
