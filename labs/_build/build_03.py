#!/usr/bin/env python3
"""Generate labs/03_asynchronous_invocations.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_03.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_03.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (build_labs, CHECK, Exercise, check_cell, code, md, nav, link,
                         what_aws_does_differently)  # noqa: E402

from lambdalab.check.lab03 import BURST_CODE  # noqa: E402  (the burst the lab runs, shared with its check)

STEM = "03_asynchronous_invocations"


def lab03() -> list:
    return [
        md(f"""
# 03 · Asynchronous invocations

**Goal (25 minutes):** see what Lambda does with `InvocationType="Event"`: the caller gets `202` at once, the
event waits on an internal queue, a poller fleet invokes your function, and failures are retried, aged out and
finally sent to a destination or a dead-letter queue. You will

1. run a synchronous and an asynchronous invoke side by side and step through both;
2. watch a failing function being retried into an `OnFailure` destination;
3. predict what a shorter event age limit does;
4. send a burst into a function with little concurrency and watch the queue drain.

{nav(3)}
"""),
        md("""
## 1. Sync and async, side by side

The same function, invoked twice: once the way lab 01 did (`RequestResponse`, the caller waits) and once as an
`Event` (the caller only wants to know that Lambda *has* the event).
"""),
        code(f"""
{CHECK}
import json

import lambdalab as ll

lab = ll.Lab(seed=0)
lab.create_function("hello", "def handler(event, context):\\n    return {{'hi': event.get('name')}}\\n",
                    duration=ll.Fixed(0.12))   # 120 ms of modelled work on top of the code's own time
lam = lab.client("lambda")

t0 = lab.now
with lab.scene("a synchronous invoke") as sync_scene:
    r_sync = lam.invoke(FunctionName="hello", Payload=b'{{"name": "sync"}}')
print(f"sync : StatusCode {{r_sync['StatusCode']}}, payload {{r_sync['Payload'].read()}}, "
      f"caller waited {{(lab.now - t0) * 1000:.0f}} ms")

t0 = lab.now
with lab.scene("an asynchronous invoke") as async_scene:
    r_async = lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{{"name": "async"}}')
    waited = lab.now - t0
    lab.advance(5)          # five virtual seconds: the pollers take the event and invoke the function
print(f"async: StatusCode {{r_async['StatusCode']}}, payload {{r_async['Payload'].read()}}, "
      f"caller waited {{waited * 1000:.0f}} ms")
sync_id = r_sync["ResponseMetadata"]["RequestId"]
async_id = r_async["ResponseMetadata"]["RequestId"]
"""),
        md("""
