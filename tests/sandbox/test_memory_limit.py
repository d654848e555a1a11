"""MemorySize inline: what a run of handler code may map is counted from the kernel's address space as it is
when the code starts, so whatever the kernel (or another function) mapped just before never eats into it.

Regression: the limit used to be computed from a size read up to one real second earlier. When the kernel grew
in between (a Jupyter kernel's thread arenas and imports add hundreds of MB), the limit fell below what was
already mapped and the next handler allocation failed as Runtime.OutOfMemory: lab 04's and lab 09's reference
solutions answered checks wrong in 3 of 4 CI runs, depending on real time.
"""
from __future__ import annotations

import mmap
import os

import pytest

from .helpers import invoke, make_lab

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the inline memory limit reads /proc")

MB = 1024 * 1024
# mmap always takes new address space (an allocation may instead reuse heap the kernel already freed, unseen by
# RLIMIT_AS), and refuses with ENOMEM when it would pass the limit
MAPS_64_MB = "import mmap\ndef handler(event, context):\n    return len(mmap.mmap(-1, 64 * 1024 * 1024))\n"


def test_what_the_kernel_maps_between_two_runs_does_not_count_against_the_next():
    lab = make_lab(wall_guard=3)
    lab.create_function("f", MAPS_64_MB)                         # MemorySize 128
    assert invoke(lab, "f")[1] == 64 * MB
    kernel_grew = mmap.mmap(-1, 512 * MB)                        # address space only: no page is touched
    try:
        response, body = invoke(lab, "f")                        # (well within a real second of the first)
    finally:
        kernel_grew.close()
    assert "FunctionError" not in response, body
    assert body == 64 * MB


CALLEE_KEEPS_100_MB = """
import mmap
kept = []
def handler(event, context):
    kept.append(mmap.mmap(-1, 100 * 1024 * 1024))
    return len(kept)
"""
CALLER = """
import mmap
import lambdalab as ll
def handler(event, context):
    mine = [mmap.mmap(-1, 64 * 1024 * 1024)]
    answers = [ll.client("lambda").invoke(FunctionName="callee")["Payload"].read().decode()]
    for _ in range(2):
        try:
            mine.append(mmap.mmap(-1, 48 * 1024 * 1024))
            answers.append("mapped")
        except OSError:
            answers.append("refused")
    return answers
"""


def test_a_callee_keeps_its_memory_to_itself_and_the_caller_keeps_what_it_had_left():
    lab = make_lab(wall_guard=3)
    lab.create_function("callee", CALLEE_KEEPS_100_MB)
    lab.create_function("caller", CALLER, timeout=10)
    response, body = invoke(lab, "caller")
    assert "FunctionError" not in response, body
    # the callee mapped its 100 MB in its own 128 MB (the caller's 64 MB are the caller's), and kept them; 64 + 48
    # MB of the caller's own fit in 128 MB, 64 + 48 + 48 do not
    assert body == ["1", "mapped", "refused"]
    assert invoke(lab, "caller")[1] == ["2", "mapped", "refused"]


def test_a_handler_that_takes_2_gb_of_a_128_mb_function_is_still_out_of_memory():
    lab = make_lab()
    lab.create_function("f", "def handler(event, context):\n    return len(bytearray(2 * 1024 ** 3))\n")
    assert invoke(lab, "f")[1]["errorType"] == "Runtime.OutOfMemory"
    assert invoke(lab, "f")[1]["errorType"] == "Runtime.OutOfMemory"



CLOSES_STATM_OR_ASKS_2_GB = """
import os
def handler(event, context):
    if event.get("close"):
        for name in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{name}").endswith("/statm"):
                    os.close(int(name))      # the lab's kept descriptor: code that closes fds it does not own
            except OSError:
                pass
        return "closed"
    return len(bytes(2 * 1024 ** 3))         # calloc: address space only, no page touched if it is allowed
"""


def test_code_that_closed_the_labs_statm_descriptor_is_still_limited_in_the_next_run():
    """The limit of a run is armed from a kept /proc/self/statm descriptor; code that closed it used to leave the
    next run of the same environment with no limit at all (2 GB in a 128 MB function went through)."""
    lab = make_lab(wall_guard=3)
    lab.create_function("f", CLOSES_STATM_OR_ASKS_2_GB)                   # MemorySize 128
    assert invoke(lab, "f", {"close": True})[1] == "closed"
    response, body = invoke(lab, "f", {})                                 # warm: the same environment
    assert response.get("FunctionError") == "Unhandled" and body["errorType"] == "Runtime.OutOfMemory", body
