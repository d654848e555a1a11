"""JupyterLab in headless Chromium, for the browser tests, bench/step_browser.py and docs/screenshots.py.

``JupyterLab`` starts ``python -m jupyterlab`` from this interpreter on a free loopback port with private
settings, data and checkpoint directories; ``open_notebook`` opens a notebook in Debian's Chromium (never
``playwright install``), runs all its cells and waits until the kernel is idle and the page has stopped
changing, failing on any error text in an output, a kernel error or a JupyterLab dialog. The JS snippets find
widgets in the page and measure them.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
FAIL_TEXTS = ("Traceback", "Error displaying widget", "Model not found")

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


# Marks each Stepper / Explorer box (the VBox holding its Step button or its sliders) and measures it.
JS_MEASURE = """() => {
  const nb = window.jupyterapp.shell.currentWidget.node;
  const out = [];
  const boxes = [...nb.querySelectorAll('.lambdalab-stepper, .lambdalab-explorer')];
  boxes.forEach((box, i) => {
    box.setAttribute('data-ll-widget', String(i));
    const rect = box.getBoundingClientRect();
    const imgs = [...box.querySelectorAll('img')].filter(im => im.naturalWidth > 0 && im.offsetParent !== null)
      .map(im => ({role: (im.closest('[class*="ll-"]') || im).className.match(/ll-[a-z]+/)?.[0] || 'img',
                   natural: [im.naturalWidth, im.naturalHeight], shown: [im.clientWidth, im.clientHeight],
                   left: im.getBoundingClientRect().left, right: im.getBoundingClientRect().right}));
    const fonts = [];
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!t.textContent.trim() || !el || el.offsetParent === null) continue;
      const part = (el.closest('[class*="ll-"]') || box).className.match(/ll-[a-z]+/)?.[0] || 'other';
      fonts.push([part, parseFloat(getComputedStyle(el).fontSize), t.textContent.trim().slice(0, 30)]);
    }
    const clipped = [...box.querySelectorAll('*')].filter(el => el.offsetParent !== null
        && getComputedStyle(el).overflowX !== 'visible' && getComputedStyle(el).overflowX !== 'auto'
        && el.scrollWidth > el.clientWidth + 1).map(el => el.className.toString().slice(0, 40));
    out.push({index: i, kind: box.classList.contains('lambdalab-stepper') ? 'stepper' : 'explorer',
              presentation: box.classList.contains('lambdalab-presentation'),
              rect: [rect.left, rect.top, rect.right, rect.bottom], imgs, fonts, clipped,
              viewport: [window.innerWidth, window.innerHeight],
              steps: (box.querySelector('.ll-counter') || {}).innerText || ''});
  });
  return out;
}"""

JS_SCROLL = """(i) => { const b = document.querySelector(`[data-ll-widget="${i}"]`);
  b.scrollIntoView({block: 'start'}); return b.getBoundingClientRect().top; }"""


@contextlib.contextmanager
def open_notebook(notebook: Path, root_dir: Path, tmp: Path, *, width: int = 1280, height: int = 720,
                  run_timeout: float = 300):
    """Yield (page, cdp) with ``notebook`` open in JupyterLab and every cell run; cleans everything up."""
    from playwright.sync_api import sync_playwright

    rel = notebook.resolve().relative_to(root_dir.resolve()).as_posix()
    lab = JupyterLab(root_dir, tmp)
    pw = browser = None
    try:
        lab.start()
        pw = sync_playwright().start()
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     env=env, timeout=60_000)
        page = browser.new_page(viewport={"width": width, "height": height})
        cdp = page.context.new_cdp_session(page)
        page.goto(lab.url(rel), wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=60_000)
        ready = page.wait_for_function(JS_READY, arg=rel, timeout=90_000, polling=200).json_value()
        assert ready == "ready", f"JupyterLab showed a dialog: {page.inner_text('.jp-Dialog')[:300]}"
        page.evaluate(JS_WATCH)
        page.evaluate(JS_RUN_ALL)
        page.wait_for_function("() => window.__ll.runAll !== null", timeout=run_timeout * 1000, polling=200)
        page.wait_for_function(JS_SETTLED, arg=700, timeout=run_timeout * 1000, polling=200)
        check_outputs(page, "after Run All")
        yield page, cdp
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


def check_outputs(page, when: str) -> None:
    errors = page.evaluate("() => window.__ll.errors")
    assert not errors, f"kernel raised {when}: {errors}"
    for text in page.evaluate(JS_OUTPUTS):
        for bad in FAIL_TEXTS:
            assert bad.lower() not in text.lower(), f"output contains {bad!r} {when}:\n{text[:2000]}"


def click_and_settle(page, locator, quiet_ms: int = 150) -> None:
    """Click a widget button and wait for the kernel's answer and the redraw."""
    busy = page.evaluate("() => window.__ll.busy")
    locator.click(timeout=30_000)
    page.wait_for_function("(b) => window.__ll.busy > b && window.__ll.status === 'idle'", arg=busy,
                           timeout=60_000, polling=20)
    page.wait_for_function(JS_SETTLED, arg=quiet_ms, timeout=60_000, polling=20)
