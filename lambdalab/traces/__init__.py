"""Workload traces to replay in a Lab: ``ll.traces.azure2019()`` reads the Azure Functions 2019 trace.

``lab.replay(trace, keep_alive=...)`` creates a trace's functions and schedules its invocations; see
``azure2019`` for how a per-minute trace becomes arrival times, durations and memory sizes.
"""
from __future__ import annotations

from .azure2019 import SAMPLE, PercentileDuration, Trace, TraceFunction, azure2019, timer

__all__ = ["azure2019", "timer", "Trace", "TraceFunction", "PercentileDuration", "SAMPLE"]
