"""Fixtures for the widget tests: a real Lab with cold, warm, failing and reclaimed environments."""
from __future__ import annotations

import io

import pytest

import lambdalab as ll


HANDLER = '''
import time

def handler(event, context):
    print("hello", event.get("name"))
    time.sleep(0.02)
    if event.get("fail"):
        raise ValueError("boom")
    return {"hello": event.get("name")}
'''


def make_lab() -> "ll.Lab":
    lab = ll.Lab(seed=0)
    lab.create_function("hello", HANDLER)
    lam = lab.client("lambda")
    lam.invoke(FunctionName="hello", Payload=b'{"name": "cold"}')
    lab.advance(5)
    lam.invoke(FunctionName="hello", Payload=b'{"name": "warm"}')
    lam.invoke(FunctionName="hello", Payload=b'{"name": "oops", "fail": true}')
    lab.advance(900)  # past the idle timeout: the environment is reclaimed, shut down and killed
    return lab


@pytest.fixture
def lab():
    return make_lab()


def png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size
