"""The Stepper: walk a trace one architecture hop at a time, forwards and back.

It is a view over (trace, position) and nothing else: Back is as cheap as Step because every view reads
per-step state from one shared ``TraceIndex``, and the simulation is never driven from here. Given a Lab, the
Stepper listens to its trace; steps added later (by an ``InvokeConsole`` or by code in another cell) extend
the slider the next time the Stepper refreshes: after every notebook cell, or when asked (``refresh()``).
Play is an ``ipywidgets.Play`` linked to the slider in the browser, so playing needs no thread in the kernel.
"""
from __future__ import annotations

import html
import weakref

import ipywidgets as widgets

from .diagram import ArchitectureDiagram
from .index import TraceIndex
from .panels import LogPanel, MetricsPanel
from .source import message_html, resolve
from .theme import NAMES, theme
from .timeline import Timeline

__all__ = ["Stepper"]


class Stepper(widgets.VBox):
    """``Stepper(scene_or_lab, presentation=False)``: Back / Step / Play / Reset, a slider and the views.

    Given a scene (``with lab.scene(title) as scene:``) it walks exactly that scene's steps under its title;
    given a Lab it follows the whole lab and grows as new steps arrive (the InvokeConsole's view)."""

    def __init__(self, source=None, *, presentation: bool = False, position: int = 0, _source=None) -> None:
        self.source = _source or resolve(source, "Stepper")
        self.presentation = presentation
        self.theme = th = theme(presentation)
        self.index = TraceIndex(self.source.trace, cells=th.cells)
        self.position = -1
        self._grew = False
        self._syncing = False
        wide = widgets.Layout(width="auto")
        self.back_button = widgets.Button(description="Back", icon="step-backward", tooltip="previous step",
                                          layout=wide)
        self.step_button = widgets.Button(description="Step", icon="step-forward", button_style="primary",
                                          tooltip="next step", layout=wide)
        # Play: the browser-side timer of an ipywidgets.Play (kept out of sight) moves the slider; the button
        # only switches it on and off, so playing costs the kernel nothing but the steps themselves
        self.play = widgets.Play(description="Play", interval=900, min=0, max=0, step=1, show_repeat=False,
                                 layout=widgets.Layout(display="none"))
        self.play_button = widgets.Button(description="Play", icon="play", tooltip="play through the steps",
                                          layout=wide)
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the first step",
                                           layout=wide)
        self.slider = widgets.IntSlider(min=0, max=0, readout=False, continuous_update=True,
                                        layout=widgets.Layout(flex="1 1 auto", min_width="120px"))
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.counter = widgets.HTML()
        self.sentence = widgets.HTML()
        common = dict(presentation=presentation, index=self.index, _source=self.source)
        self.diagram = ArchitectureDiagram(caption=False, **common)
        self.timeline = Timeline(**common)
        self.logs = LogPanel(**common)
        self.metrics = MetricsPanel(**common)
        self.back_button.on_click(lambda _: self.back())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.play_button.on_click(lambda _: self._toggle_play())
        self.play.observe(self._on_playing, names="playing")
        self.slider.observe(self._on_slider, names="value")
        controls = widgets.HBox([self.back_button, self.step_button, self.play_button, self.play, self.reset_button,
                                 self.slider, self.counter], layout=widgets.Layout(align_items="center", width="100%"))
        # two columns of tiles in both modes; never squeezed by the log panel's long lines
        side = widgets.Layout(width="38%", flex="0 0 38%", margin="0 0 0 12px")
        self.metrics.layout = side
        panels = widgets.HBox([self.logs, self.metrics], layout=widgets.Layout(width="100%"))
        self.logs.layout.flex = "1 1 auto"
        self.heading = widgets.HTML(self._heading())
        # the same order in both modes: scrolled to the top of the screen, the controls and the step's words are
        # in view above the diagram
        children = [self.heading, controls, self.sentence, self.diagram, self.timeline, panels]
        super().__init__(children, layout=widgets.Layout(width="100%", max_width="1400px" if not presentation
                                                         else "100%"))
        self.add_class("lambdalab-stepper")
        if presentation:
            for button in (self.back_button, self.step_button, self.play_button, self.reset_button):
                button.style.font_size = th.panel_size
                button.layout.height = "44px"
        if th.presentation:
            self.add_class("lambdalab-presentation")
        for widget, name in ((self.heading, "ll-heading"), (self.sentence, "ll-sentence"), (self.counter, "ll-counter"),
                             (self.logs, "ll-logs"), (self.metrics, "ll-metrics"), (controls, "ll-controls"),
                             (self.step_button, "ll-step"), (self.back_button, "ll-back"),
                             (self.reset_button, "ll-reset"), (self.play_button, "ll-play")):
            widget.add_class(name)
        self._unsubscribe = None
        if self.source.live:
            self._unsubscribe = self.source.trace.subscribe(self._on_new_step)
            _refresh_after_cells(self)
        self._extend()
        self.goto(position)

    # ---- the Python side
    @property
    def current(self):
        """The Step at ``position`` (None while the trace is empty)."""
        return self.index.trace[self.position] if self.position >= 0 else None

    def __len__(self) -> int:
        return self.index.n

    def step(self) -> None:
        """One step forwards (stays on the last step)."""
        self.goto(self.position + 1)

    def back(self) -> None:
        """One step back (stays on the first step)."""
        self.goto(self.position - 1)

    def reset(self) -> None:
        self.goto(0)

    def goto(self, position: int) -> None:
        """Show step ``position`` (0-based; clamped to the trace)."""
        if self._grew or self.index.n < len(self.index.trace):
            self._extend()
        n = self.index.n
        if self.source.problem or n == 0:
            self.position = -1
            text = self.source.problem or self.source.empty_message()
            self.sentence.value = message_html(text, tone="warn" if self.source.problem else "info")
            self.counter.value = ""
            for button in (self.back_button, self.step_button, self.reset_button, self.play_button):
                button.disabled = True
            self.diagram.goto(0)
            self.timeline.goto(0)
            self.logs.goto(0)
            self.metrics.goto(0)
            return
        position = max(0, min(int(position), n - 1))
        self.position = position
        self.diagram.goto(position)
        self.timeline.goto(position)
        self.logs.goto(position)
        self.metrics.goto(position)
        self.sentence.value = self._sentence(self.index.trace[position])
        self.counter.value = (f'<span style="font-size:{self.theme.panel_size};white-space:nowrap">'
                              f"step {position + 1} of {n}</span>")
        self.back_button.disabled = self.reset_button.disabled = position == 0
        self.step_button.disabled = position == n - 1
        self.play_button.disabled = n < 2
        if self.slider.value != position:
            self._syncing = True
            try:
                self.slider.value = position
            finally:
                self._syncing = False

    def refresh(self, *, limit: int | None = None) -> None:
        """Take in steps added to the lab since the last look (done after every notebook cell, too).

        With ``limit``, a growth of more than that many steps is only announced; the next Step, Back or slider
        move takes them in (so a million-invocation cell does not end with a long pause for a hidden view).
        """
        new = len(self.index.trace) - self.index.n
        if not (self._grew or new > 0):
            return
        if limit is not None and new > limit and self.index.n > 0:
            self.counter.value = (f'<span style="font-size:{self.theme.panel_size}">step {self.position + 1} of '
                                  f'{self.index.n} (+{new:,} new: press Step to load them)</span>')
            return
        was_empty = self.index.n == 0
        self._extend()
        self.goto(0 if was_empty else self.position)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()

    # ---- internals
    def _on_new_step(self, _step) -> None:
        # called inside the simulation for every step: only note it, the views catch up on refresh
        self._grew = True

    def _extend(self) -> None:
        self._grew = False
        self.index.sync()
        top = max(0, self.index.n - 1)
        self.slider.max = top
        self.play.max = top

    def _toggle_play(self) -> None:
        if not self.play.playing and self.position >= self.index.n - 1:
            self.goto(0)  # playing from the last step starts again from the first
        self.play.playing = not self.play.playing

    def _on_playing(self, change) -> None:
        playing = change["new"]
        self.play_button.description = "Pause" if playing else "Play"
        self.play_button.icon = "pause" if playing else "play"

    def _on_slider(self, change) -> None:
        if not self._syncing and change["new"] != self.position:
            self.goto(change["new"])

    @property
    def title(self) -> str | None:
        """The scene's title (None for a whole lab or a bare trace)."""
        return self.source.title

    def _heading(self) -> str:
        if not self.source.title:
            return ""
        size = "30px" if self.presentation else "18px"
        return (f'<div style="font-size:{size};font-weight:bold;color:{self.theme.ink};margin:2px 0 4px">'
                f'{html.escape(self.source.title)}</div>')

    def _sentence(self, step) -> str:
        th = self.theme
        ids = [f"request {step.request_id[:8]}" if step.request_id else None,
               step.function and f"{step.function}:{step.version}" if step.version else step.function,
               step.env_id, step.worker_id]
        ids_text = " · ".join(html.escape(str(i)) for i in ids if i)
        name = html.escape(NAMES.get(step.component, step.component))
        return (f'<div style="{th.css};padding:6px 2px">'
                f'<span style="color:#666">t = {step.t:.3f} s</span> · '
                f'<b style="color:{th.hot}">{name}</b><br>{html.escape(step.text)}'
                f'<div style="font-size:{"24px" if th.presentation else "0.72em"};color:#666">{ids_text}</div></div>')


_STEPPERS: "weakref.WeakSet[Stepper]" = weakref.WeakSet()


def _refresh_after_cells(stepper: Stepper) -> None:
    """In IPython, refresh live Steppers after each cell, so steps added by code in any cell show up."""
    _STEPPERS.add(stepper)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_lambdalab_refresh", False):
        return
    shell._lambdalab_refresh = True

    def refresh_all(*_):
        for live in list(_STEPPERS):
            try:
                live.refresh(limit=50_000)
            except Exception:  # a view that cannot refresh must never break the learner's next cell
                pass

    shell.events.register("post_run_cell", refresh_all)
