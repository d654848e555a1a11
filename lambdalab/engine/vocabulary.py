"""The trace vocabulary: which ``action`` each component may record, and what it means.

Views (the Stepper, the diagram, the timeline) key off these names, and a test checks that every Step a lab
records uses one of them. Detail keys that views rely on:

- ``duration`` (seconds) on a step that starts a timed phase, with ``phase`` naming it (see PHASES);
- ``state`` on an ``environment`` step that changes the environment's state (see ENV_STATES);
- ``target`` on a step that hands work to another component (the hop the diagram highlights);
- ``method``/``path``/``status``/``headers`` on ``runtime_api`` steps.
"""
from __future__ import annotations

ACTIONS: dict[str, dict[str, str]] = {
    "client": {
        "http": "a caller sends an HTTP request to a function URL",
        "invoke": "a caller sends an Invoke request",
        "response": "the caller receives the Invoke response",
    },
    "frontend": {
        "receive": "the Invoke API authenticates the request, resolves the qualifier and checks concurrency",
        "reject": "the request fails validation or names a missing / inactive function",
        "throttle": "no concurrency is left: 429 TooManyRequestsException",
        "dry_run": "DryRun: the request is valid and nothing runs (204)",
        "enqueue": "an Event invoke is put on the internal queue and the caller gets 202",
        "dispatch": "the frontend hands the request to the Worker Manager",
        "return": "the frontend returns the result to the caller",
        "stream": "a chunk of a streamed response reaches the caller (the first one: time to first byte)",
        "stream_end": "a streamed response ends (InvokeComplete)",
    },
    "async_queue": {
        "enqueue": "the event is stored on the internal queue",
        "dequeue": "a poller takes the event off the queue",
        "requeue": "the event goes back to the queue (throttle / retry back-off)",
        "drop": "the event leaves the queue for good without a destination",
    },
    "poller": {
        "stop_loop": "the event's request chain has invoked this function 16 times: a recursive loop, not invoked",
        "receive": "a poller of the async fleet receives events",
        "invoke": "the poller invokes the function synchronously through the frontend",
        "retry": "a function error: schedule a retry",
        "slow_down": "the function is throttled: its pollers pause before taking more events",
        "route": "the event's outcome is routed (success / failure destination, DLQ)",
    },
    "event_source_mapping": {
        "poll": "the ESM poller reads the source",
        "batch": "a batch is ready (full, window ended, or payload limit)",
        "invoke": "the ESM poller invokes the function with the batch",
        "checkpoint": "success: messages deleted / stream checkpoint advanced",
        "retry": "the batch (or part of it) failed and will be retried",
        "bisect": "the failing batch is split in two",
        "filter": "records that match no filter pattern are dropped",
        "discard": "retries exhausted / record too old: sent to the on-failure destination",
        "scale": "the number of concurrent pollers changes",
        "state": "the mapping changes state (Creating, Enabled, ...)",
    },
    "worker_manager": {
        "claim": "an idle (frozen) environment of this version is reused: warm start",
        "request": "no idle environment: ask the Placement Service for a new one",
        "release": "the environment is idle again and goes back to the pool",
        "reclaim": "an environment is taken out of service (idle too long, lifetime over, lease ending)",
        "prewarm": "a keep-alive policy has an environment initialised ahead of the request it expects",
    },
    "placement": {
        "place": "the Placement Service picks a worker host for a new environment",
        "add_worker": "a new worker host joins the fleet",
    },
    "worker": {
        "boot": "the worker host creates a Firecracker microVM",
        "cache": "the worker's local cache serves code or image chunks it already holds",
        "drain": "the worker's lease is ending: it takes no new environments",
        "retire": "the worker host leaves the fleet",
    },
    "environment": {
        "create": "a new execution environment exists (state Init)",
        "fetch_code": "the function code is fetched through the cache tiers",
        "fetch_image": "a container image is read lazily, 512 KiB chunk by chunk, through the cache tiers",
        "extract_layers": "the function's layers are fetched and unpacked under /opt, in order",
        "attach_eni": "before 2019: the new environment creates and attaches its own VPC network interface",
        "restore": "SnapStart: the environment resumes from the version's snapshot instead of running Init",
        "snapshot": "SnapStart: the snapshot of an initialised environment is taken at PublishVersion",
        "init_start": "the Init phase begins (INIT_START)",
        "init_done": "the Init phase finished",
        "init_failed": "the Init phase failed (error or timeout)",
        "thaw": "a frozen environment is resumed for an invoke",
        "invoke": "the Invoke phase begins",
        "freeze": "the invoke finished; the environment is frozen until reused",
        "reset": "the runtime is restarted after a crash or timeout",
        "shutdown": "the Shutdown phase begins (SHUTDOWN event)",
        "kill": "the environment is gone (SIGKILL / microVM destroyed)",
    },
    "runtime_api": {
        "next": "GET /runtime/invocation/next",
        "response": "POST /runtime/invocation/{id}/response",
        "error": "POST /runtime/invocation/{id}/error",
        "init_error": "POST /runtime/init/error",
        "stream": "a chunk of a response posted in streaming mode (chunked body)",
    },
    "runtime": {
        "init": "the runtime bootstraps",
        "call": "the runtime calls the handler",
        "shutdown": "the runtime receives SIGTERM",
    },
    "extension": {
        "register": "an extension registers",
        "init": "extensions initialise",
        "invoke": "an extension receives an INVOKE event",
        "shutdown": "an extension receives a SHUTDOWN event",
        "telemetry": "a Telemetry API subscription, or a telemetry batch delivered to a subscriber",
    },
    "function": {
        "init": "module-level code runs",
        "hooks": "SnapStart runtime hooks run (before_snapshot)",
        "run": "the handler runs",
        "error": "the handler (or init code) raised",
        "call": "handler code calls an AWS service (ll.client / the SDK), carrying its trace header",
    },
    "url": {
        "request": "an HTTP request reaches a function URL",
        "reject": "the URL answers without invoking (no such URL, 403 not allowed / not signed, 413)",
        "preflight": "a CORS preflight request, answered by the URL itself",
        "invoke": "the URL invokes the function synchronously with a payload format 2.0 event",
        "respond": "the function's result, mapped to an HTTP response (502 on a function error, 429 throttled)",
    },
    "s3": {
        "put_object": "an object is stored in a bucket",
        "delete_object": "an object is deleted from a bucket",
        "notify": "S3 sends an event notification (a function: asynchronous invoke; or a queue or topic)",
        "undeliverable": "a notification cannot be delivered (the target is gone or not allowed): recorded",
    },
    "sns": {
        "publish": "a message is published to a topic",
        "deliver": "SNS delivers a copy to one subscription (a function: asynchronous invoke; or a queue)",
        "undeliverable": "a copy cannot be delivered: it goes to the subscription's DLQ or is recorded",
    },
    "az_cache": {
        "serve": "the AZ-level cache serves chunks the worker did not hold (and the worker keeps a copy)",
    },
    "code_store": {
        "serve": "S3, Lambda's code store, serves what both caches missed (and both keep a copy)",
    },
    "destination": {
        "deliver": "a record is delivered to a destination or dead-letter queue",
        "fail": "delivery to the destination failed",
    },
}

# the parts of Lambda's own architecture, in the diagram's order (every key of ACTIONS may be a step's component;
# the front doors and the code store drawn beside them are the rest)
COMPONENTS = (
    "client", "frontend", "async_queue", "poller", "event_source_mapping", "worker_manager", "placement",
    "worker", "environment", "runtime_api", "runtime", "extension", "function", "destination",
)
PHASES = ("vpc", "microvm", "code", "extension_init", "runtime_init", "function_init", "restore", "invoke",
          "shutdown")
ENV_STATES = ("init", "invoking", "frozen", "shutdown", "gone")

__all__ = ["ACTIONS", "COMPONENTS", "PHASES", "ENV_STATES"]
