"""The optional phases of a cold start (issue 17), gathered for ``coldstart.phases_for``.

- ``attach_eni``: before 2019, a VPC function's new environment attached an ENI of its own (~10 s); with
  ``Lab(vpc_eni="per-environment")`` each cold start pays it again (see ``control_plane.vpc``).
- ``fetch_image`` (``image_loading``): a container image read lazily, chunk by chunk, through the caches.
- ``extract_layers`` (``layer_extraction``): the function's layers fetched and unpacked under /opt.
- ``take_snapshot`` / ``restore`` (``snapstart``): SnapStart's Init at PublishVersion, and its restores.
"""
from __future__ import annotations

from ..control_plane.vpc import pairs
from .image_loading import fetch_image
from .layer_extraction import extract_layers
from .snapstart import restore, take_snapshot

__all__ = ["attach_eni", "attaches_eni", "fetch_image", "extract_layers", "restore", "take_snapshot"]


def attaches_eni(env) -> bool:
    return env.lab.vpc.per_environment and bool(pairs(env.snapshot.config))


def attach_eni(chain) -> float:
    env = chain.env
    seconds = env.lab.cost.vpc_eni_attach
    subnet = env.snapshot.config["VpcConfig"]["SubnetIds"][0]
    env.emit("environment", "attach_eni", "Create and attach an ENI in {} for {} (the pre-2019 VPC model: one per "
             "environment): {:.2f} ms", subnet, env.id, seconds * 1000, phase="vpc", duration=seconds, subnet=subnet)
    return seconds
