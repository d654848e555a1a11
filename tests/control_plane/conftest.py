"""The control-plane tests' lab (seed 0, nothing created) and its Lambda client."""
import pytest

import lambdalab as ll


@pytest.fixture
def lab():
    return ll.Lab(seed=0)


@pytest.fixture
def lam(lab):
    return lab.client("lambda")
