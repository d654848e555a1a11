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
- Container images are read lazily in 512 KiB chunks through the same three tiers (ATC'23); a cold start
  reads ``image_read_fraction`` (6.5%, the paper's figure for what a container touches at startup, after
  Harter et al., "Slacker", FAST'16) of each image layer. Each tier serving some chunks costs its latency plus
  the chunks' bytes at its rate, as the code fetch does.
- Layers: each layer archive is fetched through the caches like the function's package, then unpacked into
  /opt at ``layer_extract_rate`` bytes/s of unzipped content (our figure: a local unzip onto the microVM's disk).
- VPC: attaching to a VPC through a Hyperplane ENI is done when the function is created (see control_plane),
  so it adds nothing per cold start. Before 2019 each new environment attached an ENI of its own:
  ``vpc_eni_attach`` (~10 s, the figure AWS's 2019 announcement gives for the old model) per cold start.
- SnapStart: a restore resumes the Firecracker snapshot (``snapstart_resume`` seconds plus a share per MB of
  memory, our reading of "a few hundred ms" restores), then the runtime re-attaches (``snapstart_runtime``)
  and the after-restore hooks run. REPORT's Billed Restore Duration is the last two. Python and .NET bill
  snapshot caching ($0.0000015046 per GB-second while the version has a snapshot) and each restore
  ($0.0001397998 per GB restored): the us-east-1 prices of AWS Lambda's pricing page (SnapStart section).
- CPU share: memory / 1,769 MB of one vCPU, at most 6 vCPUs (``cpu_share``; ``ll.CpuBound`` scales with it).
- Prices (x86, us-east-1): $0.20 per million requests, $0.0000166667 per GB-second (Arm $0.0000133334),
  provisioned $0.0000041667 per GB-second allocated plus $0.0000097222 per GB-second used.
Every number is an attribute: ``Lab(cost_model=CostModel(microvm_boot=0.2))`` changes it for one lab.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.distributions import cpu_share

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
    image_read_fraction: float = 0.065
    layer_extract_rate: float = 300e6            # bytes of unzipped layer content per second
    vpc_eni_attach: float = 10.0                 # pre-2019: an ENI per new environment
    snapstart_resume: tuple[float, float] = (0.150, 0.0002)   # (s, s per MB of MemorySize)
    snapstart_runtime: float = 0.020             # the runtime re-attaches after the resume
    price_snapstart_cache: float = 0.0000015046  # per GB-second of cached snapshot (Python, .NET)
    price_snapstart_restore: float = 0.0001397998   # per GB restored (Python, .NET)

    def code_fetch(self, tier: str, size: int) -> float:
        latency, rate = {"local": self.code_local, "az": self.code_az, "s3": self.code_s3}[tier]
        return latency + size / rate

    def snapstart_restore(self, memory_mb: int) -> float:
        """Seconds to resume a snapshot of a function with ``memory_mb`` MB (before the runtime and hooks)."""
        base, per_mb = self.snapstart_resume
        return base + per_mb * memory_mb

    def runtime_bootstrap(self, runtime: str) -> float:
        for prefix, seconds in self.runtime_init.items():
            if runtime.startswith(prefix):
                return seconds
        return 0.1

    cpu_share = staticmethod(cpu_share)
