"""Suite-wide pytest setup, kept minimal on purpose: each test module owns its fixtures."""
from __future__ import annotations

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    """The checkout's root directory (where pyproject.toml lives)."""
    return REPO_ROOT
