"""The trace: every architecture hop as a ``Step`` record, in the order it happened.

Components never talk to views. They report each hop to the lab's ``Trace`` (the observer idea of trio's
instruments); the widgets read ``lab.trace`` or subscribe to it. A Step carries the virtual time, the component
that acted (CONTRACT.md's vocabulary), a short machine-readable ``action``, the ids that tie it to a request,
an environment and a worker, a ``detail`` dict (headers, durations, sizes) and ``text``: one sentence a
learner reads.

How to record a hop (the emit convention)::

    trace.emit(component, action, words, *values, request_id=..., function=..., version=..., env_id=...,
               worker_id=..., **detail)

``words`` is the sentence as a ``str.format`` template whose ``{}`` fields take ``values`` in order; the text is
made when somebody first reads ``step.text``, not when the step is recorded, so a run records thousands of steps
a second and formats only the ones a learner looks at. The same goes for the Step itself: a hop is recorded as
its fields, side by side in one flat list, and made a ``Step`` when it is first read (``trace[i]``, iterating,
``filter``, a listener), which is then kept, so every reader sees the same Step object. Pass the values themselves
(ids, names, numbers: things that do not change afterwards), and let the template format them::

    trace.emit("worker", "boot", "Worker {} boots a Firecracker microVM for {}: {:.2f} ms",
               worker_id, env_id, seconds * 1000, env_id=env_id, phase="microvm", duration=seconds)

Words given without values are the text as they are (literal braces are fine then; with values, write ``{{``).
A detail too can be made when read: give a bound method of an object that does not change afterwards
(``headers=rinv.headers``), and the Step's detail holds what it returns.

Three modes keep bulk runs cheap. ``full`` records every Step. ``summary`` and ``off`` record no Steps at all:
callers test ``trace.full`` before building a Step's detail, so a million-invocation sweep pays one attribute
read per hop. (Per-invocation records for ``summary`` live in ``observability``; ``off`` keeps counters only.)
"""
from __future__ import annotations

import json
import operator
from operator import itemgetter
from types import MethodType
from typing import Any, Callable, Iterator

from .vocabulary import COMPONENTS

__all__ = ["Step", "Trace", "TraceSlice", "COMPONENTS", "TRACE_MODES", "FIELDS"]

TRACE_MODES = ("full", "summary", "off")
# a step's slots in Trace._rows: t, component, action, request_id, function, version, env_id, worker_id, words,
# values, detail
_WIDTH = 11
FIELDS = ("seq", "t", "component", "action", "request_id", "function", "version", "env_id", "worker_id", "detail",
          "text")


def _field(i: int, doc: str, settable: bool = False) -> property:
    get = itemgetter(i)
    if not settable:
        return property(get, doc=doc)
    return property(get, lambda step, value: step.__setitem__(i, value), doc=doc)


class Step(list):
    """One hop. Read-only by convention (a component may still attach a request id it learns later);
    ``as_dict()`` gives the JSON shape. ``text`` is made from the step's words and values when first read.

    A Step is stored as a list of its fields and read through properties (``step.t``, ``step.request_id``...):
    making one is then a single C call, which is most of what a full trace costs per hop. It compares and
    hashes by identity, as any record of one event should, not by its contents.
    """

    __slots__ = ()
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    seq = _field(0, "the Step's place in the trace")
    t = _field(1, "virtual time, seconds")
    component = _field(2, "the component that acted (engine.vocabulary.COMPONENTS and ACTIONS' keys)")
    action = _field(3, "what it did (a key of ACTIONS[component])")
    request_id = _field(4, "the request it belongs to, if any", settable=True)
    function = _field(5, "the function's name, if any")
    version = _field(6, "the function version, if any")
    env_id = _field(7, "the execution environment, if any")
    worker_id = _field(8, "the worker host, if any")
    detail = _field(9, "headers, durations, sizes: a dict")

    @property
    def text(self) -> str:
        """One sentence a learner reads (made from the words and values the first time it is read)."""
        words, values = self[10], self[11]
        if values:
            words = self[10] = words.format(*values)
            self[11] = ()
        return words

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}

    def __repr__(self) -> str:
        ids = " ".join(f"{k}={getattr(self, k)}" for k in ("request_id", "env_id", "worker_id") if getattr(self, k))
        return f"<Step {self.seq} t={self.t:.6f} {self.component}.{self.action} {ids}: {self.text}>"


