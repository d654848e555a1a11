"""Two small panels beside the diagram: the CloudWatch log lines written so far, and the counters so far.

Both are views of a position in the trace. The log panel shows the lines whose virtual time is not after the
current step's (the newest in bold), taken from the Lab's log store, leaving out lines that later steps wrote at
that same virtual time; the metrics panel reads the counters
``TraceIndex`` keeps per step, so neither does work that grows with the position.
"""
from __future__ import annotations

import html
from bisect import bisect_right

import ipywidgets as widgets

from .index import TraceIndex
from .source import message_html, resolve
from .theme import theme

__all__ = ["LogPanel", "MetricsPanel"]

_PRE = ("font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:{size};line-height:1.35;"
        "background:#1E1E1E;color:#E6E6E6;padding:8px 10px;margin:0;border-radius:4px;white-space:pre-wrap;"
        "word-break:break-all;min-height:{height};max-height:{height};overflow-y:auto")


class LogPanel(widgets.VBox):
    """``LogPanel(lab, position=0, function=None)``: CloudWatch lines written up to a step's virtual time."""

    def __init__(self, source=None, *, position: int = 0, function: str | None = None, lines: int = 12,
                 presentation: bool = False, index: TraceIndex | None = None, log_events=None, _source=None) -> None:
        self.source = _source or resolve(source, "LogPanel")
        self.function = function
        self.lines = lines
        self.theme = theme(presentation)
        self.index = index or TraceIndex(self.source.trace)
        self._given = log_events
        self._events: list[tuple[float, str, str]] = []
        self._times: list[float] = []
        self._written: list[int] | None = None   # per line, how many steps existed when it was written
        self._functions: set[str] = set()
        self._version = None
        self._note = ""
        self.position = -1
        self.shown: list[str] = []
        self.title = widgets.HTML()
        self.body = widgets.HTML()
        super().__init__([self.title, self.body], layout=widgets.Layout(width="100%"))
        self.goto(position)

    def goto(self, position: int) -> None:
        if self.source.problem:
            self.title.value = message_html(self.source.problem, tone="warn")
            self.body.value = ""
            return
        self.index.sync()
        if self._version != self.index.version:
            self._load()
        n = self.index.n
        self.position = max(0, min(int(position), n - 1)) if n else -1
        if n and self._events:
            t = self.index.times[self.position]
            upto = bisect_right(self._times, t)
            written, step = self._written, self.index.trace[self.position]
            if written is not None:               # not yet: lines that later steps wrote at this same time
                after = getattr(step, "seq", self.position) + 1
                while upto and self._times[upto - 1] == t and written[upto - 1] > after:
                    upto -= 1
        else:
            t, upto = None, 0
        first = max(0, upto - self.lines)
        self.shown = [line for _, _, line in self._events[first:upto]]
        newest = {i for i in range(first, upto) if t is not None and self._times[i] == t}
        rows = []
        for i in range(first, upto):
            _, function, line = self._events[i]
            first_line, _, rest = line.partition("\n")
            # a multi-line event (an [ERROR] entry and its stack trace) shows collapsed, as the CloudWatch
            # console lists it; lab.logs() keeps the whole event
            text = html.escape(first_line.replace("\t", "  "))
            if rest:
                text += f' <span style="color:#888">[+{rest.count(chr(10)) + 1} more lines]</span>'
            if len(self._functions) > 1:
                text = f'<span style="color:#9CDCFE">{html.escape(function)}</span> {text}'
            rows.append(f'<b style="color:#FFD28A">{text}</b>' if i in newest else text)
        name = f" /aws/lambda/{self.function}" if self.function else ""
        count = f"{upto} of {len(self._events)} lines" if self._events else ""
        size = self.theme.panel_size if self.theme.presentation else self.theme.html_size
        count_size = "1em" if self.theme.presentation else "smaller"
        self.title.value = (f'<div style="font-weight:bold;font-size:{size}">CloudWatch Logs{name} '
                            f'<span style="font-weight:normal;color:#666;font-size:{count_size}">{count}</span></div>'
                            + (message_html(self._note) if self._note else ""))
        height = "16em" if not self.theme.presentation else "10.5em"
        size = self.theme.panel_size
        empty = "(no log lines yet at this step)" if self._events or not self._note else ""
        self.body.value = f'<pre style="{_PRE.format(size=size, height=height)}">' + (
            "\n".join(rows) if rows else f'<span style="color:#888">{empty}</span>') + "</pre>"

    def _load(self) -> None:
        """Fetch the log events again (only when the trace has grown: logs are written together with steps)."""
        self._version = self.index.version
        self._note = ""
        self._written = None
        events = None
        if self._given is not None:
            events = list(self._given)
        else:
            lab = self.source.lab
            reader = getattr(lab, "log_events", None)
            stepped = getattr(getattr(lab, "log_store", None), "stepped_events", None)
            if callable(stepped):
                events = sorted(stepped(self.function), key=lambda e: e[0])
                if self.source.window:      # a scene's own lines: those written after its first step
                    events = [e for e in events if e[3] > self.source.first]
                self._written = [e[3] for e in events]
                events = [e[:3] for e in events]
            elif callable(reader):
                try:
                    events = list(reader(self.function))
                except Exception as exc:  # a broken or unknown function name must not break the view
                    self._note = f"Could not read the logs: {exc}"
            elif lab is None:
                self._note = "Log lines come from a Lab: give this view the Lab (not just its trace) to see them."
            else:
                self._note = "This lab does not expose timed log events (lab.log_events), so no lines are shown."
        events = sorted(events or [], key=lambda e: e[0])
        if self.function is not None:
            events = [e for e in events if e[1] == self.function]
        self._events = events
        self._times = [e[0] for e in events]
        self._functions = {e[1] for e in events}


