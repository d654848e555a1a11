"""The lifecycle behaves the same whatever the trace mode: only what is recorded changes."""
from __future__ import annotations

import pytest

from lambdalab.sandbox.extensions import Extension

from .helpers import make_lab

CODE = """import time, sys
time.sleep(0.1)
def handler(e, c):
    if e.get('exit'):
        sys.exit(1)
    if e.get('boom'):
        raise ValueError('boom')
    time.sleep(e.get('t', 0.01))
    return 1
"""


def run(mode):
    lab = make_lab(trace=mode, idle_timeout=30)
    lab.create_function("f", CODE, timeout=1, extensions=[Extension("shipper", init=0.02, invoke=0.01,
                                                                     shutdown=0.1)])
    for payload in (b"{}", b'{"t": 5}', b'{"boom": 1}', b'{"exit": 1}', b"{}"):
        lab.submit(FunctionName="f", Payload=payload)
        lab.advance(2)
    lab.advance(100)
    return lab


@pytest.mark.parametrize("mode", ["summary", "off"])
def test_stats_match_full_mode(mode):
    full, other = run("full"), run(mode)
    assert other.stats("f") == full.stats("f")
    assert other.now == full.now
    assert full.stats("f")["errors"] >= 3 and full.stats("f")["timeouts"] == 1
    assert len(other.trace) == 0 < len(full.trace)
