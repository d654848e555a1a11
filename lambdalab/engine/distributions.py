"""Seeded duration distributions for handler and init times.

A distribution is anything callable as ``dist(rng) -> seconds``; these classes are the named ones the labs use.
They draw from the lab's single ``random.Random`` so that a seed fixes every sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

__all__ = ["Fixed", "Exponential", "Uniform", "LogNormal", "as_distribution", "Distribution"]


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


Distribution = Union[Fixed, Exponential, Uniform, LogNormal, Callable]


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
