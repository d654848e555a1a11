"""The Azure Functions 2019 trace (Shahrad et al., ATC'20), read into something ``lab.replay`` can play.

The trace gives, per function, the number of invocations in each minute of a day, a few percentiles of its
execution time, and per app the memory it had allocated. It does not say when in a minute each invocation
came, how long each one ran, or how long cold starts took; a replay needs all three, so we decide them, each
from a stream of random numbers seeded by the replay's seed and the function's hash alone (never shared with
another function, so a function's replay does not depend on which other functions share the Lab):

- **Arrivals within a minute:** the minute's ``n`` invocations arrive at ``n`` independent uniform times in the
  minute, in order. That is exactly how a Poisson process with any rate falls in a minute given that it
  had ``n`` events, so it adds no pattern of its own to the per-minute counts.
- **Durations:** each invocation draws from the function's percentile curve, linear between the points the
  trace gives (0th, 1st, 25th, 50th, 75th, 99th and 100th). The trace's percentiles are of 30-second averages,
  which narrows the tails a little (the trace's README says so). Lambda stops a function at 900 s; the few
  functions of the sample that run longer time out there, as they would on Lambda.
- **Memory:** Lambda's MemorySize is the app's average allocated memory, rounded, within Lambda's 128 MB -
  10,240 MB (Azure's figure is committed memory, not a configured size).
- **Init:** not in the trace; every cold start takes the cost model's typical Python Init (``lab.replay``).

The sample in the package (``path_or_dir=None``) is the vHive invitro project's 1,000 functions of day 1;
``path_or_dir`` may also name a day of the full dataset (``invocations_per_function_md.anon.d01.csv`` and its
two companion files). Data: Azure Public Dataset, CC BY 4.0; cite the paper (see ``data/azure2019/README.md``).
"""
from __future__ import annotations

import bisect
import csv
import gzip
import pathlib
import random
from array import array
from dataclasses import dataclass, field

__all__ = ["azure2019", "timer", "Trace", "TraceFunction", "PercentileDuration", "SAMPLE"]

SAMPLE = pathlib.Path(__file__).resolve().parent / "data" / "azure2019" / "1000_inv.csv.gz"
LAMBDA_MEMORY = (128, 10240)            # MemorySize bounds (MB)
DURATION_POINTS = (("percentile_Average_0", 0.0), ("percentile_Average_1", 0.01), ("percentile_Average_25", 0.25),
                   ("percentile_Average_50", 0.50), ("percentile_Average_75", 0.75),
                   ("percentile_Average_99", 0.99), ("percentile_Average_100", 1.0))
# the companions of an invocation-count file: (its name's marker, the durations file's, the memory file's)
_COMPANIONS = (("_inv", "_run", "_mem"),
               ("invocations_per_function_md", "function_durations_percentiles", "app_memory_percentiles"))


class PercentileDuration:
    """A duration distribution given by percentiles (ms), drawn from its own seeded stream.

    The curve is linear between the given points. A draw interpolates in a table of the curve at every whole
    percent, which is the curve itself when the points fall on whole percents (the trace's do: 0, 1, 25, 50,
    75, 99, 100) and costs one multiplication instead of a search. ``dist(rng)`` ignores the lab's RNG on
    purpose: a trace function's durations must not depend on the other functions replayed in the same Lab (so
    a replay sharded by app gives the same numbers as one in one piece).
    """
    __slots__ = ("qs", "seconds", "mean", "_table", "_stream")

    def __init__(self, points, stream: str) -> None:
        points = sorted(points)
        self.qs = [q for q, _ in points]
        self.seconds = [max(0.0, ms) / 1000.0 for _, ms in points]
        # the mean of the piecewise-linear curve: the average of each segment, weighted by its probability
        self.mean = sum((q1 - q0) * (s0 + s1) / 2 for q0, q1, s0, s1 in
                        zip(self.qs, self.qs[1:], self.seconds, self.seconds[1:]))
        self._table = [self.quantile(k / 100) for k in range(101)]
        # the stream itself, not its bound random(): copy.deepcopy takes a builtin method as atomic, so a copy
        # would share (and move) the original's stream; a Random pickles and copies with its position
        self._stream = random.Random(stream)

    def quantile(self, u: float) -> float:
        qs, s = self.qs, self.seconds
        i = bisect.bisect_right(qs, u)
        if i >= len(qs):
            return s[-1]
        if i == 0:
            return s[0]
        q0, q1 = qs[i - 1], qs[i]
        return s[i - 1] + (s[i] - s[i - 1]) * (u - q0) / (q1 - q0)

    def __call__(self, rng=None) -> float:
        return self.own_draw()

    def own_draw(self) -> float:
        """A draw from this curve's own stream (what ``engine.distributions.draw_from`` calls per invoke)."""
        u = self._stream.random() * 100.0
        k = int(u)
        table = self._table
        low = table[k]
        return low + (table[k + 1] - low) * (u - k)


