"""Presentation mode for a projector, and one colour per lifecycle phase in every view.

The real-browser measurement at 1280x720 is docs/screenshots.py (computed font sizes, the pictures' scale on
screen); here, what the kernel side decides: label sizes in the PNGs, labels inside their boxes, colours.
"""
from __future__ import annotations

import pytest
from matplotlib.text import Text

from lambdalab.widgets import Stepper
from lambdalab.widgets.theme import LEGEND, PHASE_COLOURS, STATE_COLOURS, STATE_PHASES

from .conftest import make_lab


@pytest.fixture(scope="module")
def steppers():
    lab = make_lab()
    return Stepper(lab), Stepper(lab, presentation=True)


def test_every_label_is_at_least_18_px_in_the_presentation_pictures(steppers):
    normal, big = steppers
    # shown no smaller than drawn (docs/screenshots.py measures ~1,100-1,200 px wide at 1280x720)
    assert big.diagram.min_text_px() >= 18 and big.timeline.min_text_px() >= 18
    assert big.diagram.min_text_px() > normal.diagram.min_text_px()
    assert "28px" in big.sentence.value and "20px" in big.logs.body.value and "20px" in big.metrics.body.value
    assert all(b.style.font_size == "20px" for b in (big.step_button, big.back_button, big.reset_button))


def _inside(inner, outer, slack=1.0):
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack and inner.y0 >= outer.y0 - slack
            and inner.y1 <= outer.y1 + slack)


@pytest.mark.parametrize("mode", ["notebook", "presentation"])
def test_no_label_leaves_its_box_or_the_picture_at_any_step(steppers, mode):
    stepper = steppers[mode == "presentation"]
    diagram = stepper.diagram
    renderer = diagram.canvas.agg.get_renderer()
    figure_box = diagram.figure.bbox
    for position in range(len(stepper)):
        stepper.goto(position)
        for text in diagram.figure.findobj(Text):
            if text.get_visible() and text.get_text():
                box = text.get_window_extent(renderer)
                assert _inside(box, figure_box), f"step {position}: {text.get_text()!r} leaves the picture"
        for sprite in diagram.worker_rows:                       # environments' words inside their boxes
            _, label, *slots = sprite.artists
            if sprite.artists[0].get_visible():
                assert _inside(label.get_window_extent(renderer), sprite.artists[0].get_window_extent(renderer))
            for ebox, words in zip(slots[::2], slots[1::2]):
                if ebox.get_visible():
                    assert _inside(words.get_window_extent(renderer), ebox.get_window_extent(renderer)), \
                        f"step {position}: {words.get_text()!r} does not fit its environment box"
        band, words = diagram.zoom_band.artists
        if band.get_visible():
            assert _inside(words.get_window_extent(renderer), band.get_window_extent(renderer)), words.get_text()
    for name, sprite in diagram.hot.items():                     # the components' names inside their boxes
        patch, label = sprite.artists
        for artist in sprite.artists:
            artist.set_visible(True)
        assert _inside(label.get_window_extent(renderer), patch.get_window_extent(renderer)), name
        for artist in sprite.artists:
            artist.set_visible(False)
    stepper.goto(0)


def test_one_colour_per_phase_in_every_view(steppers):
    for state, phase in STATE_PHASES.items():
        assert STATE_COLOURS[state] == PHASE_COLOURS[phase]
    for sub in ("extension_init", "runtime_init", "function_init"):
        assert PHASE_COLOURS[sub] == PHASE_COLOURS["init"]           # Init's parts are Init
    assert len({PHASE_COLOURS[p] for p, _ in LEGEND}) == len(LEGEND)  # and the phases differ from each other
    _, big = steppers
    timeline_legend = big.timeline.figure.legends[0]
    shown = {t.get_text(): h.get_facecolor() for t, h in zip(timeline_legend.get_texts(),
                                                            timeline_legend.legend_handles)
             if hasattr(h, "get_facecolor")}
    diagram_words = {t.get_text() for t in big.diagram.ax.texts}
    for phase, words in LEGEND:
        if words in shown:
            from matplotlib.colors import to_rgba
            assert shown[words] == to_rgba(PHASE_COLOURS[phase]), words
    for _, words in LEGEND[2:]:
        assert words in diagram_words, f"the diagram's legend lacks {words!r}"
