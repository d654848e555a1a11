"""The engine: virtual clock and event heap, distributions and the trace sink. No AWS concepts live here."""
from .clock import Engine, Timer
from .distributions import Exponential, Fixed, LogNormal, Uniform, as_distribution
from .trace import COMPONENTS, Step, Trace

__all__ = ["Engine", "Timer", "Fixed", "Exponential", "Uniform", "LogNormal", "as_distribution", "Step", "Trace",
           "COMPONENTS"]
