"""Where each part of Lambda sits on the diagram: a networkx graph with hand-placed, fixed coordinates.

Requests flow left to right, the way the architecture is usually drawn: client, frontend, Worker Manager,
worker hosts, and on the right one execution environment opened up to show its Runtime API, runtime,
extensions and handler. The asynchronous path (internal queue, pollers, destinations) runs along the top, event
source mapping pollers sit at the bottom. Coordinates are in diagram units (16 x 10); the positions never
move, so a learner's eye can follow one request across many steps.
"""
from __future__ import annotations

import networkx as nx

__all__ = ["architecture_graph", "SANDBOX", "WORKER_AREA", "ZOOM_AREA", "XLIM", "YLIM", "TOP_WITHOUT_CAPTION",
           "worker_box", "env_box", "hop_edge"]

XLIM = (0.0, 16.0)
YLIM = (-0.5, 9.5)
WORKER_AREA = (6.95, 0.45, 4.65, 5.95)    # x, y, width, height of the worker hosts' frame
ZOOM_AREA = (11.95, 0.45, 3.85, 7.55)     # the opened-up execution environment
TOP_WITHOUT_CAPTION = 8.4                 # above the drawing, YLIM leaves a strip for a caption
SANDBOX = frozenset(("runtime_api", "runtime", "extension", "function"))

# component: (centre x, centre y, width, height)
_BOXES = {
    "client": (0.95, 4.6, 1.5, 0.95),
    "frontend": (3.2, 4.6, 1.75, 1.05),
    "async_queue": (3.2, 7.55, 1.6, 0.95),
    "poller": (5.55, 7.55, 1.6, 0.95),
    "destination": (8.1, 7.55, 1.9, 0.95),
    "event_source_mapping": (3.2, 1.6, 1.75, 0.95),
    "worker_manager": (5.55, 4.6, 1.75, 1.05),
    "placement": (5.55, 1.6, 1.75, 0.95),
    "runtime_api": (13.875, 6.25, 3.25, 0.85),
    "runtime": (13.0, 4.45, 1.5, 0.95),
    "extension": (14.75, 4.45, 1.5, 0.95),
    "function": (13.0, 2.6, 1.5, 0.95),
}

# hops drawn as lines; a hop between two components is highlighted on the line that joins them
_EDGES = (
    ("client", "frontend"), ("frontend", "async_queue"), ("async_queue", "poller"), ("poller", "frontend"),
    ("poller", "destination"), ("event_source_mapping", "frontend"), ("frontend", "worker_manager"),
    ("worker_manager", "placement"), ("placement", "worker"), ("worker_manager", "worker"),
    ("runtime_api", "runtime"), ("runtime", "function"), ("extension", "runtime_api"),
)

_WORKER_ROWS = 3
_ENV_COLUMNS = 2


def architecture_graph() -> nx.Graph:
    """Nodes carry ``box`` (x, y, w, h centred) and ``kind``; edges are the lines a hop can light up."""
    graph = nx.Graph()
    for name, box in _BOXES.items():
        graph.add_node(name, box=box, kind="component")
    x, y, w, h = WORKER_AREA
    graph.add_node("worker", box=(x + w / 2, y + h / 2, w, h), kind="area")
    x, y, w, h = ZOOM_AREA
    graph.add_node("environment", box=(x + w / 2, y + h / 2, w, h), kind="area")
    graph.add_edges_from(_EDGES)
    return graph


def worker_box(slot: int) -> tuple[float, float, float, float]:
    """(x, y, width, height) of worker host slot ``slot``, top to bottom inside the worker area."""
    x, y, w, h = WORKER_AREA
    inner_top = y + h - 0.62
    row_h = (h - 0.8) / _WORKER_ROWS
    top = inner_top - slot * row_h
    return x + 0.15, top - row_h + 0.12, w - 0.3, row_h - 0.12


def env_box(wslot: int, slot: int) -> tuple[float, float, float, float]:
    """(x, y, width, height) of environment ``slot`` on worker slot ``wslot``."""
    x, y, w, h = worker_box(wslot)
    label_w = 0.95
    gap = 0.1
    width = (w - label_w - gap * (_ENV_COLUMNS + 1)) / _ENV_COLUMNS
    return x + label_w + gap + slot * (width + gap), y + 0.1, width, h - 0.2


def hop_edge(graph: nx.Graph, hop: tuple[str, str] | None) -> tuple[str, str] | None:
    """The drawn line (from, to) for a hop, or None when the hop has no line of its own.

    Hops to an environment from outside it land on the worker hosts (where environments live); hops
    between an environment and its own Runtime API, runtime or handler light up only the inner box.
    """
    if hop is None:
        return None
    a, b = hop
    if a == "environment" and b not in SANDBOX:
        a = "worker"
    if b == "environment" and a not in SANDBOX:
        b = "worker"
    if a != b and graph.has_edge(a, b):
        return a, b
    return None
