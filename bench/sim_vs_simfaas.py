"""lambdalab with trace="off" against a bare heapq loop of the same model, and against SimFaaS, in one run.

Workload: the SimFaaS reference model of REFERENCE.md §10 (Poisson arrivals at 0.9/s, warm service Exp(mean
1.991 s), cold service Exp(mean 2.244 s), 600 s idle expiry, at most 1,000 concurrent, the most recently idle
instance reused first), 1,000,000 arrivals. ``bench/_model.py`` builds lambdalab's run and the bare loop and
says how each is measured: every run in a fresh process of its own, time around building and running the model,
peak memory from the process's own VmHWM.

- ``ratio`` = lambdalab's wall time / the bare loop's (issue 15: at most 3); ``cpu_ratio`` the same with
  process time (steadier when other work shares the machine). ``peak_mib``: lambdalab's process (issue 15: at
  most 100 MiB); ``bare_peak_mib`` the bare loop's, for scale (an interpreter with nothing imported).
- SimFaaS (PyPI ``simfaas`` 0.2.2) runs ``ServerlessSimulator.generate_trace`` without its tqdm bar and without
  plotting, stopped after the Nth arrival (a subclass overrides ``trace_condition``) and seeded with
  ``np.random.seed(seed)``; its ``get_cold_start_prob()`` and ``get_average_server_count()`` are the fidelity
  figures lambdalab's ``p_cold`` and ``avg_env`` must match (within 10% and 2%: tests/test_fidelity.py has the
  closed forms). ``--no-simfaas`` skips it.

Prints one line: ``bench: sim_1M lambdalab_s=.. bare_s=.. ratio=.. cpu_ratio=.. peak_mib=.. bare_peak_mib=..
p_cold=.. bare_p_cold=.. simfaas_p_cold=.. avg_env=.. bare_avg_env=.. simfaas_avg_env=.. simfaas_s=..``.
``--arrivals N`` for quick runs (the label says how many).
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _model  # noqa: E402


def run_simfaas(arrivals: int, seed: int) -> dict:
    import time

    import numpy as np
    from simfaas.ServerlessSimulator import ServerlessSimulator

    class CountedSimulator(ServerlessSimulator):
        """SimFaaS, stopped after a number of arrivals rather than at a virtual time."""

        def trace_condition(self, t):
            return self.total_req_count < arrivals

    np.random.seed(seed)
    start = time.perf_counter()
    sim = CountedSimulator(arrival_rate=_model.RATE, warm_service_rate=1 / _model.WARM_MEAN,
                           cold_service_rate=1 / _model.COLD_MEAN, expiration_threshold=_model.EXPIRY,
                           maximum_concurrency=_model.MAX_CONCURRENCY)
    sim.generate_trace(debug_print=False, progress=False)
    return {"seconds": time.perf_counter() - start, "p_cold": float(sim.get_cold_start_prob()),
            "avg_env": float(sim.get_average_server_count())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-simfaas", action="store_true")
    args = parser.parse_args()
    ours = _model.measure("lab", args.arrivals, args.seed)
    bare = _model.measure("bare", args.arrivals, args.seed)
    theirs = {"seconds": float("nan"), "p_cold": float("nan"), "avg_env": float("nan")}
    if not args.no_simfaas:
        theirs = _model.in_fresh_process("sim_vs_simfaas", "run_simfaas", args.arrivals, args.seed)
    print(f"bench: sim_{_model.label(args.arrivals)} lambdalab_s={ours['seconds']:.2f} bare_s={bare['seconds']:.2f} "
          f"ratio={ours['seconds'] / bare['seconds']:.2f} cpu_ratio={ours['cpu'] / bare['cpu']:.2f} "
          f"peak_mib={ours['peak_mib']:.1f} bare_peak_mib={bare['peak_mib']:.1f} "
          f"p_cold={ours['p_cold']:.5f} bare_p_cold={bare['p_cold']:.5f} simfaas_p_cold={theirs['p_cold']:.5f} "
          f"avg_env={ours['avg_env']:.3f} bare_avg_env={bare['avg_env']:.3f} "
          f"simfaas_avg_env={theirs['avg_env']:.3f} simfaas_s={theirs['seconds']:.2f}")


if __name__ == "__main__":
    main()
