#!/usr/bin/env python3
"""Screenshots of every lab's widgets at 1280x720, in notebook and presentation mode, with measurements.

    python docs/screenshots.py                  # every lab: docs/screenshots/<lab>-<mode>.png + measures.json
    python docs/screenshots.py --only 03 --click-all

For each lab (labs/[0-9][0-9]_*.ipynb) it writes two copies to a scratch folder, one as committed and one with
every ``ll.widgets.Stepper(...)`` and ``ll.widgets.Explorer(...)`` in presentation mode, opens each in JupyterLab
in headless Chromium (tests/browser/jlab.py) at 1280x720, runs all cells, and for every Stepper and Explorer:
scrolls it to the top of the screen, measures it in the real browser (how much the diagram and timeline PNGs
are scaled on screen, the computed font sizes of the step text and the panels, whether anything overflows its
box or the window, the step counter and scene title right after Run All), and saves a screenshot of the
lab's main widget (``MAIN_SCENES``, else its first Stepper, else its Explorer): the whole widget, and in
presentation mode also the 1280x720 screen with the widget at its top.
With ``--click-all`` it also presses Step through every Stepper from step 1 to its last step (checking for
errors after each click). Diagram and timeline label sizes on screen are the views' smallest text in PNG
pixels (``min_text_px()``) times that measured scale. The numbers go to docs/screenshots/measures.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "tests"))

from jlab import JS_MEASURE, JS_SCROLL, check_outputs, click_and_settle, open_notebook  # noqa: E402

def presentation_copy(source: str) -> str:
    """The notebook's JSON with every Stepper and Explorer in its code cells switched to presentation mode."""
    nb = json.loads(source)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"])
        text = re.sub(r"ll\.widgets\.Stepper\(([^()]*)\)", r"ll.widgets.Stepper(\1, presentation=True)", text)
        text = re.sub(r"ll\.widgets\.Explorer\(\s*(\w+)", r"ll.widgets.Explorer(presentation=True, draw=\1", text)
        cell["source"] = text
    return json.dumps(nb)


def min_text_px() -> dict:
    """The smallest label, in PNG pixels, of the diagram and the timeline in each mode (theme constants)."""
    from lambdalab.widgets import Stepper
    from widgets.synthetic import walkthrough

    sizes = {}
    for presentation in (False, True):
        stepper = Stepper(walkthrough(), presentation=presentation)
        sizes[presentation] = {"diagram": stepper.diagram.min_text_px(), "timeline": stepper.timeline.min_text_px()}
    return sizes


def shoot(notebook: pathlib.Path, scratch: pathlib.Path, presentation: bool, click_all: bool) -> list[dict]:
    mode = "presentation" if presentation else "notebook"
    root = scratch / mode
    root.mkdir(parents=True, exist_ok=True)
    copy = root / notebook.name
    text = notebook.read_text(encoding="utf-8")
    copy.write_text(presentation_copy(text) if presentation else text, encoding="utf-8")
    found = []
    with open_notebook(copy, root, scratch / f"jl-{mode}-{notebook.stem}", width=1280, height=720) as (page, cdp):
        widgets = page.evaluate(JS_MEASURE)
        for w in widgets:
            top = page.evaluate(JS_SCROLL, w["index"])
            page.wait_for_timeout(300)
            w.update(page.evaluate(JS_MEASURE)[w["index"]], scrolled_top=top)
            if w["kind"] == "stepper" and click_all:
                step = page.locator(f'[data-ll-widget="{w["index"]}"] button.ll-step')
                clicks = 0
                while not step.is_disabled() and clicks < 500:
                    click_and_settle(page, step, quiet_ms=60)
                    clicks += 1
                check_outputs(page, f"after stepping through widget {w['index']} of {notebook.name}")
                w["clicked"] = clicks
                page.locator(f'[data-ll-widget="{w["index"]}"] button.ll-reset').click()
                page.wait_for_timeout(400)
            found.append(w)
        main = main_widget(notebook.stem[:2], widgets)
        if main is not None:
            if main["kind"] == "stepper":      # a few hops into the story: something lit up on the diagram
                step = page.locator(f'[data-ll-widget="{main["index"]}"] button.ll-step')
                for _ in range(min(8, int(re.findall(r"\d+", main["steps"] or "0 0")[-1]) - 1)):
                    click_and_settle(page, step, quiet_ms=60)
            page.evaluate(JS_SCROLL, main["index"])
            page.wait_for_timeout(500)
            OUT.mkdir(parents=True, exist_ok=True)
            if presentation:                   # what the room sees: the 1280x720 screen, widget at the top
                page.screenshot(path=str(OUT / f"{notebook.stem[:2]}-projector.png"))
            # the whole widget: JupyterLab scrolls inside its own panel, so a 720 px window would cut it off;
            # a taller window (same width, so the same layout) shows all of it
            box = page.locator(f'[data-ll-widget="{main["index"]}"]')
            page.set_viewport_size({"width": 1280, "height": max(720, int(box.bounding_box()["height"]) + 240)})
            page.wait_for_timeout(500)
            page.evaluate(JS_SCROLL, main["index"])
            page.wait_for_timeout(300)
            box.screenshot(path=str(OUT / f"{notebook.stem[:2]}-{mode}.png"))
            page.set_viewport_size({"width": 1280, "height": 720})
    return found


