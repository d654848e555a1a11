"""Where each part of Lambda sits on the diagram: a networkx graph with hand-placed, fixed coordinates.

Requests flow left to right, the way the architecture is usually drawn: client, frontend, Worker Manager,
worker hosts, and on the right one execution environment opened up to show its Runtime API, runtime,
extensions and handler. The asynchronous path (internal queue, pollers, destinations) runs along the top, event
source mapping pollers sit at the bottom, and the event-driven front doors (a function URL, SNS and S3) stand
left of the frontend, beside the client. Coordinates are in diagram units (16 x 10); the positions never
move, so a learner's eye can follow one request across many steps.
"""
from __future__ import annotations

import networkx as nx

__all__ = ["architecture_graph", "SANDBOX", "WORKER_AREA", "ZOOM_AREA", "XLIM", "YLIM", "TOP_WITHOUT_CAPTION",
           "line_box", "tag_point", "env_box", "hop_edge"]

XLIM = (0.0, 16.0)
YLIM = (-0.5, 9.5)
WORKER_AREA = (6.95, 0.45, 4.45, 5.95)    # x, y, width, height of the worker hosts' frame
ZOOM_AREA = (11.65, 0.45, 4.2, 7.55)      # the opened-up execution environment
TOP_WITHOUT_CAPTION = 8.4                 # above the drawing, YLIM leaves a strip for a caption
SANDBOX = frozenset(("runtime_api", "runtime", "extension", "function"))

# component: (centre x, centre y, width, height)
_BOXES = {
    "client": (0.95, 4.6, 1.5, 0.95),
    "frontend": (3.2, 4.6, 1.75, 1.05),
    "async_queue": (3.2, 7.55, 1.6, 0.95),
    "poller": (5.55, 7.55, 1.6, 0.95),
    "destination": (8.0, 7.55, 2.1, 0.95),
    "event_source_mapping": (3.2, 1.6, 1.75, 0.95),
    "worker_manager": (5.55, 4.6, 1.75, 1.05),
    "placement": (5.55, 1.6, 1.75, 0.95),
    "runtime_api": (13.75, 6.25, 3.6, 0.85),
    "runtime": (12.72, 4.45, 1.8, 0.95),
    "extension": (14.78, 4.45, 1.8, 0.95),
    "function": (12.72, 2.6, 1.8, 0.95),
    # the event-driven front doors, left of the frontend: a function URL in front of it, SNS and S3 pushing to it
    "url": (0.95, 6.1, 1.5, 0.95),
    "sns": (0.95, 7.55, 1.5, 0.95),
    "s3": (0.95, 1.6, 1.5, 0.95),
    # where code and image chunks come from when the worker's own cache misses (cold starts)
    "az_cache": (9.62, 7.55, 1.0, 0.9),
    "code_store": (10.97, 7.55, 1.12, 0.9),
}

# hops drawn as lines; a hop between two components is highlighted on the line that joins them
_EDGES = (
    ("client", "frontend"), ("frontend", "async_queue"), ("async_queue", "poller"), ("poller", "frontend"),
    ("poller", "destination"), ("event_source_mapping", "frontend"), ("frontend", "worker_manager"),
    ("worker_manager", "placement"), ("placement", "worker"), ("worker_manager", "worker"),
    ("runtime_api", "runtime"), ("runtime", "function"), ("extension", "runtime_api"),
    ("client", "url"), ("url", "frontend"), ("sns", "frontend"), ("s3", "frontend"),
    ("code_store", "az_cache"), ("az_cache", "worker"),
)

_LINES = 3        # lines of worker hosts
_CELLS = 3        # environments per line
_TAG = 0.36       # the strip at the top of a line that names its worker host


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


def line_box(line: int) -> tuple[float, float, float, float]:
    """(x, y, width, height) of line ``line`` (top to bottom) inside the worker area."""
    x, y, w, h = WORKER_AREA
    top = y + h - 0.62
    row_h = (h - 0.8) / _LINES
    return x + 0.15, top - (line + 1) * row_h + 0.16, w - 0.3, row_h - 0.16


def tag_point(line: int) -> tuple[float, float]:
    """Where the worker host's name goes on a line (left end of its top strip)."""
    x, y, w, h = line_box(line)
    return x + 0.12, y + h - _TAG / 2 - 0.02


def env_box(line: int, cell: int, cells: int = _CELLS) -> tuple[float, float, float, float]:
    """(x, y, width, height) of environment ``cell`` on line ``line`` (of ``cells`` per line)."""
    x, y, w, h = line_box(line)
    gap = 0.1
    width = (w - gap * (cells + 1)) / cells
    return x + gap + cell * (width + gap), y + 0.1, width, h - _TAG - 0.14


def hop_edge(graph: nx.Graph, hop: tuple[str, str] | None) -> tuple[str, str] | None:
    """The drawn line (from, to) for a hop, or None when the hop has no line of its own.

    Hops to an environment from outside it land on the worker hosts (where environments live); hops
    between an environment and its own Runtime API, runtime or handler light up only the inner box. The
    handler's result reaches the Runtime API through the runtime (it POSTs the response), so that hop lights the
    runtime's line.
    """
    if hop is None:
        return None
    a, b = hop
    if {a, b} == {"function", "runtime_api"}:
        a, b = ("runtime", b) if a == "function" else (a, "runtime")
    if a == "environment" and b not in SANDBOX:
        a = "worker"
    if b == "environment" and a not in SANDBOX:
        b = "worker"
    if a != b and graph.has_edge(a, b):
        return a, b
    return None
