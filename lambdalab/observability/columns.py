"""The typed-array storage behind the counters (``observability.stats``): what keeps a long run's memory flat.

- ``Series``: one metric of one function, a data point a minute in a typed array from its first minute on.
- ``fold`` / ``percentiles``: durations past ``stats.EXACT_DURATIONS`` go into a histogram keyed by the top bits of
  each float (its sign, exponent and 10 mantissa bits: buckets 1/1024 of a power of two wide, read back as their
  middle, so within 0.05% of the exact order statistic); below that the percentiles are exact.
- ``Records``: per-invocation records (trace "summary" and "full") as columns, about 70 bytes a record.
"""
from __future__ import annotations

import math
from array import array

__all__ = ["Series", "Records", "fold", "percentiles"]

_KEEP_BITS = 42                 # a folded duration keeps its float's sign, exponent and top 10 mantissa bits


class Series:
    """One metric of one function: a data point a minute from its first minute on, in typed arrays (NaN: no data
    point that minute). ``values`` holds the Sum, the Maximum or the Average's sum; ``counts`` the Average's count.
    A metric only ever given whole numbers (counts) reads back as ints, as it was put.
    """
    __slots__ = ("statistic", "first", "values", "counts", "ints")

    def __init__(self, statistic: str) -> None:
        self.statistic = statistic
        self.first = 0
        self.values = array("d")
        self.counts = array("d") if statistic == "Average" else None
        self.ints = True

    def _index(self, minute: int) -> int:
        values = self.values
        if not values:
            self.first = minute
        i = minute - self.first
        if i < 0:                         # a point before the first one (a value put with an earlier time)
            self.values = values = array("d", [_NAN]) * -i + values
            if self.counts is not None:
                self.counts = array("d", [0.0]) * -i + self.counts
            self.first, i = minute, 0
        if i >= len(values):
            values.extend(array("d", [_NAN]) * (i + 1 - len(values)))
            if self.counts is not None:
                self.counts.extend(array("d", [0.0]) * (i + 1 - len(self.counts)))
        return i

    def set(self, minute: int, value: float, count: int = 0) -> None:
        if type(value) is not int:
            self.ints = False
        i = self._index(minute)
        self.values[i] = value
        if self.counts is not None:
            self.counts[i] = count

    def add(self, minute: int, value: float) -> None:
        """One value into its minute by the statistic (Sum: added, Maximum: the larger, Average: sum and count)."""
        if type(value) is not int:
            self.ints = False
        i = self._index(minute)
        values = self.values
        old = values[i]
        if old != old:                    # NaN: the minute's first value
            values[i] = value
        elif self.statistic == "Maximum":
            if value > old:
                values[i] = value
        else:
            values[i] = old + value
        if self.counts is not None:
            self.counts[i] += 1

    def points(self):
        """``(minute, [value] or [sum, count])`` for every minute with a data point, in order."""
        counts, ints = self.counts, self.ints
        for i, value in enumerate(self.values):
            if value == value:
                if ints:
                    value = int(value)
                yield self.first + i, ([value, int(counts[i])] if counts is not None else [value])


_NAN = math.nan


