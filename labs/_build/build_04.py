#!/usr/bin/env python3
"""Generate labs/04_event_source_mappings.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_04.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_04.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way. The scenarios of sections 2-4
are the constants of lambdalab/check/lab04.py, so the checks replay exactly what the learner ran.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (build_labs, CHECK, Exercise, check_cell, code, md, nav, link,
                         what_aws_does_differently)  # noqa: E402

from lambdalab.check.lab04 import BISECT_CODE, FARM_CODE, SHOP_CODE  # noqa: E402

STEM = "04_event_source_mappings"


def lab04() -> list:
    return [
        md(f"""
# 04 · Event source mappings

**Goal (25 minutes):** see the third way a function gets invoked. Nobody calls `Invoke`: an **event source
mapping** tells Lambda to run pollers that read a queue or a stream, gather records into batches and invoke
your function with them. You will

1. watch a batch form on an SQS queue and see why it leaves;
2. follow one poison message through a batch, with and without *partial batch responses*;
3. block a Kinesis shard with one bad record and watch `IteratorAge` climb;
4. let *bisect* find the bad record and send it to an on-failure destination.

{nav(4)}
"""),
        md("""
## How a mapping works

`CreateEventSourceMapping` connects a **source** (an SQS queue, a Kinesis or DynamoDB stream, Kafka, ...) to a
function. From then on Lambda runs pollers for it: they read the source, collect records into a batch, drop the
records that match none of the mapping's `FilterCriteria` patterns (a dropped SQS message is deleted), and call
the function **synchronously through the frontend** with `{"Records": [...]}`. What happens after the answer depends on the source:

| | SQS queue | Kinesis stream |
|---|---|---|
| after success | the messages are deleted | the shard's checkpoint moves past the batch |
| after an error | the messages reappear after the visibility timeout | the *same* batch is retried, in order |
| gives up when | SQS moves a message to the DLQ (`maxReceiveCount`) | retries or record age run out |
| order | none (standard queues) | strict, per shard |

On the diagram, the pollers are the **ESM pollers** box; from the frontend on, a batch travels the path you know
from lab 01.
"""),
        md("""
## 1. A batch forms

Three settings decide when a batch leaves the poller: it is **full** (`BatchSize`), the **batching window**
has ended (`MaximumBatchingWindowInSeconds`, counted from the first record in the batch), or the next record
would take the payload past **6 MB**, the synchronous invoke limit. A new mapping starts in state `Creating`
and begins polling a few seconds later, once it is `Enabled`.
"""),
        code(f"""
{CHECK}
import json

import lambdalab as ll

lab = ll.Lab(seed=0)
lab.create_function("packer", "def handler(event, context):\\n    print(len(event['Records']), 'orders')\\n")
sqs, lam = lab.client("sqs"), lab.client("lambda")
queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

mapping = lam.create_event_source_mapping(FunctionName="packer", EventSourceArn=queue_arn,
                                          BatchSize=5, MaximumBatchingWindowInSeconds=3)
print("just created:", mapping["State"])
lab.advance(5)
print("five seconds later:", lam.get_event_source_mapping(UUID=mapping["UUID"])["State"])
"""),
        md("""
Now seven orders arrive, half a second apart. Each line below is one step of the mapping's pollers:
"""),
        code(f"""
{CHECK}
with lab.scene("a batch forms") as batching:
    for n in range(7):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({{"order": n}}))
        lab.advance(0.5)
    lab.advance(10)

for step in lab.trace.filter(component="event_source_mapping"):
    print(f"{{step.t:6.2f}} s  {{step.action:<10}} {{step.text}}")
"""),
        md("""
