"""InvokeConsole: invoke a function from the notebook, then step through what Lambda did for it.

The console is the one widget that changes the lab: its Invoke button calls ``lab.client("lambda").invoke``
exactly as a learner's code would, then points a Stepper at the first new step. Whatever goes wrong (bad
JSON, a missing function, a throttle) becomes a sentence under the button, never a traceback.
"""
from __future__ import annotations

import base64
import html
import json

import ipywidgets as widgets

from .source import message_html
from .stepper import Stepper

__all__ = ["InvokeConsole"]

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
# after an Event invoke, run the lab until its attempt is over (or this much virtual time has passed)
_EVENT_DONE = {("poller", "route"), ("poller", "retry"), ("async_queue", "drop"), ("async_queue", "requeue"),
               ("destination", "deliver"), ("frontend", "return"), ("frontend", "throttle")}
_EVENT_SLACK = 60.0  # virtual seconds beyond the function timeout; never as far as the idle keep-alive


class InvokeConsole(widgets.VBox):
    """``InvokeConsole(lab, stepper=None)``: function, invocation type, payload and an ``Invoke`` button."""

    def __init__(self, lab=None, *, stepper: Stepper | None = None, presentation: bool = False) -> None:
        self.lab = lab
        self.problem = None if callable(getattr(lab, "client", None)) and hasattr(lab, "trace") else (
            "InvokeConsole needs a Lab (ll.Lab(...)) to invoke functions in; it was given "
            f"{'nothing' if lab is None else 'a ' + type(lab).__name__}.")
        self.function = widgets.Dropdown(description="Function", options=[],
                                         layout=widgets.Layout(width="auto", min_width="16em"))
        self.invocation_type = widgets.ToggleButtons(options=INVOCATION_TYPES, value="RequestResponse",
                                                     description="Type", style={"button_width": "auto",
                                                                                "description_width": "initial"})
        self.payload = widgets.Textarea(value="{}", description="Payload", placeholder='{"name": "world"}',
                                        layout=widgets.Layout(width="100%", height="5em"))
        self.invoke_button = widgets.Button(description="Invoke", button_style="success", icon="bolt")
        self.result = widgets.HTML()
        self.last_response: dict | None = None
        self.invoke_button.on_click(lambda _: self.invoke())
        form = [widgets.HBox([self.function, self.invocation_type]), self.payload,
                widgets.HBox([self.invoke_button]), self.result]
        if self.problem:
            self.stepper = stepper
            self.invoke_button.disabled = True
            self.result.value = message_html(self.problem, tone="warn")
            super().__init__(form)
            return
        self.stepper = stepper if stepper is not None else Stepper(lab, presentation=presentation)
        children = form if stepper is not None else form + [self.stepper]
        super().__init__(children)
        self.refresh()

    def refresh(self) -> None:
        """Read the lab's functions again (new ones appear in the dropdown)."""
        if self.problem:
            return
        try:
            names = sorted(f["FunctionName"] for f in self.lab.client("lambda").list_functions()["Functions"])
        except Exception as exc:  # list_functions is ours to call; a failure is shown, not raised
            self.result.value = message_html(f"Could not list the functions: {exc}", tone="warn")
            return
        current = self.function.value
        if list(self.function.options) != names:
            self.function.options = names
        if names:
            self.function.value = current if current in names else names[0]
        if not names:
            self.result.value = message_html("No functions yet: create one first, for example "
                                             "lab.create_function('hello', handler).")

    def invoke(self) -> dict | None:
        """Invoke with the form's values; returns the response dict (None when nothing was sent)."""
        if self.problem:
            return None
        name = self.function.value
        if not name:
            self.result.value = message_html("Pick a function to invoke (or create one with lab.create_function).",
                                             tone="warn")
            return None
        text = self.payload.value.strip() or "{}"
        try:
            json.loads(text)
        except ValueError as exc:
            self.result.value = message_html(f"The payload is not valid JSON ({exc}). Example: "
                                             '{"name": "world"}', tone="warn")
            return None
        kind = self.invocation_type.value
        trace = self.lab.trace
        first_new = len(trace)
        try:
            response = self.lab.client("lambda").invoke(FunctionName=name, InvocationType=kind,
                                                        Payload=text.encode())
        except Exception as exc:  # ClientError (404, 429, ...) or anything else: a sentence, not a traceback
            self.refresh()
            self.result.value = message_html(_describe_error(exc), tone="warn")
            self._show(first_new)
            return None
        if kind == "Event":
            self._settle(response)
        self.refresh()
        self.last_response = response
        self.result.value = _describe_response(kind, response)
        self._show(first_new)
        return response

    def _settle(self, response: dict) -> None:
        """Let the internal queue and pollers handle the event, so its steps are there to step through."""
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        wait_for = getattr(self.lab, "wait_for", None)
        if not request_id or not callable(wait_for):
            return
        seen = []

        def watch(step):
            if step.request_id == request_id and (step.component, step.action) in _EVENT_DONE:
                seen.append(step)

        try:
            timeout = float(self.lab.client("lambda").get_function_configuration(
                FunctionName=self.function.value).get("Timeout", 3))
        except Exception:  # the function may be gone by now; fall back on the default timeout
            timeout = 3.0
        unsubscribe = self.lab.trace.subscribe(watch)
        try:
            wait_for(lambda: bool(seen), limit=self.lab.now + timeout + _EVENT_SLACK)
        except Exception as exc:
            self.result.value = message_html(f"The lab stopped while running the event: {exc}", tone="warn")
        finally:
            unsubscribe()

    def _show(self, first_new: int) -> None:
        stepper = self.stepper
        if stepper is None:
            return
        stepper.refresh()
        if len(stepper) > first_new:
            stepper.goto(first_new)


def _describe_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        return f"{status} {error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"The invoke did not go through: {type(exc).__name__}: {exc}"


def _describe_response(kind: str, response: dict) -> str:
    status = response.get("StatusCode")
    payload = response.get("Payload")
    body = payload.read() if hasattr(payload, "read") else (payload or b"")
    if isinstance(body, str):
        body = body.encode()
    shown = body[:600].decode("utf-8", "replace") + ("..." if len(body) > 600 else "")
    parts = [f"<b>{status}</b>"]
    if kind == "Event":
        parts.append("accepted: the event went to the internal queue (steps below)")
    elif kind == "DryRun":
        parts.append("DryRun: the request is valid, nothing ran")
    if response.get("ExecutedVersion"):
        parts.append(f"ExecutedVersion {html.escape(response['ExecutedVersion'])}")
    error = response.get("FunctionError")
    if error:
        parts.append(f'<span style="color:#D55E00">FunctionError: {html.escape(error)}</span>')
    text = " · ".join(parts)
    if shown:
        text += f'<pre style="margin:4px 0;white-space:pre-wrap">{html.escape(shown)}</pre>'
    tail = response.get("LogResult")
    if tail:
        try:
            log = base64.b64decode(tail).decode("utf-8", "replace")
            text += f'<pre style="margin:4px 0;color:#555;white-space:pre-wrap">{html.escape(log)}</pre>'
        except ValueError:
            pass
    tone = "warn" if error else "ok"
    colours = {"ok": ("#00704F", "#E6F6F0"), "warn": ("#B35C00", "#FFF3E0")}[tone]
    return (f'<div style="border-left:4px solid {colours[0]};background:{colours[1]};padding:6px 10px;'
            f'margin:4px 0;color:#222">{text}</div>')
