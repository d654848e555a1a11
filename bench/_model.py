"""The SimFaaS reference workload (REFERENCE.md §10) two ways, and how the benches measure a run.

- ``lab_run``: lambdalab itself (``ll.Lab`` + ``create_function`` + ``lab.poisson`` + ``lab.run``) in one trace
  mode, with no environment lifetime and no worker leases (SimFaaS has neither), a synthetic function whose
  warm service is Exp(mean 1.991 s) and whose cold start adds Init Exp(mean 0.253 s) (a cold request takes
  2.244 s on average), ``timeout=900`` so nothing is cut short, the newest idle environment reused first, a
  600 s keep-alive and at most 1,000 concurrent.
- ``bare_loop``: the same model as a bare ``heapq`` loop written here and nowhere else: Poisson arrivals,
  exponential warm / cold service, 600 s idle expiry, most-recently-idle reuse, the count of environments
  integrated over time; no components, no records, no ids. It is the floor a discrete-event simulator of this
  model can reach in pure Python, and the baseline the engine's speed is judged against.

Every measurement runs in a fresh Python process of its own (``measure``): it pays for no other run's imports,
garbage or heap, and its peak memory is its own ``VmHWM`` (``/proc/self/status``) read at its end, interpreter
and imports included. Times are ``time.perf_counter()`` around building and running the model (imports
excluded); ``cpu`` is ``time.process_time()`` over the same span, steadier when other work shares the machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RATE, WARM_MEAN, COLD_MEAN, EXPIRY, MAX_CONCURRENCY = 0.9, 1.991, 2.244, 600.0, 1000


def vmhwm_mib() -> float:
    """This process's peak resident set so far (``VmHWM``), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def lab_run(arrivals: int, seed: int, trace: str = "off") -> dict:
    import time

    import lambdalab as ll

    start, cpu = time.perf_counter(), time.process_time()
    lab = ll.Lab(seed=seed, trace=trace, idle_timeout=EXPIRY, reuse="most_recent",
                 account_concurrency=MAX_CONCURRENCY, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, timeout=900, duration=ll.Exponential(WARM_MEAN),
                        init_duration=ll.Exponential(COLD_MEAN - WARM_MEAN))
    lab.poisson("f", RATE, count=arrivals)
    lab.run()
    stats = lab.stats("f")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "peak_mib": vmhwm_mib(), "p_cold": stats["p_cold"],
            "avg_env": stats["avg_environments"], "requests": stats["requests"], "p99": stats["duration_p99"],
            "steps": len(lab.trace)}


def bare_loop(arrivals: int, seed: int) -> dict:
    """The reference model in a plain heapq loop (see the module docstring). Idle expiry is exact but lazy: an
    idle environment whose 600 s ran out is let go at the next arrival, and the environment count's time
    integral is kept as a signed sum of change times, so an expiry needs no event of its own."""
    import time
    from collections import deque
    from heapq import heappop, heappush
    from random import Random

    start, cpu = time.perf_counter(), time.process_time()
    expo = Random(seed).expovariate
    rate, warm, init = RATE, 1 / WARM_MEAN, 1 / (COLD_MEAN - WARM_MEAN)
    heap = [(expo(rate), 0)]         # (time, 0) an arrival, (time, 1) a request done
    idle: deque = deque()            # release times of idle environments, oldest first
    live = busy = cold = 0
    signed = 0.0                     # sum of +t when an environment comes and -t when it goes
    left = arrivals
    now = 0.0
    while heap:
        now, done = heappop(heap)
        if done:
            busy -= 1
            idle.append(now)
            continue
        while idle and idle[0] + EXPIRY <= now:          # expired before this arrival: gone then
            signed -= idle.popleft() + EXPIRY
            live -= 1
        left -= 1
        if left:
            heappush(heap, (now + expo(rate), 0))
        if busy >= MAX_CONCURRENCY:
            continue
        busy += 1
        if idle:
            idle.pop()                                   # the most recently idle one
            heappush(heap, (now + expo(warm), 1))
        else:
            live += 1
            cold += 1
            signed += now
            heappush(heap, (now + expo(init) + expo(warm), 1))
    for released in idle:                                # the last ones expire after the last request
        now = released + EXPIRY
        signed -= now
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "peak_mib": vmhwm_mib(), "p_cold": cold / arrivals,
            "avg_env": -signed / now, "requests": arrivals}


def measure(which: str, arrivals: int, seed: int = 1, trace: str = "off") -> dict:
    """Run ``lab_run`` (``which="lab"``) or ``bare_loop`` (``"bare"``) in a fresh Python process."""
    if which == "lab":
        return in_fresh_process("_model", "lab_run", arrivals, seed, trace)
    return in_fresh_process("_model", "bare_loop", arrivals, seed)


def in_fresh_process(module: str, function: str, *args) -> dict:
    """``module.function(*args)`` (a module of ``bench/``; arguments and result plain JSON values) run in a fresh
    Python process with the repository on its path: its result, as the function returned it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    code = (f"import sys, json; sys.path.insert(0, {HERE!r}); import {module}; "
            f"print(json.dumps({module}.{function}(*json.loads(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], env=env, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))
