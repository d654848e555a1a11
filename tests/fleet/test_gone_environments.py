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
