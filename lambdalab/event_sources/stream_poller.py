"""The stream poller: how Lambda reads a Kinesis stream for an event source mapping.

For each shard Lambda keeps a checkpoint (the sequence number of the last record it is done with) and works on
exactly one batch at a time, so records of a shard reach the function in order. ``ParallelizationFactor`` (1-10)
splits a shard into that many lanes by partition-key hash: one batch per lane at a time, order kept per key.
A lane reads up to ``BatchSize`` records past its checkpoint (waiting up to ``MaximumBatchingWindowInSeconds``
for a fuller batch, never more than 6 MB), drops what matches no filter, and invokes the function.

- Success: the checkpoint moves to the end of the batch and the next batch goes.
- Function error: the same records are retried, so a failing batch blocks its lane (``IteratorAge``, the age
  of the last record in a batch when it is sent, climbs). ``BisectBatchOnFunctionError`` splits a failing batch
  in two and tries each half, which isolates a poison record in a few steps; splitting does not use up retries.
- ``ReportBatchItemFailures``: the function names failed sequence numbers; the checkpoint moves to just before
  the lowest one and the retry starts there (records after it are sent again, too).
- A batch is given up when ``MaximumRetryAttempts`` retries are spent or a record is older than
  ``MaximumRecordAgeInSeconds`` (-1 for both: until the records leave the stream at the end of retention).
  Given-up records are skipped; with an OnFailure destination Lambda sends it a record describing the batch
  (``KinesisBatchInfo``), never the data itself.
- Throttles (and invokes the frontend refuses) are retried with the same back-off, without counting as
  attempts.

What we simplify: a shard is polled once a second while it has records and sleeps (woken by the stream) while
it has none; retries back off 1 s, doubling to at most ``MAX_BACKOFF`` (AWS does not publish its schedule);
changing ``ParallelizationFactor`` restarts every lane of a shard from the slowest lane's checkpoint, so some
records may be delivered twice (AWS promises at-least-once, too).
"""
from __future__ import annotations

import base64
import hashlib
import json

from dataclasses import dataclass

from ..control_plane.errors import error_code
from .batches import MAX_PAYLOAD, MappingStatistics, batch_item_failures, invoke_batch
from .filters import parse_payload

__all__ = ["StreamPoller", "Lane", "POLL_INTERVAL", "MAX_BACKOFF"]

POLL_INTERVAL = 1.0
MAX_BACKOFF = 60.0
_ENVELOPE = 400                         # bytes of JSON around each record's data in the event


