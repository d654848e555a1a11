"""Checks for labs/00_start_here.ipynb: reading the Stepper."""
from __future__ import annotations

import re

from . import register, words


def _is_frontend(value) -> bool:
    return words(value) in {"frontend", "front end", "frontend service", "invoke service", "invoke api"}


def _frontend_hint(value) -> str:
    w = words(value)
    if w == "client":
        return ("the client sends the request; which component is the first one *inside* Lambda to "
                "receive it? Step once past the client.")
    if w in {"worker manager", "placement", "placement service", "worker", "environment"}:
        return "that component only acts after another one has already checked the request. Go back a few steps."
    return "press Reset, then Step once or twice and read the component named above the step's words."


register(
    "lab00.first_component",
    verify=_is_frontend,
    hint=_frontend_hint,
    right=["frontend", "Frontend", "the frontend", "front-end"],
    wrong=["client", "worker_manager", "placement", "Lambda"],
    explain="every invoke, from any caller, enters Lambda through the frontend (the Invoke API), which checks it "
            "and then hands it on.",
)


_NEXT_PATH = re.compile(r"(?:^|[\s/])(?:2018-06-01/)?runtime/invocation/next/?(?![\w/])|^/?invocation/next/?$")


def _is_next_path(value) -> bool:
    # accepts the bare path and the path as copied from a step ("GET /2018-06-01/runtime/invocation/next -> 200")
    return _NEXT_PATH.search(str(value).strip().lower()) is not None


def _next_path_hint(value) -> str:
    text = str(value).lower()
    if "response" in text:
        return ("that is where the runtime hands a result *back*. Look for the call it makes *before* it has any "
                "event to work on.")
    if text.strip() in {"get", "post"}:
        return "that is the HTTP method; the exercise asks for the path that goes with it (it starts with a /)."
    return ("find the first step whose component is runtime_api (stepper.goto(...) helps) and copy the path "
            "from its words.")


register(
    "lab00.next_path",
    verify=_is_next_path,
    hint=_next_path_hint,
    right=["/2018-06-01/runtime/invocation/next", "/runtime/invocation/next", "2018-06-01/runtime/invocation/next/",
           "GET /2018-06-01/runtime/invocation/next -> 200"],
    wrong=["/2018-06-01/runtime/invocation/abc/response", "GET", "/next", "invocation",
           "/2018-06-01/runtime/invocation/next/response"],
    explain="the runtime long-polls this path; it returns only when there is an event to process, so an idle "
            "runtime simply waits there.",
)
