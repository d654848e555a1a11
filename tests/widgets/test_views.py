"""What each view draws at a position: the diagram, the timeline, the logs and the counters."""
from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

import lambdalab as ll
from lambdalab.widgets import ArchitectureDiagram, LogPanel, MetricsPanel, Stepper, Timeline
from lambdalab.widgets.index import Cursor, TraceIndex
from lambdalab.widgets.timeline import TimeMap
from lambdalab.widgets.render import is_png, is_svg

from .conftest import png_size
from .synthetic import Script, long_trace, walkthrough


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_diagram_image_changes_and_highlights_the_component(lab):
    stepper = Stepper(lab)
    seen = set()
    previous = stepper.diagram.image.value
    for _ in range(len(lab.trace) - 1):
        stepper.step_button.click()
        step = stepper.current
        assert stepper.diagram.highlighted == step.component
        image = stepper.diagram.image.value
        assert is_png(image)
        if lab.trace[stepper.position - 1].component != step.component:
            assert image != previous, f"the diagram did not change at step {stepper.position}"
        previous = image
        seen.add(step.component)
    assert {"client", "frontend", "worker_manager", "placement", "worker", "environment", "runtime_api",
            "runtime", "function"} <= seen


def test_hop_follows_the_step_target(lab):
    diagram = ArchitectureDiagram(lab)
    dispatch = next(i for i, s in enumerate(lab.trace) if (s.component, s.action) == ("frontend", "dispatch"))
    diagram.goto(dispatch)
    assert diagram.hop == ("frontend", "worker_manager")
    request = next(i for i, s in enumerate(lab.trace) if (s.component, s.action) == ("worker_manager", "request"))
    diagram.goto(request)
    assert diagram.hop == ("worker_manager", "placement")
    # the handler's result: the runtime POSTs it to the Runtime API, so the runtime's line lights up
    response = next(i for i, s in enumerate(lab.trace) if (s.component, s.action) == ("runtime_api", "response"))
    assert lab.trace[response - 1].component == "function"
    diagram.goto(response)
    assert diagram.hop == ("runtime", "runtime_api")


@pytest.mark.parametrize("presentation", [False, True])
def test_incremental_frames_match_a_fresh_drawing(presentation):
    trace = walkthrough()
    diagram = ArchitectureDiagram(trace, presentation=presentation)
    rng = random.Random(7)
    for position in [0, 1, 2, 3, 4, 5, 40, 41, 12, 88, 0] + [rng.randrange(len(trace)) for _ in range(8)]:
        diagram.goto(position)
        fresh = ArchitectureDiagram(trace, position=position, presentation=presentation)
        assert np.array_equal(_pixels(diagram.png()), _pixels(fresh.png())), position


def test_environments_appear_change_state_and_disappear(lab):
    diagram = ArchitectureDiagram(lab)

    def env_state(position):
        diagram.goto(position)
        record = diagram.cursor.environment("e-1")
        shown = "e-1" in diagram.shown_environments
        return (record[0] if record else None), shown

    steps = list(lab.trace)
    create = next(i for i, s in enumerate(steps) if s.action == "create")
    freeze = next(i for i, s in enumerate(steps) if s.action == "freeze")
    kill = next(i for i, s in enumerate(steps) if s.action == "kill")
    assert env_state(create - 1) == (None, False)
    assert env_state(create) == ("init", True)
    assert env_state(freeze) == ("frozen", True)
    assert env_state(kill - 1)[0] == "shutdown"
    assert env_state(kill) == (None, False)
    assert env_state(create) == ("init", True)  # and back again


def test_many_environments_are_capped_with_a_count():
    s = Script()
    for i in range(60):  # 60 environments busy at once on 12 worker hosts
        s.sync(f"e-{i}", f"w-{i % 12}")
    diagram = ArchitectureDiagram(s.trace, position=len(s.trace) - 1)
    assert diagram.shown_environments == ["e-57", "e-58", "e-59"]  # the three hosts used last, a line each
    assert "+9 more" in diagram.headers["worker"].artists[2].get_text()  # 12 hosts, 3 drawn
    rows = [sprite.artists[1].get_text() for sprite in diagram.worker_rows]
    assert all(text.endswith("+4 more") for text in rows), rows  # 5 per host, 1 drawn
    focus = diagram.index.focus[diagram.position]
    assert focus in diagram.shown_environments  # the environment the step is about is always drawn


