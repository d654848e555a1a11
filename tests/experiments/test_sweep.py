"""ll.sweep: rows in grid order with the same values whatever runs them; failures stay in their row."""
from __future__ import annotations

import concurrent.futures as cf
import os
import sys

import pytest

import lambdalab as ll
from lambdalab.sweep import WORKER_DIED, _Progress


class Inline(cf.Executor):
    """Runs each call at once, in this process: the serial reference."""

    def submit(self, fn, *args, **kwargs):
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def simulate(params, seed):
    """A real (small) Lab run: its floats must come back bit for bit from any executor."""
    lab = ll.Lab(seed=seed, trace="off", idle_timeout=params["keep_alive"])
    lab.create_function("f", None, duration=ll.Exponential(params["mean"]))
    lab.poisson("f", 0.5, count=400)
    lab.run()
    s = lab.stats()
    return {"p_cold": s["p_cold"], "avg_environments": s["avg_environments"], "cost_usd": s["cost_usd"]}


GRID = {"keep_alive": [5, 60], "mean": [0.5, 2.0]}


def flaky(params, seed):
    if params["x"] == 2 and seed == 1:
        raise ZeroDivisionError("no luck")
    if params["x"] == 3 and seed == 0:
        os._exit(7)                       # the worker process dies under this row
    return {"y": params["x"] * 100 + seed}


def test_rows_follow_the_grid_then_the_seeds():
    rows = ll.sweep(lambda p, s: {"sum": p["a"] + p["b"] + s}, {"a": [1, 2], "b": [10, 20]}, seeds=(0, 5),
                    executor=Inline())
    assert [(r["a"], r["b"], r["seed"]) for r in rows] == [
        (1, 10, 0), (1, 10, 5), (1, 20, 0), (1, 20, 5), (2, 10, 0), (2, 10, 5), (2, 20, 0), (2, 20, 5)]
    assert all(r["sum"] == r["a"] + r["b"] + r["seed"] for r in rows)
    assert all(list(r) == ["a", "b", "seed", "sum"] for r in rows)


def test_a_grid_may_be_a_list_of_points_and_every_row_has_every_column():
    rows = ll.sweep(lambda p, s: {"out": p["k"] or 0}, [{"k": 1}, {"policy": "hybrid"}], executor=Inline())
    assert rows == [{"k": 1, "policy": None, "seed": 0, "out": 1}, {"k": None, "policy": "hybrid", "seed": 0, "out": 0}]


@pytest.mark.parametrize("grid", [{"a": 3}, {"a": "abc"}, [1, 2]])
def test_a_malformed_grid_is_refused(grid):
    with pytest.raises(TypeError):
        ll.sweep(simulate, grid, executor=Inline())


def test_local_processes_threads_and_serial_give_identical_rows():
    serial = ll.sweep(simulate, GRID, seeds=(0, 1), executor=Inline())
    assert ll.sweep(simulate, GRID, seeds=(0, 1)) == serial                   # local processes (the default)
    with cf.ThreadPoolExecutor(2) as pool:
        assert ll.sweep(simulate, GRID, seeds=(0, 1), executor=pool) == serial
    assert len(serial) == 8 and len({r["p_cold"] for r in serial}) > 1       # the grid mattered


def test_local_processes_report_a_raise_and_a_dead_worker_per_row_and_finish():
    rows = ll.sweep(flaky, {"x": [1, 2, 3, 4]}, seeds=(0, 1))
    by = {(r["x"], r["seed"]): r for r in rows}
    assert by[(2, 1)]["error"] == "ZeroDivisionError: no luck" and by[(2, 1)]["y"] is None
    assert by[(3, 0)]["error"] == WORKER_DIED and by[(3, 0)]["y"] is None
    ok = [r for k, r in by.items() if k not in ((2, 1), (3, 0))]
    assert [(r["y"], r["error"]) for r in ok] == [(100 * r["x"] + r["seed"], None) for r in ok]


def test_bad_results_are_row_errors_in_the_same_words_everywhere():
    def bad(params, seed):
        return {"n": 1, "x": 2} if params["x"] == "clash" else 42
    expected = ["ValueError: run() returned 'x', which name a parameter, the seed or the error column",
                "TypeError: run() must return a dict of metrics, got int"]
    for executor in (Inline(), None):
        rows = ll.sweep(bad, {"x": ["clash", "int"]}, executor=executor)
        assert [r["error"] for r in rows] == expected


