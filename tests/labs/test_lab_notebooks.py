"""The course's shape, read from the committed notebooks: every lab in labs/ follows the course rules.

Each lab: a goal and a 15-25 minute estimate up front, a control the learner moves (a Stepper built from a
scene and left at its step 1, an Explorer's sliders, an InvokeConsole),
2-4 exercises checked by ``lambdalab.check`` whose answers start unfilled, a "What real AWS does differently"
box, links back and forward along the course, no unseeded Lab (seed=None), and `# NBVAL_CHECK_OUTPUT` only as a first line.
"""
from __future__ import annotations

import copy
import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"
sys.path.insert(0, str(ROOT / "scripts"))
from strip_notebooks import strip  # noqa: E402

NOTEBOOKS = sorted(LABS.glob("[0-9][0-9]_*.ipynb"))
COURSE = [p.stem for p in NOTEBOOKS]        # the course is the labs there are: a lab added later is part of it
ALL_NOTEBOOKS = sorted(p for p in LABS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ANSWER = re.compile(r"""check\.answer\(\s*["'](lab\d\d\.[\w.\-]+)["']\s*,\s*([A-Za-z_]\w*)""")
LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)(#[^)]*)?\)")


def _cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def _markdown(path):
    return [src for kind, src in _cells(path) if kind == "markdown"]


def _code(path):
    return [src for kind, src in _cells(path) if kind == "code"]


def _id(p):
    return str(p.relative_to(LABS))


def test_labs_are_named_after_the_course():
    assert NOTEBOOKS, "no labs yet"
    strays = [p.stem for p in NOTEBOOKS if p.stem not in COURSE]
    assert not strays, f"labs named outside the course plan: {strays} (expected names: {COURSE})"
    assert {"00_start_here", "01_synchronous_invoke"} <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_id)
def test_committed_stripped(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert strip(copy.deepcopy(nb)) == nb, f"{_id(path)}: run python scripts/strip_notebooks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_opens_with_a_goal_and_a_time_estimate(path):
    head = "\n".join(_markdown(path)[:2])
    assert re.search(r"\bgoals?\b", head, re.I), f"{path.name}: state the lab's goal in its first cells"
    minutes = [int(m) for m in re.findall(r"(\d+)\s*(?:-\s*\d+\s*)?min", head)]
    assert minutes and all(15 <= m <= 25 for m in minutes), f"{path.name}: give a 15-25 minute estimate, got {minutes}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_has_two_to_four_checked_exercises_of_its_own(path):
    number = path.stem[:2]
    keys = [k for src in _code(path) for k, _ in ANSWER.findall(src)]
    assert 2 <= len(set(keys)) <= 4, f"{path.name}: {len(set(keys))} checked exercises ({keys}); want 2-4"
    foreign = [k for k in keys if not k.startswith(f"lab{number}.")]
    assert not foreign, f"{path.name} checks other labs' keys: {foreign}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_check_it_uses_exists_and_every_check_of_the_lab_is_used(path):
    from lambdalab import check

    number = path.stem[:2]
    used = {k for src in _code(path) for k, _ in ANSWER.findall(src)}
    registered = {k for k in check.load_all() if k.startswith(f"lab{number}.")}
    assert used <= registered, f"{path.name} uses checks nobody registered: {sorted(used - registered)}"
    assert registered <= used, f"lambdalab/check/lab{number}.py registers checks the lab never asks: " \
                               f"{sorted(registered - used)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_exercise_answers_start_unfilled(path):
    code = _code(path)
    for i, src in enumerate(code):
        for key, var in ANSWER.findall(src):
            before = "\n".join(code[:i + 1])
            assert re.search(rf"^{var}\s*=\s*(None\b|\.\.\.)", before, re.M), \
                f"{path.name}: the answer to {key} ({var}) must start as None in a cell above its check"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_has_a_what_real_aws_does_differently_box(path):
    assert any("what real aws does differently" in src.lower() for src in _markdown(path)), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_links_back_and_forward_along_the_course(path):
    targets = {pathlib.PurePosixPath(t).stem for src in _markdown(path) for t, _ in LINK.findall(src)}
    unknown = sorted(t for t in targets if t not in COURSE)
    assert not unknown, f"{path.name} links to notebooks outside the course: {unknown}"
    i = COURSE.index(path.stem)
    if i > 0:
        assert COURSE[i - 1] in targets, f"{path.name}: no link back to {COURSE[i - 1]}.ipynb"
    if i + 1 < len(COURSE):
        assert COURSE[i + 1] in targets, f"{path.name}: no link forward to {COURSE[i + 1]}.ipynb"


def test_start_here_maps_the_whole_course():
    targets = {pathlib.PurePosixPath(t).stem for src in _markdown(LABS / "00_start_here.ipynb")
               for t, _ in LINK.findall(src)}
    assert set(COURSE) <= targets, f"00_start_here does not link {sorted(set(COURSE) - targets)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_the_learner_drives_something(path):
    code = "\n".join(_code(path))
    assert re.search(r"\bwidgets\.(Stepper|Explorer|InvokeConsole)\(", code), \
        f"{path.name}: give the learner a control to move: a Stepper, an Explorer's sliders or an InvokeConsole"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_stepper_walks_a_scene_from_its_first_step(path):
    code = "\n".join(_code(path))
    scenes = set(re.findall(r"\.scene\([^)]*\)\s+as\s+(\w+)\s*:", code))
    # ... or returned by a helper of the lab's that records one (lab 08's cold(...))
    helpers = [name for name, body in re.findall(r"^def (\w+)\(.*?\n((?:[ \t]+.*\n|\n)*)", code + "\n", re.M)
               if ".scene(" in body]
    for helper in helpers:
        scenes |= set(re.findall(rf"^(\w+)\s*=\s*{helper}\(", code, re.M))
    for name, arg in re.findall(r"(?:(\w+)\s*=\s*)?(?:\w+\.)*widgets\.Stepper\(\s*([\w.]+)", code):
        assert arg in scenes, (f"{path.name}: Stepper({arg}) is not built from a scene; record the story with "
                               f"`with lab.scene(title) as {arg}:` and pass that (Stepper(lab) is for live views)")
        # after Run All it must still show step 1: no cell moves it (a learner's own cell may)
        moved = re.search(rf"\b{name}\.(goto|step|back)\(", code) if name else None
        assert not moved, f"{path.name}: a cell calls {moved.group(0)}...), so Run All leaves {name} past step 1"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_id)