class Trace:
    """A sequence of Steps plus the switch that says whether to record them."""

    def __init__(self, mode: str = "full", clock: Callable[[], float] | None = None) -> None:
        if mode not in TRACE_MODES:
            raise ValueError(f"trace must be one of {', '.join(TRACE_MODES)}; got {mode!r}")
        self.mode = mode
        self.full = mode == "full"
        self._clock = clock or (lambda: 0.0)
        # every step's fields, ``_WIDTH`` slots a step in one flat list: recording a step allocates no object of
        # its own (a tuple a step was most of what the garbage collector had to look at in a full run)
        self._rows: list = []
        self._add = self._rows.extend
        self._made: dict[int, Step] = {}      # place -> the Step made when it was first read (see _step)
        self._listeners: list[Callable[[Step], None]] = []
        #: ``length()``: how many steps there are, ``len(trace)`` (for a caller that asks once per log line)
        self.length = self.__len__
        #: the Lab that records into this trace (set by the Lab): a slice of the trace remembers it, so a widget
        #: given ``lab.trace[a:b]`` still finds the lab's log lines
        self.owner = None

    def emit(self, component: str, action: str, words: str, *values: Any, request_id: str | None = None,
             function: str | None = None, version: str | None = None, env_id: str | None = None,
             worker_id: str | None = None, **detail: Any) -> None:
        """Record one hop at the current virtual time (only in ``full`` mode; see the module docstring). Its place
        in the trace is ``len(trace)`` before the call (``trace[i]`` is the Step)."""
        if self.full:
            self._add((self._clock(), component, action, request_id, function, version, env_id, worker_id, words,
                       values, detail))
            if self._listeners:
                self._announce()

    def recorder(self, function: str | None, version: str | None, env_id: str | None, worker_id: str | None,
                 request_id_of: Callable[[], str | None] | None = None) -> Callable[..., None]:
        """``emit`` for a component whose Steps all carry the same ids (an execution environment): the returned
        ``emit(component, action, words, *values, request_id=None, **detail)`` records with them, in one call. A
        Step emitted without a request id takes ``request_id_of()``'s (a cold start belongs to the request it
        serves). Outside ``full`` mode it records nothing."""
        if not self.full:
            return _ignore
        add, clock, listeners, announce = self._add, self._clock, self._listeners, self._announce

        def emit(component: str, action: str, words: str, *values: Any, request_id: str | None = None,
                 **detail: Any) -> None:
            if request_id is None and request_id_of is not None:
                request_id = request_id_of()
            add((clock(), component, action, request_id, function, version, env_id, worker_id, words, values, detail))
            if listeners:
                announce()
        return emit

    def _announce(self) -> None:
        step = self._step(len(self._rows) // _WIDTH - 1)
        for listener in self._listeners:
            listener(step)

    def _step(self, i: int) -> Step:
        """The Step at place ``i`` (``0 <= i < len``), made from its recorded fields the first time it is read."""
        step = self._made.get(i)
        if step is None:
            k = i * _WIDTH
            t, component, action, request_id, function, version, env_id, worker_id, words, values, detail = \
                self._rows[k:k + _WIDTH]
            for key, value in detail.items():
                if type(value) is MethodType:     # a detail made when read (see the module docstring)
                    detail[key] = value()
            step = self._made[i] = Step((i, t, component, action, request_id, function, version, env_id, worker_id,
                                         detail, words, values))
        return step

    def attach_request_id(self, i: int, request_id: str) -> None:
        """The Step at place ``i`` belongs to ``request_id``, learnt after it was recorded (an event source's hop,
        recorded before the frontend gave its invoke an id). A Step not yet read stays unmade."""
        self._rows[i * _WIDTH + 3] = request_id
        step = self._made.get(i)
        if step is not None:
            step.request_id = request_id

    def subscribe(self, listener: Callable[[Step], None]) -> Callable[[], None]:
        """Call ``listener(step)`` for every new Step; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # the read side: a sequence of Steps
    def __len__(self) -> int:
        return len(self._rows) // _WIDTH

    def __getitem__(self, index):
        n = len(self._rows) // _WIDTH
        if isinstance(index, slice):
            return TraceSlice(map(self._step, range(*index.indices(n))), self.owner)
        index = operator.index(index)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("trace index out of range")
        return self._step(index)

    def __iter__(self) -> Iterator[Step]:
        i = 0
        # (steps recorded while iterating are read too, as a list's iterator does)
        while i * _WIDTH < len(self._rows):
            yield self._step(i)
            i += 1

    def __bool__(self) -> bool:
        return bool(self._rows)

    def filter(self, **criteria: Any) -> list[Step]:
        """Steps whose attributes equal every given value, e.g. ``filter(request_id=rid, component="function")``.

        A value may also be a tuple/set/list of accepted values.
        """
        for key in criteria:
            if key not in FIELDS:
                raise TypeError(f"unknown Step field {key!r}; fields are {', '.join(FIELDS)}")

        def keep(step: Step) -> bool:
            for key, want in criteria.items():
                have = getattr(step, key)
                if isinstance(want, (tuple, set, frozenset, list)):
                    if have not in want:
                        return False
                elif have != want:
                    return False
            return True

        return [s for s in self if keep(s)]

    def to_list(self) -> list[dict]:
        return [s.as_dict() for s in self]

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_list(), indent=indent, sort_keys=True, default=str)

    def to_perfetto(self, path):
        """Write the trace as Chrome trace-event JSON that ui.perfetto.dev opens (see ``engine.perfetto``)."""
        from . import perfetto
        return perfetto.write(self, path, end=getattr(self.owner, "now", None))

    def __repr__(self) -> str:
        return f"<Trace mode={self.mode} steps={len(self)}>"


def _ignore(*args: Any, **kwargs: Any) -> None:
    """What a ``recorder`` records outside ``full`` mode: nothing."""


class TraceSlice(list):
    """Steps cut from a Trace (``trace[a:b]``): a plain list that also knows the trace's ``owner`` (its Lab)."""

    def __init__(self, steps, owner=None) -> None:
        super().__init__(steps)
        self.owner = owner