The asynchronous call came back after **zero** virtual milliseconds with `202` and an empty payload: nothing
had run yet. The event was on the function's internal [async queue](GLOSSARY.md#async-queue); inside the
scene, `lab.advance(5)` let the clock run so an [async poller](GLOSSARY.md#async-poller) could take it:
"""),
        code(f"""
{CHECK}
print(lab.async_invoke.events[async_id])
"""),
        md("""
Now compare the two requests' paths. Step through them below: the synchronous one goes straight from the
frontend to the Worker Manager; the asynchronous one takes a detour through **async_queue** and **poller**,
and then comes back to the **frontend**, exactly as if the poller were a client.
"""),
        code("""
def path(request_id):
    return [f"{s.component}.{s.action}" for s in lab.trace.filter(request_id=request_id)]


print("sync :", " → ".join(path(sync_id)))
print()
print("async:", " → ".join(path(async_id)))
"""),
        md("""
Two Steppers, one per scene. Step through the synchronous one first, then the asynchronous one, and watch
where they part ways: the `202` goes back to the client before anything runs, and the **Queue depth** tile
counts the waiting event.
"""),
        code("""
sync_stepper = ll.widgets.Stepper(sync_scene)
sync_stepper
"""),
        code("""
async_stepper = ll.widgets.Stepper(async_scene)
async_stepper
"""),
        md("""
**Exercise 1.** For the asynchronous request, which component sends the invoke to the frontend the *second*
time (after the queue)?
"""),
        Exercise("""
who_invokes = {answer}   # a component name from the diagram
""", '[s.component for s in lab.trace.filter(request_id=async_id) if s.detail.get("target") == "frontend"][-1]'),
        check_cell("lab03.who_invokes", "who_invokes"),
        md("""
## 2. A failing function, retried into a destination

When an asynchronous invoke fails (the handler raises, or times out), Lambda does not give up at once. By
default it tries **twice more**, about one minute and then two minutes later, with the **same request id**.
If every attempt fails, the event's *invocation record* goes to the `OnFailure` destination, if you set one.

We create an SQS queue for failed events and point the function's **event invoke config** at it:
"""),
        code("""
sqs = lab.client("sqs")
failed_url = sqs.create_queue(QueueName="failed-orders")["QueueUrl"]
failed_arn = sqs.get_queue_attributes(QueueUrl=failed_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

FLAKY = '''
def handler(event, context):
    raise RuntimeError("payment service unavailable for order " + str(event["order"]))
'''
lab.create_function("flaky", FLAKY)
lam.put_function_event_invoke_config(
    FunctionName="flaky",
    DestinationConfig={"OnFailure": {"Destination": failed_arn}},
)
with lab.scene("a failing event: retries, then the destination") as retries_scene:
    flaky_id = lam.invoke(FunctionName="flaky", InvocationType="Event",
                          Payload=b'{"order": 42}')["ResponseMetadata"]["RequestId"]
    lab.advance(300)        # five virtual minutes: long enough for every retry
"""),
        md("""
Step through the whole story: the enqueue and the `202`, the poller's first invoke and its error, the
minute-long waits on the queue (squeezed on the timeline), the two retries with the same request id, and the
record going to the **destination**.
"""),
        code("""
ll.widgets.Stepper(retries_scene)
"""),
        code(f"""
{CHECK}
event = lab.async_invoke.events[flaky_id]
for t, state, what in event.history:
    print(f"{{t - event.accepted:7.2f}} s after the invoke  {{state:<10}} {{what}}")
"""),
        md("""
Each `in_flight` line is one run of the handler. Between them the event sat on the queue, invisible, waiting
for its retry. The logs show the same request id every time:
"""),
        code(f"""
{CHECK}
for line in lab.logs("flaky"):
    if line.startswith(("START", "REPORT")):
        print(line.split("\\t")[0])
"""),
        md("""
And here is what arrived in the `failed-orders` queue: the **invocation record**. It names the request, the
function (with its version), the **condition** that ended the event, how many times it ran, the original
payload and the last error.
"""),
        code(f"""
{CHECK}
msg = sqs.receive_message(QueueUrl=failed_url)["Messages"][0]
record = json.loads(msg["Body"])
record["timestamp"] = "…"
print(json.dumps(record, indent=2)[:1200])
"""),
        md("""
**Exercise 2.** How many times did the `flaky` handler run for this one event in total?
"""),
        Exercise("""
invoke_count = {answer}   # a whole number
""", 'record["requestContext"]["approximateInvokeCount"]'),
        check_cell("lab03.invoke_count", "invoke_count"),
        md("""
## 3. Events get old

Retries are not the only limit. Each event also has a maximum age, `MaximumEventAgeInSeconds` (60 s to 6 h,
default 6 h). Lambda only makes an attempt if it can *start* before the event reaches that age; otherwise
the event ends with the condition `EventAgeExceeded`.

**Exercise 3.** Suppose we set `MaximumEventAgeInSeconds=100` on `flaky` and invoke it again. Predict the
record's `condition` and its `approximateInvokeCount`, as a pair such as `("SomeCondition", 1)`. Answer
first, then run the experiment in the cell after the check.
"""),
        Exercise("""
age_prediction = {answer}   # (condition, approximateInvokeCount)
""", '("EventAgeExceeded", 2)'),
        check_cell("lab03.event_age", "age_prediction"),
        code("""
lam.update_function_event_invoke_config(FunctionName="flaky", MaximumEventAgeInSeconds=100)
lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"order": 43}')
lab.advance(300)
latest = json.loads(sqs.receive_message(QueueUrl=failed_url)["Messages"][0]["Body"])
print(latest["requestContext"]["condition"], latest["requestContext"]["approximateInvokeCount"])
"""),
        md("""
Two more things end an event early:

- **Reserved concurrency 0** switches a function off: its events fail at once with `ZeroReservedConcurrency`
  and never run (`approximateInvokeCount` 0).
- A **dead-letter queue** (`DeadLetterConfig` on the function, the older feature) receives only the original
  event, plus three message attributes: `ErrorCode`, `ErrorMessage` and `RequestID`.
"""),
        code(f"""
{CHECK}
dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
lab.create_function("paused", "def handler(event, context):\\n    return 'never runs'\\n",
                    DeadLetterConfig={{"TargetArn": dlq_arn}})
lam.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=0)
paused_id = lam.invoke(FunctionName="paused", InvocationType="Event",
                       Payload=b'{{"order": 44}}')["ResponseMetadata"]["RequestId"]
