"""Kernel-side cost of one Stepper step: Step -> new diagram PNG (plus timeline cursor, logs and counters).

Builds a real lab run (cold and warm starts on several functions, an error, concurrent requests, idle
reclaims), opens a Stepper on it and times ``Stepper.step()`` over a few hundred steps, PNG encoding included.
Prints one line:  bench: widget_step median_ms=.. p95_ms=.. steps=..

    python bench/widget_step.py [--steps 200] [--presentation]
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import lambdalab as ll  # noqa: E402
from lambdalab.widgets import Stepper  # noqa: E402

HANDLER = '''
import time

def handler(event, context):
    print("working on", event.get("n"))
    time.sleep(event.get("ms", 20) / 1000)
    if event.get("fail"):
        raise RuntimeError("failed on purpose")
    return {"n": event.get("n")}
'''


def build_lab(invocations: int = 40) -> "ll.Lab":
    """A lab whose trace has every kind of step the Stepper draws."""
    lab = ll.Lab(seed=0)
    for name in ("orders", "thumbnails", "emails"):
        lab.create_function(name, HANDLER)
    names = ("orders", "thumbnails", "emails")
    for i in range(invocations):
        # bursts of concurrent requests make several environments and worker hosts; every fifth is an Event
        lab.submit(at=lab.now + (i // 8) * 2.0 + (i % 8) * 0.001, FunctionName=names[i % 3],
                   InvocationType="Event" if i % 5 == 4 else "RequestResponse",
                   Payload=f'{{"n": {i}, "ms": {40 + 10 * (i % 5)}, "fail": {str(i % 13 == 7).lower()}}}'.encode())
    lab.run(until=lab.now + 1200)  # past the keep-alive: environments are reclaimed too
    return lab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--presentation", action="store_true")
    args = parser.parse_args()
    lab = build_lab()
    stepper = Stepper(lab, presentation=args.presentation)
    for _ in range(20):  # warm up: fonts, glyph caches
        stepper.step()
    stepper.reset()
    times = []
    while len(times) < args.steps:
        if stepper.position >= len(stepper) - 1:
            stepper.reset()  # wrap around; the reset is not timed
        t0 = time.perf_counter()
        stepper.step()
        png = stepper.diagram.image.value
        times.append(time.perf_counter() - t0)
        assert png[:4] == b"\x89PNG"
    times.sort()
    median = statistics.median(times) * 1000
    p95 = times[int(0.95 * (len(times) - 1))] * 1000
    print(f"bench: widget_step median_ms={median:.2f} p95_ms={p95:.2f} steps={len(times)}")


if __name__ == "__main__":
    main()
