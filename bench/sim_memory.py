"""Memory stays flat with trace="off": the peak of a 5,000,000-arrival run against a 1,000,000-arrival run.

The same SimFaaS reference workload as ``sim_vs_simfaas.py`` (``bench/_model.py``), each size in a fresh
process of its own, peak memory from that process's VmHWM (interpreter and imports included). A run that keeps
something per request (a duration per invocation for the percentiles, a record, a timer) grows with the
arrivals; issue 15's target is ``ratio`` = peak_5M / peak_1M <= 1.25. ``base_mib`` is a process that imported
lambdalab and built the lab but sent nothing, for scale.

Prints one line: ``bench: sim_memory peak_1M_mib=.. peak_5M_mib=.. ratio=.. base_mib=.. seconds_5M=..``.
``--small N --large M`` for other sizes.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    base = _model.measure("lab", 0, args.seed)
    small = _model.measure("lab", args.small, args.seed)
    large = _model.measure("lab", args.large, args.seed)
    s, l = _model.label(args.small), _model.label(args.large)
    print(f"bench: sim_memory peak_{s}_mib={small['peak_mib']:.1f} peak_{l}_mib={large['peak_mib']:.1f} "
          f"ratio={large['peak_mib'] / small['peak_mib']:.3f} base_mib={base['peak_mib']:.1f} "
          f"seconds_{l}={large['seconds']:.1f}")


if __name__ == "__main__":
    main()