lab.advance(5)
print(lab.async_invoke.events[paused_id])
dead = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"][0]
print("body:", dead["Body"])
for name, value in sorted(dead["MessageAttributes"].items()):
    print(f"{{name}} = {{value['StringValue'][:40] if name != 'RequestID' else '<the request id>'}}")
"""),
        md("""
## 4. A throttled burst drains from the queue

Twenty photos are uploaded at the same moment, and each upload invokes `resize` asynchronously. `resize` takes
two seconds per photo and has a **reserved concurrency of 2**. A synchronous caller would be throttled
(`429 TooManyRequestsException`) 18 times out of 20. With `Event` invokes, the *pollers* take the 429s:
each throttled event goes back to the queue with a back-off that starts near 1 s and doubles up to 5 minutes,
each wait a little different, for as long as its age allows; and the function's pollers slow down while it is
throttled. Throttles are not retries: they do not use up `MaximumRetryAttempts`.
"""),
        code(BURST_CODE + """
stats = burst.async_invoke.statistics()
print({k: stats[k] for k in ("accepted", "succeeded", "dropped", "retries")})
"""),
        md("""
Plot how many events were still waiting (on the queue or running) over time, and when each one finished:
"""),
        code("""
import matplotlib.pyplot as plt

events = list(burst.async_invoke.events.values())
t_start = min(e.accepted for e in events)
finished = sorted(e.history[-1][0] - t_start for e in events)
times = [0.0] + finished
waiting = [len(events) - i for i in range(len(times))]

fig, ax = plt.subplots(figsize=(8, 3))
ax.step(times, waiting, where="post")
ax.set_xscale("symlog", linthresh=10)
ax.set_xlabel("seconds after the burst (log scale past 10 s)")
ax.set_ylabel("events not yet done")
ax.set_title("20 async events, reserved concurrency 2, 2 s each")
plt.show()
print(f"the last event finished {finished[-1]:.0f} s after the burst")
"""),
        md("""
Every event succeeded, and the queue drained at close to the pace the function allows (two at a time, two
seconds each: 20 s for 20 photos). After a 429 the pollers paused instead of sending the next events into the
same wall, and picked up again as soon as one of the running invokes finished; the throttled events came back
at spread-out moments instead of all at once. The queue protected the callers, and the function only ever saw
as much work as its concurrency allows.

**Exercise 4.** How many invoke attempts did the pollers get throttled (429) on while draining the burst?
"""),
        Exercise("""
throttled = {answer}   # a whole number
""", 'burst.async_invoke.statistics()["throttled_attempts"]'),
        check_cell("lab03.throttled", "throttled"),
        what_aws_does_differently([
            "The internal queues are shared, sharded SQS queues, and the pollers long-poll them; under load an "
            "event can wait on the queue for a while (the AsyncEventAge metric). Here each function has its own "
            "queue and a poller reacts the moment an event becomes visible.",
            "Delivery is at least once: a function can occasionally receive the same event twice, so handlers "
            "should be idempotent. The lab delivers exactly once.",
            "Retry waits are approximate (about one and then two minutes); the lab's are exact. How much the "
            "throttle back-offs are spread and how long pollers pause is not documented: the lab uses the "
            "documented shape (1 s growing to 5 minutes) with its own jitter and pauses (`async_invoke.pacing`).",
            "Destinations can also be SNS topics, EventBridge buses and (on failure) S3 buckets. The lab has no "
            "such services: records for them are kept in `lab.async_invoke.outbox`.",
        ]),
        md(f"""
## Summary

- An `Event` invoke returns `202` at once; the event waits on an internal queue and a poller invokes the
  function through the frontend, like any other caller.
- Function errors and timeouts are retried up to `MaximumRetryAttempts` (default 2), about 1 and 2 minutes
  apart, with the same request id, and never past `MaximumEventAgeInSeconds`.
- Throttles send the event back to the queue with an exponential back-off; they are not retries.
- When an event fails for good its record goes to the `OnFailure` destination (condition `RetriesExhausted`,
  `EventAgeExceeded` or `ZeroReservedConcurrency`), its body to the DLQ, or it is dropped.

**Next:** {link(4)} looks at the other kind of poller: event source mappings that read SQS queues and streams.

{nav(3)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab03),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
