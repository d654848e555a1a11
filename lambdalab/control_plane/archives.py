"""Deployment-package archives: open a .zip and measure what it really unpacks to.

Lambda limits a function's code to 250 MB unzipped (262,144,000 bytes), counting its layers too. A zip's
directory only *declares* each member's size, and a crafted archive (a "zip bomb") can declare a few bytes and
inflate to gigabytes, so here every size is measured by decompressing the members as a stream and counting the
bytes that come out, and the count stops as soon as it passes the cap: a bomb costs at most ``cap`` bytes of
work and never the memory. One helper serves function packages (``control_plane.validation``) and layer versions
(``control_plane.layers``); guard's zip checks build on the same one.
"""
from __future__ import annotations

import io
import zipfile

from .errors import aws_error

__all__ = ["MAX_UNZIPPED", "CHUNK", "unzipped_size", "read_members", "too_large", "bad_zip"]

MAX_UNZIPPED = 262_144_000          # 250 MB: function + layers, unzipped
CHUNK = 1 << 20                     # decompress 1 MiB at a time


def too_large(operation: str, cap: int = MAX_UNZIPPED):
    return aws_error("InvalidParameterValueException", f"Unzipped size must be smaller than {cap} bytes", 400,
                     operation=operation)


def bad_zip(operation: str):
    return aws_error("InvalidParameterValueException",
                     "Could not unzip uploaded file. Please check your file, then try to upload again.", 400,
                     operation=operation)


def _stream(zip_bytes, cap: int, operation: str, keep: bool):
    """Decompress every member, counting real bytes; (total, {name: bytes} or None). Raises past ``cap``."""
    if not isinstance(zip_bytes, (bytes, bytearray, memoryview)):
        raise aws_error("InvalidParameterValueException", "ZipFile must be bytes.", 400, operation=operation)
    total = 0
    files: dict[str, bytes] | None = {} if keep else None
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                parts = []
                with archive.open(info) as member:
                    while True:
                        piece = member.read(CHUNK)
                        if not piece:
                            break
                        total += len(piece)
                        if total > cap:
                            raise too_large(operation, cap)
                        if keep:
                            parts.append(piece)
                if keep:
                    files[info.filename] = b"".join(parts)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, OSError):
        raise bad_zip(operation) from None
    return total, files


def unzipped_size(zip_bytes, operation: str, cap: int = MAX_UNZIPPED) -> int:
    """Bytes the archive really unpacks to (no member kept in memory); AWS's error past ``cap``."""
    return _stream(zip_bytes, cap, operation, keep=False)[0]


def read_members(zip_bytes, operation: str, cap: int = MAX_UNZIPPED) -> dict[str, bytes]:
    """{path: bytes} of every file in the archive, read under the same cap."""
    return _stream(zip_bytes, cap, operation, keep=True)[1]
