"""An in-process container registry standing in for Amazon ECR, and the chunked images Lambda makes of it.

A Lambda container image is an OCI image in ECR: AWS base layers (the OS, then the language runtime and its
runtime interface client) with the function's own layer (code and dependencies) on top, up to 10 GiB. When a
function is created from it, Lambda flattens the layers into one filesystem and cuts that into 512 KiB chunks,
each named by a hash of its content (with convergent encryption, so equal bytes give equal chunks even across
customers). A chunk that several images share, as every image on one base shares that base's chunks, is stored
and cached once. At a cold start the microVM reads its filesystem lazily: only the chunks it touches are fetched,
through a worker-local cache, an AZ-level cache and S3 (see ``sandbox/image_loading``).

Figures, from Brooker et al., "On-demand Container Loading in AWS Lambda" (USENIX ATC'23) and Marc Brooker's
notes on it: 512 KiB chunks; about 75% of images hold less than 5% unique bytes and ~80% of uploads add no unique
chunk at all; a container reads only ~6.5% of its image at startup (the paper cites Harter et al., "Slacker",
FAST'16). The AWS base images are so widely used that their chunks sit in every AZ-level cache.

Here an image is a list of layers, each a content key and a size; chunk ``i`` of a layer is named
``(key, i)``, so an image of 10 GiB is described without a byte of it being allocated. Pushing the same content
again gives the same keys (a no-op for the caches, as in AWS). The function layer's content key is a hash of
the handler's source, the repository and the size asked for. We simplify: no manifests, tags are the only
mutable thing, no lifecycle policies, no image scanning; base image sizes are approximate (uncompressed).
"""
from __future__ import annotations

import hashlib
import math
import re

__all__ = ["ImageRegistry", "Image", "ImageLayer", "CHUNK_BYTES", "BASE_IMAGES", "MAX_IMAGE_BYTES"]

CHUNK_BYTES = 512 * 1024
MAX_IMAGE_BYTES = 10 * 1024 ** 3             # Lambda's limit for an image, uncompressed (10 GiB)
MB = 1024 * 1024

# AWS base images on Amazon Linux 2023: (runtime they run, [(shared layer name, approximate size in MB)])
BASE_IMAGES = {
    "python:3.13": ("python3.13", [("al2023-os", 120), ("python3.13", 430)]),
    "python:3.12": ("python3.12", [("al2023-os", 120), ("python3.12", 420)]),
    "python:3.11": ("python3.11", [("al2-os", 160), ("python3.11", 380)]),
    "nodejs:20": ("nodejs20.x", [("al2023-os", 120), ("nodejs20", 300)]),
    "java:21": ("java21", [("al2023-os", 120), ("java21", 480)]),
    "provided:al2023": ("provided.al2023", [("al2023-os", 120)]),
}
_URI = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com/"
                  r"([a-z0-9][a-z0-9._/-]{1,255})(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))$")


class ImageLayer:
    """One layer of the flattened image: ``chunks`` 512 KiB chunks named (key, 0) ... (key, chunks - 1)."""

    __slots__ = ("key", "size", "chunks", "shared")

    def __init__(self, key: str, size: int, shared: bool) -> None:
        self.key, self.size, self.shared = key, size, shared
        self.chunks = math.ceil(size / CHUNK_BYTES)

    def __repr__(self) -> str:
        return f"<ImageLayer {self.key[:20]} {self.size / MB:,.0f} MB {'base' if self.shared else 'own'}>"


class Image:
    """A pushed image: its layers (base first), the files in /var/task, its default CMD and runtime."""

    __slots__ = ("repository", "tag", "digest", "base", "runtime", "layers", "files", "command", "size")

    def __init__(self, repository, tag, base, runtime, layers, files, command) -> None:
        self.repository, self.tag, self.base, self.runtime = repository, tag, base, runtime
        self.layers, self.files, self.command = tuple(layers), dict(files), list(command)
        self.size = sum(layer.size for layer in self.layers)
        self.digest = "sha256:" + hashlib.sha256("|".join(layer.key for layer in self.layers).encode()).hexdigest()

    @property
    def chunks(self) -> int:
        return sum(layer.chunks for layer in self.layers)

    @property
    def unique_chunks(self) -> int:
        """Chunks no AWS base image holds (the function's own layer)."""
        return sum(layer.chunks for layer in self.layers if not layer.shared)

    def __repr__(self) -> str:
        return f"<Image {self.repository}:{self.tag} {self.size / MB:,.0f} MB on {self.base}>"


class ImageRegistry:
    """The account's repositories: ``{repository: {tag: Image}}`` plus every image by digest."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.repositories: dict[str, dict[str, Image]] = {}
        self.by_digest: dict[str, Image] = {}
        self._warmed = False

    def uri(self, repository: str, tag: str) -> str:
        return f"{self.lab.account_id}.dkr.ecr.{self.lab.region}.amazonaws.com/{repository}:{tag}"

    def push(self, repository: str, files: dict, command: list, *, base: str, size_mb: float, tag: str) -> str:
        """Store an image of ``base`` plus a layer of ``size_mb`` MB holding ``files``; returns its URI."""
        if base not in BASE_IMAGES:
            raise ValueError(f"unknown base image {base!r}; choose one of {', '.join(BASE_IMAGES)}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._/-]{1,255}", repository or ""):
            raise ValueError("repository names are lowercase letters, digits and . _ / - (2-256 characters)")
        if not re.fullmatch(r"[\w][\w.-]{0,127}", tag or ""):
            raise ValueError("a tag is up to 128 letters, digits, _ . or -")
        if not size_mb >= 0:
            raise ValueError("size_mb must be a number of megabytes >= 0")
        runtime, base_layers = BASE_IMAGES[base]
        if files and not runtime.startswith("python"):
            raise ValueError(f"lambdalab runs Python handler code: an image on {base} takes handler=None")
        layers = [ImageLayer(_key("base", name), mb * MB, shared=True) for name, mb in base_layers]
        content = hashlib.sha256(repr((repository, sorted(files.items()), size_mb)).encode()).hexdigest()
        code_bytes = sum(len(data) for data in files.values())
        layers.append(ImageLayer(_key("own", content), max(code_bytes, int(size_mb * MB)), shared=False))
        image = Image(repository, tag, base, runtime, layers, files, command)
        self.repositories.setdefault(repository, {})[tag] = image      # a tag moves to the newest push
        self.by_digest[image.digest] = image
        return self.uri(repository, tag)

    def resolve(self, uri) -> tuple[Image | None, bool]:
        """(the image a URI names or None, whether the URI is well formed for this account and region)."""
        match = _URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            return None, False
        account, region, repository, tag, digest = match.groups()
        if (account, region) != (self.lab.account_id, self.lab.region):
            return None, True
        if digest:
            image = self.by_digest.get(digest)
            return (image if image is not None and image.repository == repository else None), True
        return self.repositories.get(repository, {}).get(tag), True

    def warm(self, az_cache: set) -> None:
        """Put every chunk of every AWS base image in the AZ-level cache (once): other customers' functions
        read them all the time, so in AWS they are always there."""
        if self._warmed:
            return
        self._warmed = True
        for _, layers in BASE_IMAGES.values():
            for name, mb in layers:
                layer = ImageLayer(_key("base", name), mb * MB, shared=True)
                az_cache.update((layer.key, i) for i in range(layer.chunks))


def _key(kind: str, name: str) -> str:
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()
