"""The notebook progress bar for long bulk runs (lambdalab.observability.progress)."""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.observability import progress


def bulk_lab() -> ll.Lab:
    lab = ll.Lab(seed=9, trace="off")
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(1.991), init_duration=ll.Exponential(0.25))
    lab.poisson("f", 0.9, count=20_000)
    return lab


def test_outside_a_kernel_there_is_no_bar():
    assert not progress.in_kernel()
    assert progress.hook(bulk_lab(), 100.0) is None


def test_bar_appears_after_a_second_of_wall_time_and_tracks_virtual_time():
    pytest.importorskip("ipywidgets")
    lab = bulk_lab()
    ticks = iter(range(10**9))
    fake_clock = lambda: next(ticks) * 0.2           # noqa: E731  each wall-clock read "takes" 200 ms
    shown = []
    until = lab.now + 20_000
    watcher = progress.RunProgress(lab.engine, until, clock=fake_clock, display=shown.append)
    lab.engine.run(until=until, tick=watcher)
    assert len(shown) == 1                            # displayed once, then updated in place
    mid = watcher.bar.value
    assert 0 < mid <= 1000
    watcher.close()
    assert watcher.bar.value == 1000 and watcher.bar.description == "done"
    assert watcher.events > 20_000                    # arrivals, completions and idle expiries
    assert "virtual t = " in watcher.label.value and "events/s" in watcher.label.value


def test_a_short_run_shows_nothing_and_watching_changes_no_result():
    watched, plain = bulk_lab(), bulk_lab()
    frozen_clock = lambda: 0.0                         # noqa: E731  the run "takes" no wall time at all
    watcher = progress.RunProgress(watched.engine, None, clock=frozen_clock, display=lambda w: pytest.fail("shown"))
    watched.engine.run(tick=watcher)
    watcher.close()
    plain.run()
    assert watcher.widget is None
    assert watched.stats() == plain.stats()