@dataclass(eq=False)
class TraceFunction:
    """One function of the trace: its per-minute invocation counts and what the replay makes of it."""
    name: str                    # the Lambda function name the replay creates
    function_hash: str
    app_hash: str
    owner_hash: str
    counts: array = field(repr=False)     # invocations in each minute of the trace (``Trace.minutes``)
    duration_points: tuple = field(repr=False)   # ((quantile, ms), ...) from the durations file
    memory_mb: int = 128         # Lambda MemorySize
    allocated_mb: float = 0.0    # the app's average allocated memory in the trace
    trigger: str | None = None   # the full dataset's trigger group (the sample has none)

    @property
    def invocations(self) -> int:
        return sum(self.counts)

    def durations(self, seed) -> PercentileDuration:
        """This function's duration distribution for a replay with ``seed``."""
        return PercentileDuration(self.duration_points, f"azure2019-duration-{seed}-{self.function_hash}")

    def arrivals(self, seed, start: float = 0.0):
        """Arrival times (seconds from ``start``) in order: each minute's count spread uniformly in the minute."""
        uniform = random.Random(f"azure2019-arrivals-{seed}-{self.function_hash}").random
        for minute, n in enumerate(self.counts):
            if n:
                base = start + minute * 60.0
                for u in sorted([uniform() for _ in range(n)]):
                    yield base + 60.0 * u


@dataclass(eq=False)
class Trace:
    """A day (or part of one) of a function trace: ``functions`` over ``minutes`` (0-based minutes of the day)."""
    functions: list
    minutes: range
    source: str
    dropped: int = 0             # functions of the file left out for want of duration or memory data
    by_name: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.functions}

    @property
    def invocations(self) -> int:
        return sum(f.invocations for f in self.functions)

    @property
    def duration(self) -> float:
        """Seconds of trace."""
        return 60.0 * len(self.minutes)

    def per_minute(self) -> list[int]:
        totals = [0] * len(self.minutes)
        for f in self.functions:
            for i, n in enumerate(f.counts):
                totals[i] += n
        return totals

    def shard(self, index: int, count: int) -> "Trace":
        """The apps whose hash falls in shard ``index`` of ``count`` (an app's functions stay together)."""
        if not 0 <= index < count:
            raise ValueError(f"shard index must be in 0..{count - 1}")
        chosen = [f for f in self.functions if int(f.app_hash[:12], 16) % count == index]
        return Trace(chosen, self.minutes, f"{self.source} [shard {index + 1} of {count}]")

    def __len__(self) -> int:
        return len(self.functions)

    def __repr__(self) -> str:
        first, last = self.minutes.start, self.minutes.stop - 1
        return (f"<Trace {self.source}: {len(self.functions):,} functions, {self.invocations:,} invocations, "
                f"minutes {first + 1}-{last + 1} of the day>")


def azure2019(path_or_dir=None, *, functions=None, minutes=None) -> Trace:
    """Read a day of the Azure Functions 2019 trace (default: the 1,000-function sample in the package).

    ``functions``: None for all; an int ``n`` for ``n`` functions spread evenly over the ranking by
    invocations (the busiest, the quietest and the range between); a callable ``keep(function) -> bool``
    (e.g. ``lambda f: f.invocations <= 2000``); or names / hashes to keep. ``minutes``:
    None for the whole day; an int ``n`` for the first ``n`` minutes; a ``range`` or ``slice`` of 0-based
    minutes. Functions with no invocation in the chosen minutes are left out.
    """
    inv_path = _invocations_file(path_or_dir)
    run_path, mem_path = _companions(inv_path)
    durations = {row["HashFunction"]: row for row in _read(run_path)}
    memory = {(row["HashOwner"], row["HashApp"]): row for row in _read(mem_path)}
    chosen, dropped = [], 0
    with _open(inv_path) as text:
        # row by row, as lists: a day of the full dataset has tens of thousands of rows of 1,440 counts
        reader = csv.reader(text)
        header = next(reader, [])
        at = {name: i for i, name in enumerate(header)}
        minute_columns = [i for i, c in enumerate(header) if c.isdigit() or c.startswith("minute_")]
        span = _minutes(minutes, len(minute_columns))
        columns = minute_columns[span.start:span.stop]
        trigger = at.get("Trigger")
        for values in reader:
            function, app, owner = (values[at[k]] for k in ("HashFunction", "HashApp", "HashOwner"))
            run = durations.get(function)
            mem = memory.get((owner, app))
            if run is None or mem is None:
                dropped += 1
                continue
            counts = array("I", (int(values[c] or 0) for c in columns))
            if not any(counts):
                continue
            allocated = float(mem["AverageAllocatedMb"])
            chosen.append(TraceFunction(
                name="", function_hash=function, app_hash=app, owner_hash=owner, counts=counts,
                duration_points=tuple((q, float(run[c])) for c, q in DURATION_POINTS),
                memory_mb=min(LAMBDA_MEMORY[1], max(LAMBDA_MEMORY[0], round(allocated))), allocated_mb=allocated,
                trigger=values[trigger] if trigger is not None else None))
    _name(chosen)
    chosen = _select(chosen, functions)
    source = "azure2019 sample" if path_or_dir is None else f"azure2019 {inv_path.name}"
    return Trace(chosen, span, source, dropped)


