"""Lab 08's stories as a learner steps through them, built the way the notebook builds them.

Each Stepper is made from a scene and starts at step 1; the second image's cold start shows its chunk fetches
tier by tier (the shared base from the worker's cache, its own layer from S3); the SnapStart and pre-2019 VPC
cold starts show their own phases; and every scene stays readable on a projector (presentation mode: no text
under 18 px, none outside the picture at any step).
"""
from __future__ import annotations

import pytest
from matplotlib.text import Text

import lambdalab as ll
from lambdalab.check.lab08 import SLOW_INIT, cold_start_parts
from lambdalab.widgets import Stepper


def cold(lab, name, **invoke):
    with lab.scene(f"{name}: a cold start") as scene:
        lab.submit(FunctionName=name, **invoke)
        lab.run()
    return scene


@pytest.fixture(scope="module")
def scenes():
    lab = ll.Lab(seed=8)
    first = lab.push_image("orders", SLOW_INIT, base="python:3.12", size_mb=400)
    second = lab.push_image("billing", SLOW_INIT.replace("ok", "billed"), base="python:3.12", size_mb=400)
    for name, uri in (("orders", first), ("billing", second)):
        lab.create_function(name, PackageType="Image", Code={"ImageUri": uri})
    made = {"first image": cold(lab, "orders"), "second image": cold(lab, "billing")}
    lab.create_function("snappy", SLOW_INIT, SnapStart={"ApplyOn": "PublishedVersions"})
    lab.client("lambda").publish_version(FunctionName="snappy")
    lab.run()
    made["SnapStart"] = cold(lab, "snappy", Qualifier="1")
    old = ll.Lab(seed=8, vpc_eni="per-environment")
    old.create_function("private", SLOW_INIT, VpcConfig={"SubnetIds": ["subnet-1a"], "SecurityGroupIds": ["sg"]})
    made["VPC before 2019"] = cold(old, "private")
    return made


def _tiers(scene):
    return [(s.component, s.detail["chunks"]) for s in scene.steps
            if (s.component, s.action) in (("worker", "cache"), ("az_cache", "serve"), ("code_store", "serve"))]


def test_the_image_steppers_start_at_step_1_and_show_the_chunk_fetches_by_tier(scenes):
    first, second = scenes["first image"], scenes["second image"]
    assert [c for c, _ in _tiers(first)] == ["az_cache", "code_store"]      # the base is in the AZ cache
    assert [c for c, _ in _tiers(second)] == ["worker", "code_store"]       # ... and now on the worker too
    assert _tiers(first)[0][1] == _tiers(second)[0][1]                       # the same base chunks
    stepper = Stepper(second)
    assert "step 1 of" in stepper.counter.value and len(stepper) == len(second)
    assert second.steps[0].component == "client"
    for position, step in enumerate(second.steps):
        if step.component == "code_store":
            stepper.goto(position)
            assert "S3 (Lambda&#x27;s code store) serves" in stepper.sentence.value
            assert stepper.diagram.hot["code_store"].artists[0].get_visible()   # its box lights up
    parts = cold_start_parts(second.steps)
    assert parts["code: worker cache"] > 0 and parts["code: S3"] > 0 and parts["code: AZ cache"] == 0


def test_snapstart_and_old_vpc_cold_starts_show_their_own_phases(scenes):
    restore = cold_start_parts(scenes["SnapStart"].steps)
    assert restore["SnapStart restore"] > 0 and restore["function init"] == 0 and restore["runtime init"] == 0
    vpc = cold_start_parts(scenes["VPC before 2019"].steps)
    assert vpc["VPC ENI attach"] == pytest.approx(10.0)
    phases = {s.detail.get("phase") for s in scenes["VPC before 2019"].steps}
    assert "vpc" in phases


def _inside(inner, outer, slack=1.0):
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack and inner.y0 >= outer.y0 - slack
            and inner.y1 <= outer.y1 + slack)


@pytest.mark.parametrize("name", ["second image", "SnapStart", "VPC before 2019"])
def test_each_scene_reads_on_a_projector_at_every_step(scenes, name):
    stepper = Stepper(scenes[name], presentation=True)
    assert "step 1 of" in stepper.counter.value
    for view in (stepper.diagram, stepper.timeline):
        renderer = view.figure.canvas.get_renderer()
        for position in range(len(stepper)):
            stepper.goto(position)
            assert view.min_text_px() >= 18
            for text in view.figure.findobj(Text):
                if text.get_visible() and text.get_text():
                    assert _inside(text.get_window_extent(renderer), view.figure.bbox), \
                        f"step {position}: {text.get_text()!r} leaves the picture"