def stuck(params, seed):
    """Row "loop" never ends in Python code; row "sleep" sits in C (time.sleep) and swallows what reaches it."""
    import time
    if params["x"] == "loop":
        while True:
            pass
    if params["x"] == "sleep":
        while True:
            try:
                time.sleep(3600)
            except BaseException:
                pass
    return {"y": len(params["x"]) + seed}


TIMED_OUT = "RowTimeout: the run took longer than 1 s"


def test_a_row_past_its_timeout_fails_alone_and_the_sweep_finishes():
    import time
    began = time.monotonic()
    rows = ll.sweep(stuck, {"x": ["ok", "loop", "sleep", "fine"]}, seeds=(0, 1), timeout=1)
    assert time.monotonic() - began < 30
    by = {(r["x"], r["seed"]): r for r in rows}
    for seed in (0, 1):
        # a Python loop is interrupted in its worker; a run stuck in C has its worker process stopped
        assert by[("loop", seed)]["error"] == TIMED_OUT and by[("loop", seed)]["y"] is None
        assert by[("sleep", seed)]["error"] == TIMED_OUT
        assert (by[("ok", seed)]["y"], by[("ok", seed)]["error"]) == (2 + seed, None)
        assert (by[("fine", seed)]["y"], by[("fine", seed)]["error"]) == (4 + seed, None)


def test_a_timeout_interrupts_a_looping_row_on_threads_too():
    with cf.ThreadPoolExecutor(2) as pool:
        rows = ll.sweep(stuck, {"x": ["ok", "loop"]}, executor=pool, timeout=1)
    assert [(r["y"], r["error"]) for r in rows] == [(2, None), (None, TIMED_OUT)]
    with pytest.raises(ValueError, match="timeout"):
        ll.sweep(stuck, {"x": ["ok"]}, timeout=0)


def test_sys_exit_in_a_run_is_a_failed_row():
    rows = ll.sweep(lambda p, s: sys.exit(3), {"x": [1]}, executor=Inline())
    assert rows[0]["error"] == "SystemExit: 3"


def test_rows_make_a_dataframe():
    import pandas as pd          # (in the test extra: never skipped)
    rows = ll.sweep(flaky, {"x": [1, 2]}, seeds=(0, 1), executor=Inline())
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == ["x", "seed", "y", "error"]
    assert frame["error"].notna().sum() == 1


def test_the_progress_bar_counts_rows_and_failures(monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    bar = _Progress(3)
    bar.advance(False)
    bar.advance(True)
    assert bar.bar.value == 2 and "2 of 3 runs · 1 failed" in bar.label.value
    bar.close()
    assert bar.bar.description == "stopped" and len(shown) == 1


@pytest.fixture(scope="module")
def dask_client():
    import distributed   # (in the test extra: never skipped)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        yield client


def test_a_dask_cluster_gives_the_same_rows(dask_client):
    serial = ll.sweep(simulate, GRID, seeds=(0, 1), executor=Inline())
    assert ll.sweep(simulate, GRID, seeds=(0, 1), executor=dask_client) == serial


def test_a_dask_worker_that_dies_fails_only_its_row(dask_client):
    rows = ll.sweep(flaky, {"x": [1, 2, 3]}, seeds=(0, 1), executor=dask_client)
    assert [r["error"] for r in rows] == [None, None, None, "ZeroDivisionError: no luck", WORKER_DIED, None]
    assert [r["y"] for r in rows] == [100, 101, 200, None, None, 301]


def test_in_a_notebook_the_sweep_shows_one_bar_that_ends_done(monkeypatch):
    import IPython.display
    sweep_module = sys.modules["lambdalab.sweep"]      # (ll.sweep is the function)
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    monkeypatch.setattr(sweep_module, "in_kernel", lambda: True)
    rows = ll.sweep(flaky, {"x": [1, 2]}, seeds=(0, 1), executor=Inline())
    (box,) = shown
    bar, label = box.children
    assert bar.value == bar.max == len(rows) == 4 and bar.description == "done"
    assert "4 of 4 runs · 1 failed" in label.value and bar.bar_style == "warning"
    assert ll.sweep(flaky, {"x": [1]}, executor=Inline(), progress=False) and len(shown) == 1
