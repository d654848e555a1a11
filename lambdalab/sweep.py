"""Parameter sweeps: one pure run per (parameters, seed), on local processes or any executor, Dask included.

``sweep(run, grid, seeds=...)`` calls ``run(params, seed) -> dict`` for every point of the grid (the product of
the grid dict's value lists, or a list of parameter dicts, where a parameter a point leaves out is None) and
every seed, and returns one row per call: the parameters, ``seed``, then what ``run`` returned. Rows come back in grid order (parameters first, seeds
inside), whatever order the calls finish in, and carry the same values whatever ran them, because a run is a
pure function of its arguments (``Lab(seed=...)`` makes every draw depend on the seed only).

Where the calls run:
- ``executor=None``: local processes, one per core this process may use (cgroup quota included, as on Binder).
  On Linux the worker processes are forked, so a ``run`` defined in a notebook cell (a lambda or closure
  too) reaches them without pickling; only parameters and results cross the process boundary.
- any ``concurrent.futures.Executor`` (a ``ThreadPoolExecutor``, your own ``ProcessPoolExecutor``), or a
  ``dask.distributed.Client`` (its ``get_executor()`` is used): a ``LocalCluster`` on one machine, a real
  cluster or dask-gateway on JupyterHub the same way. Dask ships ``run`` with cloudpickle.

Failures stay in their row: a run that raises gives a row with ``error`` set to ``"ExceptionType: message"``
(and no metrics); a run whose worker process dies (``os._exit``, a signal, the kernel's OOM killer) gives
``error = "WorkerDied: ..."`` and the sweep goes on. With local processes at most one call per worker is in
flight, so when the pool breaks only those calls are suspects: each is run again alone in a fresh process,
which tells the killer apart from its innocent neighbours. Dask retries a task whose worker died on
another worker and gives up after its ``allowed-failures`` (3 by default), which ends as the same row.
``timeout=seconds`` bounds each row's wall time: a run still going then fails its row with ``error =
"RowTimeout: ..."`` and the sweep goes on. Everywhere the run is interrupted inside its worker (an exception
raised in its thread, which a run stuck in C code only sees when it gets back to Python); with local processes
a row that still has not come back a moment later has its worker process stopped, and the rows that shared
the pool with it run again. Other executors cannot stop a thread or a task from outside: there the
interruption is all there is.
Every row has the same keys (metrics missing from a failed row are None; ``error`` is None on success when
any row failed), so ``pandas.DataFrame(rows)`` takes them as they are.

In a notebook kernel a progress bar (ipywidgets, imported only there) counts finished rows and failures.
Interrupting the kernel cancels what has not started and stops the local worker processes.
"""
from __future__ import annotations

import concurrent.futures as cf
import ctypes
import itertools
import multiprocessing
import os
import pickle
import threading
import time
import warnings
from concurrent.futures.process import BrokenProcessPool

from .observability.progress import in_kernel

__all__ = ["sweep", "WORKER_DIED", "RowTimeout"]

WORKER_DIED = "WorkerDied: the process running this row exited (a crash, a signal or out of memory)"

GRACE = 2.0      # seconds past the timeout before a local worker process still on the row is stopped

_FORKED: dict[int, object] = {}     # sweep id -> run, read by forked workers (they inherit this dict)


class RowTimeout(BaseException):
    """Raised inside a run that outlived the sweep's ``timeout`` (a BaseException, so that a run's own ``except
    Exception`` does not swallow it)."""


def sweep(run, grid, *, seeds=(0,), executor=None, progress=True, timeout=None) -> list[dict]:
    """Call ``run(params, seed)`` for every grid point and seed; one row per call, in grid order.
    ``timeout``: seconds a row may run (wall clock) before it fails with a RowTimeout error (None: no limit)."""
    points = _points(grid)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds (or None)")
    tasks = [(params, seed, timeout) for params in points for seed in seeds]
    bar = _Progress(len(tasks)) if progress and in_kernel() and tasks else None
    try:
        if executor is None:
            outcomes = _on_local_processes(run, tasks, bar)
        else:
            outcomes = _on_executor(_as_executor(executor), run, tasks, bar)
    finally:
        if bar is not None:
            bar.close()
    return _rows(tasks, outcomes)


