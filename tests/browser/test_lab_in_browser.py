"""A lab in a real browser: JupyterLab in headless Chromium, driven by Playwright.

The widget tests elsewhere check the Stepper's Python side without a browser. This one checks what
only a browser shows: that the notebook runs in JupyterLab, that every widget renders (no "Error
displaying widget", no "Model not found"), and that clicking `Step` really redraws the diagram.

`test_stepper_in_browser` opens labs/01_synchronous_invoke.ipynb (or labs/00_start_here.ipynb), runs all
cells, clicks the first Stepper's `Step` button five times and checks that the diagram `<img>` changed.
`test_browser_machinery` does the same with a throwaway notebook (a `Step` button that recolours an
Image), so the JupyterLab start/stop, run-all, click and screenshot code is exercised even while the
labs are being written.

It uses Debian's Chromium at /usr/bin/chromium (never `playwright install`). Without it the tests skip,
except under CI=true, where they fail. Screenshots go to tests/browser/out/: 1280x800, and a projector
view, 1920x1080 pixels with the browser zoomed to 150% (a 1280x720 CSS viewport at device scale 1.5).
"""
from __future__ import annotations

import base64
import contextlib
import json
import struct
import zlib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "out"
from jlab import (JS_DIAGRAM_SRC, JS_SHOW_STEPPER, check_outputs, click_and_settle, open_notebook,  # noqa: E402
                  require_browser)

STEP_CLICKS = 5


def _screenshot(page, cdp, name: str, *, projector: bool = False) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    if not projector:
        page.screenshot(path=str(path), timeout=30_000)
        return path
    # 1920x1080 pixels, zoomed 150%: a 1280x720 CSS viewport at device scale 1.5. Playwright's own
    # screenshot would re-apply its viewport, so this one is taken through the DevTools protocol.
    cdp.send("Emulation.setDeviceMetricsOverride",
             {"width": 1280, "height": 720, "deviceScaleFactor": 1.5, "mobile": False})
    try:
        page.wait_for_timeout(800)  # JupyterLab relayouts on resize
        shot = cdp.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        cdp.send("Emulation.clearDeviceMetricsOverride")
        page.set_viewport_size({"width": 1280, "height": 800})
    return path


def drive_stepper(notebook: Path, root_dir: Path, tmp: Path, name: str) -> dict:
    """Open `notebook` in JupyterLab, run all cells, click `Step` five times; return what was seen.

    Fails (AssertionError) on any error text in the outputs, a kernel error, a JupyterLab dialog or
    a wait that runs out; every wait is bounded.
    """
    seen: dict = {"screenshots": []}
    with open_notebook(notebook, root_dir, tmp, height=800) as (page, cdp):
        console: list[str] = []
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        try:
            before = page.evaluate(JS_DIAGRAM_SRC)
            assert before is not None, "no `Step` button with a diagram <img> beside it rendered"
            step = page.locator("button[data-ll-step]")
            page.evaluate(JS_SHOW_STEPPER)
            seen["screenshots"].append(_screenshot(page, cdp, f"{name}-1-after-run-all"))
            for i in range(STEP_CLICKS):
                click_and_settle(page, step, quiet_ms=400)
                check_outputs(page, f"after Step click {i + 1}")
            after = page.evaluate(JS_DIAGRAM_SRC)
            seen.update(before=before, after=after)
            page.evaluate(JS_SHOW_STEPPER)
            seen["screenshots"].append(_screenshot(page, cdp, f"{name}-2-after-{STEP_CLICKS}-steps"))
            seen["screenshots"].append(_screenshot(page, cdp, f"{name}-3-projector", projector=True))
            assert not [c for c in console if "pageerror" in c], console
        except Exception:
            with contextlib.suppress(Exception):
                _screenshot(page, cdp, f"{name}-99-failure")
            raise
    return seen


# ---------------------------------------------------------------- the tests
def _lab_notebook() -> Path | None:
    for name in ("01_synchronous_invoke.ipynb", "00_start_here.ipynb"):
        path = ROOT / "labs" / name
        if path.exists() and "Stepper" in path.read_text(encoding="utf-8"):
            return path
    return None


def test_stepper_in_browser(tmp_path):
    notebook = _lab_notebook()
    if notebook is None:
        pytest.skip("neither labs/01_synchronous_invoke.ipynb nor labs/00_start_here.ipynb shows a Stepper yet")
    require_browser()
    seen = drive_stepper(notebook, ROOT, tmp_path, "stepper")
    assert seen["after"] != seen["before"], f"the diagram did not change after {STEP_CLICKS} clicks on Step"
    for shot in seen["screenshots"]:
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"


def _png(rgb: tuple[int, int, int], w: int = 48, h: int = 24) -> bytes:
    """A solid-colour PNG, without matplotlib or Pillow."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


MACHINERY_CELLS = [
    "import base64, ipywidgets as w\n"
    "FRAMES = [base64.b64decode(s) for s in {frames!r}]\n"
    "n = 0\n"
    "img = w.Image(value=FRAMES[0], format='png', width=96)\n"
    "step, slider = w.Button(description='Step'), w.IntSlider(0, 0, 5)\n"
    "def on_step(_):\n"
    "    global n\n"
    "    n += 1\n"
    "    img.value, slider.value = FRAMES[n % len(FRAMES)], min(n, 5)\n"
    "step.on_click(on_step)\n"
    "w.VBox([w.HBox([w.Button(description='Back'), step, w.Button(description='Play')]), slider, img])",
    "print('clicks so far:', n)",
]


def test_browser_machinery(tmp_path):
    """The JupyterLab + Chromium machinery, on a throwaway stepper-like notebook."""
    require_browser()
    frames = [base64.b64encode(_png(c)).decode() for c in ((200, 40, 40), (40, 160, 40), (40, 40, 200))]
    cells = [MACHINERY_CELLS[0].format(frames=frames), MACHINERY_CELLS[1]]
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                     "outputs": [], "source": src} for i, src in enumerate(cells)]}
    root = tmp_path / "nbroot"
    root.mkdir()
    path = root / "machinery.ipynb"
    path.write_text(json.dumps(nb))
    seen = drive_stepper(path, root, tmp_path, "machinery")
    assert seen["before"].startswith(("blob:", "data:")), seen["before"]
    assert seen["after"] != seen["before"], "the Image did not change after clicking Step"
    assert json.loads(path.read_text()) == nb, "the notebook under test was written back to disk"
    sizes = {}
    for shot in seen["screenshots"]:
        with open(shot, "rb") as f:
            head = f.read(24)
        sizes[shot.name] = struct.unpack(">II", head[16:24])
    assert sizes["machinery-1-after-run-all.png"] == (1280, 800), sizes
    assert sizes["machinery-3-projector.png"] == (1920, 1080), sizes
