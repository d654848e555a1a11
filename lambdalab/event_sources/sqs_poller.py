"""The SQS poller: how Lambda reads a queue for an event source mapping.

Lambda long-polls the queue with a small fleet of pollers. A poller receives messages (each becomes invisible
for the queue's visibility timeout), keeps receiving until the batch is full (``BatchSize``), the batching
window ends (``MaximumBatchingWindowInSeconds``) or the payload would pass 6 MB, drops messages that match no
filter (deleting them), and invokes the function synchronously with the batch.

- Success: the poller deletes every message of the batch.
- Error (or a throttle): nothing is deleted; the messages become visible again when their visibility timeout
  ends, are received again (``ApproximateReceiveCount`` goes up) and, once received ``maxReceiveCount`` times,
  SQS moves them to the queue's dead-letter queue (that is SQS's redrive, not Lambda's).
- ``ReportBatchItemFailures``: the function returns ``{"batchItemFailures": [{"itemIdentifier": messageId}]}``;
  only those messages stay, the rest are deleted. An empty or null list means success; a malformed answer
  fails the whole batch.
- Scaling: five batches may be in flight at first; while messages keep waiting Lambda adds up to 300 more per
  minute, up to ``ScalingConfig.MaximumConcurrency`` (2-1,000; 1,000 without it).

What we simplify: one batch forms at a time (the others are in flight), messages are received one by one into
it (AWS's pollers take up to 10 per ReceiveMessage, which changes nothing visible here), concurrency grows by
5 each second while a backlog remains and drops back to 5 as soon as the queue is empty. A
throttle makes the pollers pause (1 s, doubling to 60 s while throttles continue), drop to as many
batches as are still running and not grow again for a minute; the throttled batch returns to the queue after its visibility timeout, and that
receive counts towards ``maxReceiveCount`` as it does in AWS. FIFO queues get no special treatment: AWS
keeps each message group in order (one batch per group at a time); the lab does not.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..control_plane.recursion import merge_headers
from .batches import MAX_PAYLOAD, MappingStatistics, batch_item_failures, invoke_batch
from .filters import parse_payload

__all__ = ["SQSPoller", "INITIAL_CONCURRENCY", "SCALE_STEP"]

INITIAL_CONCURRENCY = 5
SCALE_STEP = 5                 # per second while backlogged: 300 per minute
MAX_CONCURRENCY = 1000
COOLDOWN = 60.0                # after a throttle, hold the number of batches for this long before growing it
_ENVELOPE = 1024               # bytes of JSON around each message body in the event (receipt handle, attributes)


class SQSPoller:
    """All pollers of one SQS mapping."""

    def __init__(self, mapping) -> None:
        self.mapping = mapping
        self.lab = mapping.lab
        self.queue = self.lab.sqs.queue_by_arn(mapping.config["EventSourceArn"])
        self.active = False
        self.limit = INITIAL_CONCURRENCY
        self.inflight = 0
        self.forming: list = []        # messages received into the batch that is forming
        self.forming_size = 0
        self.window_end = None
        self.window_event = None
        self.scale_event = None
        self.backoff_until = 0.0         # after a throttle no new batch leaves before this time
        self.backoff_event = None
        self.cooldown_until = 0.0        # and no scaling up before this time
        self.throttle_streak = 0
        self._unsubscribe = None
        self.batches = self.received = self.deleted = self.filtered = self.failed = 0

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.queue is None or self.lab.sqs.queue_by_arn(self.queue.arn) is not self.queue:
            return
        self.active = True
        if self._unsubscribe is None:
            self._unsubscribe = self.queue.subscribe(self._on_messages)
        self.lab.engine.at(self.lab.now, self.pump)

    def stop(self) -> None:
        self.active = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for event in (self.window_event, self.scale_event, self.backoff_event):
            self.lab.engine.cancel(event)
        self.window_event = self.scale_event = self.backoff_event = None
        # messages received into a forming batch stay invisible and come back after their visibility timeout

    def reconfigure(self) -> None:
        pass

    @property
    def max_concurrency(self) -> int:
        return (self.mapping.config.get("ScalingConfig") or {}).get("MaximumConcurrency", MAX_CONCURRENCY)

    def _on_messages(self, queue) -> None:
        self.pump()

    # --- forming batches ----------------------------------------------------------------------------------
    def pump(self) -> None:
        """Receive into the forming batch and send batches while concurrency allows."""
        mapping, lab = self.mapping, self.lab
        if not self.active or not mapping.running:
            return
        if lab.now < self.backoff_until:
            if self.backoff_event is None:
                self.backoff_event = lab.engine.at(self.backoff_until, self._backoff_ends)
            return
        config = mapping.config
        limit, window = config["BatchSize"], config["MaximumBatchingWindowInSeconds"]
        while self.inflight < min(self.limit, self.max_concurrency):
            reason = None
            got = 0
            while len(self.forming) < limit:
                messages = self.queue.receive(1)
                if not messages:
                    break
                message = messages[0]
                self.received += 1
                if mapping.filters and not mapping.filters.keep(self.filter_view(message)):
                    self.queue.delete(message.receipt)
                    self.filtered += 1
                    mapping.trace("filter", f"Message {message.id[:8]} matches no filter: delete it",
                                  message_id=message.id)
                    continue
                size = len(message.body.encode()) + _ENVELOPE
                if self.forming and self.forming_size + size > MAX_PAYLOAD:
                    self._send("6 MB payload limit")
                    if self.inflight >= min(self.limit, self.max_concurrency):
                        self.forming, self.forming_size = [message], size
                        got += 1
                        break
                self.forming.append(message)
                self.forming_size += size
                got += 1
            if got and lab.trace.full:
                mapping.trace("poll", f"Receive {got} message(s) from {self.queue.name}: batch has "
                              f"{len(self.forming)} of {limit}", queue=self.queue.name, received=got,
                              forming=len(self.forming))
            if not self.forming:
                self._idle()
                return
            if self.inflight >= min(self.limit, self.max_concurrency):
                break                      # a 6 MB cut filled the last slot: this batch waits for a free one
            if len(self.forming) >= limit:
                reason = "full"
            elif window == 0:
                reason = "no batching window"
            else:
                if self.window_end is None:
                    self.window_end = lab.now + window
                if lab.now >= self.window_end:
                    reason = "window ended"
            if reason is None:
                if self.window_event is None:
                    self.window_event = lab.engine.at(self.window_end, self._window_ends)
                return
            self._send(reason)
            if self.queue.visible:
                self._backlog()
        if self.queue.visible:
            self._backlog()

    def _backoff_ends(self) -> None:
        self.backoff_event = None
        self.pump()

    def _window_ends(self) -> None:
        self.window_event = None
        self.pump()

    def _send(self, reason: str) -> None:
        mapping, lab = self.mapping, self.lab
        batch = self.forming
        self.forming, self.forming_size = [], 0
        lab.engine.cancel(self.window_event)
        self.window_event = self.window_end = None
        self.inflight += 1
        self.batches += 1
        if lab.trace.full:
            mapping.trace("batch", f"Batch of {len(batch)} message(s) leaves ({reason})", queue=self.queue.name,
                          records=len(batch), reason=reason, in_flight=self.inflight)
        records = [m.record(self.queue) for m in batch]
        receipts = {m.id: m.receipt for m in batch}
        invoke_batch(mapping, records, lambda inv: self._done(inv, batch, receipts), queue=self.queue.name,
                     trace_header=merge_headers(m.trace_header for m in batch))

    # --- outcomes -----------------------------------------------------------------------------------------
    def _done(self, inv, batch: list, receipts: dict) -> None:
        mapping, lab = self.mapping, self.lab
        self.inflight -= 1
        if inv.status == "throttled":
            self._throttled()
        else:
            self.throttle_streak = 0
        failed: list | None
        if inv.status == "ok":
            failed = batch_item_failures(inv, set(receipts)) if mapping.report_failures else []
        else:
            failed = None
        if failed is None:
            why = {"throttled": "throttled", "rejected": "rejected"}.get(inv.status, "failed")
            if inv.status == "ok":
                why = "returned a malformed batchItemFailures response"
            failed = list(receipts)
        else:
            why = "reported item failures"
        keep = set(failed)
        done = [m for m in batch if m.id not in keep]
        for message in done:
            self.queue.delete(receipts[message.id])
        self.deleted += len(done)
        self.failed += len(keep)
        if lab.trace.full:
            if done:
                mapping.trace("checkpoint", f"Delete {len(done)} message(s) from {self.queue.name}",
                              request_id=inv.request_id, queue=self.queue.name, deleted=len(done))
            if keep:
                timeout = self.queue.number("VisibilityTimeout")
                mapping.trace("retry", f"The function {why}: {len(keep)} message(s) stay and become visible again "
                              f"after the visibility timeout ({timeout} s)", request_id=inv.request_id,
                              queue=self.queue.name, failed=sorted(keep), visibility_timeout=timeout)
        lab.engine.at(lab.now, self.pump)      # an event, not a call: a burst of quick batches must not recurse

    # --- scaling ------------------------------------------------------------------------------------------
    def _backlog(self) -> None:
        """Messages wait while every allowed batch is in flight: add pollers at 300 per minute."""
        if self.scale_event is None and self.limit < self.max_concurrency and self.lab.now >= self.cooldown_until:
            self.scale_event = self.lab.engine.schedule(1.0, self._scale_up)

    def _scale_up(self) -> None:
        self.scale_event = None
        if not self.active or not self.queue.visible or self.lab.now < self.cooldown_until:
            return
        new = min(self.max_concurrency, self.limit + SCALE_STEP)
        if new != self.limit:
            self.limit = new
            self.mapping.trace("scale", f"Messages keep waiting: allow {new} concurrent batches",
                               concurrency=new)
        self.pump()

    def _throttled(self) -> None:
        """The function had no concurrency left: fewer batches at once, and a pause that grows while it lasts."""
        self.throttle_streak += 1
        delay = min(60.0, 2.0 ** (self.throttle_streak - 1))
        self.backoff_until = self.lab.now + delay
        self.cooldown_until = self.lab.now + COOLDOWN
        self.limit = max(1, self.inflight)
        self.mapping.trace("scale", f"Throttled: pause {delay:g} s and allow {self.limit} concurrent batch(es)",
                           concurrency=self.limit, backoff=delay)

    def _idle(self) -> None:
        if self.limit != INITIAL_CONCURRENCY and self.inflight == 0 and self.lab.now >= self.cooldown_until:
            self.limit = INITIAL_CONCURRENCY
            self.mapping.trace("scale", f"Queue is empty: back to {INITIAL_CONCURRENCY} concurrent batches",
                               concurrency=INITIAL_CONCURRENCY)

    # --- shapes -------------------------------------------------------------------------------------------
    def filter_view(self, message) -> dict:
        """What FilterCriteria patterns see: the event record, with ``body`` parsed when it is JSON."""
        view = message.record(self.queue)
        view["body"] = parse_payload(message.body)
        return view

    def statistics(self) -> "SQSMappingStatistics":
        return SQSMappingStatistics(self.mapping.uuid, self.mapping.state, self.batches, self.received, self.deleted,
                                    self.filtered, self.failed, self.limit, self.inflight)


@dataclass(frozen=True)
class SQSMappingStatistics(MappingStatistics):
    batches: int            # batches sent to the function
    received: int           # messages received from the queue
    deleted: int            # ... deleted after their batch succeeded
    filtered: int           # ... that matched no filter (deleted unprocessed)
    failed: int             # ... left on the queue by a failed batch
    concurrency: int        # concurrent batches the pollers allow now
    in_flight: int          # batches running now
