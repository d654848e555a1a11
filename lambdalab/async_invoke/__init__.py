"""Asynchronous invocation: Lambda's internal queue, its poller fleet, retries, event age and destinations.

In AWS an ``InvocationType="Event"`` request is stored on an internal SQS queue and the caller gets 202 with a
request id straight away. A fleet of pollers reads the queue in batches and invokes the function synchronously
through the same frontend a client uses, so reserved concurrency and throttling apply unchanged. What happens
next depends on the outcome:

- success: the event is done (and its record goes to the ``OnSuccess`` destination, if any);
- a function error or timeout: Lambda retries up to ``MaximumRetryAttempts`` times (0-2, default 2), waiting
  about one minute and then two, with the same request id; a retry is made only if it can start before the
  event is ``MaximumEventAgeInSeconds`` old (60-21,600 s, default 6 h), otherwise the condition is
  ``EventAgeExceeded``;
- a throttle (or a service error): the event goes back to the queue with a back-off that starts at 1 s and
  doubles up to 5 min, each wait drawn with jitter so that events throttled together spread out, for as long as
  the event's age allows; these do not count as retries; and the function's pollers slow down (``pacing``);
- reserved concurrency 0: the event fails at once (condition ``ZeroReservedConcurrency``, no invocation);
- a recursive loop (the event's request chain has invoked the function 16 times already, see
  ``control_plane.recursion``): the event is not invoked and fails at once; AWS documents that it goes to the
  DLQ or on-failure destination, not the record's condition, which we call ``RecursiveInvocationException``.
An event that fails for good goes to the ``OnFailure`` destination and/or the dead-letter queue, or is dropped.

Here each function has its own internal queue (``lab.sqs`` machinery, not visible to the SQS client), and a
poller reacts the moment messages turn visible instead of long-polling. Retry waits are exact (``retry_base``
seconds, doubling; set ``lab.async_invoke.retry_base`` lower for a quick lab), and delivery is exactly once
where AWS promises at least once. Every accepted event is in ``lab.async_invoke.events`` (request id ->
``AsyncEvent``) with its state and history, and ends in exactly one outcome: ``succeeded``, ``delivered`` (to a
failure destination or DLQ) or ``dropped`` with a recorded reason. With ``trace="off"`` only open events stay
in that ledger (so a million-event run fits in memory); ``statistics()`` keeps the totals either way.

Reading it: ``lab.async_invoke.events[request_id]`` (``state``, ``condition``, ``reason``, ``history``,
``starts``, ``invoke_count``), ``statistics()``, ``pending()`` (events not final yet), ``waiting[function]``
(events on the queue and not being invoked: the function's ``QueueDepth`` metric), ``outbox[arn]`` (records
for destinations the lab does not have), and the metrics AsyncEventsReceived, AsyncEventAge,
AsyncEventsDropped (every event that ends without success, as in CloudWatch, delivered to a DLQ or not),
DeadLetterErrors and DestinationDeliveryFailures.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..invocation import Invocation
from ..observability.records import Statistics
from .config import DEFAULT_MAX_AGE, DEFAULT_RETRIES, EventInvokeConfigs
from .destinations import Delivery, invocation_record
from .pacing import Pacing

__all__ = ["AsyncInvoke", "AsyncEvent", "AsyncInvokeStatistics", "attach", "RETRY_BASE", "BACKOFF_START", "BACKOFF_MAX"]

RETRY_BASE = 60.0            # first retry after about a minute, the second after two
BACKOFF_START = 1.0          # throttle back-off: 1 s, doubling ...
BACKOFF_MAX = 300.0          # ... up to 5 minutes
POLL_BATCH = 10              # events a poller takes per receive
IN_FLIGHT_VISIBILITY = 43_200  # the poller always acknowledges or re-times a message before this runs out
FAILED_STATUSES = ("error", "timeout", "exit")
FINAL = ("succeeded", "delivered", "dropped")


class AsyncEvent:
    """One accepted asynchronous event, from the 202 to its single final outcome."""

    __slots__ = ("request_id", "function_name", "fn", "qualifier", "version", "function_arn", "payload", "accepted",
                 "state", "condition", "reason", "attempts", "invoke_count", "function_errors", "throttles",
                 "backoff", "response", "error_message", "executed_version", "message", "history", "trace_id",
                 "invoked_arn", "starts", "max_age", "max_retries")

    def __init__(self, inv: Invocation, now: float) -> None:
        self.request_id = inv.request_id
        self.fn = inv.function
        self.function_name = inv.function.name
        self.qualifier = inv.qualifier
        self.version = inv.snapshot.version
        self.function_arn = f"{inv.function.arn}:{inv.qualifier or '$LATEST'}"
        self.invoked_arn = inv.invoked_arn
        self.trace_id = inv.trace_id
        self.payload = inv.payload
        self.accepted = now
        self.state = "queued"             # queued | in_flight | succeeded | delivered | dropped
        self.condition = None             # Success | RetriesExhausted | EventAgeExceeded | ZeroReservedConcurrency
        #                                   | RecursiveInvocationException
        self.reason = None                # why a dropped event was dropped
        self.attempts = 0                 # times a poller tried (throttled tries included)
        self.invoke_count = 0             # times the function actually ran
        self.function_errors = 0
        self.throttles = 0
        self.backoff = BACKOFF_START
        self.response = None
        self.error_message = ""
        self.executed_version = None
        self.message = None               # its message on the internal queue
        self.history: list[tuple[float, str, str]] = [(now, "queued", "accepted (202)")]
        self.starts: list[tuple[float, str]] = []   # (time an invocation started, its outcome status)
        self.max_age = DEFAULT_MAX_AGE
        self.max_retries = DEFAULT_RETRIES

    @property
    def expires(self) -> float:
        return self.accepted + self.max_age

    def note(self, t: float, state: str, text: str) -> None:
        self.state = state
        self.history.append((t, state, text))

    def __repr__(self) -> str:
        return f"<AsyncEvent {self.request_id[:8]} {self.state} runs={self.invoke_count} condition={self.condition}>"


class AsyncInvoke(EventInvokeConfigs):
    """The internal queues, the poller fleet and the outcome routing. ``lab.async_invoke``."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.queues: dict[str, object] = {}      # function name -> its internal queue
        self.events: dict[str, AsyncEvent] = {}  # the ledger: every accepted event
        self.retry_base = RETRY_BASE
        self.delivery = Delivery(lab)
        self.outbox = self.delivery.outbox
        self.totals = {"accepted": 0, "succeeded": 0, "delivered": 0, "dropped": 0, "retries": 0,
                       "throttled_attempts": 0}
        self.by_message: dict[str, AsyncEvent] = {}
        self.conditions: dict[str, int] = {}
        self.waiting: dict[str, int] = {}        # function -> events on its queue, not being invoked (QueueDepth)
        # with trace="off" (million-event sweeps) finished events leave the ledger; the totals keep counting
        self.keep_finished = lab.trace.mode != "off"
        self.pacing = Pacing(lab, lambda name: self._poll(self.queues[name]))

    # --- the frontend hands over an Event invoke ------------------------------------------------------------
    def accept(self, inv: Invocation) -> None:
        """Store the event on the function's internal queue and answer the caller 202 at once."""
        lab = self.lab
        now = lab.now
        event = AsyncEvent(inv, now)
        fn = inv.function
        event.max_retries, event.max_age, _ = self.settings(fn, event.qualifier)
        self.events[event.request_id] = event
        self.totals["accepted"] += 1
        lab.counters.put(fn.name, "AsyncEventsReceived", 1)
        queue = self._queue(fn.name)
        full = lab.trace.full
        if full:
            lab.trace.emit("frontend", "enqueue", "Event invoke: put it on {}'s internal queue and answer 202", fn.name,
                           request_id=inv.request_id, function=fn.name, version=event.version, target="async_queue",
                           status=202)
        event.message = queue.send(inv.request_id)
        self.by_message[event.message.id] = event
        self._count_waiting(fn.name, 1)
        if full:
            lab.trace.emit("async_queue", "enqueue", "Store the event ({} bytes); {} event(s) now on the queue",
                           len(inv.payload), len(queue), request_id=inv.request_id, function=fn.name,
                           queue_depth=self.waiting[fn.name], payload_bytes=len(inv.payload))
        inv.status = "ok"
        inv.response = lab.frontend.response_for(inv, 202, b"")
        if full and inv.source == "client":
            lab.trace.emit("client", "response", "202 Accepted: the caller has its request id and goes on",
                           request_id=inv.request_id, function=fn.name, status=202)
        inv.finish()

    def _queue(self, name: str):
        queue = self.queues.get(name)
        if queue is None:
            queue = self.lab.sqs.create(f"lambda-async-{name}", internal=True)
            queue.metric_name = f"lambda-async:{name}"   # the function's own QueueDepth counts waiting events
            queue.subscribe(self._poll)
            self.queues[name] = queue
        return queue

    # --- the poller fleet -----------------------------------------------------------------------------------
    def _poll(self, queue) -> None:
        """Messages are visible: pollers take them in batches of ten and invoke each one (unless the function
        is throttled: then they wait, and what they took goes back to the queue untried)."""
        lab = self.lab
        pacing = self.pacing
        name = queue.metric_name.partition(":")[2]
        while True:
            if pacing.paused(name) is not None:
                return                    # the pause's end (or a freed slot) polls again
            batch = queue.receive(POLL_BATCH, IN_FLIGHT_VISIBILITY)
            if not batch:
                return
            if lab.trace.full:
                first = self.by_message[batch[0].id]
                lab.trace.emit("poller", "receive", "A poller receives {} event(s) from {}'s queue", len(batch),
                               first.function_name, request_id=first.request_id, function=first.function_name,
                               batch_size=len(batch), target="async_queue")
            for msg in batch:
                until = pacing.paused(name)
                if until is None:
                    self._dispatch(self.by_message[msg.id], queue)
                elif msg.id in self.by_message:
                    queue.change_visibility(msg.receipt, until - lab.now)     # untried: no attempt, no 429

    def _dispatch(self, event: AsyncEvent, queue) -> None:
        lab = self.lab
        now = lab.now
        name = event.function_name
        age = now - event.accepted
        lab.counters.put(name, "AsyncEventAge", age * 1000)
        if lab.trace.full:
            lab.trace.emit("async_queue", "dequeue", "Take event {} off the queue (age {:.3f} s, attempt {})",
                           event.request_id[:8], age, event.attempts + 1, request_id=event.request_id, function=name,
                           age=age, target="poller", queue_depth=self.waiting[name] - 1)
        fn = lab.control_plane.functions.get(name)
        if fn is not event.fn:
            self._final(event, "dropped", None, reason="the function was deleted", route=False)
            return
        event.max_retries, event.max_age, _ = self.settings(fn, event.qualifier)
        if now >= event.expires:
            self._fail(event, "EventAgeExceeded")
            return
        if fn.reserved == 0:
            self._fail(event, "ZeroReservedConcurrency")
            return
        snap = fn.snapshot(event.version)
        if snap is None:
            self._final(event, "dropped", None, reason=f"version {event.version} was deleted", route=False)
            return
        if snap.config.get("State", "Active") != "Active":
            self._back_off(event, "the function is not Active (a service error)")
            return
        if lab.recursion.stops(fn, event.trace_id):
            lab.recursion.dropped(fn)
            if lab.trace.full:
                lab.trace.emit("poller", "stop_loop", "This request chain has invoked {} {} times: a recursive loop,"
                               " Lambda does not invoke it (RecursiveInvocationsDropped)", name,
                               lab.recursion.count(fn, event.trace_id), request_id=event.request_id, function=name)
            self._fail(event, "RecursiveInvocationException")
            return
        inv = Invocation(event.request_id, event.payload, "Event", "None", None, source="poller")
        inv.t_arrival = now
        inv.function, inv.snapshot, inv.qualifier = fn, snap, event.qualifier
        inv.invoked_arn, inv.trace_id = event.invoked_arn, event.trace_id
        event.attempts += 1
        inv.attempt = event.attempts
        self._state(event, "in_flight", f"attempt {event.attempts}")
        inv.callbacks.append(lambda done: self._outcome(event, done))
        if lab.trace.full:
            lab.trace.emit("poller", "invoke", "Invoke {}:{} synchronously through the frontend (attempt {})", name,
                           snap.version, event.attempts, request_id=event.request_id, function=name,
                           version=snap.version, target="frontend", attempt=event.attempts)
        lab.frontend.run(inv)

    def _outcome(self, event: AsyncEvent, inv: Invocation) -> None:
        """The synchronous invoke is over (or was throttled): decide what happens to the event."""
        now = self.lab.now
        if inv.status == "throttled":
            event.throttles += 1
            self.totals["throttled_attempts"] += 1
            self._slow_down(event)
            self._back_off(event, "throttled (429)")
            return
        self.pacing.freed(event.function_name)
        event.invoke_count += 1
        event.backoff = BACKOFF_START     # it ran: a later throttle starts its back-off afresh
        event.starts.append((inv.t_arrival, inv.status))      # when the poller dispatched this run
        event.executed_version = inv.snapshot.version
        event.response = inv.body
        if inv.status == "ok":
            self._succeed(event)
            return
        if inv.status not in FAILED_STATUSES:
            self._back_off(event, f"service error ({inv.status})")
            return
        event.function_errors += 1
        event.error_message = _error_message(inv.body)
        if event.function_errors > event.max_retries:
            self._fail(event, "RetriesExhausted")
            return
        delay = self.retry_base * 2 ** (event.function_errors - 1)
        if now + delay >= event.expires:
            self._fail(event, "EventAgeExceeded")
            return
        self.totals["retries"] += 1
        if self.lab.trace.full:
            self.lab.trace.emit("poller", "retry", "Function error ({}): retry {} of {} in {:g} s",
                                inv.error_type or inv.status, event.function_errors, event.max_retries, delay,
                                request_id=event.request_id, function=event.function_name, delay=delay,
                                retry=event.function_errors)
        self._requeue(event, delay, f"retry {event.function_errors} after a function error")

    def _slow_down(self, event: AsyncEvent) -> None:
        pause = self.pacing.throttled(event.function_name)
        if self.lab.trace.full:
            self.lab.trace.emit("poller", "slow_down", "{} is throttled: its pollers take no more events for {:g} s (or"
                                " until one of its invokes ends)", event.function_name, pause,
                                request_id=event.request_id, function=event.function_name, pause=pause)

    def _back_off(self, event: AsyncEvent, why: str) -> None:
        """Throttles and service errors: back to the queue, 1 s doubling to 5 min (with jitter), within the age
        limit."""
        delay = self.pacing.jitter(event.backoff)
        if self.lab.now + delay >= event.expires:
            self._fail(event, "EventAgeExceeded")
            return
        event.backoff = min(BACKOFF_MAX, event.backoff * 2)
        self._requeue(event, delay, why)

    def _requeue(self, event: AsyncEvent, delay: float, why: str) -> None:
        lab = self.lab
        self._state(event, "queued", f"{why}: back on the queue for {delay:.3g} s")
        self.queues[event.function_name].change_visibility(event.message.receipt, delay)
        if lab.trace.full:
            lab.trace.emit("async_queue", "requeue", "Back on the queue: {}; visible again in {:.3g} s", why, delay,
                           request_id=event.request_id, function=event.function_name, delay=delay,
                           queue_depth=self.waiting[event.function_name])

    # --- outcomes -------------------------------------------------------------------------------------------
    def _succeed(self, event: AsyncEvent) -> None:
        _, _, destinations = self.settings(event.fn, event.qualifier)
        target = (destinations.get("OnSuccess") or {}).get("Destination")
        event.condition = "Success"
        if self.lab.trace.full:
            self.lab.trace.emit("poller", "route", "Success{}", f": send the record to {target}" if target else "",
                                request_id=event.request_id, function=event.function_name, condition="Success",
                                target="destination" if target else None)
        if target:
            record = invocation_record(self.lab, event, "Success")
            if not self.delivery.send(target, json.dumps(record), event, "on-success"):
                self.lab.counters.put(event.function_name, "DestinationDeliveryFailures", 1)
        self._final(event, "succeeded", "Success", route=False)

    def _fail(self, event: AsyncEvent, condition: str) -> None:
        """The event failed for good: OnFailure destination and/or DLQ, else dropped."""
        lab = self.lab
        name = event.function_name
        lab.counters.put(name, "AsyncEventsDropped", 1)
        _, _, destinations = self.settings(event.fn, event.qualifier)
        target = (destinations.get("OnFailure") or {}).get("Destination")
        snap = event.fn.snapshot(event.version) or event.fn.latest
        dlq = ((snap.config if snap else {}).get("DeadLetterConfig") or {}).get("TargetArn")
        if lab.trace.full:
            where = " and ".join(x for x in (target and f"OnFailure {target}", dlq and f"DLQ {dlq}") if x)
            lab.trace.emit("poller", "route", "{}: {}", condition,
                           f"send to {where}" if where else "no destination or DLQ, the event is dropped",
                           request_id=event.request_id, function=name, condition=condition,
                           target="destination" if where else None)
        delivered = False
        if target:
            record = invocation_record(lab, event, condition)
            if self.delivery.send(target, json.dumps(record), event, "on-failure"):
                delivered = True
            else:
                lab.counters.put(name, "DestinationDeliveryFailures", 1)
        if dlq:
            if self.delivery.dead_letter(dlq, event, event.error_message or condition):
                delivered = True
            else:
                lab.counters.put(name, "DeadLetterErrors", 1)
        if delivered:
            self._final(event, "delivered", condition)
        else:
            reason = "delivery to the failure destination / DLQ failed" if (target or dlq) else \
                "no OnFailure destination or DLQ configured"
            self._final(event, "dropped", condition, reason=reason)

    def _final(self, event: AsyncEvent, state: str, condition: str | None, reason: str | None = None,
               route: bool = True) -> None:
        """Record the event's one final outcome and delete its message. ``condition`` None: no record exists."""
        lab = self.lab
        event.condition = condition
        event.reason = reason
        self._state(event, state, ": ".join(x for x in (condition, reason) if x))
        self.totals[state] += 1
        if condition:
            self.conditions[condition] = self.conditions.get(condition, 0) + 1
        if not self.keep_finished:
            del self.events[event.request_id]
        queue = self.queues[event.function_name]
        queue.delete(event.message.receipt)
        self.by_message.pop(event.message.id, None)
        if state == "dropped" and not route:
            lab.counters.put(event.function_name, "AsyncEventsDropped", 1)   # _fail counted the routed ones
        if state == "dropped" and lab.trace.full:
            why = "; ".join(x for x in (condition, reason) if x)
            lab.trace.emit("async_queue", "drop", "Event {} leaves the queue for good ({})", event.request_id[:8], why,
                           request_id=event.request_id, function=event.function_name, condition=condition,
                           reason=reason, queue_depth=self.waiting[event.function_name])

    # --- the ledger ---------------------------------------------------------------------------------------------
    def _state(self, event: AsyncEvent, state: str, text: str) -> None:
        """Move ``event`` to ``state``; keep the function's count of waiting events (and its QueueDepth)."""
        was, now_waiting = event.state == "queued", state == "queued"
        event.note(self.lab.now, state, text)
        if was != now_waiting:
            self._count_waiting(event.function_name, 1 if now_waiting else -1)

    def _count_waiting(self, name: str, delta: int) -> None:
        depth = self.waiting[name] = self.waiting.get(name, 0) + delta
        self.lab.counters.put(name, "QueueDepth", depth)

    # --- reading ----------------------------------------------------------------------------------------------
    def pending(self) -> int:
        """Events accepted and not yet final (on a queue or being invoked)."""
        t = self.totals
        return t["accepted"] - t["succeeded"] - t["delivered"] - t["dropped"]

    def statistics(self) -> "AsyncInvokeStatistics":
        """Totals, open events by state, final outcomes by condition, and each function's queue depth."""
        states = {"queued": 0, "in_flight": 0}
        for event in self.events.values():
            if event.state in states:
                states[event.state] += 1
        return AsyncInvokeStatistics(**self.totals, **states, conditions=dict(self.conditions),
                                     queue_depth=dict(self.waiting))


@dataclass(frozen=True)
class AsyncInvokeStatistics(Statistics):
    accepted: int           # events accepted (202)
    succeeded: int          # ... whose function succeeded
    delivered: int          # ... that failed or expired, their record sent to an on-failure destination or DLQ
    dropped: int            # ... given up with no record delivered (none configured, it failed, function deleted)
    retries: int            # invokes made again after a function error
    throttled_attempts: int  # invokes throttled and put back on the queue (not retries)
    queued: int             # events on a queue now
    in_flight: int          # ... being invoked now
    conditions: dict        # final outcomes by condition (Success, RetriesExhausted, EventAgeExceeded, ...)
    queue_depth: dict       # events waiting on each function's queue


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorMessage", ""))
    except (ValueError, AttributeError, TypeError):
        return ""


def attach(lab) -> None:
    """Give the lab its async path (it needs the SQS machinery for its internal queues)."""
    from ..event_sources import sqs_api
    sqs_api.attach(lab)
    lab.async_invoke = AsyncInvoke(lab)
    lab.register_backend("lambda", lab.async_invoke)
