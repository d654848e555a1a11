"""The architecture diagram: every part of Lambda in a fixed place, the acting one lit up, step by step.

Drawn once with matplotlib from the networkx graph in ``layout``; after that a step only restyles a few
sprites (the acting component, the hop it takes, the worker hosts and environments that changed) and sends a
PNG to an ``ipywidgets.Image``. Worker hosts and their environments appear, change colour with their state
and disappear as the trace says; a handful have a place on the drawing and a "+N more" note counts the rest,
so a trace with thousands of environments draws as fast as one with two.
"""
from __future__ import annotations

import textwrap

import ipywidgets as widgets
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from . import layout
from .index import Cursor, TraceIndex
from .render import Canvas, new_figure
from .source import message_html, resolve
from .theme import LABELS, LEGEND, NAMES, PHASE_COLOURS, PHASE_NAMES, STATE_COLOURS, STATE_PHASES, theme

__all__ = ["ArchitectureDiagram"]

_ROUND = "round,pad=0,rounding_size=0.12"


def _box(x, y, w, h, **style) -> FancyBboxPatch:
    return FancyBboxPatch((x, y), w, h, boxstyle=_ROUND, **style)


def _centred(box):
    cx, cy, w, h = box
    return cx - w / 2, cy - h / 2, w, h