def test_no_unseeded_lab_and_marks_are_first_lines(path):
    for src in _code(path):
        for call in re.findall(r"\bLab\(([^)]*)\)", src):  # Lab() defaults to seed=0; seed=None is random
            assert not re.search(r"\bseed\s*=\s*None\b", call), f"{_id(path)}: Lab({call}) is not deterministic"
        if "NBVAL_CHECK_OUTPUT" in src:
            assert src.lstrip().startswith("# NBVAL_CHECK_OUTPUT"), \
                f"{_id(path)}: '# NBVAL_CHECK_OUTPUT' must be the cell's first line: {src[:60]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_has_a_solution_notebook(path):
    solutions = sorted((LABS / "solutions").glob(f"{path.stem[:2]}_*.ipynb"))
    assert solutions, f"{path.name}: no worked solution in labs/solutions/{path.stem[:2]}_*.ipynb"


def test_labs_readme_lists_every_lab_with_its_time():
    readme = (LABS / "README.md").read_text(encoding="utf-8")
    for stem in COURSE:
        row = next((line for line in readme.splitlines() if f"]({stem}.ipynb)" in line), None)
        assert row, f"labs/README.md does not list {stem}.ipynb"
        assert re.search(r"\b(1[5-9]|2[0-5]) min\b", row), f"labs/README.md gives no 15-25 min time for {stem}"


def _golden_texts(path):
    """{code cell index: recorded stream text} from labs/_golden/ for ``path`` (empty if none recorded)."""
    golden = LABS / "_golden" / (_id(path).replace("/", "__") + ".json")
    if not golden.exists():
        return {}
    cells = json.loads(golden.read_text(encoding="utf-8"))["cells"]
    return {int(i): "".join("".join(o.get("text", "")) for o in entry["outputs"]) for i, entry in cells.items()}


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_id)
def test_recorded_check_outputs_show_unanswered_labs_and_answered_solutions(path):
    """nbval compares check cells against these: a lab must ship unanswered (…), a solution all right (✓)."""
    solved = path.parent.name == "solutions"
    texts = _golden_texts(path)
    for index, src in enumerate(_code(path)):
        if "NBVAL_CHECK_OUTPUT" not in src:
            continue
        for key, _ in ANSWER.findall(src):
            text = texts.get(index)
            assert text is not None, f"{_id(path)}: no recorded output for the check of {key} (run its generator)"
            want = f"✓ {key}: correct" if solved else f"… {key}: fill in"
            assert text.startswith(want), f"{_id(path)}: the check of {key} recorded {text.strip()!r}"
