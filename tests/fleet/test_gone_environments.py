"""A gone environment is freed at once: bulk runs hold back full garbage collections, so an environment kept
alive by its own reference cycles would stay until the end of a long run (a day of trace replay makes ~200,000)."""
from __future__ import annotations

import gc
import weakref

import pytest

import lambdalab as ll


@pytest.mark.parametrize("mode", ["off", "full"])
def test_a_reclaimed_environment_is_freed_without_a_garbage_collection(mode):
    lab = ll.Lab(seed=0, trace=mode, idle_timeout=10)
    lab.create_function("f", None, duration=ll.Fixed(1.0))
    lab.poisson("f", 1.0, count=1)
    lab.advance(5)
    (env,) = lab.fleet.environments.values()
    gone = weakref.ref(env)
    del env
    enabled = gc.isenabled()
    gc.disable()
    try:
        lab.run()
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
    assert lab.stats("f")["invocations"] == 1


def test_retiring_a_version_reclaims_its_idle_pool_once_without_rearming_its_sweep(monkeypatch):
    """$LATEST replaced under 300 idle environments: every one is reclaimed at once, the next request starts cold,
    and the pool's idle sweep is withdrawn once, not put back on the heap for each environment it reclaims (which
    made emptying a pool quadratic in its idle environments)."""
    from lambdalab.engine.clock import Engine

    placed = []
    place = Engine.place
    monkeypatch.setattr(Engine, "place", lambda self, *a: placed.append(a[0]) or place(self, *a))
    lab = ll.Lab(seed=0, trace="off", idle_timeout=100)
    lab.create_function("f", None, duration=ll.Fixed(1.0))
    for _ in range(300):
        lab.submit(FunctionName="f")
    lab.advance(5)
    assert lab.fleet.statistics().idle == 300
    assert len(placed) == 1                       # one armed expiry for the whole pool
    lab.control_plane.update_function_configuration(FunctionName="f", Timeout=10)
    lab.advance(5)
    assert len(placed) == 1
    assert lab.fleet.statistics().idle == 0 and not lab.fleet.environments
    lab.submit(FunctionName="f")
    lab.run()
    stats = lab.stats("f")
    assert stats["invocations"] == 301 and stats["cold_starts"] == 301
