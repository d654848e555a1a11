"""Invocations per second of wall time in each trace mode, on one mixed workload.

Workload: four functions receiving seeded Poisson traffic together, two with a real (tiny) Python handler that
runs in its execution environment's own module namespace and two synthetic ones (``handler=None``), each with a
modelled duration so that environments are reused warm most of the time, as in the labs. The same calls run
with ``trace="full"`` (every architecture step recorded as a Step, CloudWatch log lines kept), ``"summary"`` and
``"off"``. Each figure is invocations completed / wall seconds of ``lab.run()`` (building the lab excluded),
best of ``--repeat`` runs. The ``*_cpu_ips`` figures divide by ``time.process_time()`` instead: steadier when
other work shares the machine.

Prints one line: ``bench: trace_speed full_ips=.. summary_ips=.. off_ips=.. workload=mixed_2python_2synthetic
invocations=..``. Target (issue 6): full_ips >= 10,000.
"""
from __future__ import annotations

import argparse
import time

import lambdalab as ll

HANDLER = '''\
COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    return {"seen": COUNT, "name": event.get("name", "world")}
'''


def run(mode: str, invocations: int, seed: int) -> tuple[int, float]:
    lab = ll.Lab(seed=seed, trace=mode)
    rate = 20.0                                       # per function; four functions share the load
    for i in range(2):
        lab.create_function(f"py{i}", HANDLER, timeout=30, duration=ll.Exponential(0.05))
        lab.create_function(f"syn{i}", None, timeout=30, duration=ll.Exponential(0.05))
    for i in range(2):
        lab.poisson(f"py{i}", rate, count=invocations // 4, payload=b'{"name": "bench"}')
        lab.poisson(f"syn{i}", rate, count=invocations // 4)
    start, cpu = time.perf_counter(), time.process_time()
    lab.run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done = lab.stats()["invocations"]
    return done, seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ips, cpu_ips = {}, {}
    for mode in ("full", "summary", "off"):
        for _ in range(args.repeat):
            done, seconds, cpu = run(mode, args.invocations, args.seed)
            ips[mode] = max(ips.get(mode, 0.0), done / seconds)
            cpu_ips[mode] = max(cpu_ips.get(mode, 0.0), done / cpu)
    print(f"bench: trace_speed full_ips={ips['full']:.0f} summary_ips={ips['summary']:.0f} off_ips={ips['off']:.0f} "
          f"workload=mixed_2python_2synthetic invocations={done} full_cpu_ips={cpu_ips['full']:.0f} "
          f"summary_cpu_ips={cpu_ips['summary']:.0f} off_cpu_ips={cpu_ips['off']:.0f}")


if __name__ == "__main__":
    main()
