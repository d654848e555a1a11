"""How long the pieces of a cold start take, and what an invocation costs.

Defaults, with where they come from (REFERENCE.md and DESIGN.md):
- microVM boot ~125 ms: Firecracker's published boot time (NSDI'20), which also gives the 150 microVMs/s per
  host creation rate.
- Code fetch by cache tier (ATC'23, "On-demand container loading in AWS Lambda"): a package already on the
  worker loads in a few ms; one in the AZ-level cache in tens of ms; one that must come from S3 in hundreds of
  ms. Each tier also streams the package at its own speed, so bigger packages take longer. We choose the tier
  from what the fleet has actually fetched before (first fetch in the AZ: S3; first on this host: AZ cache;
  then worker-local), so a learner sees the caches warm up.
- Runtime bootstrap: managed Python starts in roughly 100-200 ms; we use 150 ms. Custom runtimes 50 ms.
- VPC: attaching to a VPC through a Hyperplane ENI is done when the function is created (see control_plane),
  so it adds nothing per cold start.
- CPU share: memory / 1,769 MB of one vCPU, at most 6 vCPUs (used only by ``cpu_share``).
- Prices (x86, us-east-1): $0.20 per million requests, $0.0000166667 per GB-second (Arm $0.0000133334),
  provisioned $0.0000041667 per GB-second allocated plus $0.0000097222 per GB-second used.
Every number is an attribute: ``Lab(cost_model=CostModel(microvm_boot=0.2))`` changes it for one lab.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CostModel"]


@dataclass
class CostModel:
    microvm_boot: float = 0.125
    code_local: tuple[float, float] = (0.003, 1_000e6)     # (latency s, bytes/s)
    code_az: tuple[float, float] = (0.028, 200e6)
    code_s3: tuple[float, float] = (0.180, 60e6)
    runtime_init: dict = field(default_factory=lambda: {"python": 0.150, "provided": 0.050, "nodejs": 0.120,
                                                        "java": 0.400, "dotnet": 0.300, "ruby": 0.150})
    init_limit: float = 10.0                     # the Init phase limit (s)
    shutdown_cap: float = 2.0                    # the Shutdown phase limit (s)
    runtime_shutdown: float = 0.300              # SIGTERM grace for the runtime (0.5 s with an internal extension)
    runtime_shutdown_internal: float = 0.500
    memory_base_mb: int = 36                     # "Max Memory Used" of an empty Python runtime
    price_request: float = 0.20 / 1e6
    price_gb_s: float = 0.0000166667
    price_gb_s_arm: float = 0.0000133334
    price_pc_allocated: float = 0.0000041667
    price_pc_used: float = 0.0000097222

    def code_fetch(self, tier: str, size: int) -> float:
        latency, rate = {"local": self.code_local, "az": self.code_az, "s3": self.code_s3}[tier]
        return latency + size / rate

    def runtime_bootstrap(self, runtime: str) -> float:
        for prefix, seconds in self.runtime_init.items():
            if runtime.startswith(prefix):
                return seconds
        return 0.1

    @staticmethod
    def cpu_share(memory_mb: int) -> float:
        return min(6.0, memory_mb / 1769)
