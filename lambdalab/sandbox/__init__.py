"""The sandbox: what runs inside one execution environment (a Firecracker microVM in AWS).

- ``environment``: the execution environment's lifecycle state machine (Init, Invoke, freeze/thaw, Shutdown).
- ``runtime_api``: the Runtime API protocol (``/2018-06-01/runtime``) between the environment and its runtime.
- ``python_runtime``: the managed Python runtime that imports the handler module and calls the handler.
- ``extensions``: the Extensions API and modelled extensions (INVOKE / SHUTDOWN events).
- ``telemetry``: the Telemetry API (subscriptions, buffering, batches of platform and function events).
- ``vtime``: virtual time inside learner code (``ll.sleep``); ``guard``: the wall-clock guard for runaway code.
"""
