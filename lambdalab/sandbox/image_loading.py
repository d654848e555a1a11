"""A container image's cold start: the microVM's filesystem is read lazily, 512 KiB chunk by chunk.

In AWS (Brooker et al., ATC'23) a new environment of an image function does not download the image. Its
filesystem is a block device backed by the worker's local agent, which fetches a chunk the first time the
microVM reads it: from the worker-local cache, else from the AZ-level cache (shared by all workers of the
zone), else from S3, warming the tiers it passed through. Chunks are content-addressed, so one cached chunk serves
every image that holds it: a second function on the same base image finds the base's chunks already near. In
production 67% of chunks come from the worker, 32% from the AZ cache and under 0.1% from S3; here the tiers are
whatever this lab's fleet has fetched before, so a learner watches the caches warm.

What a cold start reads: ``image_read_fraction`` (6.5%) of each layer, its first chunks (the same ones for
every image on one base: the runtime's files). The AWS base images are in the AZ-level cache from the start,
since other customers use them all the time. The time is, per tier that served any chunk, its latency plus the
bytes at its rate (``CostModel.code_*``, the figures the zip code fetch uses). The Steps: one for the whole read
(the ``code`` phase of the cold start), then one per tier that served chunks: ``worker`` (local cache),
``az_cache``, ``code_store`` (S3). We simplify: chunks are read in one go before the runtime starts (AWS keeps
fetching on demand while the code runs); no erasure coding or salting of popular chunks.
"""
from __future__ import annotations

import math


__all__ = ["fetch_image", "read_set"]

MIB = 1024 * 1024
_TIER_STEP = {"local": ("worker", "cache", "Worker {worker}'s local cache serves"),
              "az": ("az_cache", "serve", "The AZ-level cache serves"),
              "s3": ("code_store", "serve", "S3 (Lambda's code store) serves")}
_TARGET = {"local": "environment", "az": "worker", "s3": "az_cache"}


def read_set(image, fraction: float):
    """The chunks a cold start of ``image`` reads: the first ``fraction`` of each layer (at least one chunk)."""
    for layer in image.layers:
        for i in range(min(layer.chunks, max(1, math.ceil(layer.chunks * fraction)))):
            yield layer.key, i


def fetch_image(chain) -> float:
    """The ``code`` phase of an image function: read the chunks Init needs through the cache tiers."""
    env = chain.env
    lab = env.lab
    cost = lab.cost
    image = env.snapshot.model["image"]
    lab.ecr.warm(lab.fleet.az_cache)
    counts = {"local": 0, "az": 0, "s3": 0}
    tier_of = env.worker.code_tier
    for chunk in read_set(image, cost.image_read_fraction):
        counts[tier_of(chunk)] += 1
    seconds = {tier: cost.code_fetch(tier, n * 512 * 1024) for tier, n in counts.items() if n}
    total = sum(seconds.values())
    read = sum(counts.values())
    parts = ", ".join(f"{n:,} from {_WHERE[tier]}" for tier, n in counts.items() if n)
    env.emit("environment", "fetch_image",
             "Read image {}:{} lazily: {:,} of {:,} chunks of 512 KiB are needed to start ({}): {:.2f} ms",
             image.repository, image.tag, read, image.chunks, parts, total * 1000, phase="code", duration=total,
             chunks=dict(counts), seconds=seconds, image_chunks=image.chunks, bytes=read * 512 * 1024)
    if lab.trace.full:
        for tier, n in counts.items():
            if not n:
                continue
            component, action, words = _TIER_STEP[tier]
            env.emit(component, action, "{} {:,} chunks ({:,.1f} MiB): {:.2f} ms", words.format(worker=env.worker.id),
                     n, n * 512 * 1024 / MIB, seconds[tier] * 1000, target=_TARGET[tier], tier=tier, chunks=n,
                     seconds=seconds[tier])
    return total


_WHERE = {"local": "the worker's cache", "az": "the AZ cache", "s3": "S3"}
