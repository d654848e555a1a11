"""Scenes: one story per widget, cut from the lab's one trace (CONTRACT.md, "Scenes")."""
from __future__ import annotations

import pytest

import lambdalab as ll
from lambdalab.engine.scene import Scene, SceneError
from lambdalab.widgets import Stepper


def _lab():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", "def handler(event, context):\n    print('hi', event.get('n'))\n    return 1\n")
    return lab, lab.client("lambda")


def test_a_scene_records_exactly_the_steps_made_in_its_block():
    lab, lam = _lab()
    lam.invoke(FunctionName="hello", Payload=b'{"n": 1}')
    before = len(lab.trace)
    with lab.scene("warm start") as scene:
        assert scene.recording
        lam.invoke(FunctionName="hello", Payload=b'{"n": 2}')
    lam.invoke(FunctionName="hello", Payload=b'{"n": 3}')      # after the block: not in the scene
    assert not scene.recording
    assert scene.title == "warm start"
    assert [s.seq for s in scene.steps] == list(range(before, before + len(scene)))
    assert scene.steps[0].component == "client" and scene.steps[-1].component == "client"
    assert {s.request_id for s in scene.steps if s.request_id} == {scene[0].request_id}
    assert scene[-1] is scene.steps[-1] and list(scene) == list(scene.steps)
    assert "warm start" in repr(scene) and "recorded" in repr(scene)
    # the lab keeps running as before: the trace holds every step, scene or not
    assert len(lab.trace) == before + len(scene) + len(lab.trace.filter(request_id=lab.trace[-1].request_id))


def test_stepper_of_a_scene_walks_it_from_step_1_with_its_title():
    lab, lam = _lab()
    lam.invoke(FunctionName="hello", Payload=b'{"n": 1}')
    with lab.scene("warm start") as scene:
        lam.invoke(FunctionName="hello", Payload=b'{"n": 2}')
    lam.invoke(FunctionName="hello", Payload=b'{"n": 3}')
    stepper = Stepper(scene)
    assert len(stepper) == len(scene) and stepper.position == 0
    assert stepper.current is scene.steps[0]
    assert f"step 1 of {len(scene)}" in stepper.counter.value
    assert "warm start" in stepper.heading.value and stepper.title == "warm start"
    stepper.goto(10_000)
    assert stepper.current is scene.steps[-1] and stepper.step_button.disabled
    # a warm start: the environment existed before the scene, so no cold start is counted or marked
    assert stepper.metrics.values["cold_starts"] == 0 and stepper.metrics.values["warm_starts"] == 1
    assert stepper.metrics.values["requests"] == 1
    assert not [m for m in stepper.index.markers if m[0] == "cold"]
    # only this scene's log lines: the second request's, none of the first's or the third's
    shown = "\n".join(stepper.logs.shown)
    rid = scene[0].request_id
    assert f"START RequestId: {rid}" in shown and "REPORT" in shown
    assert shown.count("START RequestId") == 1 and "INIT_START" not in shown


def test_a_scene_does_not_follow_the_lab_after_its_block():
    lab, lam = _lab()
    with lab.scene("cold start") as scene:
        lam.invoke(FunctionName="hello")
    stepper = Stepper(scene)
    n = len(stepper)
    lam.invoke(FunctionName="hello")
    stepper.refresh()
    stepper.goto(10_000)
    assert len(stepper) == n == len(scene)
    assert not stepper.source.live


def test_an_empty_scene_says_nothing_happened():
    lab, lam = _lab()
    lam.invoke(FunctionName="hello")
    with lab.scene("quiet") as scene:
        pass
    assert len(scene) == 0 and not scene
    stepper = Stepper(scene)
    assert stepper.current is None and stepper.step_button.disabled
    assert "Nothing happened in this scene" in stepper.sentence.value
    assert "quiet" in stepper.sentence.value


def test_scenes_do_not_nest_and_are_not_reentered():
    lab, lam = _lab()
    with lab.scene("outer") as outer:
        with pytest.raises(SceneError, match="cannot start inside scene 'outer'"):
            with lab.scene("inner"):
                pass
        lam.invoke(FunctionName="hello")
    assert len(outer) > 0
    with pytest.raises(SceneError, match="already been recorded"):
        with outer:
            pass
    # after the errors the lab still takes a new scene
    with lab.scene("next") as again:
        lam.invoke(FunctionName="hello")
    assert len(again) > 0 and again.first == outer.last


def test_a_failing_block_still_closes_its_scene():
    lab, lam = _lab()
    with pytest.raises(ZeroDivisionError):
        with lab.scene("oops") as scene:
            lam.invoke(FunctionName="hello")
            1 / 0
    assert not scene.recording and len(scene) > 0
    with lab.scene("after") as after:
        pass
    assert len(after) == 0


def test_bad_titles_and_unstarted_scenes():
    lab, _ = _lab()
    with pytest.raises(ValueError, match="needs a title"):
        lab.scene("")
    with pytest.raises(ValueError, match="needs a title"):
        lab.scene(None)
    scene = lab.scene("later")
    assert isinstance(scene, Scene) and "not started" in repr(scene)
    with pytest.raises(SceneError, match="has not started"):
        len(scene)
    view = Stepper(scene)
    assert "before it was recorded" in view.sentence.value


def test_a_scene_in_a_lab_that_records_no_steps():
    lab = ll.Lab(seed=0, trace="summary")
    lab.create_function("hello")
    with lab.scene("bulk") as scene:
        lab.client("lambda").invoke(FunctionName="hello")
    assert len(scene) == 0
    assert "records no steps" in Stepper(scene).sentence.value
