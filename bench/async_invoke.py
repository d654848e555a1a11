#!/usr/bin/env python3
"""How fast does the async path move events? Poisson Event invokes through queue, pollers and frontend.

    PYTHONPATH=. python bench/async_invoke.py [events]
    ...
    bench: async_invoke events=100000 seconds=30.30 events_per_s=3301 throttled=0 dropped=20000

A fifth of the events fail once-and-for-all (MaximumRetryAttempts 0, no destination), so the failure routing is
on the measured path too. Trace mode "off": counters only, as the sweep labs run it.
"""
from __future__ import annotations

import sys
import time

import lambdalab as ll

HANDLER = """
def handler(event, context):
    if event["n"] % 5 == 0:
        raise ValueError("every fifth event fails")
    return event["n"]
"""


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 100_000
    lab = ll.Lab(seed=0, trace="off")
    lab.create_function("fn", HANDLER, duration=ll.Exponential(0.2))
    lab.client("lambda").put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=0)
    start = lab.now
    for i in range(count):
        lab.submit(at=start + i * 0.01, FunctionName="fn", InvocationType="Event", Payload=f'{{"n": {i}}}')
    wall = time.perf_counter()
    lab.run()
    elapsed = time.perf_counter() - wall
    stats = lab.async_invoke.statistics()
    assert stats["accepted"] == count and lab.async_invoke.pending() == 0
    print(f"bench: async_invoke events={count} seconds={elapsed:.2f} events_per_s={count / elapsed:.0f} "
          f"throttled={stats['throttled_attempts']} dropped={stats['dropped']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
