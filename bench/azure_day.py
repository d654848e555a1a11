"""A whole day of the Azure Functions 2019 sample, replayed on one core and sharded by app over Dask.

Workload: ``ll.traces.azure2019()`` (1,000 functions, 11,639,447 invocations over 1,440 minutes) replayed with
``lab.replay`` in ``Lab(seed=0, trace="off", account_concurrency=40_000)`` (the day needs ~19,000 concurrent
executions at its peak: see ``lambdalab/replay.py``) under ``Fixed(600)`` (``--policy hybrid`` for
``HybridHistogram()``), run until the trace's end.

- ``local``: in this process. ``seconds`` is the wall time of ``lab.run()`` alone; creating the functions and
  scheduling the first arrivals is ``setup_s``; reading the trace files is done before either. ``peak_mib`` is
  the process's own VmHWM at the end; ``base_mib`` its VmHWM before the replay (interpreter, imports, the trace
  read), the baseline the replay's memory adds to. ``cpu_inv_per_s`` divides by ``time.process_time()``
  instead of wall time: steadier when other work shares the machine. ``poisson_inv_per_s`` is the simplest path in the same
  process: one function, ``lab.poisson``, 1,000,000 invocations (the sim_1M workload), for comparison.
- ``dask``: ``replay_sharded`` over a ``LocalCluster`` of ``--workers`` (2) single-threaded worker processes, one
  shard per worker, each with its share of the account limit. ``seconds`` is the wall time of the sharded
  replay (trace shipped, shards replayed, rows gathered), cluster start excluded; ``peak_mib`` is the largest
  worker's VmHWM. On a 2-core machine the two workers share the cores with the scheduler and this process.

Each mode checks the account limit never bound (``limit_bound`` is printed) and prints one line:
``bench: azure_day mode=.. invocations=.. seconds=.. inv_per_s=.. peak_mib=.. ...``.
Target (issue 20): local inv_per_s >= 150,000 with bounded memory.

    PYTHONPATH=. python bench/azure_day.py [--mode local|dask|both] [--minutes N] [--policy fixed|hybrid]
"""
from __future__ import annotations

import argparse
import time

import lambdalab as ll
from lambdalab.replay import _peak_mib
from lambdalab.shards import replay_sharded

LIMIT = 40_000


def policy(name: str):
    return ll.keepalive.HybridHistogram() if name == "hybrid" else ll.keepalive.Fixed(600)


def poisson_speed(count: int = 1_000_000) -> float:
    lab = ll.Lab(seed=0, trace="off", idle_timeout=600, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(1.991), init_duration=ll.Exponential(0.253))
    lab.poisson("f", 0.9, count=count)
    start = time.perf_counter()
    lab.run()
    return count / (time.perf_counter() - start)


def local(trace, args) -> str:
    base = _peak_mib()
    start = time.perf_counter()
    lab = ll.Lab(seed=args.seed, trace="off", account_concurrency=LIMIT)
    replay = lab.replay(trace, keep_alive=policy(args.policy))
    setup = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    lab.run(until=replay.end)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    s = replay.summary()
    peak = _peak_mib()
    baseline = poisson_speed() if args.baseline else float("nan")
    return (f"mode=local invocations={s['invocations']} seconds={seconds:.1f} "
            f"inv_per_s={s['invocations'] / seconds:.0f} cpu_inv_per_s={s['invocations'] / cpu:.0f} "
            f"peak_mib={peak:.0f} base_mib={base:.0f} "
            f"setup_s={setup:.1f} poisson_inv_per_s={baseline:.0f} cold_starts={s['cold_starts']} "
            f"app_cold_p75={s['app_cold_p75']:.3f} limit_bound={s['limit_bound']} policy={args.policy}")


def on_dask(trace, args) -> str:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        start = time.perf_counter()
        result = replay_sharded(trace, keep_alive=policy(args.policy), shards=args.workers, executor=client,
                                seed=args.seed, progress=False, account_concurrency=LIMIT)
        seconds = time.perf_counter() - start
    s = result.summary()
    peak = max(info["peak_mib"] for info in result.labs)
    return (f"mode=dask workers={args.workers} invocations={s['invocations']} seconds={seconds:.1f} "
            f"inv_per_s={s['invocations'] / seconds:.0f} peak_mib={peak:.0f} cold_starts={s['cold_starts']} "
            f"app_cold_p75={s['app_cold_p75']:.3f} limit_bound={s['limit_bound']} policy={args.policy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("local", "dask", "both"), default="both")
    parser.add_argument("--minutes", type=int, default=None, help="replay only the first N minutes")
    parser.add_argument("--policy", choices=("fixed", "hybrid"), default="fixed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the lab.poisson comparison run")
    args = parser.parse_args()
    trace = ll.traces.azure2019(minutes=args.minutes)
    if args.mode in ("local", "both"):
        print(f"bench: azure_day {local(trace, args)}", flush=True)
    if args.mode in ("dask", "both"):
        print(f"bench: azure_day {on_dask(trace, args)}", flush=True)


if __name__ == "__main__":
    main()
