"""A progress bar for long runs in a notebook: how much virtual time is done.

A sweep of a million invocations takes seconds of wall time; a learner staring at a busy cell deserves to see
it move. ``Lab.run`` and ``Lab.advance`` ask ``hook(lab, until)`` for a watcher. Outside a Jupyter kernel it
is None and the engine runs exactly as before. Inside one, the watcher rides along as the engine's ``tick``:
the engine tells it every ``CHECK_EVERY`` events how many have run, and only then does it read the wall clock,
so the hot loop pays one subtraction per event. Once a run has lasted ``SHOW_AFTER`` seconds of wall time it displays an
ipywidgets bar (imported only then) and refreshes it at most every ``REFRESH`` seconds.

The wall clock only drives this display; it never changes what the engine does or any result, and the
watcher never asks the engine to stop.
"""
from __future__ import annotations

import multiprocessing
import sys
import time

from ..engine.clock import TICK_EVERY

__all__ = ["hook", "in_kernel", "RunProgress", "CHECK_EVERY", "SHOW_AFTER", "REFRESH"]

CHECK_EVERY = TICK_EVERY  # events between two reads of the wall clock
SHOW_AFTER = 1.0         # wall seconds before the bar appears
REFRESH = 0.25           # wall seconds between two updates of the bar


def in_kernel() -> bool:
    """True inside a Jupyter (ipykernel) shell, where a widget can be displayed: not in a worker process forked
    from the kernel (``ll.sweep``'s), which inherits the shell but has no frontend to talk to."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules or multiprocessing.parent_process() is not None:
        return False
    try:
        shell = sys.modules["IPython"].get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def hook(lab, until: float | None):
    """A ``RunProgress`` for ``engine.run(until=..., tick=...)`` when running in a kernel, else None."""
    if not in_kernel():
        return None
    return RunProgress(lab.engine, until)


class RunProgress:
    """Counts engine events; after ``SHOW_AFTER`` wall seconds shows and refreshes a bar of virtual time."""

    def __init__(self, engine, until: float | None, clock=time.perf_counter, display=None) -> None:
        self.engine = engine
        self.start = engine.now
        self.until = until
        self.events = 0
        self._clock = clock
        self._began = clock()
        self._next = self._began + SHOW_AFTER
        self._display = display           # tests pass a fake; None means IPython.display.display
        self.widget = None
        self.bar = None
        self.label = None

    def __call__(self, events: int) -> None:
        """The engine's ``tick``: ``events`` more events have run."""
        self.events += events
        now = self._clock()
        if now >= self._next:
            self._next = now + REFRESH
            self.update(now)

    def fraction(self) -> float | None:
        """Share of the virtual time span done, or None when the run has no end time."""
        if self.until is None or self.until <= self.start:
            return None
        return min(1.0, max(0.0, (self.engine.now - self.start) / (self.until - self.start)))

    def text(self, now: float) -> str:
        wall = max(now - self._began, 1e-9)
        done = self.fraction()
        where = f"virtual t = {self.engine.now:,.0f} s"
        if done is not None:
            where += f" of {self.until:,.0f} s ({done:.0%})"
        return f"{where} · {self.events:,} events · {self.events / wall:,.0f} events/s"

    def update(self, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        if self.widget is None:
            self._show()
        done = self.fraction()
        if self.bar is not None and done is not None:
            self.bar.value = int(done * 1000)
        self.label.value = self.text(now)

    def _show(self) -> None:
        import ipywidgets as widgets          # only here: the core never imports ipywidgets at load time

        self.label = widgets.HTML()
        if self.until is not None:
            self.bar = widgets.IntProgress(min=0, max=1000, value=0, description="running",
                                           layout=widgets.Layout(width="40%"))
            self.widget = widgets.HBox([self.bar, self.label])
        else:
            self.widget = widgets.HBox([self.label])
        show = self._display
        if show is None:
            from IPython.display import display as show
        show(self.widget)

    def close(self) -> None:
        """The run is over: bring a shown bar to its final state (nothing was shown for a short run)."""
        if self.widget is None:
            return
        if self.bar is not None:
            self.bar.value = self.bar.max if self.fraction() in (None, 1.0) else int(self.fraction() * 1000)
            self.bar.description = "done"
            self.bar.bar_style = "success"
        self.label.value = self.text(self._clock())
