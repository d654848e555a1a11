"""Keep-alive policies: how long an idle execution environment is kept, and when to warm one up again.

After an invoke Lambda keeps the environment frozen for a while in case another request comes; a request
that finds none starts cold. AWS keeps idle environments for some minutes it does not publish (the lab's
``idle_timeout``, ``Fixed(600)`` by default). Shahrad et al. (USENIX ATC'20, "Serverless in the Wild") showed
on the Azure Functions trace that a policy that learns each app's idle times gives fewer cold starts for the
same memory. A policy here is an object the Worker Manager asks, per function (an "app" in the paper):

``on_idle(function, now) -> (prewarm, keep_alive)``
    An environment of ``function`` has just gone idle (its invoke is over). ``prewarm == 0``: keep it idle for
    ``keep_alive`` seconds, then shut it down. ``prewarm > 0``: the policy expects no request for ``prewarm``
    seconds, so the environment is shut down now; if it was the function's last one, a new environment is
    initialised ``prewarm`` seconds from now (a pre-warm: Init with no request waiting) and kept idle for
    ``keep_alive`` seconds once ready. A plain number means ``(0, number)``.
``on_invoke(function, now, idle)`` (optional)
    A request of ``function`` arrived at ``now``. ``idle`` is how long the function had been idle: seconds
    since its last invocation ended when none was running, 0.0 when one was still running, None for its
    first request. Policies that learn use it; the Worker Manager calls it only if the class defines it.

Keep-alive decides what happens to a function's idle environments; it cannot prevent a scale-out cold start
(a request arriving while every environment of the function is busy). Compare policies as the paper does:
per function, the share of its requests that started cold (the distribution over functions, e.g. the 75th
percentile function), against the memory held by idle environments (``wasted_memory_gb_seconds`` in
``lab.stats()``).

``HybridHistogram`` is the paper's hybrid policy, simplified where said: per function, a histogram of idle
times in 1-minute bins over a 4-hour range; when it is representative, pre-warm at its 5th percentile (minus a
10% margin) and keep alive until its 99th percentile (plus 10%); when it is not (too few idle times, or a
coefficient of variation of the bin counts below 2: no clear pattern), keep alive for the whole range with no
pre-warm; when most idle times are longer than the range, the paper forecasts the next one with ARIMA: we use
the last such idle time as the forecast (ARIMA(0,1,0), a random walk) and keep a window of +-15% around it.
The policy object holds what it learnt: use a new one for each run you compare.
"""
from __future__ import annotations

import math

__all__ = ["KeepAlivePolicy", "Fixed", "HybridHistogram"]


class KeepAlivePolicy:
    """Base class of keep-alive policies (see the module docstring). Subclass it and define ``on_idle``."""

    def on_idle(self, function: str, now: float):
        raise NotImplementedError("a keep-alive policy defines on_idle(function, now) -> (prewarm, keep_alive)")

    def on_invoke(self, function: str, now: float, idle: float | None) -> None:
        """Told of every request (only if a subclass defines it)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def windows(policy, function: str, now: float) -> tuple[float, float]:
    """``policy.on_idle(function, now)`` as a checked (prewarm, keep_alive) pair of seconds."""
    answer = policy.on_idle(function, now)
    try:
        # (unpacked, then converted: the Worker Manager asks at every release, and a generator costs a frame)
        prewarm, keep_alive = (0.0, answer) if isinstance(answer, (int, float)) else answer
        prewarm, keep_alive = float(prewarm), float(keep_alive)
    except (TypeError, ValueError):
        raise TypeError(f"{policy!r}.on_idle() must return keep_alive seconds or (prewarm, keep_alive), "
                        f"got {answer!r}") from None
    if not (0.0 <= prewarm < math.inf) or not keep_alive >= 0.0:
        raise ValueError(f"{policy!r}.on_idle() returned prewarm={prewarm}, keep_alive={keep_alive}: both must be "
                         "at least 0, and prewarm finite")
    return prewarm, keep_alive


def learns(policy) -> bool:
    """Does the policy want ``on_invoke`` calls (does its class define its own)?"""
    return getattr(type(policy), "on_invoke", KeepAlivePolicy.on_invoke) is not KeepAlivePolicy.on_invoke


class Fixed(KeepAlivePolicy):
    """Every idle environment is kept ``seconds``, then shut down: the lab's ``idle_timeout``."""

    def __init__(self, seconds: float = 600.0) -> None:
        if not seconds >= 0:
            raise ValueError("a keep-alive cannot be negative")
        self.seconds = float(seconds)

    def on_idle(self, function: str, now: float) -> tuple[float, float]:
        return 0.0, self.seconds

    def __repr__(self) -> str:
        return f"Fixed({self.seconds:g})"