def timer(every: int = 15, *, memory_mb: int = 256, duration_ms: float = 1000.0, minutes: int = 1440,
          name: str = "timer") -> Trace:
    """A one-function trace in the same shape: a timer trigger firing every ``every`` minutes from minute 0 (each
    firing at a uniform time within its minute, as the trace's rule spreads them), each run ``duration_ms``.
    Timer triggers are common in the trace, and the easiest pattern for a keep-alive policy to learn."""
    if not 1 <= every <= minutes:
        raise ValueError("every must be between 1 and minutes")
    counts = array("I", (1 if m % every == 0 else 0 for m in range(minutes)))
    fn = TraceFunction(name=name, function_hash=name, app_hash=name, owner_hash=name, counts=counts,
                       duration_points=((0.0, duration_ms), (1.0, duration_ms)), memory_mb=memory_mb,
                       allocated_mb=float(memory_mb), trigger="timer")
    return Trace([fn], range(minutes), f"a timer every {every} min")


def _open(path: pathlib.Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read(path: pathlib.Path) -> list[dict]:
    with _open(path) as text:
        return list(csv.DictReader(text))


def _invocations_file(path_or_dir) -> pathlib.Path:
    if path_or_dir is None:
        return SAMPLE
    path = pathlib.Path(path_or_dir)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no trace file or directory at {path}")
    found = sorted(p for p in path.iterdir() if any(marks[0] in p.name for marks in _COMPANIONS)
                   and ".csv" in p.name)
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ValueError(f"{path} must hold exactly one invocation-count file (found: {names}); "
                         "name the file of the day you want")
    return found[0]


def _companions(inv: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    for mark, run, mem in _COMPANIONS:
        if mark in inv.name:
            run_path, mem_path = (inv.with_name(inv.name.replace(mark, other)) for other in (run, mem))
            for p in (run_path, mem_path):
                if not p.exists():
                    raise FileNotFoundError(f"{inv.name} needs its companion {p.name} in the same directory")
            return run_path, mem_path
    raise ValueError(f"{inv.name} is not an invocation-count file of the trace (*_inv.csv[.gz] or "
                     "invocations_per_function_md.anon.dNN.csv)")


def _minutes(minutes, total: int) -> range:
    if minutes is None:
        return range(total)
    if isinstance(minutes, int):
        if not 0 < minutes <= total:
            raise ValueError(f"minutes must be between 1 and {total}")
        return range(minutes)
    if isinstance(minutes, slice):
        minutes = range(*minutes.indices(total))
    if isinstance(minutes, range) and minutes.step == 1 and 0 <= minutes.start < minutes.stop <= total:
        return minutes
    raise ValueError(f"minutes must be None, a count, or a contiguous range/slice within 0..{total}")


def _name(functions: list) -> None:
    """Lambda names from the hashes: the shortest prefix (at least 8 hex digits) that keeps them unique."""
    width = 8
    while len({f.function_hash[:width] for f in functions}) < len(functions):
        width += 2
    for f in functions:
        f.name = f"fn-{f.function_hash[:width]}"


def _select(functions: list, which) -> list:
    if which is None:
        return functions
    if callable(which):
        return [f for f in functions if which(f)]
    if isinstance(which, int):
        if which <= 0:
            raise ValueError("functions must be a positive count")
        ranked = sorted(functions, key=lambda f: (-f.invocations, f.function_hash))
        if which >= len(ranked):
            return functions
        picks = {round(i * (len(ranked) - 1) / (which - 1)) for i in range(which)} if which > 1 else {0}
        keep = {id(ranked[i]) for i in picks}
        return [f for f in functions if id(f) in keep]
    wanted = set(which)
    chosen = [f for f in functions if f.name in wanted or f.function_hash in wanted]
    if len(chosen) < len(wanted):
        known = {f.name for f in chosen} | {f.function_hash for f in chosen}
        missing = sorted(wanted - known)
        raise KeyError(f"not in the trace (or no invocation in the chosen minutes): {', '.join(missing[:5])}")
    return chosen
