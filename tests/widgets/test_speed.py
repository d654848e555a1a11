"""Stepping costs the same near the start and near the end of a long trace."""
from __future__ import annotations

import statistics
import time

from lambdalab.widgets import Stepper

from .synthetic import long_trace


def _step_times(stepper: Stepper, start: int, count: int = 40) -> float:
    stepper.goto(start)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        stepper.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_ten_thousand_steps_step_in_constant_time():
    trace = long_trace(10_000, environments=400, workers=40)
    assert len(trace) >= 10_000
    stepper = Stepper(trace)
    _step_times(stepper, 500, 10)  # warm up caches (fonts, stamps)
    early = min(_step_times(stepper, 10) for _ in range(2))
    late = min(_step_times(stepper, 9_000) for _ in range(2))
    assert stepper.position == 9_040
    assert late < 3 * early + 0.005, (early, late)


def test_far_jumps_are_cheap():
    trace = long_trace(10_000, environments=400, workers=40)
    stepper = Stepper(trace)
    stepper.goto(9_500)
    t0 = time.perf_counter()
    for position in (100, 9_900, 5_000, 20, 9_999):
        stepper.goto(position)
    assert (time.perf_counter() - t0) / 5 < 0.5
    assert stepper.current is trace[9_999]