def test_one_host_with_many_environments_fills_every_line():
    s = Script()
    for i in range(12):
        s.sync(f"e-{i}", "w-1")
    diagram = ArchitectureDiagram(s.trace, position=len(s.trace) - 1)
    assert len(diagram.shown_environments) == 9
    rows = [sprite.artists[1].get_text() for sprite in diagram.worker_rows]
    assert rows[0].endswith("+3 more") and all("w-1" in text for text in rows)


def test_index_jumps_agree_with_a_replay():
    trace = long_trace(3000, environments=30, workers=5)
    index = TraceIndex(trace)
    replay = Cursor(index)
    states = [dict(replay.move(p)) for p in range(len(trace))]
    jumper = Cursor(index)
    rng = random.Random(1)
    for position in [rng.randrange(len(trace)) for _ in range(300)]:
        assert jumper.move(position) == states[position]


def test_timeline_rows_and_cursor(lab):
    timeline = Timeline(lab)
    assert timeline.rows == ["e-1"]
    xs = []
    for position in range(0, len(lab.trace), 5):
        timeline.goto(position)
        xs.append(timeline.cursor_x)
    assert xs == sorted(xs) and xs[-1] > xs[0]
    phases = {phase for env, phase, *_ in timeline.index.segments}
    assert {"microvm", "code", "runtime_init", "invoke", "frozen", "shutdown"} <= phases
    marks = {kind for kind, *_ in timeline.index.markers}
    assert {"cold", "error"} <= marks
    assert timeline.tmap.gaps, "the 600 s idle stretch should be shortened"


@pytest.mark.parametrize("busy", [[(0, 0.2), (600, 600.3)], [(0, 0.2), (600, 600.3), (1200, 1200.5)],
                                  [(0, 2.0), (130, 131)], [(0, 0.004), (0.5, 0.52)]])
def test_timeline_tick_labels_never_repeat(busy):
    """A short busy stretch after a long idle one (600 s, then 0.3 s of work) labels 600.1 and 600.2, not 600 twice."""
    for count in (6, 9):
        labels = [label for _, label in TimeMap(busy).ticks(count)]
        assert len(labels) == len(set(labels)) and len(labels) >= 2, labels
        assert [float(label) for label in labels] == sorted(float(label) for label in labels)


def test_timeline_axis_of_a_lab_shows_distinct_times(lab):
    labels = [t.get_text() for t in Timeline(lab).ax.get_xticklabels()]
    assert len(labels) == len(set(labels)), labels


def test_timeline_moves_only_the_cursor(lab):
    timeline = Timeline(lab)
    canvas = timeline.canvas
    timeline.goto(30)
    assert timeline.canvas is canvas  # the bars were not drawn again
    lab.client("lambda").invoke(FunctionName="hello")
    timeline.goto(len(lab.trace) - 1)
    assert timeline.canvas is not canvas  # a longer trace redraws them once


def test_metrics_follow_the_position_and_end_at_the_labs_stats(lab):
    panel = MetricsPanel(lab)
    assert panel.values["requests"] == 0  # step 0: the client sends; the frontend has not received it yet
    panel.goto(1)
    assert panel.values["requests"] == 1 and panel.values["cold_starts"] == 0
    panel.goto(len(lab.trace) - 1)
    stats = lab.stats()
    for key in ("requests", "cold_starts", "warm_starts", "throttles", "errors", "max_concurrency"):
        assert panel.values[key] == stats[key], key
    assert panel.values["environments"] == 0  # reclaimed at the end
    boot = next(i for i, s in enumerate(lab.trace) if s.action == "boot")
    panel.goto(boot)
    assert panel.values["concurrency"] == 1 and panel.values["environments"] == 1


