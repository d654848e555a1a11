"""What the botocore path costs per call, against calling the component directly, and what importing costs.

In process, ``lab.client("lambda")`` is botocore's client: each call is validated, serialized to the wire,
handed to the lab's dispatcher by a ``before-send`` hook, read back from the model, answered by the component
and written out as AWS's wire response, which botocore parses. The baseline in the same run calls the same
component method with the same parameters (``lab.control_plane.get_function_configuration(...)``; for invoke,
``lab.frontend.submit`` and a wait in virtual time), so the difference is the wire round trip alone.
Warm calls only (the client, botocore's session and its models are made once, then cached); medians of rounds
that alternate between the two sides.

Costs are the process's CPU time (``time.process_time``): an in-process call never waits for anything, so on an
idle machine its CPU time is its wall time, and on a shared one (other engineers' test runs, CI neighbours) the
CPU time stays the call's own cost where the wall clock also counts the other processes' turns. The line also
gives the wall-clock overheads and the machine's load average, so a reader sees what the wall clock said.

Prints one line:
    bench: wire_overhead get_botocore_us=.. get_direct_us=.. get_overhead_ms=.. invoke_botocore_us=..
           invoke_direct_us=.. invoke_overhead_ms=.. first_client_ms=.. import_ms=.. wall_get_overhead_ms=..
           wall_invoke_overhead_ms=.. wall_import_ms=.. loadavg=..
Targets: overhead < 0.5 ms per call; ``import lambdalab`` < 300 ms (a fresh interpreter, botocore not loaded).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def per_call_us(fn, n: int) -> tuple[float, float]:
    """(CPU, wall) microseconds per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def import_ms() -> tuple[float, float]:
    """(CPU, wall) milliseconds of ``import lambdalab`` in a fresh interpreter, medians of 5."""
    code = ("import time, sys; c, t = time.process_time(), time.perf_counter(); import lambdalab; "
            "print((time.process_time() - c) * 1000, (time.perf_counter() - t) * 1000, 'botocore' in sys.modules)")
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        assert out[2] == "False", "import lambdalab loaded botocore"
        runs.append((float(out[0]), float(out[1])))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    imported, imported_wall = import_ms()
    import lambdalab as ll
    lab = ll.Lab(seed=0, trace="off")
    lab.create_function("f", None)
    t0 = time.process_time()
    lam = lab.client("lambda")
    first_client = (time.process_time() - t0) * 1000

    def direct_invoke():
        inv = lab.frontend.submit({"FunctionName": "f"})
        if not inv.done:
            lab.wait_for(lambda: inv.done)

    sides = {
        "get_botocore": lambda: lam.get_function_configuration(FunctionName="f"),
        "get_direct": lambda: lab.control_plane.get_function_configuration(FunctionName="f"),
        "invoke_botocore": lambda: lam.invoke(FunctionName="f"),
        "invoke_direct": direct_invoke,
    }
    for fn in sides.values():                 # warm: first calls load models, build caches
        per_call_us(fn, 50)
    results = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, fn in sides.items():
            results[name].append(per_call_us(fn, N))
    us = {name: statistics.median(cpu for cpu, _ in v) for name, v in results.items()}
    wall = {name: statistics.median(w for _, w in v) for name, v in results.items()}
    print(f"bench: wire_overhead get_botocore_us={us['get_botocore']:.1f} get_direct_us={us['get_direct']:.1f} "
          f"get_overhead_ms={(us['get_botocore'] - us['get_direct']) / 1000:.3f} "
          f"invoke_botocore_us={us['invoke_botocore']:.1f} invoke_direct_us={us['invoke_direct']:.1f} "
          f"invoke_overhead_ms={(us['invoke_botocore'] - us['invoke_direct']) / 1000:.3f} "
          f"first_client_ms={first_client:.1f} import_ms={imported:.1f} "
          f"wall_get_overhead_ms={(wall['get_botocore'] - wall['get_direct']) / 1000:.3f} "
          f"wall_invoke_overhead_ms={(wall['invoke_botocore'] - wall['invoke_direct']) / 1000:.3f} "
          f"wall_import_ms={imported_wall:.1f} loadavg={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
