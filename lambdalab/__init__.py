"""lambdalab: AWS Lambda's architecture, in process, on a virtual clock, for learning.

The public surface is small: ``Lab`` (one region's worth of Lambda), ``sleep`` (virtual time inside handler
code), the duration distributions (``CpuBound``: CPU work that scales with memory), ``ClientError`` (botocore's
own class), ``sweep`` (parameter sweeps on processes or Dask) and ``power_tune`` (the best memory size, like
aws-lambda-power-tuning), and ``client`` (inside handler code: a client of the lab that runs it, see
``lambdalab.calls``). ``ClientError`` (botocore), ``lambdalab.widgets`` (ipywidgets views),
``lambdalab.check`` (lab self-checks), ``lambdalab.traces`` (workload traces to replay) and
``lambdalab.keepalive`` (keep-alive policies) are imported on first use so that ``import lambdalab`` stays light.
"""
from __future__ import annotations

from .calls import client
from .engine.distributions import CpuBound, Exponential, Fixed, LogNormal, Uniform
from .lab import Lab
from .power_tuning import power_tune
from .sandbox.vtime import sleep
from .sweep import sweep

__all__ = ["Lab", "sleep", "Fixed", "Exponential", "Uniform", "LogNormal", "CpuBound", "ClientError", "sweep",
           "power_tune", "client"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "ClientError":             # botocore's own class, imported on first use
        from botocore.exceptions import ClientError
        return ClientError
    if name in ("widgets", "check", "traces", "keepalive"):
        import importlib
        return importlib.import_module(f"lambdalab.{name}")
    raise AttributeError(f"module 'lambdalab' has no attribute {name!r}")
