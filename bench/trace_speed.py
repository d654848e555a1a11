"""What each trace mode costs, on the SimFaaS reference workload, against trace="off" and a bare heapq loop.

The workload and the measuring are ``bench/_model.py``'s (every run in a fresh process of its own, time around
building and running the model, peak memory from that process's VmHWM):

- ``summary`` keeps one record per invocation (``lab.invocations()``) and no Steps. ``summary_bytes_per_inv``
  = (peak of the summary run - peak of the off run) / invocations, both with ``--arrivals`` (default 1M): what
  the records cost (issue 15: at most 150 bytes). ``summary_vs_off`` = summary time / off time (at most 2).
- ``full`` records every architecture Step (``--full-arrivals``, default 50k: a full trace of a million requests
  is gigabytes). ``full_us_per_inv`` is its time per invocation, ``bare_us_per_arrival`` the bare loop's time
  per arrival at ``--arrivals``, and ``full_vs_bare`` their ratio (issue 15: at most 40). ``steps_per_inv``
  says how much a full trace records.
- The ``*_cpu`` ratios divide process times instead of wall times: on a shared machine the wall figures swing
  with everyone else's load (a loaded machine slows the bare loop's tiny working set less than lambdalab's).

Prints one line: ``bench: trace_speed arrivals=.. off_s=.. summary_s=.. summary_vs_off=.. summary_bytes_per_inv=..
full_arrivals=.. full_us_per_inv=.. bare_us_per_arrival=.. full_vs_bare=.. steps_per_inv=..``.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=1_000_000)
    parser.add_argument("--full-arrivals", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n, nf = args.arrivals, args.full_arrivals
    bare = _model.measure("bare", n, args.seed)
    off = _model.measure("lab", n, args.seed, "off")
    summary = _model.measure("lab", n, args.seed, "summary")
    full = _model.measure("lab", nf, args.seed, "full")
    per_inv = (summary["peak_mib"] - off["peak_mib"]) * 1024 * 1024 / n
    full_us, bare_us = full["seconds"] / nf * 1e6, bare["seconds"] / n * 1e6
    full_cpu, bare_cpu = full["cpu"] / nf, bare["cpu"] / n
    print(f"bench: trace_speed arrivals={_model.label(n)} off_s={off['seconds']:.2f} summary_s={summary['seconds']:.2f} "
          f"summary_vs_off={summary['seconds'] / off['seconds']:.2f} summary_bytes_per_inv={per_inv:.0f} "
          f"full_arrivals={_model.label(nf)} full_us_per_inv={full_us:.1f} bare_us_per_arrival={bare_us:.3f} "
          f"full_vs_bare={full_us / bare_us:.1f} steps_per_inv={full['steps'] / nf:.1f} "
          f"summary_vs_off_cpu={summary['cpu'] / off['cpu']:.2f} full_vs_bare_cpu={full_cpu / bare_cpu:.1f}")


if __name__ == "__main__":
    main()
