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
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "out"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
FAIL_TEXTS = ("Traceback", "Error displaying widget", "Model not found")
STEP_CLICKS = 5

# Private JupyterLab user settings: render every cell (windowing detaches off-screen cells), never
# autosave the notebook under test, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


def require_browser():
    """Skip (or, under CI, fail) when Chromium or Playwright is missing."""
    reason = None
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason:
        if IN_CI:
            pytest.fail(f"browser test cannot run under CI: {reason}")
        pytest.skip(reason)


# ---------------------------------------------------------------- JupyterLab server
_NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """`python -m jupyterlab` from this interpreter on a free loopback port, with private dirs."""

    def __init__(self, root_dir: Path, tmp: Path):
        self.root_dir, self.tmp = root_dir, tmp
        self.port, self.token = _free_port(), secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyter-server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        settings = self.tmp / "lab-settings"
        for rel, value in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(value))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root_dir}",
               "--ServerApp.terminals_enabled=False",
               "--LabApp.expose_app_in_browser=True",  # window.jupyterapp
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--FileCheckpoints.checkpoint_dir={self.tmp / 'checkpoints'}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
                   JUPYTER_DATA_DIR=str(self.tmp / "data"),  # no stray kernelspecs from ~/.local
                   JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited early (rc={self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if self._http("/api/status", timeout=2) == 200:
                    return
            time.sleep(0.25)
        raise AssertionError(f"jupyter lab did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def _http(self, path: str, method: str = "GET", timeout: float = 5) -> int:
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with _NOPROXY.open(req, timeout=timeout) as r:
            return r.status

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{urllib.parse.quote(path)}?reset&token={self.token}"

    def log_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    def stop(self) -> None:
        """POST /api/shutdown (stops kernels too), then TERM and KILL its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self._http("/api/shutdown", method="POST", timeout=5)
        for sig, wait in ((None, 10), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if sig is not None and self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)  # its own session: pgid == pid
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()


# ---------------------------------------------------------------- in the page
JS_READY = """(path) => {
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const w = window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path || !w.context.isReady || !w.sessionContext) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && k.connectionStatus === 'connected') && 'ready';
}"""

# Counts the kernel's busy/idle messages and records errors; notes the time of the last DOM change.
JS_WATCH = """() => {
  const app = window.jupyterapp, w = app.shell.currentWidget;
  const S = window.__ll = {busy: 0, status: 'unknown', errors: [], lastMut: Date.now(), runAll: null};
  w.sessionContext.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'status') { S.status = c.execution_state; if (c.execution_state === 'busy') S.busy++; }
    else if (t === 'error') S.errors.push(c.ename + ': ' + c.evalue);
  });
  new MutationObserver(() => { S.lastMut = Date.now(); })
    .observe(w.node, {subtree: true, childList: true, attributes: true, characterData: true});
  try { app.shell.collapseLeft(); } catch (e) {}
}"""

JS_RUN_ALL = """() => { window.jupyterapp.commands.execute('notebook:run-all-cells').then(
  () => { window.__ll.runAll = 'done'; }, (e) => { window.__ll.runAll = 'error: ' + e; }); }"""

# Idle kernel, no cell still running ("[*]"), every image loaded, and the page quiet for a while.
JS_SETTLED = """(quietMs) => {
  const S = window.__ll, w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle' || S.status !== 'idle') return false;
  for (const p of w.node.querySelectorAll('.jp-InputPrompt')) if (p.textContent.includes('*')) return false;
  for (const img of w.node.querySelectorAll('.jp-OutputArea img')) if (!img.complete) return false;
  return Date.now() - S.lastMut >= quietMs;
}"""

JS_OUTPUTS = """() => [...window.jupyterapp.shell.currentWidget.node
  .querySelectorAll('.jp-OutputArea-output, .jupyter-widgets-error-widget')].map(o => o.innerText || '')"""

# The first Stepper: the smallest widget box around the first `Step` button that holds an <img>.
JS_SHOW_STEPPER = "() => document.querySelector('[data-ll-stepper]').scrollIntoView({block: 'start'})"
JS_DIAGRAM_SRC = """() => {
  const nb = window.jupyterapp.shell.currentWidget.node;
  const step = [...nb.querySelectorAll('button.jupyter-button')].find(b => b.innerText.trim() === 'Step');
  if (!step) return null;
  for (let el = step.parentElement; el && el !== nb; el = el.parentElement) {
    const img = el.querySelector('img');
    if (img) { step.setAttribute('data-ll-step', '1'); el.setAttribute('data-ll-stepper', '1'); return img.src; }
  }
  return null;
}"""


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
    from playwright.sync_api import sync_playwright

    rel = notebook.resolve().relative_to(root_dir.resolve()).as_posix()
    lab = JupyterLab(root_dir, tmp)
    seen: dict = {"screenshots": []}
    pw = browser = None
    try:
        lab.start()
        pw = sync_playwright().start()
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     env=env, timeout=60_000)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        cdp = page.context.new_cdp_session(page)
        console: list[str] = []
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        try:
            page.goto(lab.url(rel), wait_until="domcontentloaded", timeout=90_000)
            page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=60_000)
            ready = page.wait_for_function(JS_READY, arg=rel, timeout=90_000, polling=200).json_value()
            assert ready == "ready", f"JupyterLab showed a dialog: {page.inner_text('.jp-Dialog')[:300]}"
            page.evaluate(JS_WATCH)

            t0 = time.monotonic()
            page.evaluate(JS_RUN_ALL)
            page.wait_for_function("() => window.__ll.runAll !== null", timeout=240_000, polling=200)
            page.wait_for_function(JS_SETTLED, arg=700, timeout=120_000, polling=200)
            seen["run_all_s"] = round(time.monotonic() - t0, 1)
            _check_outputs(page, "after Run All")
            assert page.evaluate("() => window.__ll.runAll") == "done", page.evaluate("() => window.__ll.runAll")

            before = page.evaluate(JS_DIAGRAM_SRC)
            assert before is not None, "no `Step` button with a diagram <img> beside it rendered"
            step = page.locator("button[data-ll-step]")
            page.evaluate(JS_SHOW_STEPPER)
            seen["screenshots"].append(_screenshot(page, cdp, f"{name}-1-after-run-all"))
            for i in range(STEP_CLICKS):
                busy = page.evaluate("() => window.__ll.busy")
                step.click(timeout=30_000)
                # the click is a comm message: the kernel goes busy, then idle, then the view redraws
                page.wait_for_function(
                    "(b) => window.__ll.busy > b && window.__ll.status === 'idle'", arg=busy,
                    timeout=60_000, polling=100)
                page.wait_for_function(JS_SETTLED, arg=400, timeout=60_000, polling=100)
                _check_outputs(page, f"after Step click {i + 1}")
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
    except Exception as e:
        raise AssertionError(f"{type(e).__name__}: {e}\n--- jupyter server log ---\n{lab.log_tail()}") from e
    finally:
        if browser is not None:
            with contextlib.suppress(Exception):
                browser.close()
        if pw is not None:
            with contextlib.suppress(Exception):
                pw.stop()
        lab.stop()
    return seen


def _check_outputs(page, when: str) -> None:
    errors = page.evaluate("() => window.__ll.errors")
    assert not errors, f"kernel raised {when}: {errors}"
    for text in page.evaluate(JS_OUTPUTS):
        for bad in FAIL_TEXTS:
            assert bad.lower() not in text.lower(), f"output contains {bad!r} {when}:\n{text[:2000]}"


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
