"""The Explorer: sliders a learner moves, and a plot that a fresh simulation redraws when they let go.

The scaling and keep-alive labs ask "what if": a higher rate, a shorter keep-alive, a smaller limit, more
memory. ``Explorer(draw, rate=(0.1, 2.0, 0.1, 0.9), ...)`` puts one slider per parameter above a figure;
``draw(fig, **values)`` runs whatever the lab needs (a seeded ``trace="off"`` run takes well under a second)
and draws into ``fig``, returning an optional line of text for under the plot. Sliders update when released
(``continuous_update=False``), so a drag is one simulation, not fifty. The figure is a plain Agg ``Figure``
sent as a PNG, like the other views (no pyplot state, no ipympl for Binder to lose). A ``draw`` that raises
shows its message where the plot was; the sliders stay usable.
"""
from __future__ import annotations

import html
import io

import ipywidgets as widgets
from matplotlib import rc_context

from .render import new_figure
from .source import message_html
from .theme import theme

__all__ = ["Explorer"]


def _slider(name: str, spec):
    if isinstance(spec, widgets.ValueWidget):
        return spec
    if isinstance(spec, (list, tuple)) and len(spec) == 4:
        lo, hi, step, value = spec
        kind = widgets.IntSlider if all(isinstance(v, int) for v in spec) else widgets.FloatSlider
        return kind(min=lo, max=hi, step=step, value=value, description=name.replace("_", " "),
                    continuous_update=False, style={"description_width": "initial"},
                    layout=widgets.Layout(width="min(100%, 520px)"))
    raise TypeError(f"Explorer: give {name}= as (min, max, step, value) or an ipywidgets slider; got {spec!r}")


class Explorer(widgets.VBox):
    """``Explorer(draw, title=None, presentation=False, size=(9, 3.2), **sliders)``; ``.values``, ``.redraw()``."""

    def __init__(self, draw, *, title: str | None = None, presentation: bool = False, size=(9.0, 3.2),
                 **sliders) -> None:
        if not callable(draw):
            raise TypeError("Explorer needs a function draw(fig, **values) as its first argument")
        if not sliders:
            raise TypeError("Explorer needs at least one slider, e.g. rate=(0.1, 2.0, 0.1, 0.9)")
        self.draw = draw
        self.theme = theme(presentation)
        self.size = size
        self.sliders = {name: _slider(name, spec) for name, spec in sliders.items()}
        # on a projector the sliders' labels, readouts and option buttons grow with the rest (ipywidgets has no
        # style for them); docs/screenshots.py measures them in the browser as "ll-slider" text
        scope = ".lambdalab-explorer.lambdalab-presentation .ll-slider"
        style = (f"<style>{scope} .widget-label, {scope} .widget-readout, {scope} button {{"
                 f"font-size:{self.theme.panel_size};line-height:1.3}} {scope} button {{height:auto}}</style>"
                 ) if presentation else ""
        self.heading = widgets.HTML(style + (f'<div style="font-size:{"28px" if presentation else "17px"};'
                                             f'font-weight:bold">{html.escape(title)}</div>' if title else ""))
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1100px"))
        self.caption = widgets.HTML()
        self.draws = 0
        for slider in self.sliders.values():
            slider.observe(lambda _change: self.redraw(), names="value")
            slider.add_class("ll-slider")
        super().__init__([self.heading, widgets.VBox(list(self.sliders.values())), self.image, self.caption])
        self.add_class("lambdalab-explorer")
        if presentation:
            self.add_class("lambdalab-presentation")
        self.image.add_class("ll-plot")
        self.caption.add_class("ll-caption")
        self.redraw()

    @property
    def values(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def set(self, **values) -> None:
        """Move sliders from code (each move redraws, as a learner's would)."""
        for name, value in values.items():
            self.sliders[name].value = value

    def redraw(self) -> None:
        fig = new_figure(*self.size, self.theme.dpi)
        # matplotlib's sizes are relative to font.size: 10 pt in a notebook, 15 pt (about 19 px) on a projector
        with rc_context({"font.size": 15 if self.theme.presentation else 10}):
            try:
                note = self.draw(fig, **self.values)
            except Exception as exc:  # the learner's draw function: show what went wrong, keep the sliders
                self.caption.value = message_html(f"The plot could not be drawn: {type(exc).__name__}: {exc}",
                                                  tone="warn")
                return
            out = io.BytesIO()
            fig.savefig(out, format="png", dpi=self.theme.dpi)
        self.draws += 1
        self.image.value = out.getvalue()
        size = "24px" if self.theme.presentation else "15px"
        self.caption.value = (f'<div style="font-size:{size};padding:2px 4px">{html.escape(str(note))}</div>'
                              if note else "")