# --- the grid ---------------------------------------------------------------------------------------------------
def _points(grid) -> list[dict]:
    if isinstance(grid, dict):
        names = list(grid)
        values = []
        for name in names:
            v = grid[name]
            if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
                raise TypeError(f"grid[{name!r}] must be a list of values, got {v!r}")
            values.append(list(v))
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    points = list(grid)
    if not all(isinstance(p, dict) for p in points):
        raise TypeError("grid must be a dict of value lists or a list of parameter dicts")
    names = dict.fromkeys(name for p in points for name in p)     # every point gets every column (None if unset)
    return [{name: p.get(name) for name in names} for p in points]


# --- one call, wherever it runs ----------------------------------------------------------------------------------
def _timed_out(timeout: float) -> tuple[str, str]:
    return "error", f"RowTimeout: the run took longer than {timeout:g} s"


class _Deadline:
    """Raises RowTimeout in the calling thread ``seconds`` from now, unless the block is over by then."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        if self.seconds is None:
            return
        self.thread = ctypes.c_ulong(threading.get_ident())
        self.lock = threading.Lock()
        self.live = True
        self.timer = threading.Timer(self.seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self) -> None:
        with self.lock:
            if self.live:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(self.thread, ctypes.py_object(RowTimeout))

    def __exit__(self, *exc) -> None:
        if self.seconds is None:
            return
        with self.lock:
            self.live = False
            self.timer.cancel()
            # one that fired as the run returned and is not raised yet must not surface in the worker's own code
            ctypes.pythonapi.PyThreadState_SetAsyncExc(self.thread, None)


def _call(run, params: dict, seed, timeout=None) -> tuple[str, object]:
    """Run one row and say how it went: ("ok", metrics) or ("error", "Type: message"). Runs in the worker."""
    try:
        with _Deadline(timeout):
            result = run(dict(params), seed)
        if not isinstance(result, dict):
            raise TypeError(f"run() must return a dict of metrics, got {type(result).__name__}")
        clash = sorted(k for k in result if k in params or k in ("seed", "error"))
        if clash:
            raise ValueError(f"run() returned {', '.join(map(repr, clash))}, which name a parameter, the seed "
                             "or the error column")
        pickle.dumps(result)          # fail here, in the same words for every executor, not in its transport
        return "ok", result
    except RowTimeout:
        return _timed_out(timeout)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:      # SystemExit too: a run calling sys.exit() is a failed row, not a dead sweep
        return "error", f"{type(exc).__name__}: {exc}"


def _call_forked(token: int, params: dict, seed, timeout=None) -> tuple[str, object]:
    return _call(_FORKED[token], params, seed, timeout)


# --- local processes -------------------------------------------------------------------------------------------
def _workers() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 quota (Binder limits cores that way)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def _pool(workers: int, token: int) -> tuple[cf.ProcessPoolExecutor, object]:
    """A process pool and the function its workers call (``run`` itself when it has to be pickled)."""
    if "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")
        return cf.ProcessPoolExecutor(workers, mp_context=context), (_call_forked, token)
    return cf.ProcessPoolExecutor(workers), (_call, _FORKED[token])


def _on_local_processes(run, tasks: list, bar) -> list:
    token = id(tasks)
    _FORKED[token] = run
    outcomes: list = [None] * len(tasks)
    try:
        with warnings.catch_warnings():
            # forking a kernel that runs threads: the workers only run ``run`` and exit, which is safe
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
            todo = list(range(len(tasks)))
            workers = min(_workers(), len(tasks)) or 1
            while todo:
                suspects = _run_pool(workers, token, tasks, todo, outcomes, bar)
                for i in suspects:            # each alone: the one that kills its process is the culprit
                    _run_pool(1, token, tasks, [i], outcomes, bar, alone=True)
    finally:
        _FORKED.pop(token, None)
    return outcomes


def _run_pool(workers: int, token: int, tasks: list, todo: list, outcomes: list, bar, alone: bool = False) -> list:
    """Run ``todo`` (indices) with at most ``workers`` in flight; ``todo`` shrinks as calls are handed out.
    Returns the calls that were in flight when the pool broke (none if it did not)."""
    pool, (fn, first) = _pool(workers, token)
    running: dict[cf.Future, int] = {}
    due: dict[cf.Future, float] = {}      # when a row with a timeout has its worker stopped (it starts at once:
    try:                                  # never more in flight than workers)
        while todo or running:
            while todo and len(running) < workers:
                i = todo.pop(0)
                params, seed, timeout = tasks[i]
                future = pool.submit(fn, first, params, seed, timeout)
                running[future] = i
                if timeout is not None:
                    due[future] = time.monotonic() + timeout + GRACE
            wait = max(0.0, min(due.values()) - time.monotonic()) if due else None
            done, _ = cf.wait(running, timeout=wait, return_when=cf.FIRST_COMPLETED)
            late = [f for f in running if f not in done and due.get(f, float("inf")) <= time.monotonic()]
            if late:                      # stuck where the exception cannot reach: stop the pool's processes
                for future in late:
                    i = running.pop(future)
                    outcomes[i] = _timed_out(tasks[i][2])
                    if bar is not None:
                        bar.advance(True)
                todo[:0] = sorted(i for f, i in running.items() if f not in done)    # innocent: run again
                running = {f: i for f, i in running.items() if f in done}
                _stop(pool)
            for future in done:
                due.pop(future, None)
            broken = []
            for future in done:
                i = running.pop(future)
                try:
                    outcomes[i] = future.result()
                except BrokenProcessPool:
                    if late:                  # the pool was stopped for a late row: run this one again
                        todo.insert(0, i)
                        continue
                    broken.append(i)
                    continue
                except Exception as exc:      # the pool could not even hand the call over
                    outcomes[i] = ("error", f"{type(exc).__name__}: {exc}")
                if bar is not None:
                    bar.advance(outcomes[i][0] == "error")
            if broken:
                broken += list(running.values())
                running.clear()
                if alone:
                    for i in broken:
                        outcomes[i] = ("error", WORKER_DIED)
                        if bar is not None:
                            bar.advance(True)
                    return []
                return sorted(broken)
            if late:
                return []                 # a new pool for the rest
        return []
    except BaseException:
        _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Interrupted: cancel what has not started and end the worker processes now."""
    terminate = getattr(pool, "terminate_workers", None)      # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())     # (shutdown forgets them)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


