"""A burst of async events at a low reserved concurrency drains in minutes, as in AWS (REFERENCE §6).

400 events of 2 s each at reserved concurrency 5 need 160 s of the function's time. With back-off spread between
events and pollers that slow down when throttled (``async_invoke.pacing``) they all run within minutes, none
ages out, every accepted event ends exactly once, and throttled attempts stay a fraction of the events (the
pollers do not send each event into the same 429).
"""
from __future__ import annotations

import lambdalab as ll


def burst(seed: int, trace: str = "summary"):
    lab = ll.Lab(seed=seed, trace=trace)
    lab.create_function("f", None, duration=ll.Fixed(2.0), timeout=10)
    lab.client("lambda").put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=5)
    for _ in range(400):
        lab.submit(FunctionName="f", InvocationType="Event", Payload=b"{}")
    lab.run()
    return lab


def test_400_events_at_reserved_concurrency_5_drain_in_minutes_and_none_ages_out():
    lab = burst(seed=0)
    ai = lab.async_invoke
    totals = ai.statistics()
    assert totals["accepted"] == 400 == totals["succeeded"]
    assert totals["dropped"] == totals["delivered"] == ai.pending() == 0
    assert totals["conditions"] == {"Success": 400}
    events = list(ai.events.values())
    assert all(event.invoke_count == 1 for event in events)
    finished = max(event.history[-1][0] for event in events)
    assert 160 <= finished <= 5 * 60, f"drained after {finished / 60:.1f} virtual minutes"
    assert totals["throttled_attempts"] < 400
    stats = lab.stats("f")
    assert stats["invocations"] == 400 and stats["max_concurrency"] == 5
    assert stats["requests"] == 400 + totals["throttled_attempts"]


def test_the_burst_is_deterministic_and_the_seed_moves_the_jitter():
    a, b, c = burst(seed=7), burst(seed=7), burst(seed=8)
    starts = [[r["t_start"] for r in lab.invocations("f")] for lab in (a, b, c)]
    assert starts[0] == starts[1] != starts[2]