Step through the same story on the diagram. Watch the **ESM pollers** box (the
[event source mapping](GLOSSARY.md#event-source-mapping)): messages are received one by one into the forming
batch, the batch leaves, the invoke goes to the **frontend**, and when the function has answered the pollers
delete the messages.
"""),
        code("""
ll.widgets.Stepper(batching)
"""),
        md("""
**Exercise 1.** The first batch left because it was full. Why did the second one leave? Answer with the reason
as the trace puts it.
"""),
        Exercise("""
second_batch_reason = {answer}   # a short phrase
""", 'lab.trace.filter(component="event_source_mapping", action="batch")[1].detail["reason"]'),
        check_cell("lab04.second_batch_reason", "second_batch_reason"),
        md("""
## 2. One poison message

A checkout function receives five orders in one batch. Order 2 is broken: the handler cannot parse it. The
queue has a **dead-letter queue** (DLQ): after a message has been received **3 times** (`maxReceiveCount`)
without being deleted, SQS moves it there. The visibility timeout is 20 seconds.

Here are two versions of the handler and a helper that runs the whole scenario in a fresh lab:

- `ALL_OR_NOTHING` raises on the bad order. For Lambda the **whole batch** has failed.
- `PARTIAL` reports just the bad message in `batchItemFailures`. That only works if the mapping has
  `FunctionResponseTypes=["ReportBatchItemFailures"]`.
"""),
        code(SHOP_CODE),
        md("""
**Exercise 2.** Predict before you run it: with `ALL_OR_NOTHING`, which orders will end up in the dead-letter
queue? Give a list of order numbers.
"""),
        Exercise("""
dead_orders = {answer}   # a list of order numbers, e.g. [7, 8]
""", "run_shop(ALL_OR_NOTHING)[1]"),
        check_cell("lab04.dead_orders", "dead_orders"),
        md("""
Now run it and look at the logs and the DLQ:
"""),
        code(f"""
{CHECK}
shop, dead = run_shop(ALL_OR_NOTHING)
for line in shop.logs("checkout"):
    if line.startswith(("processed", "[ERROR]")):
        print(line.splitlines()[0])     # an [ERROR] entry goes on with its stack trace; the first line says enough
print("in the dead-letter queue:", dead)
"""),
        md("""
Orders 0 and 1 were processed **three times**, orders 3 and 4 **never**, and all five ended in the DLQ. Every
failed receive sent the whole batch back to the queue. Now the same orders with partial batch responses:
"""),
        code(f"""
{CHECK}
shop2, dead2 = run_shop(PARTIAL, FunctionResponseTypes=["ReportBatchItemFailures"])
for line in shop2.logs("checkout"):
    if line.startswith("processed"):
        print(line)
for step in shop2.trace.filter(component="event_source_mapping", action=("checkpoint", "retry")):
    print(f"{{step.t:6.2f}} s  {{step.text}}")
print("in the dead-letter queue:", dead2)
"""),
        md("""
Only the poison message came back. Each time it did, its `ApproximateReceiveCount` went up by one, and after the
third receive SQS moved it to the DLQ. The good orders were processed exactly once.

Rules worth remembering: an empty `batchItemFailures` list (or `null`, or no return value) means the whole
batch succeeded. A malformed answer, such as an `itemIdentifier` that is empty or is not a message of this
batch, means the whole batch failed.
"""),
        md("""
## 3. A blocked shard

A stream keeps its records for 24 hours whether anyone reads them or not, so failed records are never moved
aside. Instead a Kinesis mapping reads each shard **in order**, one batch at a time. If a batch fails, it is
retried, and every record behind it in that shard waits.

Below, 16 sensors send a temperature reading every minute into a stream with two shards. In minute 1,
sensor 4 sends a reading without a temperature, and the handler raises on it. The mapping uses the stream
defaults: `MaximumRetryAttempts=-1` and `MaximumRecordAgeInSeconds=-1`, so it retries until the record expires.
"""),
        code(FARM_CODE),
        code(f"""
{CHECK}
stats = farm.event_sources.statistics()[esm["UUID"]]
print("batches sent:", stats["batches"], " retries:", stats["retries"])
retries = farm.trace.filter(component="event_source_mapping", action="retry")
print("retry steps per shard:", {{s: sum(r.detail["shard"] == s for r in retries)
                                 for s in ("shardId-000000000000", "shardId-000000000001")}})
print(flam.get_event_source_mapping(UUID=esm["UUID"])["LastProcessingResult"])
"""),
        md("""
`IteratorAge` is the metric to watch on a stream mapping. It is the age of the last record in a batch at the
moment the batch is sent to the function. A healthy mapping keeps it near zero. A blocked shard makes it grow
by one minute every minute:
"""),
        code("""
import matplotlib.pyplot as plt


def plot_iterator_age(title):
    points = farm.metrics("thermostat", "IteratorAge")
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([t / 60 for t, _ in points], [age / 1000 for _, age in points], marker="o")
    ax.set_xlabel("minute")
    ax.set_ylabel("IteratorAge (s, max per minute)")
    ax.set_title(title)
    plt.show()


plot_iterator_age("one bad record blocks its shard")
"""),
        md("""
**Exercise 3.** Which shard is blocked? Give its shard id (look at the retry steps in `farm.trace`, or at the
checkpoints in `farm.event_sources.statistics()`).
"""),
        Exercise("""
blocked_shard = {answer}   # e.g. "shardId-000000000042"
""", 'farm.trace.filter(component="event_source_mapping", action="retry")[0].detail["shard"]'),
        check_cell("lab04.blocked_shard", "blocked_shard"),
        md("""
## 4. Bisect finds the bad record

Three settings unblock a shard without losing track of what failed:

- `BisectBatchOnFunctionError=True` splits a failing batch in half and tries each half. The halves that hold
  only good records succeed, so the failing part keeps getting smaller. Splits do not count as retries.
- `MaximumRetryAttempts=2` gives up on a batch after two retries.
- An `OnFailure` destination receives a record that describes the batch given up. It names the shard and the
  range of sequence numbers; it does **not** contain the data. Read the data from the stream while it is kept.

The sensors keep sending while we update the mapping:
"""),
        code(BISECT_CODE),
        code(f"""
{CHECK}
update = farm.trace.filter(component="event_source_mapping", action="state")[-2].seq
for step in farm.trace[update:]:
    if step.component in ("event_source_mapping", "destination") and step.action not in ("poll", "invoke"):
        print(f"{{step.t:7.2f}} s  {{step.action:<10}} {{step.text}}")
        if step.action == "discard":
            break
"""),
        code(f"""
{CHECK}
failure = json.loads(farm.client("sqs").receive_message(QueueUrl=failed_url)["Messages"][0]["Body"])
print(failure["requestContext"]["condition"], "after", failure["requestContext"]["approximateInvokeCount"], "invokes")
info = failure["KinesisBatchInfo"]
print({{k: info[k] for k in ("shardId", "batchSize")}})
print("the bad record's sequence number:", info["startSequenceNumber"] == bad_record["SequenceNumber"])
"""),
        md("""
Step through the minute in which the mapping corners the bad record (the `bisect_scene` above): the failing
batch, each split in two (a [bisect batch](GLOSSARY.md#bisect-batch)), the halves that succeed, and the last
record given up to the destination. Drag the slider to about a third of the way for the first split. Then look
at `IteratorAge` ([iterator age](GLOSSARY.md#iterator-age)) again: once the bad record is given up, the shard
catches up within a minute.
"""),
        code("""
ll.widgets.Stepper(bisect_scene)
"""),
        code("""
plot_iterator_age("bisect isolates the bad record; the shard catches up")
"""),
        md("""
**Exercise 4.** How many times was a batch split before the bad record was alone in a batch of one?
"""),
        Exercise("""
bisects = {answer}   # a whole number
""", 'len(farm.trace.filter(component="event_source_mapping", action="bisect"))'),
        check_cell("lab04.bisects", "bisects"),
        what_aws_does_differently([
            "SQS pollers long-poll the queue and take up to 10 messages per ReceiveMessage call, with several "
            "batches forming at once. Here one batch forms at a time and messages arrive one by one. Scaling "
            "also drops back slowly in AWS; here it falls straight back to 5 batches when the queue is empty.",
            "A Kinesis mapping polls each shard about once a second and shares the shard's read limits (2 MB/s, "
            "5 GetRecords calls/s) with other consumers, unless it uses enhanced fan-out. The lab reads the "
            "shard's records directly and has no throughput limits.",
            "AWS does not publish how long it waits between stream retries. The lab waits 1 s, then doubles up "
            "to 60 s. State changes (Creating, Updating, ...) take seconds to minutes in AWS; here they take 2 s.",
            "Delivery is at least once: a record can reach the function twice (bisect and partial retries resend "
            "good records, too), so handlers must be idempotent.",
            "Real mappings also read DynamoDB streams, Kafka, Amazon MQ and DocumentDB. They also have tumbling "
            "windows, on-failure destinations on SNS and S3, and provisioned pollers. None of these are modelled.",
        ]),
        md(f"""
## Summary

- An event source mapping is Lambda polling on your behalf. Its pollers read the source, form batches (full,
  window ended, or 6 MB), drop what no filter matches, and invoke the function synchronously.
- SQS: success deletes the batch; a failure returns it after the visibility timeout; the queue's redrive
  policy moves repeat failures to a DLQ. `ReportBatchItemFailures` keeps one bad message from dragging its
  batch along.
- Streams: one batch per shard at a time, in order. A failing batch blocks its shard and `IteratorAge`
  climbs. `BisectBatchOnFunctionError`, `MaximumRetryAttempts` / `MaximumRecordAgeInSeconds` and an
  `OnFailure` destination get the shard moving again without losing track of the bad record.

**Next:** {link(5)}: how many copies of your function Lambda runs at once, and what stops it.

{nav(4)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab04),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
