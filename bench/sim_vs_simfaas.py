"""lambdalab against SimFaaS on the reference workload of REFERENCE.md §10, in one run.

Workload: Poisson arrivals at 0.9/s, warm service Exp(mean 1.991 s), cold service Exp(mean 2.244 s), idle
expiry 600 s, at most 1,000 concurrent, the newest idle instance reused first, 1,000,000 arrivals.

- SimFaaS (PyPI ``simfaas`` 0.2.2) runs ``ServerlessSimulator.generate_trace`` without its tqdm progress bar and
  without plotting. SimFaaS stops at a virtual ``max_time``; to count arrivals exactly as lambdalab does we stop
  it after the Nth request instead (a subclass overrides ``trace_condition``). It is seeded with
  ``np.random.seed(seed)``. Its figures: ``get_cold_start_prob()`` and ``get_average_server_count()``.
- lambdalab runs with ``trace="off"``, no environment lifetime and no worker leases (SimFaaS has neither), a
  synthetic function (``handler=None``) with ``duration=Exponential(1.991)`` and ``init_duration=
  Exponential(0.253)`` so a cold request takes 2.244 s on average, ``timeout=900`` (so no request is cut short),
  ``reuse="most_recent"``, ``idle_timeout=600``, seeded with ``Lab(seed=seed)``.

Each simulator runs in its own fresh Python process, so neither pays for the other's imports or garbage. Time
is ``time.perf_counter()`` around building and running the model (imports excluded). Peak memory is lambdalab's
whole-process peak resident set, ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` read in its process at the end:
interpreter and imports included, so it is an upper bound on what the run itself needs. ``ratio`` compares
wall times; ``cpu_ratio`` compares ``time.process_time()`` of the two processes, which is steadier on a busy
machine (on a shared box the wall figures swing with everyone else's load).

Prints one line: ``bench: sim_1M lambdalab_s=.. simfaas_s=.. ratio=.. peak_mib=.. p_cold=.. simfaas_p_cold=..
avg_env=.. simfaas_avg_env=.. cpu_ratio=..``. Targets (issue 6): ratio <= 0.5, peak_mib <= 150, p_cold within 10% and
avg_env within 2% of SimFaaS's. ``--arrivals N`` for quick runs (the label still says sim_1M only for 1M).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RATE, WARM_MEAN, COLD_MEAN, EXPIRY, MAX_CONCURRENCY = 0.9, 1.991, 2.244, 600.0, 1000


def run_lambdalab(arrivals: int, seed: int) -> dict:
    import resource
    import time

    import lambdalab as ll

    start, cpu = time.perf_counter(), time.process_time()
    lab = ll.Lab(seed=seed, trace="off", idle_timeout=EXPIRY, reuse="most_recent",
                 account_concurrency=MAX_CONCURRENCY, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(WARM_MEAN),
                        init_duration=ll.Exponential(COLD_MEAN - WARM_MEAN))
    lab.poisson("f", RATE, count=arrivals)
    lab.run()
    stats = lab.stats("f")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak_kib / 1024, "p_cold": stats["p_cold"],
            "avg_env": stats["avg_environments"], "requests": stats["requests"]}


def run_simfaas(arrivals: int, seed: int) -> dict:
    import time

    import numpy as np
    from simfaas.ServerlessSimulator import ServerlessSimulator

    class CountedSimulator(ServerlessSimulator):
        """SimFaaS, stopped after a number of arrivals rather than at a virtual time."""

        def trace_condition(self, t):
            return self.total_req_count < arrivals

    np.random.seed(seed)
    start, cpu = time.perf_counter(), time.process_time()
    sim = CountedSimulator(arrival_rate=RATE, warm_service_rate=1 / WARM_MEAN, cold_service_rate=1 / COLD_MEAN,
                           expiration_threshold=EXPIRY, maximum_concurrency=MAX_CONCURRENCY)
    sim.generate_trace(debug_print=False, progress=False)
    p_cold = sim.get_cold_start_prob()
    avg_env = sim.get_average_server_count()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "p_cold": float(p_cold), "avg_env": float(avg_env),
            "requests": sim.total_req_count}


def in_subprocess(which: str, arrivals: int, seed: int) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", which, "--arrivals", str(arrivals),
                          "--seed", str(seed)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=("lambdalab", "simfaas"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_lambdalab if args.child == "lambdalab" else run_simfaas
        print(json.dumps(run(args.arrivals, args.seed)))
        return
    ours = in_subprocess("lambdalab", args.arrivals, args.seed)
    theirs = in_subprocess("simfaas", args.arrivals, args.seed)
    n = args.arrivals
    label = f"{n // 1_000_000}M" if n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))
    print(f"bench: sim_{label} lambdalab_s={ours['seconds']:.2f} simfaas_s={theirs['seconds']:.2f} "
          f"ratio={ours['seconds'] / theirs['seconds']:.3f} peak_mib={ours['peak_mib']:.1f} "
          f"p_cold={ours['p_cold']:.5f} simfaas_p_cold={theirs['p_cold']:.5f} "
          f"avg_env={ours['avg_env']:.3f} simfaas_avg_env={theirs['avg_env']:.3f} "
          f"cpu_ratio={ours['cpu'] / theirs['cpu']:.3f}")


if __name__ == "__main__":
    main()