def test_queue_depth_and_throttles_from_the_trace():
    s = Script()
    s.event("e-1")
    s.throttle()
    panel = MetricsPanel(s.trace)
    enqueue = next(i for i, st in enumerate(s.trace) if (st.component, st.action) == ("async_queue", "enqueue"))
    panel.goto(enqueue)
    assert panel.values["queue_depth"] == 1
    panel.goto(len(s.trace) - 1)
    assert panel.values["queue_depth"] == 0 and panel.values["throttles"] == 1


def test_log_panel_shows_lines_written_so_far(lab):
    panel = LogPanel(lab, lines=100)
    assert panel.shown == []
    panel.goto(len(lab.trace) - 1)
    assert panel.shown == lab.logs("hello")[-100:]
    first_report = next(i for i, s in enumerate(lab.trace) if s.action == "freeze")
    panel.goto(first_report)
    assert any(line.startswith("INIT_START") for line in panel.shown)
    assert not any("warm" in line for line in panel.shown)
    assert "CloudWatch Logs" in panel.title.value


def test_a_slice_of_a_labs_trace_still_shows_that_labs_log_lines(lab):
    """``Stepper(lab.trace[a:b])`` (one request's span, as lab 03 does) keeps the Lab: its logs are shown."""
    last_request = [s for s in lab.trace if s.request_id is not None][-1].request_id
    second = [s.seq for s in lab.trace if s.request_id == last_request]
    view = Stepper(lab.trace[min(second):max(second) + 1])
    assert view.source.lab is lab and not view.source.live
    view.goto(len(view) - 1)
    assert view.logs.shown and view.logs.shown[-1].startswith("REPORT")
    assert "give this view the Lab" not in view.logs.title.value
    # only that request's own lines: nothing the earlier requests wrote
    assert view.logs.shown[0].startswith("START") and last_request in view.logs.shown[0]


def test_log_panel_shows_no_line_that_a_later_step_writes_at_the_same_virtual_time():
    """A handler that takes no virtual time: START, its output, END and REPORT share one timestamp, but each
    line appears at the step that writes it, not at the first step of that instant."""
    lab = ll.Lab(seed=0)
    lab.create_function("instant", "def handler(event, context):\n    print('working')\n    return 1\n",
                        duration=ll.Fixed(0.0))
    lab.client("lambda").invoke(FunctionName="instant")
    lab.client("lambda").invoke(FunctionName="instant")              # warm: no Init lines in between
    panel = LogPanel(lab, lines=100)
    steps = list(lab.trace)
    invoke = max(i for i, s in enumerate(steps) if (s.component, s.action) == ("environment", "invoke"))
    freeze = max(i for i, s in enumerate(steps) if (s.component, s.action) == ("environment", "freeze"))
    assert steps[invoke].t == steps[freeze].t
    panel.goto(invoke)
    assert panel.shown[-1].startswith("START") and not any("working" in line for line in panel.shown[-2:])
    panel.goto(freeze)
    assert panel.shown[-1].startswith("REPORT") and any("working" in line for line in panel.shown[-4:])
    assert panel.shown == lab.logs("instant")


def test_log_panel_on_a_bare_trace_says_where_logs_come_from():
    panel = LogPanel(walkthrough())
    assert "give this view the Lab" in panel.title.value
    assert panel.shown == []


@pytest.mark.parametrize("view", [ArchitectureDiagram, Timeline, LogPanel, MetricsPanel])
def test_views_accept_bad_input(view):
    widget = view(3.14)
    text = " ".join(getattr(w, "value", "") for w in widget.children if isinstance(getattr(w, "value", None), str))
    assert "needs a Lab" in text
    widget.goto(5)  # still no exception


def test_exports_are_valid_png_and_svg(lab):
    diagram = ArchitectureDiagram(lab, position=5)
    png, svg = diagram.to_png(), diagram.to_svg()
    assert is_png(png) and is_svg(svg)
    assert png_size(png)[0] > png_size(diagram.png())[0]  # slides get a sharper image
    assert b"Placement" in svg
    timeline = Timeline(lab, position=20)
    assert is_png(timeline.to_png()) and is_svg(timeline.to_svg())
    diagram.goto(6)  # the live view keeps working after an export
    assert is_png(diagram.image.value) and diagram.highlighted == lab.trace[6].component