class _Percentile:
    """The bin holding the ``p`` quantile of a histogram, kept up to date as samples arrive (O(1) moves)."""
    __slots__ = ("p", "index", "cum")

    def __init__(self, p: float) -> None:
        self.p = p
        self.index = 0            # the smallest bin i with cum(i) >= p * total
        self.cum = 0              # cum(index): samples in bins 0..index

    def add(self, bins: list, b: int, total: int) -> None:
        if b <= self.index:
            self.cum += 1
        target = self.p * total
        i, cum = self.index, self.cum
        while i > 0 and cum - bins[i] >= target:
            cum -= bins[i]
            i -= 1
        while cum < target:
            i += 1
            cum += bins[i]
        self.index, self.cum = i, cum


class _History:
    """One function's idle times: the histogram, its spread, and what fell beyond the range."""
    __slots__ = ("bins", "total", "squares", "outside", "last_outside", "head", "tail")

    def __init__(self, n_bins: int, head: float, tail: float) -> None:
        self.bins = [0] * n_bins
        self.total = 0            # idle times inside the range
        self.squares = 0          # sum of squared bin counts (for the coefficient of variation)
        self.outside = 0          # idle times longer than the range
        self.last_outside = 0.0
        self.head = _Percentile(head)
        self.tail = _Percentile(tail)

    def add(self, b: int) -> None:
        bins = self.bins
        self.squares += 2 * bins[b] + 1
        bins[b] += 1
        self.total += 1
        self.head.add(bins, b, self.total)
        self.tail.add(bins, b, self.total)

    def cv(self) -> float:
        n = len(self.bins)
        mean = self.total / n
        variance = max(0.0, (self.squares - self.total * mean) / (n - 1))
        return math.sqrt(variance) / mean if mean else 0.0


class HybridHistogram(KeepAlivePolicy):
    """The hybrid histogram policy of Shahrad et al. (ATC'20), simplified as the module docstring says.

    ``range``: seconds of idle time the histogram covers (4 h), in bins of ``bin`` seconds (1 min);
    ``head``/``tail``: the percentiles that set the pre-warm and keep-alive windows (5th, 99th);
    ``margin``: widens the window by this share on each side (10%); ``cv_threshold``: below this coefficient
    of variation of the bin counts the histogram shows no pattern (2); ``min_idle_times``: fewer idle times
    than this are too little history (ours: the paper relies on the CV test alone); ``oob_threshold``: the
    share of idle times beyond the range above which the forecast takes over (0.5); ``forecast_margin``:
    the window around the forecast (15%).
    """

    def __init__(self, range: float = 4 * 3600, bin: float = 60, *, head: float = 0.05, tail: float = 0.99,
                 margin: float = 0.10, cv_threshold: float = 2.0, min_idle_times: int = 10,
                 oob_threshold: float = 0.5, forecast_margin: float = 0.15) -> None:
        if not (0 < bin <= range):
            raise ValueError("need 0 < bin <= range")
        if not (0 <= head <= tail <= 1):
            raise ValueError("need 0 <= head <= tail <= 1")
        self.range, self.bin = float(range), float(bin)
        self.n_bins = max(1, round(range / bin))
        self.head, self.tail, self.margin = head, tail, margin
        self.cv_threshold, self.min_idle_times = cv_threshold, min_idle_times
        self.oob_threshold, self.forecast_margin = oob_threshold, forecast_margin
        self.histories: dict[str, _History] = {}

    def on_invoke(self, function: str, now: float, idle: float | None) -> None:
        if idle is None:
            return
        h = self.histories.get(function)
        if h is None:
            h = self.histories[function] = _History(self.n_bins, self.head, self.tail)
        b = int(idle // self.bin)
        if b < self.n_bins:
            h.add(b)
        else:
            h.outside += 1
            h.last_outside = idle

    def pattern(self, function: str) -> str:
        """What the policy makes of the function's history: "none" (too little or no pattern: the fallback),
        "histogram" or "forecast" (most idle times beyond the range)."""
        h = self.histories.get(function)
        if h is None or h.total + h.outside < self.min_idle_times:
            return "none"
        if h.outside >= self.oob_threshold * (h.total + h.outside):
            return "forecast"
        if h.cv() < self.cv_threshold:
            return "none"
        return "histogram"

    def on_idle(self, function: str, now: float) -> tuple[float, float]:
        kind = self.pattern(function)
        if kind == "none":
            return 0.0, self.range
        h = self.histories[function]
        if kind == "forecast":
            guess = h.last_outside
            return guess * (1 - self.forecast_margin), 2 * self.forecast_margin * guess
        prewarm = h.head.index * self.bin * (1 - self.margin)
        until = (h.tail.index + 1) * self.bin * (1 + self.margin)
        return prewarm, until - prewarm

    def __repr__(self) -> str:
        return f"HybridHistogram(range={self.range:g}, bin={self.bin:g})"
