"""Scenes: one story cut from the lab's one trace, for one widget to tell.

A notebook runs many things on one ``Lab``: a cold start, a warm start, a burst, a failure. Each widget should
tell one of those stories, from its own first step. ``with lab.scene("cold start") as scene:`` marks where a
story starts and ends. A scene is only a window on the trace (the position of its first step, the position
after its last, and a title), so recording one costs two ``len(trace)`` reads and nothing while the lab runs;
the steps themselves stay in the trace and are read from there when a widget asks.

AWS has no scenes: this is a teaching device (the way X-Ray groups segments by trace, but chosen by hand).
Scenes do not nest: a story inside a story would make "step 1 of N" ambiguous, so opening a second scene on a
lab while one is open raises, and so does re-entering a scene that has already been recorded.
"""
from __future__ import annotations

import weakref
from typing import Iterator

__all__ = ["Scene", "SceneError"]

# the scene being recorded on each trace (a trace has at most one open scene)
_OPEN: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class SceneError(RuntimeError):
    """A scene used out of order: nested in another, entered twice, or read before it started."""


class Scene:
    """``with lab.scene(title) as scene:`` records the steps made in the block; then ``scene.steps``,
    ``scene.title``, ``len(scene)``, ``scene[i]``. ``ll.widgets.Stepper(scene)`` walks exactly these steps."""

    def __init__(self, lab, title: str) -> None:
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"a scene needs a title (a non-empty string), e.g. lab.scene(\"cold start\"); got "
                             f"{title!r}")
        self.lab = lab
        self.owner = lab            # what a view needs to find the lab's logs (like a slice of the trace)
        self.trace = lab.trace
        self.title = title.strip()
        self.first: int | None = None   # position in the trace of the scene's first step
        self.last: int | None = None    # position after its last step (None while the scene is recording)

    # ---- recording
    def __enter__(self) -> "Scene":
        if self.first is not None:
            raise SceneError(f"scene {self.title!r} has already been recorded; start a new one with "
                             f"lab.scene({self.title!r})")
        current = _OPEN.get(self.trace)
        if current is not None:
            raise SceneError(f"scene {self.title!r} cannot start inside scene {current.title!r}: scenes do not "
                             f"nest. End {current.title!r} first (leave its with-block).")
        _OPEN[self.trace] = self
        self.first = len(self.trace)
        return self

    def __exit__(self, *exc) -> None:
        self.last = len(self.trace)
        if _OPEN.get(self.trace) is self:
            del _OPEN[self.trace]

    @property
    def recording(self) -> bool:
        """True inside the with-block."""
        return self.first is not None and self.last is None

    # ---- reading: a sequence of Steps
    @property
    def mode(self) -> str:
        return getattr(self.trace, "mode", "full")

    def _bounds(self) -> tuple[int, int]:
        if self.first is None:
            raise SceneError(f"scene {self.title!r} has not started: use it as `with lab.scene(...) as scene:`")
        return self.first, len(self.trace) if self.last is None else self.last

    @property
    def steps(self) -> list:
        """The Steps recorded in the scene, in order (a slice of the lab's trace)."""
        first, last = self._bounds()
        return self.trace[first:last]

    def __len__(self) -> int:
        first, last = self._bounds()
        return last - first

    def __getitem__(self, index):
        first, last = self._bounds()
        if isinstance(index, slice):
            return self.trace[first:last][index]
        n = last - first
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"scene {self.title!r} has {n} steps; no step {index}")
        return self.trace[first + index]

    def __iter__(self) -> Iterator:
        return iter(self.steps)

    def __bool__(self) -> bool:
        return self.first is not None and len(self) > 0

    def to_perfetto(self, path):
        """Write the scene's steps as Chrome trace-event JSON (``lab.trace.to_perfetto`` for one story)."""
        from . import perfetto
        return perfetto.write(self.steps, path)

    def __repr__(self) -> str:
        if self.first is None:
            return f"<Scene {self.title!r} (not started)>"
        first, last = self._bounds()
        state = "recording" if self.last is None else "recorded"
        return f"<Scene {self.title!r} {state}: {last - first} steps (trace positions {first}-{last - 1})>"
