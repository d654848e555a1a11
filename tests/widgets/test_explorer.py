"""The Explorer: sliders that rerun a small simulation and redraw its plot."""
from __future__ import annotations

import ipywidgets as widgets
import pytest

import lambdalab as ll
from lambdalab.widgets import Explorer
from lambdalab.widgets.render import is_png


def cold_share(fig, rate, idle_timeout):
    lab = ll.Lab(seed=6, trace="off", idle_timeout=idle_timeout, environment_lifetime=None, worker_lease=None)
    lab.create_function("f", None, duration=ll.Fixed(0.1), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=1)
    lab.poisson("f", rate, count=400)
    lab.run()
    share = lab.stats("f")["p_cold"]
    fig.subplots().bar(["cold"], [share])
    return f"{share:.3f} cold"


def test_moving_a_slider_reruns_and_redraws():
    view = Explorer(cold_share, title="keep-alive", rate=(0.005, 0.05, 0.005, 0.01), idle_timeout=(30, 1800, 30, 600))
    assert view.draws == 1 and is_png(view.image.value)
    assert isinstance(view.sliders["rate"], widgets.FloatSlider)
    assert isinstance(view.sliders["idle_timeout"], widgets.IntSlider)
    assert not view.sliders["rate"].continuous_update        # one run per release, not per pixel dragged
    first_png, first_note = bytes(view.image.value), view.caption.value
    view.sliders["idle_timeout"].value = 60                   # what a learner's drag does
    assert view.draws == 2 and view.values == {"rate": 0.01, "idle_timeout": 60}
    assert bytes(view.image.value) != first_png
    shorter = float(view.caption.value.split(">")[1].split()[0])
    assert shorter > float(first_note.split(">")[1].split()[0])   # a shorter keep-alive: more cold starts
    view.set(rate=0.05)
    assert view.draws == 3 and "keep-alive" in view.heading.value


def test_a_failing_draw_shows_its_error_and_keeps_the_sliders():
    def broken(fig, n):
        if n > 1:
            raise ValueError("n too large")
        fig.subplots().plot([0, n])

    view = Explorer(broken, n=(1, 3, 1, 1))
    good = bytes(view.image.value)
    view.sliders["n"].value = 2
    assert "ValueError: n too large" in view.caption.value
    assert bytes(view.image.value) == good and not view.sliders["n"].disabled
    view.sliders["n"].value = 1
    assert "ValueError" not in view.caption.value


def test_bad_arguments():
    with pytest.raises(TypeError, match="draw"):
        Explorer(None, n=(1, 2, 1, 1))
    with pytest.raises(TypeError, match="at least one slider"):
        Explorer(lambda fig: None)
    with pytest.raises(TypeError, match="min, max, step, value"):
        Explorer(lambda fig, n: None, n=5)


def test_on_a_projector_the_sliders_words_are_styled_at_the_panels_size():
    view = Explorer(lambda fig, n, policy: None, presentation=True, n=(1, 3, 1, 1),
                    policy=widgets.ToggleButtons(options=["a", "b"]))
    assert all("ll-slider" in slider._dom_classes for slider in view.sliders.values())
    style = view.heading.value
    for part in (".ll-slider .widget-label", ".ll-slider .widget-readout", ".ll-slider button"):
        assert part in style
    assert "font-size:20px" in style
    assert "<style>" not in Explorer(lambda fig, n: None, n=(1, 3, 1, 1)).heading.value
