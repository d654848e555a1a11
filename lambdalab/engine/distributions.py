"""Seeded duration distributions for handler and init times.

A distribution is anything callable as ``dist(rng) -> seconds``; these classes are the named ones the labs use.
They draw from the lab's single ``random.Random`` so that a seed fixes every sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

__all__ = ["Fixed", "Exponential", "Uniform", "LogNormal", "CpuBound", "cpu_share", "as_distribution", "draw_from",
           "Distribution"]


@dataclass(frozen=True)
class Fixed:
    """Always ``seconds``."""
    seconds: float

    def __call__(self, rng) -> float:
        return self.seconds

    @property
    def mean(self) -> float:
        return self.seconds


@dataclass(frozen=True)
class Exponential:
    """Exponential with the given mean (seconds)."""
    mean: float

    def __call__(self, rng) -> float:
        return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0


@dataclass(frozen=True)
class Uniform:
    """Uniform on [lo, hi] seconds."""
    lo: float
    hi: float

    def __call__(self, rng) -> float:
        return rng.uniform(self.lo, self.hi)

    @property
    def mean(self) -> float:
        return (self.lo + self.hi) / 2


@dataclass(frozen=True)
class LogNormal:
    """Log-normal with the given median (seconds) and shape ``sigma``: long right tail, like real latencies."""
    median: float
    sigma: float = 0.5

    def __call__(self, rng) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma ** 2 / 2)


MB_PER_VCPU = 1769          # Lambda gives a function one vCPU's worth of CPU at 1,769 MB (REFERENCE.md §4)
MAX_VCPUS = 6.0


def cpu_share(memory_mb: int) -> float:
    """vCPUs a function gets: memory / 1,769 MB, at most 6."""
    return min(MAX_VCPUS, memory_mb / MB_PER_VCPU)


@dataclass(frozen=True)
class CpuBound:
    """CPU work that takes ``seconds`` on one whole vCPU, spread over ``threads`` threads.

    Lambda allocates CPU in proportion to memory (one vCPU at 1,769 MB, at most 6), so the same work takes
    ``seconds / min(threads, memory / 1,769)``: below 1,769 MB even one thread runs slower, and above it extra
    vCPUs help only code that uses more threads. A function version binds it to its own MemorySize
    (``at(memory)``), so changing the memory changes the duration.
    """
    seconds: float
    threads: int = 1

    def __post_init__(self) -> None:
        if not self.seconds >= 0:
            raise ValueError("CpuBound seconds must be >= 0")
        if not (isinstance(self.threads, int) and self.threads >= 1):
            raise ValueError("CpuBound threads must be a whole number >= 1")

    def at(self, memory_mb: int) -> "CpuBoundAt":
        return CpuBoundAt(self, memory_mb, self.seconds / min(self.threads, cpu_share(memory_mb)))

    def __call__(self, rng) -> float:
        raise TypeError("CpuBound depends on the function's memory: pass it as duration= or init_duration= of a "
                        "function (each version binds it to its MemorySize)")


@dataclass(frozen=True)
class CpuBoundAt:
    """``CpuBound`` work at one memory size: always ``seconds``."""
    work: CpuBound
    memory_mb: int
    seconds: float

    def at(self, memory_mb: int) -> "CpuBoundAt":
        return self.work.at(memory_mb)

    def __call__(self, rng) -> float:
        return self.seconds

    @property
    def mean(self) -> float:
        return self.seconds


Distribution = Union[Fixed, Exponential, Uniform, LogNormal, CpuBound, Callable]


def as_distribution(value) -> Callable | None:
    """Accept None, a number of seconds, a distribution or a callable ``rng -> seconds``."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return Fixed(float(value))
    if callable(value):
        return value
    raise TypeError(f"expected seconds, a distribution (ll.Fixed, ll.Exponential, ...) or a callable, got {value!r}")


def draw_from(dist, rng) -> Callable[[], float] | None:
    """``lambda: dist(rng)`` for code that draws from one distribution many times (an environment's modelled
    duration): the same numbers from the same RNG, with the exponential's draw written out as
    ``random.expovariate`` does it (``-log(1 - random()) / rate``), which saves two calls per draw. A distribution
    that ignores ``rng`` (it has a stream of its own) may offer ``own_draw()``, which is then called directly."""
    if dist is None:
        return None
    if type(dist) is Exponential and dist.mean > 0:
        rate, random, log = 1.0 / dist.mean, rng.random, math.log
        return lambda: -log(1.0 - random()) / rate
    if type(dist) is Fixed:
        seconds = dist.seconds
        return lambda: seconds
    own = getattr(dist, "own_draw", None)      # one that draws from a random stream of its own (a trace's curve)
    if own is not None:
        return own
    return lambda: dist(rng)
