"""What isolation="process" costs, with the inline figures beside it, in real (wall) time.

One line, both modes measured in the same run (best of ``--repeat``, alternating):

- cold starts (``cold_*``): ``--envs`` invokes of one Python function submitted at the same virtual
  moment, so each needs an environment of its own; wall seconds of the run (Init of every environment, its
  module code, one invoke each) per environment, and environments started per second. Process mode forks
  a child per environment from the lab's forkserver; the forkserver's own start (once per lab) is reported
  apart (``server_ms``).
- warm invokes (``invoke_*``): ``--invokes`` warm invokes of the same function, one after another on one
  environment (``trace="off"``, Poisson arrivals far apart): wall microseconds per invoke, the round trip to
  the child and back included (thaw, request, outcome, freeze).

``overhead`` is process minus inline. Targets: a cold start costs tens of milliseconds of wall time at most
(a fork of the forkserver, the child's set-up, its Init), not the quarter second of a fresh interpreter; a warm
invoke about a millisecond (two context switches and a frame each way; on a loaded 2-core machine the wake-ups
dominate).
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
    return {"seen": COUNT}
'''


def cold_starts(mode: str, envs: int) -> tuple[float, float]:
    """(seconds per environment, seconds the forkserver took to start)"""
    lab = ll.Lab(seed=0, isolation=mode, trace="summary")
    try:
        lab.create_function("f", HANDLER, timeout=30)
        server = 0.0
        if mode == "process":
            t0 = time.perf_counter()
            from lambdalab.sandbox.isolation import Isolation
            lab.isolation_server = Isolation(lab)
            lab.isolation_server.start()
            server = time.perf_counter() - t0
        for _ in range(envs):
            lab.submit(FunctionName="f")
        t0 = time.perf_counter()
        lab.advance(5)
        elapsed = time.perf_counter() - t0
        assert len(lab.fleet.environments) == envs and lab.stats("f")["invocations"] == envs
        return elapsed / envs, server
    finally:
        lab.close()


def warm_invokes(mode: str, invokes: int) -> float:
    """seconds per warm invoke"""
    lab = ll.Lab(seed=0, isolation=mode, trace="off")
    try:
        lab.create_function("f", HANDLER, timeout=30)
        lab.poisson("f", 0.01, count=20)                   # warm up: the environment exists and is used
        lab.run()
        lab.poisson("f", 0.01, count=invokes)
        t0 = time.perf_counter()
        lab.run()
        elapsed = time.perf_counter() - t0
        assert lab.stats("f")["invocations"] == invokes + 20
        return elapsed / invokes
    finally:
        lab.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--envs", type=int, default=200)
    ap.add_argument("--invokes", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cold = {"inline": [], "process": []}
    warm = {"inline": [], "process": []}
    servers = []
    for _ in range(args.repeat):
        for mode in ("inline", "process"):
            per_env, server = cold_starts(mode, args.envs)
            cold[mode].append(per_env)
            if server:
                servers.append(server)
            warm[mode].append(warm_invokes(mode, args.invokes))
    c_in, c_pr = min(cold["inline"]), min(cold["process"])
    w_in, w_pr = min(warm["inline"]), min(warm["process"])
    print(f"bench: isolation cold_inline_ms={c_in * 1e3:.2f} cold_process_ms={c_pr * 1e3:.2f} "
          f"cold_overhead_ms={(c_pr - c_in) * 1e3:.2f} invoke_inline_us={w_in * 1e6:.1f} "
          f"invoke_process_us={w_pr * 1e6:.1f} invoke_overhead_us={(w_pr - w_in) * 1e6:.1f} "
          f"process_envs_per_s={1 / c_pr:.0f} process_invokes_per_s={1 / w_pr:.0f} server_ms={min(servers) * 1e3:.0f} "
          f"envs={args.envs} invokes={args.invokes}")


if __name__ == "__main__":
    main()
