"""The Binder environment: pinned like pyproject says, and able to run every lab.

Binder (repo2docker) installs binder/apt.txt and binder/requirements.txt, then runs binder/postBuild, which
installs lambdalab itself with --no-deps. The slow test below does the same in a fresh venv (adding only pytest
and nbval, to drive the notebooks) and runs every notebook under labs/ with nbval in it: each lab and each
solution, whatever labs exist when it runs (a lab added later is picked up by the glob). A missing dependency or
pins that do not work together show up here rather than in a workshop. This is also the one place where CI
runs the notebooks (scripts/test.sh has no separate nbval step), so they run once, as a learner gets them.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
START = ROOT / "labs" / "00_start_here.ipynb"


def runtime_dependencies() -> dict[str, Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    reqs = [Requirement(d) for d in deps]
    return {canonicalize_name(r.name): r for r in reqs}


def binder_pins() -> dict[str, Requirement]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            r = Requirement(line)
            pins[canonicalize_name(r.name)] = r
    return pins


def test_binder_pins_exactly_the_runtime_dependencies():
    deps, pins = runtime_dependencies(), binder_pins()
    assert sorted(pins) == sorted(deps), "binder/requirements.txt must list pyproject's dependencies, nothing else"
    for name, pin in pins.items():
        specs = list(pin.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{name} is not pinned with ==: {pin}"
        version = specs[0].version
        assert deps[name].specifier.contains(version, prereleases=True), (
            f"binder pins {name}=={version}, outside pyproject's {deps[name].specifier}")


def test_binder_files():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    assert "pip install --no-deps" in post.read_text()


def _copy_checkout(dst: pathlib.Path) -> pathlib.Path:
    """The repo as Binder would clone it: no venvs, caches or build litter."""
    ignore = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.egg-info", "build", "dist",
                                    ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", "out")
    return pathlib.Path(shutil.copytree(ROOT, dst, ignore=ignore))


def _run(cmd, *, cwd, env, timeout, what):
    r = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{what} failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r


def notebooks() -> list[pathlib.Path]:
    """Every lab and solution notebook, found anew each run."""
    return sorted(p for p in (ROOT / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_every_lab_is_found_by_the_binder_run():
    found = {p.relative_to(ROOT / "labs").as_posix() for p in notebooks()}
    labs = {p.name for p in (ROOT / "labs").glob("[0-9][0-9]_*.ipynb")}
    assert START.name in labs and labs <= found
    assert {f"solutions/{p.name}" for p in (ROOT / "labs" / "solutions").glob("*.ipynb")} <= found


@pytest.mark.slow
def test_binder_environment_runs_every_lab(tmp_path):
    labs = notebooks()
    if not labs:
        pytest.skip("no notebooks under labs/ yet")
    repo = _copy_checkout(tmp_path / "repo")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bindir = venv / "bin"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_PROGRESS_BAR="off",
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),  # no kernelspecs from ~/.local
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               PYTHONDONTWRITEBYTECODE="1")
    py = str(bindir / "python")
    # repo2docker: requirements.txt first (pip's wheel cache makes this quick after the first run) ...
    _run([py, "-m", "pip", "install", "-q", "--no-compile", "-r", str(repo / "binder" / "requirements.txt"),
          "pytest", "nbval"], cwd=repo, env=env, timeout=900, what="pip install -r binder/requirements.txt")
    # ... then postBuild, which installs lambdalab itself without touching the pins
    _run(["bash", "binder/postBuild"], cwd=repo, env=env, timeout=300, what="binder/postBuild")
    # lab 07 runs the AWS CLI v1 that binder/requirements.txt pins, from the venv (not one found elsewhere on PATH)
    aws = _run([str(bindir / "aws"), "--version"], cwd=repo, env=env, timeout=60, what="aws --version")
    awscli = next(iter(binder_pins()["awscli"].specifier)).version
    assert (aws.stdout or aws.stderr).startswith(f"aws-cli/{awscli} "), aws.stdout + aws.stderr
    # the installed package, not the checkout's source, must be what the notebooks import
    shutil.rmtree(repo / "lambdalab")
    # nothing from the test extras leaked in: only what binder/ installs (plus pytest and nbval to drive it)
    check = _run([py, "-c", "import importlib.util as u; print([m for m in ('hypothesis', 'playwright', 'dask') "
                            "if u.find_spec(m)])"], cwd=repo, env=env, timeout=60, what="inspect the venv")
    assert check.stdout.strip() == "[]", f"test extras in the Binder venv: {check.stdout}"
    r = subprocess.run([py, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                        "--nbval-cell-timeout=300", "labs/"],
                       cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1500)
    print(r.stdout.splitlines()[-1] if r.stdout else "")
    assert r.returncode == 0, f"nbval of labs/ in the Binder env failed (exit {r.returncode}):\n" \
                              f"{r.stdout[-8000:]}\n{r.stderr[-3000:]}"
    missing = [p.relative_to(ROOT).as_posix() for p in labs if p.relative_to(ROOT).as_posix() not in r.stdout]
    assert not missing, f"nbval did not run {missing}"
