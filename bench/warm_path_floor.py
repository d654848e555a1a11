"""How fast trace="off" could be with no component boundaries at all: the floor under issue 15's 3x target.

``lab`` is lambdalab on the SimFaaS reference workload (``_model.lab_run``), ``bare`` the bare heapq loop the
target is written against (``_model.bare_loop``). ``collapsed`` is the work lambdalab's one invocation path does
for each request, written as three plain functions (an arrival, the invoke's end, the pool's idle sweep) with
every component boundary, trace-mode test, policy hook and state check taken out. What it keeps is what the
model's results need, done the way the engine does it:

- the request's record: a ``lambdalab.invocation.Invocation`` with the fields a record has (request id bits,
  arrival, start and end times, status, environment, duration, billed ms, cold);
- the engine's timers: a ``[time, sequence, callback, args]`` list per event, popped by a loop like
  ``Engine._run``;
- the frontend's concurrency count and its time integral, the pool's most-recently-idle reuse, the idle sweep
  (only the pool's oldest idle environment's expiry is on the heap), Duration to the ns and billing to the ms,
  the invocation counts, the durations array and the GB-seconds bill.

It is not a way to run the lab (nothing of it is used by lambdalab): it measures what is left when every call
between components is gone. ``collapsed_vs_bare`` is the best ratio the one invocation path could reach in pure
Python with this engine; ``lab_vs_collapsed`` is what the components, their checks and their seams cost on top.
Each run is a fresh process (``_model.measure``; ``collapsed`` the same way); times are CPU seconds.

    python bench/warm_path_floor.py [--arrivals N]
    bench: warm_path_floor arrivals=200k lab_cpu_s=... collapsed_cpu_s=... bare_cpu_s=... ...
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _model  # noqa: E402


def collapsed_loop(arrivals: int, seed: int) -> dict:
    import time
    from array import array
    from heapq import heappop, heappush
    from itertools import count
    from math import ceil, log
    from random import Random

    from lambdalab.invocation import Invocation

    start, cpu = time.perf_counter(), time.process_time()
    rng, ids = Random(seed), Random(seed + 1)
    uniform, bits = rng.random, ids.getrandbits
    heap: list = []
    ticket = count(1).__next__
    new = object.__new__
    rate, warm, init = _model.RATE, 1 / _model.WARM_MEAN, 1 / (_model.COLD_MEAN - _model.WARM_MEAN)
    expiry, limit, gb = _model.EXPIRY, _model.MAX_CONCURRENCY, 128 / 1024.0
    pool: dict = {}                          # idle environments, oldest first
    durations = array("d")
    state = {"now": 0.0, "left": arrivals, "busy": 0, "busy_signed": 0.0, "cold": 0, "warm": 0, "billed": 0.0,
             "live": 0, "live_signed": 0.0, "armed": None, "envs": 0}

    class Env:
        __slots__ = ("id", "current", "invocations", "idle_since", "idle_until", "idle_ticket", "timer")

    def arm():
        if pool:
            env = state["armed"] = next(iter(pool))
            env.timer = [env.idle_until, env.idle_ticket, sweep, (env,)]
            heappush(heap, env.timer)

    def arrive():
        now = state["now"]
        inv = new(Invocation)
        inv.bits = bits(128)
        inv.t_arrival = now
        inv.lines = None
        inv.done = inv.cold = False
        if state["busy"] >= limit:
            inv.status = "throttled"
        else:
            state["busy"] += 1
            state["busy_signed"] += now
            inv.status = "running"
            if pool:
                env = pool.popitem()[0]
                if state["armed"] is env:
                    env.timer[2] = None
                    state["armed"] = None
                    arm()
                elapsed = -log(1.0 - uniform()) / warm
            else:
                env = new(Env)
                state["envs"] += 1
                env.id, env.invocations = f"e-{state['envs']}", 0
                state["live"] += 1
                state["live_signed"] += now
                elapsed = -log(1.0 - uniform()) / init + -log(1.0 - uniform()) / warm
                inv.cold = True
            env.current = inv
            env.invocations += 1
            inv.t_start = now
            inv.env_id = env.id
            inv.init_type = "on-demand"
            heappush(heap, [now + elapsed, ticket(), done, (env, inv)])
        state["left"] -= 1
        if state["left"]:
            heappush(heap, [now + -log(1.0 - uniform()) / rate, ticket(), arrive, ()])

    def done(env, inv):
        now = inv.t_end = state["now"]
        inv.status = "ok"
        inv.body = b"null"
        duration = inv.duration = round((now - inv.t_start) * 1e9) / 1e9
        billed = inv.billed_ms = ceil(duration * 1000 - 1e-9) or 1
        env.current = None
        state["busy"] -= 1
        state["busy_signed"] -= now
        state["cold" if inv.cold else "warm"] += 1
        durations.append(duration)
        state["billed"] += billed / 1000.0 * gb
        pool[env] = None
        env.idle_since = now
        env.idle_until = now + expiry
        env.idle_ticket = ticket()
        if state["armed"] is None:
            arm()
        inv.done = True

    def sweep(env):
        del pool[env]
        state["armed"] = None
        state["live"] -= 1
        state["live_signed"] -= state["now"]
        arm()

    heappush(heap, [-log(1.0 - uniform()) / rate, ticket(), arrive, ()])
    while heap:
        event = heappop(heap)
        time_, _, callback, args = event
        if callback is None:
            continue
        state["now"] = time_
        callback(*args)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    now = state["now"]
    return {"seconds": seconds, "cpu": cpu, "p_cold": state["cold"] / arrivals,
            "avg_env": (state["live"] * now - state["live_signed"]) / now, "requests": arrivals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best CPU time is kept")
    args = parser.parse_args()
    n = args.arrivals
    lab, collapsed, bare = [], [], []
    for _ in range(args.repeat):                 # interleaved, so load moves all three alike
        lab.append(_model.measure("lab", n))
        collapsed.append(_model.in_fresh_process("warm_path_floor", "collapsed_loop", n, 1))
        bare.append(_model.measure("bare", n))
    lab_cpu, col_cpu, bare_cpu = (min(r["cpu"] for r in runs) for runs in (lab, collapsed, bare))
    print(f"bench: warm_path_floor arrivals={_model.label(n)} lab_cpu_s={lab_cpu:.3f} collapsed_cpu_s={col_cpu:.3f} "
          f"bare_cpu_s={bare_cpu:.3f} lab_vs_bare={lab_cpu / bare_cpu:.2f} collapsed_vs_bare={col_cpu / bare_cpu:.2f} "
          f"lab_vs_collapsed={lab_cpu / col_cpu:.2f} p_cold={lab[0]['p_cold']:.5f} "
          f"collapsed_p_cold={collapsed[0]['p_cold']:.5f} bare_p_cold={bare[0]['p_cold']:.5f} "
          f"avg_env={lab[0]['avg_env']:.3f} collapsed_avg_env={collapsed[0]['avg_env']:.3f} "
          f"bare_avg_env={bare[0]['avg_env']:.3f}")


if __name__ == "__main__":
    main()
