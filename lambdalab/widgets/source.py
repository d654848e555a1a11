"""What a view looks at: a Lab (live, with logs), a scene (one story cut from a lab's trace) or a bare trace.

Every widget accepts either one and turns anything else into a plain message for the learner instead of a
traceback: the notebook cell should say what to pass, not show a stack.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Sequence

from ..engine.scene import Scene

__all__ = ["Source", "resolve", "message_html"]


@dataclass
class Source:
    """A trace-like sequence of Steps, the Lab that owns it (or None), and a problem to show instead (or None)."""

    trace: Sequence[Any]
    lab: Any = None
    problem: str | None = None
    title: str | None = None      # a scene's title
    first: int | None = None      # where a window (a scene or a slice) starts in its lab's trace

    @property
    def window(self) -> bool:
        """True for a part of a lab's trace (a scene or a slice): log lines written before it are not its own."""
        return self.first is not None

    @property
    def live(self) -> bool:
        """True when new steps can still arrive (the trace belongs to a Lab or can be subscribed to)."""
        return self.problem is None and hasattr(self.trace, "subscribe")

    def empty_message(self) -> str:
        mode = getattr(self.trace, "mode", "full")
        if mode != "full":
            return (f"This lab records no steps (trace={mode!r}). Create it with ll.Lab(trace='full') "
                    "to step through what Lambda does.")
        if self.title is not None:
            return (f"Nothing happened in this scene ({self.title!r}): no step was recorded inside its "
                    "with-block. Put the invokes (and lab.advance(...)) inside `with lab.scene(...):`.")
        if self.live:
            return "No steps yet: invoke a function (for example with InvokeConsole(lab)) and they appear here."
        return "This trace has no steps to show."


def _looks_like_step(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in ("t", "component", "action"))


def _looks_like_trace(obj: Any) -> bool:
    if isinstance(obj, (str, bytes, dict)):
        return False
    if not (hasattr(obj, "__len__") and hasattr(obj, "__getitem__")):
        return False
    try:
        return len(obj) == 0 or _looks_like_step(obj[0])
    except Exception:  # a sequence that cannot be indexed by position is not a trace
        return False


def resolve(obj: Any, what: str = "This view") -> Source:
    """Accept a Lab, a scene, a Trace, or a list of Steps; anything else becomes a Source with a ``problem``."""
    if isinstance(obj, Scene):
        if obj.first is None:
            return Source([], problem=f"{what} was given the scene {obj.title!r} before it was recorded: build "
                                      "the view after its `with lab.scene(...):` block.")
        return Source(obj, lab=obj.lab, title=obj.title, first=obj.first)
    trace = getattr(obj, "trace", None)
    if trace is not None and not callable(trace) and _looks_like_trace(trace):
        return Source(trace, lab=obj)
    if _looks_like_trace(obj):
        owner = getattr(obj, "owner", None)                       # a slice of a Lab's trace knows its Lab
        first = obj[0].seq if owner is not None and len(obj) and hasattr(obj[0], "seq") else None
        return Source(obj, lab=owner, first=first)
    kind = type(obj).__name__
    return Source([], problem=f"{what} needs a Lab (ll.Lab(...)) or its trace (lab.trace); it was given "
                              f"{'nothing' if obj is None else 'a ' + kind}.")


def message_html(text: str, *, tone: str = "info") -> str:
    """A short boxed note, used wherever a widget has nothing to draw or the learner's input was off."""
    colours = {"info": ("#0072B2", "#EAF4FB"), "warn": ("#B35C00", "#FFF3E0"), "ok": ("#00704F", "#E6F6F0")}
    edge, fill = colours.get(tone, colours["info"])
    return (f'<div style="border-left:4px solid {edge};background:{fill};padding:6px 10px;'
            f'margin:4px 0;color:#222">{html.escape(text)}</div>')
