"""Notebook views of a lab: step through what Lambda does, hop by hop, on a diagram, a timeline and the logs.

``Stepper(scene)`` tells one story (``with lab.scene("cold start") as scene: ...``) from its first step;
``Stepper(lab)`` follows the whole lab as it grows; ``ArchitectureDiagram``, ``Timeline``, ``LogPanel`` and
``MetricsPanel`` also work on their own, and ``InvokeConsole(lab)`` invokes functions and feeds the new steps
to a Stepper; ``Explorer(draw, **sliders)`` redraws a plot from a fresh run as a learner moves sliders. Every view reads the trace and never drives the simulation. Importing this package pulls in
ipywidgets, matplotlib (Agg only, no pyplot) and networkx; ``import lambdalab`` alone does not.
"""
from .console import InvokeConsole
from .diagram import ArchitectureDiagram
from .explorer import Explorer
from .panels import LogPanel, MetricsPanel
from .stepper import Stepper
from .timeline import Timeline

__all__ = ["Stepper", "ArchitectureDiagram", "Timeline", "LogPanel", "MetricsPanel", "InvokeConsole", "Explorer"]
