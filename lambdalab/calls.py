"""Handler code calling its lab's services, and the request chain that travels with each call.

In AWS a function's code calls other services with the SDK, and the SDK copies the invocation's X-Ray trace
header (``_X_AMZN_TRACE_ID``) onto every request as ``X-Amzn-Trace-Id``. The services keep it with what the
request produced (an SQS message's ``AWSTraceHeader``, an SNS message, an S3 event, an Event invoke), so the
invocations that follow belong to the same trace, and Lambda can count how often one chain of requests comes
back to the same function (``control_plane.recursion``).

``ll.client(service)`` inside handler or module code is the lab's own client (``lab.client(service)``) of the
lab that runs the code, with three things added for the length of each call:

- the call happens at the code's own virtual moment: the lab first runs what is due up to it (the code runs
  eagerly at its phase's start, see ``sandbox.vtime``), and the time the call takes (a synchronous invoke of
  another function) counts in the caller's duration; a caller whose deadline passes while it waits times out
  at that deadline, and the callee runs on;
- the request carries the caller's trace header, and the trace records the call (``function`` / ``call``,
  naming the caller's request) so the callee's steps link back to it;
- the lab steps out of the learner's code while it works (``sandbox.learner_code``): logs, prints and the
  wall-clock guard of the caller are not those of the work done on its behalf.

A process runtime (``runtime="provided.al2023"``, ``process=True``) has ``AWS_ENDPOINT_URL`` pointing at
``lab.serve()``, so plain ``boto3.client(service)`` reaches the same services over HTTP and botocore adds the
header itself from ``_X_AMZN_TRACE_ID``.

``lab.calls`` is the server side: ``answering(header)`` is entered by the dispatcher for each request, and the
services read ``header`` (what the request carried) and ``caller`` (the invocation whose code sent it).
"""
from __future__ import annotations

from .sandbox import remote_calls, vtime
from .sandbox.learner_code import StepOut, running_environment

__all__ = ["Calls", "client"]

COMPONENT = {"lambda": "frontend", "s3": "s3", "sns": "sns"}    # who a call reaches, on the diagram


class Calls:
    """``lab.calls``: the request being answered (its trace header and calling invocation)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.header: str | None = None       # X-Amzn-Trace-Id of the request being answered
        self.caller = None                   # the Invocation whose code sent it, if it came from one
        self.deadline: float | None = None   # a wait on behalf of handler code ends here (its deadline)
        self._installed: set[int] = set()

    def answering(self, header: str | None):
        """``with lab.calls.answering(header):`` around a service's work on one request."""
        return _Answering(self, header)

    def caller_of(self, header: str | None):
        """The running invocation whose trace header this is (what sent the request), or None."""
        if not header:
            return None
        for env in self.lab.fleet.environments.values():
            inv = env.current
            if inv is not None and inv.trace_id == header:
                return inv
        return None

    # --- the client side, for handler code ------------------------------------------------------------------
    def install(self, client) -> None:
        """Make a lab client behave as handler code's client when called from handler code (once per client)."""
        if id(client) in self._installed:
            return
        self._installed.add(id(client))
        events = client.meta.events
        events.register("before-call", self._before, unique_id=f"lambdalab-calls-before-{id(client)}")
        events.register("after-call", self._after, unique_id=f"lambdalab-calls-after-{id(client)}")
        events.register("after-call-error", self._after, unique_id=f"lambdalab-calls-error-{id(client)}")

    def code_client(self, service: str):
        """A client of this lab for the running handler code: ``ll.client(service)`` there."""
        step_out = StepOut()                  # making a client is the lab's work, not the handler's
        try:
            made = self.lab.client(service)
            self.install(made)
        finally:
            step_out.back()
        return made

    def on_behalf(self) -> "OnBehalf | None":
        """The lab starts work on behalf of the running handler code (None when no handler code of this lab is
        running): it steps out of the learner's code and catches up with the handler's virtual moment."""
        env = running_environment()
        if env is None or env.lab is not self.lab:
            return None
        return OnBehalf(self, env)

    def _before(self, model, params, context, **_) -> None:
        frame = self.on_behalf()
        if frame is None:
            return                            # a call from the notebook: nothing to add
        lab, inv, env = self.lab, frame.inv, frame.env
        if inv is not None:
            params["headers"]["X-Amzn-Trace-Id"] = inv.trace_id
        service = model.service_model.service_name
        if lab.trace.full:
            who = f"{env.snapshot.name}'s handler" if inv is not None else f"{env.snapshot.name}'s init code"
            lab.trace.emit("function", "call", "{} calls {} {}", who, model.service_model.service_id, model.name,
                           request_id=inv.request_id if inv is not None else None, function=env.snapshot.name,
                           env_id=env.id, service=service, operation=model.name, target=COMPONENT.get(service))
        context["lambdalab_call"] = frame

    def _after(self, context, **_) -> None:
        frame = context.pop("lambdalab_call", None)
        if frame is not None:
            frame.end()


class OnBehalf:
    """Lab work done for running handler code (a service call, a wait on a response stream): stepped out of the
    learner's code, at the handler's virtual moment, its deadline the limit of any wait; ``end()`` steps back in,
    counts the time the work took in the handler's run, and stops the handler if its deadline passed meanwhile.

    Module-level (init) code is not moved in time: its calls happen at the start of its Init phase, and a wait
    there does not count in Init Duration (a simplification)."""

    __slots__ = ("calls", "env", "inv", "budget", "step_out", "saved")

    def __init__(self, calls: Calls, env) -> None:
        self.calls, self.env = calls, env
        self.inv = env.current if env.state == "Invoking" else None
        self.budget = vtime.current() if self.inv is not None else None
        self.step_out = StepOut()
        self.saved = calls.caller, calls.deadline
        lab = calls.lab
        budget = self.budget
        if budget is not None:
            if lab.clock == "virtual" and budget.now > lab.now:
                lab.engine.run(until=budget.now)     # the work happens at the code's own virtual moment
            calls.deadline = budget.start + budget.limit
        calls.caller = self.inv

    def end(self) -> None:
        calls, budget = self.calls, self.budget
        calls.caller, calls.deadline = self.saved
        self.step_out.back()
        if budget is not None and calls.lab.clock == "virtual":
            budget.elapsed = max(budget.elapsed, calls.lab.now - budget.start)
            if budget.elapsed >= budget.limit:
                budget.elapsed = budget.limit
                raise vtime.DeadlineReached()


class _Answering:
    __slots__ = ("calls", "header", "saved")

    def __init__(self, calls: Calls, header: str | None) -> None:
        self.calls, self.header = calls, header

    def __enter__(self) -> None:
        calls = self.calls
        self.saved = calls.header, calls.caller
        calls.header = self.header
        if self.header and (calls.caller is None or calls.caller.trace_id != self.header):
            calls.caller = calls.caller_of(self.header)

    def __exit__(self, *exc) -> None:
        self.calls.header, self.calls.caller = self.saved


def client(service: str, **_ignored):
    """``ll.client(service)`` in handler or module code: a client of the lab that runs this code."""
    remote = remote_calls.connected_client(service)     # code in a process of its own asks its lab over a socket
    if remote is not None:
        return remote
    env = running_environment()
    if env is None:
        raise RuntimeError("ll.client() is for handler and module code running in a lab; in a notebook cell "
                           "use lab.client(service)")
    return env.lab.calls.code_client(service)
