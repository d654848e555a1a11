"""The projector rule in a real browser: an Explorer in presentation mode at 1280x720, every word at least 18 px.

docs/screenshots.py measures every lab this way (``projector_problems``); this test runs the same measurement
and the same rule on a throwaway notebook, so CI catches a slider label, readout or option button that a
room could not read from the back (ipywidgets draws them at 13 px unless the Explorer's style enlarges them).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
from jlab import JS_MEASURE, JS_SCROLL, open_notebook, require_browser  # noqa: E402
from screenshots import min_text_px, projector_problems  # noqa: E402

EXPLORER = """
import ipywidgets
import lambdalab as ll

def draw(fig, policy, minutes, share):
    fig.subplots().plot([0, minutes], [0, share])
    return f"{policy}: {minutes} min"

ll.widgets.Explorer(draw, title="keep-alive", presentation=True,
                    policy=ipywidgets.ToggleButtons(options=["fixed", "hybrid"], description="policy"),
                    minutes=(1, 240, 1, 10), share=(0.0, 1.0, 0.05, 0.5))
"""


def test_explorer_sliders_read_at_18_px_on_a_projector(tmp_path):
    require_browser()
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": EXPLORER}]}
    root = tmp_path / "nbroot"
    root.mkdir()
    path = root / "explorer.ipynb"
    path.write_text(json.dumps(nb))
    with open_notebook(path, root, tmp_path, width=1280, height=720) as (page, _cdp):
        page.evaluate(JS_MEASURE)
        page.evaluate(JS_SCROLL, 0)
        page.wait_for_timeout(300)
        [explorer] = page.evaluate(JS_MEASURE)
    sliders = [(px, text) for part, px, text in explorer["fonts"] if part == "ll-slider"]
    # the labels, the readouts and the option buttons are all measured
    assert {"policy", "minutes", "share", "fixed", "hybrid", "10", "0.50"} <= {text for _, text in sliders}, sliders
    report = {"min_text_px": {"True": min_text_px()[True]}, "labs": {"explorer": {"presentation": [explorer]}}}
    assert projector_problems(report) == []
    assert min(px for px, _ in sliders) >= 18