class Records:
    """Per-invocation records as columns of typed arrays (about 70 bytes a record instead of a tuple of eleven
    objects): the request id's 128 random bits as two 64-bit halves (an id given as text is kept aside), the
    function version and status as indexes into small tables, times and durations as doubles, the environment
    by its number. ``read()`` makes the dicts ``lab.invocations()`` returns."""

    FIELDS = ("request_id", "function", "version", "t_arrival", "t_start", "t_end", "cold", "status", "duration",
              "billed_ms", "env_id")

    def __init__(self) -> None:
        self.id_hi, self.id_lo = array("Q"), array("Q")
        self.id_text: dict[int, str] = {}          # record index -> request id, for ids that have no bits
        self.version = array("I")                  # index into self.versions: (function, version)
        self.versions: list[tuple[str, str]] = []
        self._version_index: dict = {}
        self.times = array("d")                    # t_arrival, t_start, t_end, duration: four per record
        self.cold = array("b")
        self.status = array("B")
        self.statuses: list[str] = []
        self._status_index: dict[str, int] = {}
        self.billed_ms = array("q")
        self.env = array("I")                      # e-<n> -> n (0: none)
        self.env_text: dict[int, str] = {}         # record index -> an environment id of another shape
        self._env_numbers: dict = {None: 0}        # environment id -> n (-1: another shape), parsed once each

    def append(self, inv, version) -> None:
        bits = inv.bits
        if bits is None:
            self.id_text[len(self.cold)] = inv.request_id
            bits = 0
        self.id_hi.append(bits >> 64)
        self.id_lo.append(bits & 0xFFFFFFFFFFFFFFFF)
        v = self._version_index.get(version)
        if v is None:
            v = self._version_index[version] = len(self.versions)
            self.versions.append((version.fs.name, version.snapshot.version))
        self.version.append(v)
        self.times.extend((inv.t_arrival, inv.t_start, inv.t_end, inv.duration))
        self.cold.append(inv.cold)
        s = self._status_index.get(inv.status)
        if s is None:
            s = self._status_index[inv.status] = len(self.statuses)
            self.statuses.append(inv.status)
        self.status.append(s)
        self.billed_ms.append(inv.billed_ms)
        env_id = inv.env_id
        number = self._env_numbers.get(env_id)
        if number is None:
            number = self._env_numbers[env_id] = int(env_id[2:]) if env_id[:2] == "e-" and env_id[2:].isdigit() \
                else -1
        if number < 0:                                # (an id the Worker Manager did not number)
            self.env_text[len(self.env)] = env_id
            number = 0
        self.env.append(number)

    def __len__(self) -> int:
        return len(self.cold)

    def read(self, function: str | None = None) -> list[dict]:
        from ..invocation import uuid_text
        out = []
        times, versions, statuses, id_text = self.times, self.versions, self.statuses, self.id_text
        for i in range(len(self.cold)):
            name, version = versions[self.version[i]]
            if function is not None and name != function:
                continue
            rid = id_text.get(i)
            if rid is None:
                rid = uuid_text((self.id_hi[i] << 64) | self.id_lo[i])
            env = self.env_text.get(i) or (f"e-{self.env[i]}" if self.env[i] else None)
            out.append(dict(zip(self.FIELDS, (rid, name, version, times[4 * i], times[4 * i + 1], times[4 * i + 2],
                                              bool(self.cold[i]), statuses[self.status[i]], times[4 * i + 3],
                                              self.billed_ms[i], env))))
        return out


def fold(values: array, folded):
    """``values`` added to a histogram ``folded`` (None or (keys, counts), sorted numpy arrays): a duration's
    bucket is its float's bits with the low mantissa bits cleared (durations are never negative)."""
    import numpy as np
    keys = np.frombuffer(values, dtype=np.float64).view(np.int64) >> _KEEP_BITS if values else \
        np.zeros(0, dtype=np.int64)
    counts = np.ones(len(keys), dtype=np.int64)
    if folded is not None:
        keys, counts = np.concatenate((folded[0], keys)), np.concatenate((folded[1], counts))
    unique, where = np.unique(keys, return_inverse=True)
    return unique, np.bincount(where, weights=counts, minlength=len(unique)).astype(np.int64)


def percentiles(groups, qs) -> list[float]:
    """Nearest-rank percentiles of the values of ``groups`` ((exact values, folded histogram or None) pairs):
    exact while nothing was folded, else from the histogram (each bucket read as its middle)."""
    if all(folded is None for _, folded in groups):
        values = array("d")
        for exact, _ in groups:
            values.extend(exact)
        if not values:
            return [0.0 for _ in qs]
        ordered = sorted(values)
        n = len(ordered)
        return [ordered[min(n - 1, max(0, math.ceil(q * n) - 1))] for q in qs]
    import numpy as np
    folded = None
    for exact, part in groups:
        if part is not None:
            folded = part if folded is None else fold(array("d"), (np.concatenate((folded[0], part[0])),
                                                                     np.concatenate((folded[1], part[1]))))
        if exact:
            folded = fold(exact, folded)
    keys, counts = folded
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    middle = np.int64(1) << np.int64(_KEEP_BITS - 1)
    out = []
    for q in qs:
        i = int(np.searchsorted(cumulative, min(n, max(1, math.ceil(q * n)))))
        bits = (keys[i:i + 1] << np.int64(_KEEP_BITS)) | middle
        out.append(float(bits.view(np.float64)[0]))
    return out