_TILES = (  # counter, label, what it means
    ("concurrency", "Concurrency", "environments busy with a request (Init or Invoke) at this step"),
    ("max_concurrency", "Max concurrency", "the most that were busy at once so far"),
    ("environments", "Environments", "execution environments that exist at this step"),
    ("workers", "Worker hosts", "hosts in the fleet at this step"),
    ("queue_depth", "Queue depth", "events waiting on the internal async queue"),
    ("requests", "Requests", "Invoke requests the frontend received so far"),
    ("cold_starts", "Cold starts", "requests that needed a new environment so far"),
    ("warm_starts", "Warm starts", "requests that reused a frozen environment so far"),
    ("throttles", "Throttles", "requests rejected with 429 so far"),
    ("errors", "Errors", "failed handler runs (errors, timeouts, crashes) so far"),
)


class MetricsPanel(widgets.VBox):
    """``MetricsPanel(lab_or_trace, position=0)``: concurrency, queue depth, cold starts... up to a step."""

    def __init__(self, source=None, *, position: int = 0, presentation: bool = False,
                 index: TraceIndex | None = None, _source=None) -> None:
        self.source = _source or resolve(source, "MetricsPanel")
        self.theme = theme(presentation)
        self.index = index or TraceIndex(self.source.trace)
        self.position = -1
        self.values: dict[str, int] = {}
        self.body = widgets.HTML()
        super().__init__([self.body])
        self.goto(position)

    def goto(self, position: int) -> None:
        if self.source.problem:
            self.body.value = message_html(self.source.problem, tone="warn")
            return
        self.index.sync()
        n = self.index.n
        self.position = max(0, min(int(position), n - 1)) if n else -1
        self.values = self.index.counters_at(self.position)
        big = "28px" if self.theme.presentation else "20px"
        small = self.theme.panel_size if self.theme.presentation else "11px"
        tiles = []
        for key, label, meaning in _TILES:
            value = self.values[key]
            alert = key in ("throttles", "errors") and value > 0
            colour = "#D55E00" if alert else "#222"
            # a label that wraps ("Max / concurrency") keeps its value on the row's common baseline
            tiles.append(f'<div title="{html.escape(meaning)}" style="border:1px solid #CCC;border-radius:4px;'
                         f'padding:4px 8px;background:#FAFAFA;display:flex;flex-direction:column;'
                         f'justify-content:space-between"><div style="font-size:{small};color:#555;line-height:1.25">'
                         f'{label}</div>'
                         f'<div style="font-size:{big};font-weight:bold;color:{colour}">{value:,}</div></div>')
        # tiles wrap to as many columns as fit (two in the notebook's side panel); no label is ever cut off
        self.body.value = (f'<div style="display:grid;font-size:{small};grid-template-columns:repeat(auto-fill,'
                           f'minmax(8.5em,1fr));gap:6px">' + "".join(tiles) + "</div>")
