"""How fast a replay of the Azure day could be with no component boundaries at all: the floor under issue 20's
150k invocations/s.

``collapsed`` replays the same trace as ``bench/azure_day.py`` (``ll.traces.azure2019()``, seed 0, ``Fixed(600)``)
with the work lambdalab's one invocation path does for each request written as three plain functions (an
arrival, the invoke's end, the pool's idle sweep), every component boundary, trace-mode test, policy hook and
state check taken out. What it keeps is what the replay's results need, done the way the lab does it:

- the same arrivals and durations: each function's ``TraceFunction.arrivals`` and ``PercentileDuration``
  streams, one heap entry per function for its next arrival, as ``lab.replay`` schedules them; every cold start
  takes the same fixed Init (``lambdalab.replay.init_seconds``); a run that reaches 900 s times out there;
- the request's record: a ``lambdalab.invocation.Invocation`` with the fields a record has (request id bits,
  arrival, start and end times, status, environment, duration, billed ms, cold);
- the engine's timers: a ``[time, sequence, callback, args]`` list per event, popped by a loop like
  ``Engine._run`` (one plain heap: the engine's quarter-second slots are left out);
- the account's and each function's concurrency count and its time integral, each function's pool of idle
  environments with most-recently-idle reuse, the idle sweep (only the pool's oldest idle environment's expiry
  on the heap), Duration to the ns and billing to the ms, the invocation and cold-start counts per function, the
  durations array, the GB-seconds bill and the idle GB-seconds.

Left out, which only helps the floor: the scaling rate, worker hosts and placement, an environment's lifetime,
throttling (the account limit never binds in this run). So its cold starts differ a little from the lab's (the
lab's worker hosts also end environments): compare the speed, not the counts.

It is not a way to run the lab (nothing of it is used by lambdalab): it measures what a pure-Python replay with
this engine's design costs when every call between components is gone. ``lab`` is ``lab.replay`` of the same
trace. Each run is a fresh process; times are CPU seconds of the run alone (not reading the trace or setting up),
interleaved, the best kept.

    python bench/replay_floor.py [--minutes N] [--repeat 1]
    bench: replay_floor minutes=... invocations=... lab_inv_per_s=... collapsed_inv_per_s=... lab_vs_collapsed=...
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _model import in_fresh_process  # noqa: E402


def collapsed_replay(minutes: int | None, seed: int = 0) -> dict:
    import time
    from array import array
    from heapq import heappop, heappush
    from itertools import count
    from math import ceil
    from random import Random

    import lambdalab as ll
    from lambdalab.invocation import Invocation
    from lambdalab.replay import TIMEOUT, init_seconds

    trace = ll.traces.azure2019(minutes=minutes)
    init = init_seconds(ll.Lab(seed=seed, trace="off").cost)
    expiry = 600.0
    bits = Random(seed).getrandbits
    heap: list = []
    ticket = count(1).__next__
    new = object.__new__
    durations = array("d")
    state = {"now": 0.0, "busy": 0, "busy_signed": 0.0, "billed": 0.0, "idle_gb_s": 0.0, "envs": 0}

    class Function:
        __slots__ = ("name", "gb", "draw", "pool", "armed", "busy", "invocations", "cold", "warm", "following")

    class Env:
        __slots__ = ("id", "fn", "current", "invocations", "idle_since", "idle_until", "idle_ticket", "timer")

    def arm(fn):
        pool = fn.pool
        if pool:
            env = fn.armed = next(iter(pool))
            env.timer = [env.idle_until, env.idle_ticket, sweep, (env,)]
            heappush(heap, env.timer)

    def arrive(fn):
        now = state["now"]
        inv = new(Invocation)
        inv.bits = bits(128)
        inv.t_arrival = now
        inv.lines = None
        inv.done = inv.cold = False
        state["busy"] += 1
        state["busy_signed"] += now
        fn.busy += 1
        inv.status = "running"
        pool = fn.pool
        elapsed = fn.draw()
        if pool:
            env = pool.popitem()[0]
            state["idle_gb_s"] += (now - env.idle_since) * fn.gb
            if fn.armed is env:
                env.timer[2] = None
                fn.armed = None
                arm(fn)
        else:
            env = new(Env)
            state["envs"] += 1
            env.id, env.fn, env.invocations = f"e-{state['envs']}", fn, 0
            elapsed += init
            inv.cold = True
        env.current = inv
        env.invocations += 1
        inv.t_start = now
        inv.env_id = env.id
        inv.init_type = "on-demand"
        if elapsed >= TIMEOUT:
            heappush(heap, [now + TIMEOUT, ticket(), done, (env, inv, "timeout")])
        else:
            heappush(heap, [now + elapsed, ticket(), done, (env, inv, "ok")])
        try:
            heappush(heap, [fn.following(), ticket(), arrive, (fn,)])
        except StopIteration:
            pass

    def done(env, inv, status):
        fn = env.fn
        now = inv.t_end = state["now"]
        inv.status = status
        inv.body = b"null"
        duration = inv.duration = round((now - inv.t_start) * 1e9) / 1e9
        billed = inv.billed_ms = ceil(duration * 1000 - 1e-9) or 1
        env.current = None
        state["busy"] -= 1
        state["busy_signed"] -= now
        fn.busy -= 1
        fn.invocations += 1
        if inv.cold:
            fn.cold += 1
        else:
            fn.warm += 1
        durations.append(duration)
        state["billed"] += billed / 1000.0 * fn.gb
        fn.pool[env] = None
        env.idle_since = now
        env.idle_until = now + expiry
        env.idle_ticket = ticket()
        if fn.armed is None:
            arm(fn)
        inv.done = True

    def sweep(env):
        fn = env.fn
        del fn.pool[env]
        state["idle_gb_s"] += (state["now"] - env.idle_since) * fn.gb
        fn.armed = None
        arm(fn)

    functions = []
    for f in trace.functions:
        fn = new(Function)
        fn.name, fn.gb, fn.draw = f.name, f.memory_mb / 1024.0, f.durations(seed).own_draw
        fn.pool, fn.armed, fn.busy, fn.invocations, fn.cold, fn.warm = {}, None, 0, 0, 0, 0
        fn.following = iter(f.arrivals(seed, start=0.0)).__next__
        functions.append(fn)
        try:
            heappush(heap, [fn.following(), ticket(), arrive, (fn,)])
        except StopIteration:
            pass
    end = trace.duration
    cpu = time.process_time()
    while heap:
        event = heappop(heap)
        time_, _, callback, args = event
        if callback is None:
            continue
        if time_ > end:
            break
        state["now"] = time_
        callback(*args)
    cpu = time.process_time() - cpu
    return {"cpu": cpu, "invocations": sum(fn.invocations for fn in functions),
            "cold_starts": sum(fn.cold for fn in functions)}


def lab_replay(minutes: int | None, seed: int = 0) -> dict:
    import time

    import lambdalab as ll

    trace = ll.traces.azure2019(minutes=minutes)
    lab = ll.Lab(seed=seed, trace="off", account_concurrency=40_000)
    replay = lab.replay(trace, keep_alive=ll.keepalive.Fixed(600))
    cpu = time.process_time()
    lab.run(until=replay.end)
    cpu = time.process_time() - cpu
    s = replay.summary()
    return {"cpu": cpu, "invocations": s["invocations"], "cold_starts": s["cold_starts"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=None, help="replay only the first N minutes")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best CPU time is kept")
    args = parser.parse_args()
    lab, collapsed = [], []
    for _ in range(args.repeat):                 # interleaved, so load moves both alike
        collapsed.append(in_fresh_process("replay_floor", "collapsed_replay", args.minutes))
        lab.append(in_fresh_process("replay_floor", "lab_replay", args.minutes))
    lab_cpu, col_cpu = (min(r["cpu"] for r in runs) for runs in (lab, collapsed))
    n, m = lab[0]["invocations"], collapsed[0]["invocations"]
    print(f"bench: replay_floor minutes={args.minutes or 1440} invocations={n} lab_cpu_s={lab_cpu:.1f} "
          f"collapsed_cpu_s={col_cpu:.1f} lab_inv_per_s={n / lab_cpu:.0f} collapsed_inv_per_s={m / col_cpu:.0f} "
          f"lab_vs_collapsed={(lab_cpu / n) / (col_cpu / m):.2f} cold_starts={lab[0]['cold_starts']} "
          f"collapsed_cold_starts={collapsed[0]['cold_starts']} collapsed_invocations={m}")


if __name__ == "__main__":
    main()
