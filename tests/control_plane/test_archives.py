"""The streaming unzipped-size measurement: real bytes, a hard cap, and a bomb that lies about its size."""
import io
import struct
import tracemalloc
import zipfile

import pytest

import lambdalab as ll
from lambdalab.control_plane import archives


def deflated(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def lying(zip_bytes: bytes, declared: int) -> bytes:
    """Rewrite every size field of a one-member zip to ``declared`` (local header and central directory)."""
    data = bytearray(zip_bytes)
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)          # uncompressed size in the local header
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)        # ... and in the central directory
    return bytes(data)


def test_sizes_are_measured_by_decompressing():
    blob = deflated({"a.txt": b"a" * 1000, "dir/b.bin": b"\0" * 5000})
    assert archives.unzipped_size(blob, "CreateFunction") == 6000
    assert archives.read_members(blob, "CreateFunction") == {"a.txt": b"a" * 1000, "dir/b.bin": b"\0" * 5000}


def test_a_bomb_stops_at_the_cap_without_inflating_it():
    bomb = deflated({"bomb.bin": b"\0" * 50_000_000})          # ~50 KB that unpack to 50 MB
    with pytest.raises(ll.ClientError):     # the refusal's first use loads botocore's error model: not measured
        archives.read_members(deflated({"small.bin": b"\0" * 2000}), "CreateFunction", cap=1000)
    tracemalloc.start()
    with pytest.raises(ll.ClientError, match="Unzipped size must be smaller than 1000000 bytes"):
        archives.read_members(bomb, "CreateFunction", cap=1_000_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8_000_000         # stopped near the cap: never the 50 MB the bomb holds


def test_a_bomb_that_declares_a_tiny_size_is_refused_as_corrupt():
    bomb = lying(deflated({"bomb.bin": b"\0" * 50_000_000}), 10)
    assert zipfile.ZipFile(io.BytesIO(bomb)).infolist()[0].file_size == 10     # what the directory claims
    tracemalloc.start()
    with pytest.raises(ll.ClientError, match="Could not unzip uploaded file"):
        archives.read_members(bomb, "CreateFunction")
    assert tracemalloc.get_traced_memory()[1] < 8_000_000
    tracemalloc.stop()


def test_the_lambda_limit_is_250_mb_unzipped():
    assert archives.MAX_UNZIPPED == 262_144_000
    err = archives.too_large("CreateFunction")
    assert err.response["Error"] == {"Code": "InvalidParameterValueException",
                                     "Message": "Unzipped size must be smaller than 262144000 bytes"}


@pytest.mark.parametrize("blob", [b"not a zip", b"PK\x03\x04" + b"\0" * 40])
def test_corrupt_archives_are_refused_with_aws_words(blob):
    with pytest.raises(ll.ClientError, match="Could not unzip uploaded file"):
        archives.unzipped_size(blob, "PublishLayerVersion")