# The widget a lab is about, when it is not its first Stepper (lab 03 warms up with a synchronous invoke).
MAIN_SCENES = {"03": "an asynchronous invoke"}


def heading(widget: dict) -> str:
    return next((text for part, _px, text in widget["fonts"] if part == "ll-heading"), "")


def main_widget(lab: str, widgets: list[dict]) -> dict | None:
    """The lab's main widget: its MAIN_SCENES Stepper, else its first Stepper, else its first Explorer."""
    steppers = [w for w in widgets if w["kind"] == "stepper"]
    named = [w for w in steppers if lab in MAIN_SCENES and heading(w).startswith(MAIN_SCENES[lab][:30])]
    return (named or steppers or widgets or [None])[0]


PANEL_PARTS = ("ll-logs", "ll-metrics", "ll-counter", "ll-heading", "ll-step", "ll-back", "ll-reset", "ll-play",
               "ll-caption", "ll-slider")


def projector_problems(report: dict) -> list[str]:
    """What breaks issue 14's projector rules in the measurements (empty: every rule holds)."""
    problems = []
    sizes = report["min_text_px"]["True"]
    for lab, modes in report["labs"].items():
        normal = {w["index"]: w for w in modes.get("notebook", [])}
        for w in modes.get("presentation", []):
            if not w["presentation"]:      # a view the lab's code does not show (the InvokeConsole's Stepper)
                continue
            where = f"{lab} widget {w['index']} ({w['kind']})"
            if w["kind"] == "stepper":         # each tells its own story from its first step after Run All
                if not heading(w):
                    problems.append(f"{where}: no scene title (a Stepper built from the whole lab?)")
                if not w["steps"].startswith("step 1 of"):
                    problems.append(f"{where}: shows {w['steps']!r} after Run All, not step 1")
            width = w["viewport"][0]
            for img in w["imgs"]:
                scale = img["shown"][0] / img["natural"][0]
                role = img["role"].replace("ll-", "")
                if role in sizes and sizes[role] * scale < 18:
                    problems.append(f"{where}: {role} labels {sizes[role] * scale:.1f} px on screen (< 18)")
                if img["right"] > width + 0.5:
                    problems.append(f"{where}: the {role} is wider than the window ({img['right']:.0f} > {width})")
            for part, px, text in w["fonts"]:
                need = 24 if part == "ll-sentence" else 18
                if (part in PANEL_PARTS or part == "ll-sentence") and px < need and text not in ("·",):
                    problems.append(f"{where}: {part} text {text!r} at {px:.1f} px (< {need})")
            if w["clipped"]:
                problems.append(f"{where}: clipped content in {w['clipped'][:4]}")
            twin = normal.get(w["index"])
            if w["kind"] == "stepper" and twin is not None:
                big = next((i["shown"][1] for i in w["imgs"] if i["role"] == "ll-diagram"), 0)
                small = next((i["shown"][1] for i in twin["imgs"] if i["role"] == "ll-diagram"), 0)
                if small and big < 1.25 * small:
                    problems.append(f"{where}: diagram {big} px tall, notebook mode {small} px (< 1.25x)")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="labs whose file name starts with this (e.g. 03)")
    ap.add_argument("--click-all", action="store_true", help="press Step through every Stepper")
    ap.add_argument("--mode", choices=("both", "notebook", "presentation"), default="both")
    args = ap.parse_args(argv)
    labs = sorted(p for p in (ROOT / "labs").glob("[0-9][0-9]_*.ipynb") if p.name.startswith(args.only or ""))
    modes = {"both": (False, True), "notebook": (False,), "presentation": (True,)}[args.mode]
    report = {"min_text_px": {str(k): v for k, v in min_text_px().items()}, "labs": {}}
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="lambdalab-shots-"))
    try:
        for notebook in labs:
            for presentation in modes:
                widgets = shoot(notebook, scratch, presentation, args.click_all)
                report["labs"].setdefault(notebook.stem, {})["presentation" if presentation else "notebook"] = widgets
                print(f"{notebook.stem} {'presentation' if presentation else 'notebook'}: {len(widgets)} widgets"
                      + (f", clicked {[w.get('clicked') for w in widgets]}" if args.click_all else ""), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "measures.json").write_text(json.dumps(report, indent=1))
    problems = projector_problems(report) if "both" == args.mode else []
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"screenshots: {len(labs)} labs, {len(problems)} projector problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
