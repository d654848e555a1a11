"""Names, colours and sizes shared by every view, for the notebook and for the projector.

Colours come from the Okabe-Ito palette, which stays distinguishable for colour-blind learners and survives a
washed-out projector. Each lifecycle phase has one colour, used alike by the diagram's environments, the
timeline's bars and both legends: Init is orange wherever it appears (its extension, runtime and function
sub-steps are Init too, and share it), Invoke green, frozen sky blue, Shutdown purple. The platform's work
before Init (booting the microVM, fetching the code) has two browns of its own, so a learner who has seen
"frozen is sky blue" once can read every view.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NAMES", "LABELS", "STATE_COLOURS", "STATE_PHASES", "PHASE_COLOURS", "PHASE_NAMES", "LEGEND", "Theme",
           "theme"]

# one-line names for sentences ("Placement Service: ...")
NAMES = {
    "client": "Client",
    "frontend": "Frontend (Invoke API)",
    "async_queue": "Internal queue",
    "poller": "Async poller",
    "event_source_mapping": "Event source mapping",
    "worker_manager": "Worker Manager",
    "placement": "Placement Service",
    "worker": "Worker host",
    "environment": "Execution environment",
    "runtime_api": "Runtime API",
    "runtime": "Runtime",
    "extension": "Extensions",
    "function": "Function",
    "destination": "Destination",
    "url": "Function URL",
    "sns": "Amazon SNS",
    "s3": "Amazon S3",
    "az_cache": "AZ-level cache",
    "code_store": "S3 (Lambda's code store)",
}

# box labels on the diagram (two short lines at most)
LABELS = {
    "client": "Client",
    "frontend": "Frontend\nInvoke API",
    "async_queue": "Internal\nqueue",
    "poller": "Async\npollers",
    "event_source_mapping": "ESM\npollers",
    "worker_manager": "Worker\nManager",
    "placement": "Placement\nService",
    "worker": "Worker hosts",
    "environment": "Execution environment",
    "runtime_api": "Runtime API",
    "runtime": "Runtime",
    "extension": "Extensions",
    "function": "Function\nhandler",
    "destination": "Destinations\n/ DLQ",
    "url": "Function\nURL",
    "sns": "SNS\ntopic",
    "s3": "S3\nbucket",
    "az_cache": "AZ\ncache",
    "code_store": "S3\n(code)",
}

ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")

PHASE_COLOURS = {
    "init": ORANGE,
    "microvm": "#8C5A00",
    "code": "#B87800",
    "extension_init": ORANGE,
    "runtime_init": ORANGE,
    "function_init": ORANGE,
    "vpc": "#5A3A00",                 # before 2019: an ENI per new environment (platform work, like the microVM)
    "restore": YELLOW,                # SnapStart: the resume that replaces Init
    "invoke": GREEN,
    "frozen": SKY,
    "shutdown": PURPLE,
}

# an environment's state (the diagram) is drawn in the colour of the phase it is in (the timeline)
STATE_PHASES = {"init": "init", "invoking": "invoke", "frozen": "frozen", "shutdown": "shutdown"}
STATE_COLOURS = {state: PHASE_COLOURS[phase] for state, phase in STATE_PHASES.items()}
# the one legend every view shows: (colour, words)
LEGEND = (("microvm", "microVM boot"), ("code", "code fetch"), ("init", "Init"), ("invoke", "Invoke"),
          ("frozen", "frozen"), ("shutdown", "Shutdown"))

PHASE_NAMES = {
    "init": "init",
    "microvm": "microVM boot",
    "code": "code fetch",
    "extension_init": "extension init",
    "runtime_init": "runtime init",
    "function_init": "function init",
    "vpc": "ENI attach",
    "restore": "SnapStart restore",
    "invoke": "invoke",
    "frozen": "frozen",
    "shutdown": "shutdown",
}


@dataclass(frozen=True)
class Theme:
    """Sizes and strokes for one display: the notebook (default) or a projector (``presentation``)."""

    presentation: bool
    dpi: int
    font: float           # box labels, points
    small: float          # secondary labels
    line: float           # idle edges and box outlines
    hot_line: float       # the highlighted box and hop
    ink: str              # text and outlines
    idle_fill: str        # a component box that is not acting
    idle_edge: str        # an edge nobody is taking
    hot: str              # the acting component and the hop it takes
    hot_fill: str
    html_size: str        # the step sentence in the Stepper
    cells: int            # environments per worker-host line on the diagram
    panel_size: str       # text of the log and metrics panels, the counter and the buttons

    @property
    def css(self) -> str:
        return f"font-size:{self.html_size};line-height:1.35;color:{self.ink}"


NOTEBOOK = Theme(False, 100, 11.0, 9.0, 1.2, 3.6, "#222222", "#F4F4F4", "#B8B8B8", VERMILLION, "#FFE3CC", "15px",
                 3, "12px")
# On a projector every label must read at 18 px or more from the back of a room at 1280x720: the figures are
# drawn 10 inches wide and shown about 1,100-1,200 px wide, so 12.5 pt is ~19 px on screen (see
# docs/screenshots.py, which measures it in Chromium). Two environments per host line leave room for the type.
PROJECTOR = Theme(True, 110, 13.5, 12.5, 2.0, 5.5, "#000000", "#FFFFFF", "#8A8A8A", VERMILLION, "#FFD2A8", "28px",
                  2, "20px")


def theme(presentation: bool = False) -> Theme:
    return PROJECTOR if presentation else NOTEBOOK
