"""Suite-wide pytest setup, kept minimal on purpose: each test module owns its fixtures."""
from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    """The checkout's root directory (where pyproject.toml lives)."""
    return REPO_ROOT


# Right answers given during the tests (solutions, check tests) must not land in the learner's own progress
# file (~/.lambdalab/progress.json): the whole run, and the kernels it starts, use a private one.
os.environ.setdefault("LAMBDALAB_PROGRESS", os.path.join(tempfile.mkdtemp(prefix="lambdalab-progress-"),
                                                         "progress.json"))