class Lane:
    """One batch at a time for one shard (or one slice of it under ParallelizationFactor > 1)."""

    def __init__(self, poller: "StreamPoller", shard, index: int, position: int) -> None:
        self.poller = poller
        self.shard = shard
        self.index = index
        self.position = position          # sequence number (int) of the last record done with
        self.current: list | None = None  # the batch being tried (or retried)
        self.pending: list[list] = []     # halves waiting their turn after a bisect
        self.retries = 0
        self.throttles = 0                # throttled / refused attempts in a row (they back off, uncounted)
        self.invocations = 0              # invokes of the current lineage (approximateInvokeCount)
        self.inflight = None
        self.event = None                 # the scheduled poll / retry
        self.window_start = None
        self.last_poll = -POLL_INTERVAL
        self.last_inv = None
        self.skip_to = position

    @property
    def name(self) -> str:
        factor = self.poller.factor
        return self.shard.shard_id if factor == 1 else f"{self.shard.shard_id}/{self.index + 1}of{factor}"

    def owns(self, record) -> bool:
        factor = self.poller.factor
        return factor == 1 or self.poller.lane_of(record) == self.index

    def wake(self) -> None:
        """Records arrived: poll at the shard's next once-a-second tick, unless something is already due."""
        if self.event is None and self.inflight is None:
            when = max(self.poller.lab.now, self.last_poll + POLL_INTERVAL)
            self.event = self.poller.lab.engine.at(when, self.poll)

    def cancel(self) -> None:
        self.poller.lab.engine.cancel(self.event)
        self.event = None

    # --- reading ------------------------------------------------------------------------------------------
    def poll(self) -> None:
        self.event = None
        poller, mapping, lab = self.poller, self.poller.mapping, self.poller.lab
        if not mapping.running or self.inflight is not None:
            return
        if self.current is not None:
            self.attempt()
            return
        if self.pending:
            self.current, self.retries, self.invocations = self.pending.pop(0), 0, 0
            self.attempt()
            return
        self.last_poll = lab.now
        config = mapping.config
        limit = config["BatchSize"]
        batch, examined, size, full, dropped = [], None, 0, False, 0
        for record in self.shard.iter_after(self.position, lab.now):
            if not self.owns(record):
                continue
            record_size = (len(record.data) + 2) // 3 * 4 + _ENVELOPE
            if batch and size + record_size > MAX_PAYLOAD:
                full = True
                break
            examined = record
            if mapping.filters and not mapping.filters.keep(poller.filter_view(record)):
                dropped += 1
                continue
            batch.append(record)
            size += record_size
            if len(batch) >= limit:
                full = True
                break
        if examined is None:
            self.window_start = None
            return                        # nothing new: sleep until the stream wakes us
        window = config["MaximumBatchingWindowInSeconds"]
        if batch and not full and window > 0:
            if self.window_start is None:
                self.window_start = lab.now
            if lab.now < self.window_start + window:
                self.event = lab.engine.at(self.window_start + window, self.poll)
                return
        self.window_start = None
        if lab.trace.full:
            mapping.trace("poll", f"Read {self.name}: {len(batch)} record(s) past the checkpoint",
                          shard=self.shard.shard_id, records=len(batch))
        poller.filtered += dropped
        if not batch:
            mapping.trace("filter", f"{self.name}: no record matched the filters; skip to "
                          f"{examined.seq - self.poller.base}", shard=self.shard.shard_id, dropped=dropped)
            self.position = examined.seq
            self.event = lab.engine.at(lab.now, self.poll)
            return
        if dropped and lab.trace.full:
            mapping.trace("filter", f"{self.name}: {dropped} record(s) matched no filter and are skipped",
                          shard=self.shard.shard_id, dropped=dropped)
        self.current, self.retries, self.invocations, self.last_inv = batch, 0, 0, None
        self.skip_to = examined.seq       # filtered records after the batch are done with once it is
        reason = "full" if full else ("window ended" if window > 0 else "records waiting")
        if lab.trace.full:
            mapping.trace("batch", f"Batch of {len(batch)} from {self.name} ({reason})",
                          shard=self.shard.shard_id, records=len(batch), reason=reason,
                          first=batch[0].sequence_number, last=batch[-1].sequence_number)
        self.attempt()

    # --- invoking -----------------------------------------------------------------------------------------
    def attempt(self) -> None:
        poller, mapping, lab = self.poller, self.poller.mapping, self.poller.lab
        batch = self.current
        max_age = mapping.config["MaximumRecordAgeInSeconds"]
        limit = max_age if max_age != -1 else self.shard.stream.retention_hours * 3600
        if lab.now - batch[0].arrival > limit:
            self.give_up("RecordAgeExceeded")
            return
        lab.counters.put(mapping.function_name, "IteratorAge", (lab.now - batch[-1].arrival) * 1000)
        self.invocations += 1
        poller.batches += 1
        self.inflight = True              # set before the call: ``done`` may run inside it
        invoke_batch(mapping, [poller.event_record(r) for r in batch], self.done, shard=self.shard.shard_id,
                     attempt=self.retries + 1)

    def done(self, inv) -> None:
        self.inflight = None
        self.last_inv = inv
        mapping, lab = self.poller.mapping, self.poller.lab
        batch = self.current
        if batch is None:                  # the lane was reset (ParallelizationFactor changed)
            return
        if inv.status in ("throttled", "rejected"):
            mapping.last_processing_result = "PROBLEM: Function call throttled" if inv.status == "throttled" \
                else "PROBLEM: Function not found"
            self.throttles += 1
            self.schedule_retry(f"{error_code(inv.error) if inv.error else inv.status}: try again", count=False)
            return
        self.throttles = 0
        if inv.status == "ok":
            failed = []
            if mapping.report_failures:
                failed = batch_item_failures(inv, {r.sequence_number for r in batch})
            if failed == []:
                mapping.last_processing_result = "OK"
                self.checkpoint(batch[-1].seq, inv)
                return
            if failed is not None:
                mapping.last_processing_result = "OK"
                lowest = min(int(s) for s in failed)
                if lowest > batch[0].seq:
                    self.checkpoint(lowest - 1, inv, more=True)
                self.current = [r for r in batch if r.seq >= lowest]
                self.retry(f"{len(failed)} item failure(s) reported: retry from sequence "
                           f"{lowest - self.poller.base}")
                return
        mapping.last_processing_result = "PROBLEM: Function call failed"
        if mapping.config["BisectBatchOnFunctionError"] and len(batch) > 1:
            half = len(batch) // 2
            self.pending[:0] = [batch[:half], batch[half:]]
            self.current = None
            self.poller.bisects += 1
            mapping.trace("bisect", f"{self.name}: batch of {len(batch)} failed; split into {half} + "
                          f"{len(batch) - half}", request_id=inv.request_id, shard=self.shard.shard_id,
                          halves=[half, len(batch) - half])
            self.event = lab.engine.at(lab.now, self.poll)
            return
        self.retry("function error: retry the batch")

    def retry(self, why: str) -> None:
        max_retries = self.poller.mapping.config["MaximumRetryAttempts"]
        if max_retries != -1 and self.retries >= max_retries:
            self.give_up("RetryAttemptsExhausted")
            return
        self.retries += 1
        self.poller.retries += 1
        self.schedule_retry(why)

    def schedule_retry(self, why: str, count: bool = True) -> None:
        lab = self.poller.lab
        tries = self.retries if count else self.throttles
        delay = min(MAX_BACKOFF, 2.0 ** max(0, tries - 1))
        if lab.trace.full:
            counted = f"retry {self.retries}" if count else "not counted as a retry"
            self.poller.mapping.trace("retry", f"{self.name}: {why} in {delay:g} s ({counted})",
                                      shard=self.shard.shard_id, delay=delay, retries=self.retries,
                                      records=len(self.current))
        self.event = lab.engine.schedule(delay, self.poll)

    def checkpoint(self, seq: int, inv, more: bool = False) -> None:
        mapping, lab = self.poller.mapping, self.poller.lab
        self.position = max(self.position, seq)
        if not more and not self.pending:
            self.position = max(self.position, self.skip_to)
        if lab.trace.full:
            mapping.trace("checkpoint", f"{self.name}: checkpoint at sequence {self.position - self.poller.base}",
                          request_id=inv.request_id if inv else None, shard=self.shard.shard_id,
                          sequence_number=str(self.position))
        if more:
            return
        self.current = None
        self.event = lab.engine.at(lab.now, self.poll)

    def give_up(self, condition: str) -> None:
        batch = self.current
        poller, mapping = self.poller, self.poller.mapping
        poller.discarded += len(batch)
        mapping.trace("discard", f"{self.name}: give up {len(batch)} record(s) ({condition})",
                      shard=self.shard.shard_id, condition=condition, records=len(batch),
                      target="destination")
        poller.deliver_failure(self, batch, condition)
        self.checkpoint(batch[-1].seq, None)


