#!/usr/bin/env python3
"""Step -> updated diagram, measured in real Chromium: what a learner (or an instructor) waits for per click.

    python bench/step_browser.py [--clicks 40]

Opens a small notebook in JupyterLab in headless Debian Chromium (tests/browser/jlab.py), with one scene (a
cold start and two warm starts) in a notebook-mode Stepper and a presentation-mode Stepper, and a baseline: a
plain ipywidgets Button that swaps an Image between two ready-made PNGs of the presentation diagram's size (the
comm round trip and the browser's decode, with no lambdalab work). For each, it clicks Step in the page and
times from the click to the new diagram picture decoded and painted (a MutationObserver on the <img>'s src,
then ``img.decode()`` and two animation frames). Prints

    bench: step_browser_median_ms=... p90_ms=... presentation_median_ms=... presentation_p90_ms=...
           baseline_median_ms=... clicks=...

``step_browser_*`` is the notebook mode, ``presentation_*`` the projector mode; the target is a median under
120 ms in both.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from jlab import open_notebook  # noqa: E402

CELLS = [
    """import lambdalab as ll
lab = ll.Lab(seed=0)
lab.create_function("hello", "import time\\ntime.sleep(0.1)\\ndef handler(event, context):\\n    return 1\\n")
lam = lab.client("lambda")
with lab.scene("a cold start and two warm starts") as scene:
    for _ in range(3):
        lam.invoke(FunctionName="hello")
len(scene)""",
    "ll.widgets.Stepper(scene)",
    "ll.widgets.Stepper(scene, presentation=True)",
    """import ipywidgets as w
probe = ll.widgets.Stepper(scene, presentation=True)
frames = [bytes(probe.diagram.png())]
probe.step()
frames.append(bytes(probe.diagram.png()))
img = w.Image(value=frames[0], format="png", layout=w.Layout(width="100%"))
img.add_class("ll-diagram")
button = w.Button(description="Step")
button.add_class("ll-step")
flip = [0]
def swap(_):
    flip[0] ^= 1
    img.value = frames[flip[0]]
button.on_click(swap)
box = w.VBox([button, img])
box.add_class("ll-baseline")
box""",
]

JS_TIME_STEP = """async (sel) => {
  const box = document.querySelector(sel);
  const button = box.querySelector('button.ll-step'), img = box.querySelector('img.ll-diagram');
  if (button.disabled) return null;
  const before = img.src, t0 = performance.now();
  const changed = new Promise((resolve) => {
    const mo = new MutationObserver(() => { if (img.src !== before) { mo.disconnect(); resolve(true); } });
    mo.observe(img, {attributes: true, attributeFilter: ['src']});
    setTimeout(() => { mo.disconnect(); resolve(false); }, 5000);
  });
  button.click();
  if (!await changed) return -1;
  await img.decode().catch(() => {});
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


def measure(page, selector: str, clicks: int) -> list[float]:
    times: list[float] = []
    while len(times) < clicks:
        ms = page.evaluate(JS_TIME_STEP, selector)
        if ms is None:      # at the last step: back to the first, untimed
            page.locator(f"{selector} button.ll-reset").click()
            page.wait_for_timeout(300)
            continue
        if ms >= 0:         # a step that redraws nothing new (same picture) is not a redraw to time
            times.append(ms)
        page.wait_for_timeout(60)
    return times


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.9 * len(values))) - 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=40)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lambdalab-bench-") as tmp:
        root = pathlib.Path(tmp) / "nb"
        root.mkdir()
        nb = {"nbformat": 4, "nbformat_minor": 5,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                         "source": src} for i, src in enumerate(CELLS)]}
        path = root / "step_bench.ipynb"
        path.write_text(json.dumps(nb))
        with open_notebook(path, root, pathlib.Path(tmp), width=1280, height=720) as (page, _cdp):
            page.evaluate("() => document.querySelectorAll('.lambdalab-stepper')"
                          ".forEach((b, i) => b.setAttribute('data-bench', String(i)))")
            results = {}
            for name, selector in (("notebook", '[data-bench="0"]'), ("presentation", '[data-bench="1"]'),
                                   ("baseline", ".ll-baseline")):
                page.evaluate(f"() => document.querySelector('{selector}').scrollIntoView({{block: 'start'}})")
                measure(page, selector, 3)                      # warm up: first frames, caches
                results[name] = measure(page, selector, args.clicks)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"bench: step_browser_median_ms={med['notebook']:.1f} p90_ms={p90(results['notebook']):.1f} "
          f"presentation_median_ms={med['presentation']:.1f} presentation_p90_ms={p90(results['presentation']):.1f} "
          f"baseline_median_ms={med['baseline']:.1f} clicks={args.clicks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