# --- any executor ------------------------------------------------------------------------------------------------
def _as_executor(executor) -> cf.Executor:
    if isinstance(executor, cf.Executor):
        return executor
    get = getattr(executor, "get_executor", None)            # dask.distributed.Client
    if get is not None:
        return get()
    raise TypeError(f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, got {executor!r}")


def _on_executor(executor: cf.Executor, run, tasks: list, bar) -> list:
    outcomes: list = [None] * len(tasks)
    futures = {executor.submit(_call, run, params, seed, timeout): i for i, (params, seed, timeout) in enumerate(tasks)}
    try:
        for future in cf.as_completed(futures):
            i = futures[future]
            try:
                outcomes[i] = future.result()
            except Exception as exc:
                outcomes[i] = ("error", WORKER_DIED if _died(exc) else f"{type(exc).__name__}: {exc}")
            if bar is not None:
                bar.advance(outcomes[i][0] == "error")
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return outcomes


def _died(exc: BaseException) -> bool:
    """Did the worker process die under this call (Dask's KilledWorker, a broken process pool)?"""
    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


# --- rows -------------------------------------------------------------------------------------------------------
def _rows(tasks: list, outcomes: list) -> list[dict]:
    metrics: dict[str, None] = {}
    failed = False
    for status, value in outcomes:
        if status == "ok":
            metrics.update(dict.fromkeys(value))
        else:
            failed = True
    rows = []
    for (params, seed, _), (status, value) in zip(tasks, outcomes):
        row = {**params, "seed": seed}
        if status == "ok":
            row.update({k: value.get(k) for k in metrics})
            if failed:
                row["error"] = None
        else:
            row.update(dict.fromkeys(metrics))
            row["error"] = value
        rows.append(row)
    return rows


class _Progress:
    """Finished rows out of all, and how many failed, as an ipywidgets bar (only inside a kernel)."""

    def __init__(self, total: int) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.total, self.done, self.failed = total, 0, 0
        self.began = time.perf_counter()
        self.bar = widgets.IntProgress(min=0, max=total, value=0, description="sweep",
                                       layout=widgets.Layout(width="40%"))
        self.label = widgets.HTML()
        self._label()
        display(widgets.HBox([self.bar, self.label]))

    def _label(self) -> None:
        failed = f" · {self.failed} failed" if self.failed else ""
        self.label.value = (f"{self.done} of {self.total} runs{failed} · "
                            f"{time.perf_counter() - self.began:,.1f} s")

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        self.bar.value = self.done
        self._label()

    def close(self) -> None:
        self.bar.description = "done" if self.done == self.total else "stopped"
        self.bar.bar_style = "warning" if self.failed or self.done < self.total else "success"
        self._label()
