"""The Stepper as a learner drives it: buttons, slider, live steps, bad input."""
from __future__ import annotations

import lambdalab as ll
from lambdalab.widgets import Stepper
from lambdalab.widgets.render import is_png

from .synthetic import walkthrough


def test_buttons_move_position_and_current(lab):
    stepper = Stepper(lab)
    assert stepper.position == 0
    assert stepper.current is lab.trace[0]
    assert stepper.current.component == "client"
    stepper.step_button.click()
    stepper.step_button.click()
    assert stepper.position == 2
    assert stepper.current is lab.trace[2]
    assert stepper.slider.value == 2
    stepper.back_button.click()
    assert (stepper.position, stepper.current) == (1, lab.trace[1])
    for _ in range(5):
        stepper.step_button.click()
    assert stepper.position == 6
    stepper.reset_button.click()
    assert (stepper.position, stepper.current) == (0, lab.trace[0])
    assert stepper.back_button.disabled and not stepper.step_button.disabled


def test_button_labels_and_play():
    stepper = Stepper(walkthrough())
    labels = [stepper.back_button.description, stepper.step_button.description,
              stepper.play_button.description, stepper.reset_button.description]
    assert labels == ["Back", "Step", "Play", "Reset"]
    assert stepper.play.max == stepper.slider.max == len(stepper) - 1
    stepper.play_button.click()  # the browser runs the timer; the kernel only switches it on
    assert stepper.play.playing and stepper.play_button.description == "Pause"
    stepper.play.value = 3  # what the browser's timer does, through the slider link
    stepper.slider.value = 3
    assert stepper.position == 3
    stepper.play_button.click()
    assert not stepper.play.playing and stepper.play_button.description == "Play"


def test_ends_clamp():
    trace = walkthrough()
    stepper = Stepper(trace)
    stepper.back()
    assert stepper.position == 0
    stepper.goto(len(trace) + 50)
    assert stepper.position == len(trace) - 1
    assert stepper.step_button.disabled
    stepper.step()
    assert stepper.position == len(trace) - 1


def test_slider_drives_the_views(lab):
    stepper = Stepper(lab)
    stepper.slider.value = 7
    assert stepper.position == 7
    assert stepper.diagram.position == stepper.timeline.position == stepper.metrics.position == 7
    assert stepper.diagram.highlighted == lab.trace[7].component
    assert "step 8 of" in stepper.counter.value


def test_sentence_is_the_steps_text(lab):
    stepper = Stepper(lab)
    stepper.goto(5)
    step = lab.trace[5]
    assert step.text.split(":")[0] in stepper.sentence.value
    assert "Placement Service" in stepper.sentence.value or step.component != "placement"


def test_live_steps_extend_the_stepper(lab):
    stepper = Stepper(lab)
    before = len(stepper)
    stepper.goto(before - 1)
    lab.client("lambda").invoke(FunctionName="hello", Payload=b'{"name": "later"}')
    stepper.refresh()
    assert len(stepper) == len(lab.trace) > before
    assert stepper.slider.max == len(lab.trace) - 1
    assert stepper.position == before - 1  # refreshing does not move the learner
    stepper.step()
    assert stepper.current is lab.trace[before]
    assert stepper.current.component == "client" and stepper.current.action == "invoke"


def test_a_stepper_made_before_any_invoke_fills_in():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", None)
    stepper = Stepper(lab)
    assert stepper.position == -1 and stepper.current is None
    assert "No steps yet" in stepper.sentence.value
    assert stepper.step_button.disabled
    lab.client("lambda").invoke(FunctionName="hello")
    stepper.refresh()
    assert stepper.position == 0 and stepper.current is lab.trace[0]
    assert not stepper.step_button.disabled
    stepper.step()
    assert stepper.position == 1


def test_bad_input_gives_a_message_not_a_traceback():
    for bad in (42, None, "hello", {"a": 1}):
        stepper = Stepper(bad)
        assert "needs a Lab" in stepper.sentence.value
        assert stepper.current is None
        stepper.step()
        stepper.back()
        stepper.reset()
        assert stepper.position == -1
    summary = Stepper(ll.Lab(trace="summary"))
    assert "records no steps" in summary.sentence.value
    empty = Stepper([])
    assert "no steps" in empty.sentence.value


def test_presentation_mode():
    trace = walkthrough()
    normal, big = Stepper(trace), Stepper(trace, presentation=True)
    assert big.children[0] is big.heading and big.children[3] is big.diagram  # title, controls, words, diagram
    assert normal.children[3] is normal.diagram
    assert big.theme.font > normal.theme.font
    assert "28px" in big.sentence.value
    normal_w, _ = _size(normal.diagram.png())
    big_w, _ = _size(big.diagram.png())
    assert big_w > normal_w
    big.step()
    assert is_png(big.diagram.image.value) and big.position == 1


def _size(data):
    from .conftest import png_size
    return png_size(data)


def test_a_big_growth_is_announced_and_loaded_on_the_next_step(lab):
    stepper = Stepper(lab)
    before = len(stepper)
    for _ in range(3):
        lab.client("lambda").invoke(FunctionName="hello")
    stepper.refresh(limit=10)  # what runs after each notebook cell, for a cell that added many steps
    assert len(stepper) == before and "new: press Step" in stepper.counter.value
    stepper.step()
    assert len(stepper) == len(lab.trace) and stepper.slider.max == len(lab.trace) - 1
    assert stepper.position == 1