class ArchitectureDiagram(widgets.VBox):
    """``ArchitectureDiagram(lab_or_trace, position=0)``: the diagram at one step; ``goto(i)`` moves it."""

    def __init__(self, source=None, *, position: int = 0, presentation: bool = False, caption: bool = True,
                 index: TraceIndex | None = None, _source=None) -> None:
        self.source = _source or resolve(source, "ArchitectureDiagram")
        self.theme = theme(presentation)
        self.caption = caption
        self.index = index or TraceIndex(self.source.trace, cells=self.theme.cells)
        self.cursor = Cursor(self.index)
        self.graph = layout.architecture_graph()
        self.position = -1
        self.highlighted: str | None = None
        self.hop: tuple[str, str] | None = None
        # in a notebook never taller than about two thirds of the window, so the controls and the sentence stay
        # in view; on a projector as wide as the screen allows
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            width="100%", max_width="min(1400px, 125vh)" if not self.theme.presentation else "100%"))
        self.image.add_class("ll-diagram")
        self.message = widgets.HTML()
        self._build()
        super().__init__([self.message, self.image])
        self.goto(position)

    # ---- public
    def goto(self, position: int) -> None:
        """Show the diagram as it is after step ``position`` (clamped to the trace)."""
        if self.source.problem:
            self.message.value = message_html(self.source.problem, tone="warn")
            self.highlighted = None
            self.image.value = self.canvas.frame()
            return
        self.index.sync()
        if self.index.n == 0:
            self.message.value = message_html(self.source.empty_message())
            position = -1
        else:
            self.message.value = ""
            position = max(0, min(int(position), self.index.n - 1))
        self._paint(position)
        self.image.value = self.canvas.frame()

    @property
    def shown_environments(self) -> list[str]:
        """The environments that have a place on the drawing at this step (at most lines x cells)."""
        return [env_id for _, _, envs in self.cursor.lines() for _, env_id, _ in envs]

    def min_text_px(self) -> float:
        """The smallest label on the diagram, in PNG pixels (times the on-screen scale: what a learner sees)."""
        return self.canvas.min_text_px()

    def png(self) -> bytes:
        """The current frame as PNG bytes (what the Image widget shows)."""
        return self.canvas.frame()

    def to_png(self, dpi: float | None = None) -> bytes:
        """PNG for slides at ``dpi`` (default: twice the screen's), captioned with the step's sentence when the
        diagram was made with ``caption=True`` (the default outside a Stepper)."""
        return self._export("png", dpi or 2 * self.theme.dpi)

    def to_svg(self) -> bytes:
        return self._export("svg", None)

    # ---- drawing, once
    def _build(self) -> None:
        th = self.theme
        # the caption strip (the step's sentence, for slides) exists only when there is a caption to show
        bottom, top = layout.YLIM if self.caption else (layout.YLIM[0], layout.TOP_WITHOUT_CAPTION)
        # on a projector the drawing is also stretched 15% in height: taller boxes for the larger type, and a
        # picture at least 1.25 times as tall as the notebook's on the same screen
        stretch = 1.15 if th.presentation else 1.0
        fig = new_figure(10.0, 10.0 * stretch * (top - bottom) / (layout.XLIM[1] - layout.XLIM[0]), th.dpi)
        self.figure = fig
        self.canvas = Canvas(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(*layout.XLIM)
        ax.set_ylim(bottom, top)
        ax.set_axis_off()
        self.ax = ax
        g = self.graph
        for name in ("worker", "environment"):
            x, y, w, h = _centred(g.nodes[name]["box"])
            ax.add_patch(_box(x, y, w, h, fc="#FAFAFA", ec=th.ink, lw=th.line, ls=(0, (4, 2))))
        for name, data in g.nodes(data=True):
            if data["kind"] == "component":
                x, y, w, h = _centred(data["box"])
                ax.add_patch(_box(x, y, w, h, fc=th.idle_fill, ec=th.ink, lw=th.line))
                self._shrink_to(ax.text(x + w / 2, y + h / 2, LABELS[name], ha="center", va="center",
                                        fontsize=th.font, color=th.ink), w)
        self.edges = {}
        for a, b in g.edges():
            start, end = _clip_to_box(g.nodes[a]["box"], g.nodes[b]["box"])
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-", color=th.idle_edge, lw=th.line,
                                         shrinkA=0, shrinkB=0, zorder=0.5))
            for src, dst, p, q in ((a, b, start, end), (b, a, end, start)):
                # the gap (shrink) keeps a lit hop clear of the boxes it joins, so each redraws on its own
                hot = FancyArrowPatch(p, q, arrowstyle="-|>,head_length=0.6,head_width=0.35",
                                      mutation_scale=12 if not th.presentation else 16, color=th.hot,
                                      lw=th.hot_line, shrinkA=6, shrinkB=6, zorder=3, visible=False,
                                      joinstyle="round", capstyle="round")
                ax.add_patch(hot)
                self.edges[(src, dst)] = self.canvas.sprite(hot)
        self._legend(ax)
        self._build_sprites(ax)

    def _legend(self, ax) -> None:
        """The phases' colours (the timeline's legend uses the same), laid out by the width of their words."""
        th = self.theme
        renderer = self.canvas.agg.get_renderer()
        units_per_px = (layout.XLIM[1] - layout.XLIM[0]) / self.figure.bbox.width
        label = ax.text(0.25, -0.18, "Environment phase:", fontsize=th.small, color=th.ink, va="center")
        x = 0.25 + label.get_window_extent(renderer).width * units_per_px + 0.3
        for phase, words in LEGEND[2:]:
            ax.add_patch(Rectangle((x, -0.34), 0.32, 0.32, fc=PHASE_COLOURS[phase], ec=th.ink, lw=0.8))
            text = ax.text(x + 0.42, -0.18, words, fontsize=th.small, color=th.ink, va="center")
            x += 0.42 + text.get_window_extent(renderer).width * units_per_px + 0.35

    def _build_sprites(self, ax) -> None:
        th = self.theme
        canvas = self.canvas
        self.hot = {}
        border = th.hot_line / 72 * (layout.XLIM[1] - layout.XLIM[0]) / self.figure.get_figwidth()  # pt -> units
        for name, data in self.graph.nodes(data=True):
            if data["kind"] != "component":
                continue
            x, y, w, h = _centred(data["box"])
            patch = _box(x, y, w, h, fc=th.hot_fill, ec=th.hot, lw=th.hot_line, visible=False, zorder=4)
            ax.add_patch(patch)
            label = ax.text(x + w / 2, y + h / 2, LABELS[name], ha="center", va="center", fontsize=th.font,
                            fontweight="bold", color=th.ink, visible=False, zorder=5)
            self._shrink_to(label, w - border)   # bold, inside the lit box's thick border
            self.hot[name] = canvas.sprite(patch, label)
        # the frames' title bars light up when the worker host or environment itself acts
        self.headers = {}
        for name, title, tall in (("worker", "Worker hosts", 0.4), ("environment", "Execution environment", 0.95)):
            x, y, w, h = _centred(self.graph.nodes[name]["box"])
            bar = Rectangle((x + 0.08, y + h - tall - 0.05), w - 0.16, tall, fc="#FAFAFA", ec="none", zorder=1)
            ax.add_patch(bar)
            head = ax.text(x + 0.18, y + h - 0.28, title, fontsize=th.font, fontweight="bold", color=th.ink,
                           va="center", zorder=2)
            self._shrink_to(head, w - 0.36)    # inside the lit bar's thick border, not under it
            note = ax.text(x + (0.18 if name == "environment" else w - 0.18), y + h - (0.75 if tall > 0.5 else 0.28),
                           "", fontsize=th.small, color=th.ink, va="center", zorder=2,
                           ha="left" if name == "environment" else "right")
            self.headers[name] = canvas.sprite(bar, head, note, frame=bar)
        # one sprite per line of the worker area: a host's line and its environments change together
        self.worker_rows = []
        for line in range(self.index.lines):
            x, y, w, h = layout.line_box(line)
            tx, ty = layout.tag_point(line)
            artists = [_box(x, y, w, h, fc="#E9EEF3", ec=th.ink, lw=th.line, zorder=1),
                       ax.text(tx, ty, "", ha="left", va="center", fontsize=th.small, color=th.ink, zorder=2)]
            for cell in range(self.index.cells):
                ex, ey, ew, eh = layout.env_box(line, cell, self.index.cells)
                artists.append(_box(ex, ey, ew, eh, fc="white", ec=th.ink, lw=th.line, zorder=2))
                artists.append(ax.text(ex + ew / 2, ey + eh / 2, "", ha="center", va="center", color="black",
                                       fontsize=th.small, zorder=3,
                                       linespacing=1.3))
            for artist in artists:
                if isinstance(artist, FancyBboxPatch):
                    ax.add_patch(artist)
            self.worker_rows.append(canvas.sprite(*artists, frame=artists[0]))
        zx, zy, zw, zh = layout.ZOOM_AREA
        band = Rectangle((zx + 0.2, zy + 0.2), zw - 0.4, 0.9, fc="white", ec=th.ink, lw=th.line)
        ax.add_patch(band)
        self.zoom_band = canvas.sprite(band, ax.text(zx + zw / 2, zy + 0.65, "", ha="center", va="center",
                                                     fontsize=th.small, color="black"), frame=band)
        self.caption_text = ax.text(0.25, 8.95, "", fontsize=th.font, color=th.ink, va="center", fontweight="bold",
                                    visible=False, linespacing=1.25)
        self.caption_sprite = canvas.sprite(self.caption_text)

    # ---- drawing, per step
    def _paint(self, position: int) -> None:
        self.position = position
        index = self.index
        state = self.cursor.move(position)
        step = index.trace[position] if position >= 0 else None
        comp = step.component if step is not None else None
        hop = layout.hop_edge(self.graph, index.hops[position]) if step is not None else None
        focus = index.focus[position] if step is not None else None
        self.highlighted, self.hop = comp, hop
        worker_lit = False
        in_use = {line: (worker_id, envs) for line, worker_id, envs in self.cursor.lines()}
        first_line = {}
        for line in sorted(in_use):
            first_line.setdefault(in_use[line][0], line)
        shown_per_worker = {}
        for worker_id, envs in in_use.values():
            shown_per_worker[worker_id] = shown_per_worker.get(worker_id, 0) + len(envs)
        for line, sprite in enumerate(self.worker_rows):
            if line not in in_use:
                sprite.look(None, lambda s=sprite: _show(s, False))
                continue
            worker_id, envs = in_use[line]
            hot = comp == "worker" and worker_id == step.worker_id
            worker_lit |= hot
            cells = tuple((cell, env_id, env_state, env_id == focus, comp == "environment" and env_id == focus)
                          for cell, env_id, (env_state, _, _) in envs)
            first = first_line[worker_id] == line
            more = state.get(("wenvs", worker_id), 0) - shown_per_worker[worker_id] if first else 0
            key = (worker_id, state.get(("worker", worker_id), "up"), first, more, hot, cells)
            sprite.look(key, lambda s=sprite, k=key: self._style_row(s, *k))
        for name, sprite in self.hot.items():
            on = name == comp
            sprite.look(on, lambda s=sprite, v=on: _show(s, v))
        for edge, sprite in self.edges.items():
            on = edge == hop
            sprite.look(on, lambda s=sprite, v=on: _show(s, v))
        more_hosts = index.counter(position, "workers") - len(first_line)
        note = f"+{more_hosts} more" if more_hosts > 0 else ("" if first_line or step is None else "none yet")
        self._header("worker", comp == "worker" and not worker_lit, note)
        self._paint_zoom(step, focus, comp)
        text = self._sentence(step, position)
        self.caption_sprite.look((text, self.caption), lambda: self._style_caption(text))

    def _paint_zoom(self, step, focus, comp) -> None:
        record = self.cursor.environment(focus)
        if focus is None:
            title, band_state, band = "no environment in this step", None, ""
        elif record is None:
            title, band_state, band = f"{focus}: gone", None, "gone (microVM destroyed)"
        else:
            env_state, worker_id, function = record
            title = f"{focus} · {function or '?'} · on {worker_id or '?'}"
            detail = step.detail or {}
            phase = detail.get("phase") if step.env_id == focus else None
            band_state, band = env_state, PHASE_NAMES.get(STATE_PHASES.get(env_state), env_state).upper()
            if phase in PHASE_NAMES and PHASE_NAMES[phase].upper() != band:
                duration = detail.get("duration")
                band += f" · {PHASE_NAMES[phase]}" + (f" {duration * 1000:.0f} ms" if duration else "")
        self._header("environment", comp == "environment", title)
        self.zoom_band.look((band_state, band), lambda: self._style_band(band_state, band))

    def _header(self, name, hot, note) -> None:
        sprite = self.headers[name]
        sprite.look((hot, note), lambda: self._style_header(name, hot, note))

    # ---- styles (called only when a sprite's look changes)
    def _style_header(self, name, hot, note) -> None:
        th = self.theme
        bar, head, text = self.headers[name].artists
        bar.set_facecolor(th.hot_fill if hot else "#FAFAFA")
        bar.set_edgecolor(th.hot if hot else "none")
        bar.set_linewidth(th.hot_line if hot else 0)
        head.set_color(th.hot if hot else th.ink)
        width = self.graph.nodes[name]["box"][2] - (0.36 if name == "environment" else 2.6)
        self._fit(text, note, width)

    def _style_row(self, sprite, worker_id, status, first, more, hot, cells) -> None:
        th = self.theme
        box, label, *slots = sprite.artists
        _show(sprite, True)
        box.set_edgecolor(th.hot if hot else th.ink)
        box.set_linewidth(th.hot_line if hot else th.line)
        box.set_facecolor("#D8D8D8" if status == "draining" else "#E9EEF3")
        words = [f"worker {worker_id}" if first else f"{worker_id} (more)"]
        if status == "draining":
            words.append("draining")
        if more > 0:
            words.append(f"+{more} more")
        self._fit(label, " · ".join(words), layout.line_box(0)[2] - 0.3)
        label.set_fontweight("bold" if hot else "normal")
        label.set_color(th.ink if first else "#777777")
        for artist in slots:
            artist.set_visible(False)
        for cell, env_id, env_state, focused, lit in cells:
            ebox, text = slots[2 * cell], slots[2 * cell + 1]
            ebox.set_visible(True)
            ebox.set_facecolor(STATE_COLOURS.get(env_state, "white"))
            ebox.set_edgecolor(th.hot if lit else th.ink)
            ebox.set_linewidth(th.hot_line if lit else (th.line * 2.2 if focused else th.line))
            text.set_text(f"{env_id}\n{PHASE_NAMES.get(STATE_PHASES.get(env_state), env_state)}")
            text.set_fontweight("bold" if focused else "normal")
            text.set_visible(True)

    def _style_band(self, band_state, band) -> None:
        rect, text = self.zoom_band.artists
        rect.set_facecolor(STATE_COLOURS.get(band_state, "#EEEEEE"))
        rect.set_visible(bool(band))              # no environment in focus: no empty state band either
        # two lines when one would not fit the band (the projector's larger type)
        width = layout.ZOOM_AREA[2] - 0.6
        if not self._fits(text, band, width) and " · " in band:
            band = band.replace(" · ", "\n", 1)
        self._fit(text, band, width)

    def _shrink_to(self, artist, width_units) -> None:
        """A box's name a little smaller when it would touch the box's sides, never below the small size."""
        shown = artist.get_visible()
        artist.set_visible(True)               # an invisible text measures as nothing
        while not self._fits(artist, artist.get_text(), width_units - 0.12) and artist.get_fontsize() > \
                self.theme.small:
            artist.set_fontsize(max(self.theme.small, artist.get_fontsize() - 0.5))
        artist.set_visible(shown)

    def _fits(self, artist, text, width_units) -> bool:
        artist.set_text(text)
        units_per_px = (layout.XLIM[1] - layout.XLIM[0]) / self.figure.bbox.width
        return artist.get_window_extent(self.canvas.agg.get_renderer()).width * units_per_px <= width_units

    def _fit(self, artist, text, width_units) -> None:
        """Set ``text``, shortened with an ellipsis (line by line) until it fits ``width_units``."""
        lines = text.split("\n")
        for i, line in enumerate(lines):
            while len(line) > 4 and not self._fits(artist, line, width_units):
                line = line[:-2].rstrip(" ·") + "…"
            lines[i] = line
        artist.set_text("\n".join(lines))

    def _style_caption(self, text) -> None:
        self.caption_text.set_text("\n".join(textwrap.wrap(text, 74 if self.theme.presentation else 88)[:2]))
        self.caption_text.set_visible(self.caption and bool(text))

    def _sentence(self, step, position) -> str:
        if step is None:
            return ""
        name = NAMES.get(step.component, step.component)
        return f"{position + 1}/{self.index.n}  t={step.t:.3f} s  {name}: {step.text}"

    def _export(self, fmt, dpi) -> bytes:
        return self.canvas.export(fmt, dpi=dpi)


def _clip_to_box(a, b):
    """Where the straight line between the centres of boxes ``a`` and ``b`` leaves each box."""
    (ax_, ay, aw, ah), (bx, by, bw, bh) = a, b
    dx, dy = bx - ax_, by - ay

    def leave(w, h, sign):
        scale = min((w / 2) / abs(dx) if dx else float("inf"), (h / 2) / abs(dy) if dy else float("inf"))
        return sign * dx * scale, sign * dy * scale

    ox, oy = leave(aw, ah, 1)
    px, py = leave(bw, bh, -1)
    return (ax_ + ox, ay + oy), (bx + px, by + py)


def _show(sprite, visible: bool) -> None:
    for artist in sprite.artists:
        artist.set_visible(visible)
