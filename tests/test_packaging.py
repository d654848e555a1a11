"""The package's public surface and what ships: `__all__`, lazy heavy imports, stripped notebooks."""
from __future__ import annotations

import importlib.metadata
import json
import pathlib
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The top-level names CONTRACT.md fixes (`ll.Lab`, `ll.sleep`, the distributions, `ll.ClientError`, `ll.sweep`,
# from "Cold-start reducers" `ll.CpuBound` and `ll.power_tune`, from "Event-driven front doors" `ll.client`).
# `ll.widgets` is a subpackage reached by attribute, deliberately not in __all__: a star import must
# not pull in ipywidgets.
PUBLIC = {"Lab", "sleep", "Fixed", "Exponential", "Uniform", "LogNormal", "ClientError", "sweep", "CpuBound",
          "power_tune", "client"}
HEAVY = ("ipywidgets", "matplotlib", "anyio")


def test_all_is_exactly_the_contract_surface():
    import lambdalab

    assert len(lambdalab.__all__) == len(set(lambdalab.__all__)), "duplicate names in __all__"
    assert set(lambdalab.__all__) == PUBLIC


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_is_importable(name):
    ns: dict = {}
    exec(f"from lambdalab import {name}", ns)
    obj = ns[name]
    if name == "ClientError":
        assert isinstance(obj, type) and issubclass(obj, Exception)
    else:
        assert callable(obj)


def _heavy_modules_after(code: str) -> list[str]:
    probe = (
        f"import sys, json\n{code}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_does_not_load_widgets_plotting_or_anyio():
    assert _heavy_modules_after("import lambdalab") == []


def test_star_import_does_not_load_widgets_plotting_or_anyio():
    assert _heavy_modules_after("from lambdalab import *") == []


def test_virtual_lab_does_not_load_widgets_plotting_or_anyio():
    # DESIGN.md: the core never imports them; only widgets/ and realtime/ may.
    assert _heavy_modules_after("import lambdalab as ll\nll.Lab(seed=0)") == []


def test_botocore_loads_with_the_first_client_not_with_the_package():
    # lab.client() and ll.ClientError are botocore's own; `import lambdalab` and a Lab stay light without them
    probe = ("import sys, lambdalab as ll\nll.Lab(seed=0)\nbefore = 'botocore' in sys.modules\n"
             "assert ll.ClientError.__module__ == 'botocore.exceptions'\nprint(before)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


@pytest.mark.skipif(not (ROOT / "lambdalab" / "widgets" / "__init__.py").exists(), reason="no lambdalab.widgets yet")
def test_widgets_are_reached_by_attribute_and_loaded_on_use():
    # CONTRACT.md: `ll.widgets.Stepper(lab)` after a plain `import lambdalab as ll`.
    loaded = _heavy_modules_after("import lambdalab as ll\nll.widgets.Stepper")
    assert "ipywidgets" in loaded


def test_every_source_directory_is_a_package():
    # setuptools' find_packages() skips a directory without __init__.py: its modules would be
    # missing from the wheel (and from Binder) while the editable install still works.
    missing = [
        str(d.relative_to(ROOT))
        for d in sorted((ROOT / "lambdalab").rglob("*"))
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    ]
    assert missing == []


def test_project_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["name"] == "lambdalab"
    assert project["license"] == "Apache-2.0"
    assert project["requires-python"] == ">=3.11"
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    pytest_cfg = meta["tool"]["pytest"]["ini_options"]
    assert "nbval" not in pytest_cfg.get("addopts", ""), "nbval runs explicitly: pytest --nbval-lax labs/"
    assert {m.split(":")[0] for m in pytest_cfg["markers"]} >= {"browser", "slow"}
    try:
        installed = importlib.metadata.version("lambdalab")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("lambdalab is imported from the source tree, not installed")
    assert installed == project["version"]


# ---------------------------------------------------------------- notebooks are committed stripped
NOTEBOOKS = sorted(p for p in (ROOT / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# Notebooks carry no output at all. The outputs of cells marked `# NBVAL_CHECK_OUTPUT` live in
# labs/_golden/ (scripts/strip_notebooks.py writes them; labs/conftest.py hands them to nbval), and each
# checked cell must have a golden entry recorded from its current source, or nbval would check nothing.
CHECK_MARK = "NBVAL_CHECK_OUTPUT"
sys.path.insert(0, str(ROOT / "scripts"))
import strip_notebooks  # noqa: E402


def _golden_output_problem(output: dict) -> str | None:
    if output.get("output_type") == "error":
        return "a checked output is an error"
    heavy = sorted(m for m in output.get("data", {}) if m.startswith(("image/", "application/vnd.jupyter.widget")))
    return f"a checked output must be text, not {heavy}" if heavy else None


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks under labs/ yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    golden_file = strip_notebooks.golden_path(path)
    golden = json.loads(golden_file.read_text())["cells"] if golden_file.exists() else {}
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append("notebook metadata holds saved widget state ('widgets')")
    code_index = -1
    for i, cell in enumerate(nb.get("cells", []), start=1):
        if "widgets" in cell.get("metadata", {}):
            problems.append(f"cell {i}: metadata holds 'widgets'")
        if cell.get("cell_type") != "code":
            continue
        code_index += 1
        outputs, count = cell.get("outputs", []), cell.get("execution_count")
        if outputs:
            problems.append(f"cell {i}: has {len(outputs)} output(s)")
        if count is not None:
            problems.append(f"cell {i}: execution_count={count}")
        if CHECK_MARK in "".join(cell.get("source", "")):
            entry = golden.get(str(code_index))
            if entry is None or entry["source"] != strip_notebooks.source_hash(cell):
                problems.append(f"cell {i}: marked {CHECK_MARK} but {golden_file.name} has no output recorded "
                                "from its current source, so nbval checks nothing (run the lab's generator in "
                                "labs/_build/, or execute the notebook and run scripts/strip_notebooks.py)")
            else:
                problems += [f"cell {i}: {p}" for p in map(_golden_output_problem, entry["outputs"]) if p]
    assert not problems, f"{path.name} is not stripped (run scripts/strip_notebooks.py): {problems}"