class StreamPoller:
    """All lanes of one Kinesis mapping."""

    def __init__(self, mapping) -> None:
        self.mapping = mapping
        self.lab = mapping.lab
        self.stream = self.lab.kinesis.stream_by_arn(mapping.config["EventSourceArn"])
        self.base = 496 * 10 ** 53         # shown sequence numbers are relative to it in trace texts
        self.lanes: dict[str, list[Lane]] = {}
        self.factor = mapping.config["ParallelizationFactor"]
        self.active = False
        self.batches = self.retries = self.bisects = self.discarded = self.filtered = self.delivered = 0
        self._lane_cache: dict[str, int] = {}

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.stream is None or self.lab.kinesis.streams.get(self.stream.name) is not self.stream:
            self.mapping.last_processing_result = "PROBLEM: Stream not found"
            return
        if not self.lanes:
            for shard in self.stream.shards:
                start = self._start_position(shard)
                self.lanes[shard.shard_id] = [Lane(self, shard, i, start) for i in range(self.factor)]
        self.active = True
        if self._on_record not in self.stream.listeners:
            self.stream.listeners.append(self._on_record)
        for lanes in self.lanes.values():
            for lane in lanes:
                lane.wake()

    def stop(self) -> None:
        self.active = False
        if self._on_record in self.stream.listeners:
            self.stream.listeners.remove(self._on_record)
        for lanes in self.lanes.values():
            for lane in lanes:
                lane.cancel()

    def reconfigure(self) -> None:
        """A new ParallelizationFactor: rebuild each shard's lanes from its slowest checkpoint."""
        self.factor = self.mapping.config["ParallelizationFactor"]
        self._lane_cache.clear()
        for shard_id, lanes in self.lanes.items():
            start = min(lane.position if lane.current is None else lane.current[0].seq - 1 for lane in lanes)
            for lane in lanes:
                lane.cancel()
                lane.current = None
            self.lanes[shard_id] = [Lane(self, lanes[0].shard, i, start) for i in range(self.factor)]
            if self.active:
                for lane in self.lanes[shard_id]:
                    lane.wake()

    def _start_position(self, shard) -> int:
        config = self.mapping.config
        position = config["StartingPosition"]
        if position == "TRIM_HORIZON":
            return shard.first_seq - 1
        if position == "AT_TIMESTAMP":
            return shard.seq_before_time(self.lab.kinesis.virtual_time(config["StartingPositionTimestamp"]))
        return shard.last_seq()

    def _on_record(self, stream, shard) -> None:
        if self.active:
            for lane in self.lanes.get(shard.shard_id, ()):
                lane.wake()

    def lane_of(self, record) -> int:
        lane = self._lane_cache.get(record.partition_key)
        if lane is None:
            digest = hashlib.md5(record.partition_key.encode()).digest()
            lane = self._lane_cache[record.partition_key] = int.from_bytes(digest, "big") % self.factor
        return lane

    # --- shapes -------------------------------------------------------------------------------------------
    def event_record(self, record) -> dict:
        lab = self.lab
        fn = lab.control_plane.functions.get(self.mapping.function_name)
        role = fn.latest.config.get("Role") if fn is not None else None
        return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record.partition_key,
                            "sequenceNumber": record.sequence_number,
                            "data": base64.b64encode(record.data).decode(),
                            "approximateArrivalTimestamp": round(lab.epoch + record.arrival, 3)},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": f"{record.shard.shard_id}:{record.sequence_number}",
                "eventName": "aws:kinesis:record", "invokeIdentityArn": role, "awsRegion": lab.region,
                "eventSourceARN": self.stream.arn}

    def filter_view(self, record) -> dict:
        """What FilterCriteria patterns see: the ``kinesis`` fields with ``data`` decoded (JSON when it is)."""
        return {"partitionKey": record.partition_key, "sequenceNumber": record.sequence_number,
                "kinesisSchemaVersion": "1.0", "approximateArrivalTimestamp": round(self.lab.epoch + record.arrival, 3),
                "data": parse_payload(record.data)}

    def deliver_failure(self, lane: Lane, batch: list, condition: str) -> None:
        lab, mapping = self.lab, self.mapping
        target = mapping.config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if not target:
            return
        inv = lane.last_inv
        body = {
            "requestContext": {"requestId": inv.request_id if inv else None,
                               "functionArn": mapping.config["FunctionArn"], "condition": condition,
                               "approximateInvokeCount": lane.invocations},
            "version": "1.0",
            "timestamp": lab.iso_time(lab.now),
            "KinesisBatchInfo": {"shardId": lane.shard.shard_id, "startSequenceNumber": batch[0].sequence_number,
                                 "endSequenceNumber": batch[-1].sequence_number,
                                 "approximateArrivalOfFirstRecord": lab.iso_time(batch[0].arrival),
                                 "approximateArrivalOfLastRecord": lab.iso_time(batch[-1].arrival),
                                 "batchSize": len(batch), "streamArn": self.stream.arn},
        }
        if inv is not None:                 # records that were too old when read were never sent
            response = {"statusCode": inv.response["ResponseMetadata"]["HTTPStatusCode"] if inv.response else 200}
            if inv.snapshot is not None:
                response["executedVersion"] = inv.snapshot.version
            if inv.function_error:
                response["functionError"] = inv.function_error
            body["responseContext"] = response
        sqs = getattr(lab, "sqs", None)
        queue = sqs.queue_by_arn(target) if sqs is not None else None
        if queue is None:
            lab.trace.emit("destination", "fail", "On-failure destination {} does not exist", target.split(':')[-1],
                           function=mapping.function_name, destination=target, condition=condition)
            return
        queue.send(json.dumps(body))
        self.delivered += 1
        lab.trace.emit("destination", "deliver", "Send the failure record ({}) to {}", condition, target.split(':')[-1],
                       function=mapping.function_name, destination=target, condition=condition)

    def statistics(self) -> "StreamMappingStatistics":
        return StreamMappingStatistics(
            self.mapping.uuid, self.mapping.state, self.batches, self.retries, self.bisects, self.discarded,
            self.filtered, self.delivered,
            {lane.name: str(lane.position) for lanes in self.lanes.values() for lane in lanes})


@dataclass(frozen=True)
class StreamMappingStatistics(MappingStatistics):
    batches: int            # batches sent to the function
    retries: int            # batches sent again after a failure
    bisects: int            # failed batches split in two (BisectBatchOnFunctionError)
    discarded: int          # records given up on (retries or age exhausted)
    filtered: int           # records dropped by the filter criteria
    failure_records: int    # failure records sent to the on-failure destination (one per batch given up)
    checkpoints: dict       # lane (shard, or shard/partition with ParallelizationFactor) -> last sequence number
