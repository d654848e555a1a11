"""The lifecycle timeline: one row per execution environment, its Init phases, invokes, frozen time and shutdown.

Cold starts, errors, timeouts and throttles are marked; a cursor shows the current step's virtual time and
greys out what has not happened yet. Lambda's time scales differ wildly (a 3 ms invoke, a 10-minute idle
wait), so stretches where nothing happens are shortened to a fixed width and labelled with their real length:
the millisecond-scale work stays readable next to hours of idleness.

The bars are drawn once per trace length; moving the cursor redraws only the cursor (see ``render``).
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .index import TraceIndex
from .render import Canvas, new_figure
from .source import message_html, resolve
from .theme import LEGEND, PHASE_COLOURS, theme

__all__ = ["Timeline", "TimeMap"]

_MARKS = {  # kind: (marker, colour, size, legend text)
    "cold": ("v", "#0072B2", 7, "cold start"),
    "error": ("X", "#D55E00", 9, "error"),
    "timeout": ("D", "#D55E00", 7, "timeout"),
    "throttle": ("x", "#D55E00", 8, "throttled (429)"),
}


class TimeMap:
    """Virtual seconds -> x in [0, 1], with long idle stretches shortened to a fixed width.

    A stretch counts as idle when no step happens and no bar other than "frozen" covers it for longer than
    max(1 s, 5% of the whole span). Each one gets ``gap`` of the width; the rest is shared linearly.
    """

    def __init__(self, busy: list[tuple[float, float]], *, gap: float = 0.05) -> None:
        points = sorted({t for a, b in busy for t in (a, b)})
        if not points:
            points = [0.0]
        start, end = points[0], points[-1]
        span = end - start
        # merge the busy intervals, then the holes between them are the candidate idle stretches
        merged: list[list[float]] = []
        for a, b in sorted(busy):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        threshold = max(1.0, 0.05 * span)
        self.gaps = [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)
                     if merged[i + 1][0] - merged[i][1] > threshold]
        width = min(gap, 0.4 / len(self.gaps)) if self.gaps else 0.0
        active = span - sum(b - a for a, b in self.gaps)
        scale = (1.0 - width * len(self.gaps)) / active if active > 0 else 0.0
        knots_t, knots_x = [start], [0.0]
        x = 0.0
        cursor = start
        for a, b in self.gaps:
            x += (a - cursor) * scale
            knots_t += [a, b]
            knots_x += [x, x + width]
            x += width
            cursor = b
        knots_t.append(end if end > cursor else cursor + 1e-9)
        knots_x.append(1.0 if active > 0 else 0.5)
        self.start, self.end, self.gap_width = start, end, width
        self._t = np.asarray(knots_t)
        self._x = np.asarray(knots_x)

    def __call__(self, t):
        return np.interp(t, self._t, self._x)

    def ticks(self, count: int = 8) -> list[tuple[float, str]]:
        """(x, label) pairs: the ends of each busy stretch plus round times inside the wide ones."""
        stretches, cursor = [], self.start
        for a, b in self.gaps:
            stretches.append((cursor, a))
            cursor = b
        stretches.append((cursor, self.end))
        out: list[tuple[float, float]] = []
        for a, b in stretches:
            share = float(self(b) - self(a))
            out.append((a, float(self(a))))
            bins = int(share * count)
            if bins >= 2 and b > a:
                step = _nice((b - a) / bins)
                t = math.ceil(a / step) * step
                while t < b - step / 2:
                    if t > a + step / 2:
                        out.append((t, float(self(t))))
                    t += step
            out.append((b, float(self(b))))
        spaced: list[tuple[float, float]] = []
        for t, x in sorted(out, key=lambda p: p[1]):
            if not spaced or x - spaced[-1][1] >= 0.07:
                spaced.append((t, x))
        # each label as precise as the distance to its neighbours asks ("600" and "600.3", never "600" twice)
        kept: list[tuple[float, str]] = []
        for i, (t, x) in enumerate(spaced):
            near = [abs(t - spaced[j][0]) for j in (i - 1, i + 1) if 0 <= j < len(spaced)]
            label = _seconds(t, min(near) if near else None)
            if not kept or label != kept[-1][1]:
                kept.append((x, label))
        return kept


def _nice(step: float) -> float:
    power = 10 ** math.floor(math.log10(step))
    for m in (1, 2, 5, 10):
        if step <= m * power:
            return m * power
    return 10 * power


def _seconds(t: float, spacing: float | None = None) -> str:
    """``t`` in seconds, with more decimals when a neighbouring label is closer than the usual precision."""
    if t == 0:
        return "0"
    decimals = 0 if abs(t) >= 100 else 2 if abs(t) >= 1 else 3
    if spacing and spacing < 1:
        decimals = max(decimals, min(3, math.ceil(-math.log10(spacing))))
    return f"{t:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{t:.0f}"


class Timeline(widgets.VBox):
    """``Timeline(lab_or_trace, position=0)``: a Gantt chart of environments with a cursor at a step."""

    def __init__(self, source=None, *, position: int = 0, presentation: bool = False, max_rows: int = 12,
                 index: TraceIndex | None = None, _source=None) -> None:
        self.source = _source or resolve(source, "Timeline")
        self.theme = theme(presentation)
        self.max_rows = max_rows
        self.index = index or TraceIndex(self.source.trace)
        self.position = -1
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="1400px"))
        self.image.add_class("ll-timeline")
        self.message = widgets.HTML()
        self.canvas = None
        self._version = None
        self.rows: list[str] = []
        super().__init__([self.message, self.image])
        self.goto(position)

    # ---- public
    def goto(self, position: int) -> None:
        if self.source.problem:
            self.message.value = message_html(self.source.problem, tone="warn")
            self.image.layout.display = "none"
            return
        self.index.sync()
        if self.index.n == 0:
            self.message.value = message_html(self.source.empty_message())
            self.image.layout.display = "none"
            self.position = -1
            return
        self.message.value = ""
        self.image.layout.display = None
        if self._version != self.index.version:
            self._draw_bars()
        self.position = max(0, min(int(position), self.index.n - 1))
        self._move_cursor()
        self.image.value = self.canvas.frame()

    def png(self) -> bytes:
        return self.canvas.frame() if self.canvas else b""

    def min_text_px(self) -> float:
        """The smallest label (axes, rows, legend, idle bands), in PNG pixels."""
        return self.canvas.min_text_px() if self.canvas else 0.0

    def to_png(self, dpi: float | None = None) -> bytes:
        return self.canvas.export("png", dpi=dpi or 2 * self.theme.dpi) if self.canvas else b""

    def to_svg(self) -> bytes:
        return self.canvas.export("svg") if self.canvas else b""

    @property
    def cursor_x(self) -> float | None:
        """Where the cursor is, in [0, 1] along the time axis (None when nothing is drawn)."""
        return self._cursor_x if self.position >= 0 else None

    # ---- the bars, once per trace length
    def _draw_bars(self) -> None:
        th, index = self.theme, self.index
        self._version = index.version
        envs = index.env_order
        compact = len(envs) > self.max_rows
        self.rows = envs[: (400 if compact else self.max_rows)]
        throttles = [m for m in index.markers if m[0] == "throttle"]
        extra = 1 if throttles else 0
        n_rows = max(1, len(self.rows) + extra)
        row_in = 0.14 if compact else (0.34 if not th.presentation else 0.42)
        phases = {_legend_phase(phase) for _, phase, *_ in index.segments}
        marks = {kind for kind, *_ in index.markers}
        legend_rows = math.ceil((len(phases) + len(marks)) / (4 if th.presentation else 7)) or 1
        legend_in = (0.3 if th.presentation else 0.25) * legend_rows
        height = min(7.5, 1.3 + legend_in + n_rows * row_in) if not compact else 4.6
        fig = new_figure(10.0, height, th.dpi)
        self.figure, self.canvas = fig, Canvas(fig)
        labels = (["throttled"] if extra else []) + [self._row_label(e) for e in self.rows]
        # room on the left for the longest row label (about 0.6 em a character), at least 1.2 inches
        label_in = max([1.2] + [0.6 * th.small / 72 * len(label) + 0.25 for label in labels if not compact])
        left, bottom, top = min(label_in, 3.0) / 10.0, (0.62 + legend_in) / height, 0.35 / height
        ax = fig.add_axes((left, bottom, 1 - left - 0.02, 1 - bottom - top))
        self.ax = ax
        t_end = max(index.times[-1], self._lab_now())
        self._t_end = t_end
        busy = [(s[2], s[3] if s[3] is not None else t_end) for s in index.segments if s[1] != "frozen"]
        busy += [(t, t) for t in _sample(index.times)]
        busy.append((t_end, t_end))
        tmap = TimeMap(busy)
        self.tmap = tmap
        row_of = {env: i + extra for i, env in enumerate(self.rows)}
        min_w = 2.5 / (ax.get_position().width * fig.get_figwidth() * th.dpi)  # bars at least ~2 px wide
        bar_h = 0.86 if compact else 0.62
        verts, colours = [], []
        for env_id, phase, t0, t1, *_ in index.segments:
            row = row_of.get(env_id)
            if row is None:
                continue
            x0 = float(tmap(t0))
            x1 = max(float(tmap(t1 if t1 is not None else t_end)), x0 + min_w)
            y0, y1 = row - bar_h / 2, row + bar_h / 2
            verts.append(((x0, y0), (x0, y1), (x1, y1), (x1, y0)))
            colours.append(PHASE_COLOURS.get(phase, "#999999"))
        ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors="none" if compact else th.ink,
                                         linewidths=0 if compact else 0.4))
        idle_words = []
        for a, b in tmap.gaps:
            xa, xb = float(tmap(a)), float(tmap(b))
            ax.add_patch(Rectangle((xa, -0.5), xb - xa, n_rows, fc="#F4F4F4", ec="#C4C4C4", lw=0, hatch="//",
                                   zorder=0.1))
            # the real length of the shortened stretch, written across it (nothing happens there anyway)
            idle_words.append(ax.text(
                (xa + xb) / 2, (n_rows - 1) / 2, f"idle {_seconds(b - a)} s", ha="center", va="center", rotation=90,
                fontsize=th.small if th.presentation else th.small * 0.85, color="#333333", zorder=7,
                bbox=dict(fc="white", ec="#BBBBBB", lw=0.5, alpha=0.9, boxstyle="round,pad=0.2")))
        present = set()
        for kind, t, env_id, _ in index.markers:
            row = 0 if kind == "throttle" else row_of.get(env_id)
            if row is None or kind == "cold" and len(self.rows) > 40:
                continue  # with many rows the staircase of new environments already shows the cold starts
            present.add(kind)
            marker, colour, size, _ = _MARKS[kind]
            y = row - bar_h / 2 - 0.12 if kind == "cold" else row
            scale = (1.3 if th.presentation else 1.0) * (0.6 if compact else 1.0)
            ax.plot([float(tmap(t))], [y], marker=marker, color=colour, ms=size * scale,
                    mec="white" if kind != "throttle" else colour, mew=0.6, ls="none", zorder=4, clip_on=False)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(n_rows - 0.5, -0.5)
        if compact:
            ax.set_yticks([])
            more = len(envs) - len(self.rows)
            ax.set_ylabel(f"{len(envs):,} environments" + (f"\n(first {len(self.rows)})" if more else ""),
                          fontsize=th.small)
        else:
            ax.set_yticks(range(n_rows), labels, fontsize=th.small)
        ticks = tmap.ticks(9 if not th.presentation else 6)
        ax.set_xticks([x for x, _ in ticks], [label for _, label in ticks], fontsize=th.small)
        ax.set_xlabel("virtual time (s)" + (", idle stretches shortened" if tmap.gaps else ""), fontsize=th.small)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(length=3)
        self._legend(fig, {phase for _, phase, *_ in index.segments}, present)
        # the cursor: a line, a veil over the future, the time, and an outline on the current environment's row
        axis_x = ax.get_xaxis_transform()
        veil = Rectangle((0, 0), 1.02, 1, transform=axis_x, fc="white", alpha=0.62, ec="none", zorder=5)
        line = Line2D([0, 0], [0, 1], transform=axis_x, color=th.hot, lw=th.hot_line * 0.7, zorder=6)
        label = ax.text(0, 1.0, "", transform=axis_x, ha="center", va="bottom", fontsize=th.small, color=th.hot,
                        fontweight="bold", zorder=7)
        focus = Rectangle((-0.01, 0), 1.02, 1, fc="none", ec=th.hot, lw=th.line, zorder=6, visible=False)
        ax.add_patch(veil)
        ax.add_patch(focus)
        ax.add_line(line)
        # the idle lengths belong to the axis, not to the future: drawn over the veil, always readable
        self._cursor = self.canvas.sprite(veil, focus, line, label, *idle_words)
        self._row_of, self._bar_h = row_of, bar_h

    def _legend(self, fig, phases, marks) -> None:
        """The phases present, in the words and colours the diagram's legend uses, and the markers shown."""
        th = self.theme
        present = {_legend_phase(p) for p in phases}
        handles = [Patch(fc=PHASE_COLOURS[p], ec=th.ink, lw=0.4, label=words) for p, words in LEGEND if p in present]
        handles += [Line2D([], [], marker=_MARKS[k][0], color=_MARKS[k][1], ls="none", ms=_MARKS[k][2],
                           label=_MARKS[k][3]) for k in _MARKS if k in marks]
        if handles:
            fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4 if th.presentation else 7),
                       fontsize=th.small, frameon=False, bbox_to_anchor=(0.55, 0.0), handlelength=1.2,
                       columnspacing=1.0, borderaxespad=0.2)

    def _row_label(self, env_id: str) -> str:
        info = self.index.env_info.get(env_id, {})
        function = info.get("function")
        return f"{env_id} · {function}" if function else env_id

    def _lab_now(self) -> float:
        """How far a live trace's Lab has run (its steps may stop earlier); 0 for a finished trace or a slice."""
        if not self.source.live:
            return 0.0
        now = getattr(self.source.lab, "now", None)
        return float(now) if isinstance(now, (int, float)) else 0.0

    # ---- the cursor, per step
    def _move_cursor(self) -> None:
        t = self.index.times[self.position]
        x = float(self.tmap(t))
        self._cursor_x = x
        row = self._row_of.get(self.index.focus[self.position])
        key = (round(x, 5), row, t)
        self._cursor.look(key, lambda: self._style_cursor(x, row, t))

    def _style_cursor(self, x, row, t) -> None:
        veil, focus, line, label = self._cursor.artists[:4]
        veil.set_x(x)
        veil.set_width(max(0.0, 1.02 - x))
        line.set_xdata([x, x])
        label.set_position((x, 1.0))
        label.set_text(f"t = {t:.3f} s")  # as the step sentence writes it
        label.set_ha("left" if x < 0.1 else "right" if x > 0.9 else "center")
        focus.set_visible(row is not None)
        if row is not None:
            focus.set_y(row - self._bar_h / 2 - 0.08)
            focus.set_height(self._bar_h + 0.16)


def _legend_phase(phase: str) -> str:
    """Init's sub-steps are Init: one colour, one legend entry."""
    return "init" if phase in ("extension_init", "runtime_init", "function_init") else phase


def _sample(times, limit: int = 20000):
    """Step times for the idle-stretch search; very long traces are thinned (idle stretches are long anyway)."""
    n = len(times)
    if n <= limit:
        return times
    stride = n // limit + 1
    return [times[i] for i in range(0, n, stride)] + [times[-1]]
