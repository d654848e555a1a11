"""Every registered exercise check, of every lab, tested right and wrong.

Checks are found by importing every ``lambdalab/check/labNN.py``; each must declare example right and wrong
answers (``register`` refuses a check without them). Here every right example must pass, every wrong one
must be refused with a hint, and no hint may give away a right answer.
"""
from __future__ import annotations

import importlib
import math
import pathlib
import re
import subprocess
import sys

import pytest

from lambdalab import check

CHECK_DIR = pathlib.Path(check.__file__).parent
LAB_MODULES = sorted(p.stem for p in CHECK_DIR.glob("lab[0-9][0-9].py"))


def _load():
    broken = {}
    for name in LAB_MODULES:
        try:
            importlib.import_module(f"lambdalab.check.{name}")
        except Exception as exc:  # reported by test_lab_check_module_imports, not as a collection error
            broken[name] = exc
    return dict(check._REGISTRY), broken


CHECKS, BROKEN = _load()
KEYS = sorted(k for k in CHECKS if not k.startswith(("lab97.", "lab98.")))


@pytest.mark.parametrize("name", LAB_MODULES)
def test_lab_check_module_imports(name):
    assert name not in BROKEN, f"lambdalab/check/{name}.py fails to import: {BROKEN.get(name)!r}"


def test_labs_00_and_01_register_their_checks():
    assert {"lab00.first_component", "lab00.next_path"} <= set(KEYS)
    assert {"lab01.picks_worker", "lab01.init_ms", "lab01.warm_skips", "lab01.error_key"} <= set(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_every_right_example_passes(key):
    for value in CHECKS[key].right:
        result = check.answer(key, value, quiet=True)
        assert result.ok, f"{key}: example right answer {value!r} was refused: {result.message}"
        assert result.message.startswith(f"✓ {key}: correct")


@pytest.mark.parametrize("key", KEYS)
def test_every_wrong_example_gets_a_hint(key):
    for value in CHECKS[key].wrong:
        result = check.answer(key, value, quiet=True)
        assert not result.ok, f"{key}: example wrong answer {value!r} was accepted"
        prefix = f"✗ {key}: not yet — hint: "
        assert result.message.startswith(prefix), result.message
        assert len(result.message) > len(prefix) + 10, f"{key}: the hint for {value!r} is empty or too short"


def _reveals(message: str, right) -> bool:
    """Does ``message`` state the right answer ``right`` outright?"""
    if isinstance(right, bool):
        return False
    if isinstance(right, (int, float)):
        if not math.isfinite(right) or right in (0, 1):
            return False
        forms = {f"{right:g}", f"{right:.2f}"} | ({str(int(right))} if float(right).is_integer() else set())
        return any(re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", message) for f in forms)
    text = check.words(right)
    return len(text) >= 4 and re.search(rf"(?<![\w/]){re.escape(text)}(?![\w])", check.words(message)) is not None


@pytest.mark.parametrize("key", KEYS)
def test_no_hint_gives_the_answer_away(key):
    c = CHECKS[key]
    steps = len(c.hint) if isinstance(c.hint, tuple) else 1
    for value in c.wrong:
        for attempt in range(1, steps + 1):                  # every step of a stepped hint, too
            hint = c.hint_for(value, attempt)
            leaked = [r for r in c.right if _reveals(hint, r)]
            assert not leaked, f"{key}: the hint for {value!r} states a right answer {leaked!r}: {hint}"


def test_stepped_hints_lead_on_with_each_wrong_try():
    check.register("lab99.steps", verify=lambda v: v == 7, hint=["look at A", "now at B", "B's second field"],
                   right=[7], wrong=[1])
    try:
        said = [check.answer("lab99.steps", 1, quiet=True).message for _ in range(4)]
        assert [m.split("hint: ")[1] for m in said] == ["(hint 1 of 3) look at A", "(hint 2 of 3) now at B",
                                                        "(hint 3 of 3) B's second field",
                                                        "(hint 3 of 3) B's second field"]
        assert check.answer("lab99.steps", 7, quiet=True).ok
    finally:
        check._REGISTRY.pop("lab99.steps", None)


@pytest.mark.parametrize("key", KEYS)
def test_unfilled_answer_never_passes(key):
    assert not check.answer(key, None, quiet=True).ok


def test_every_check_loads_lazily_from_its_key():
    """answer('labNN.x', ...) imports lambdalab.check.labNN: every key must live in the module its prefix names."""
    code = ("import sys\nfrom lambdalab import check\n"
            "for key in sys.argv[1:]:\n    check.get(key)\n")
    proc = subprocess.run([sys.executable, "-c", code, *KEYS], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_reveal_detector_catches_a_leaky_hint():
    # the guard above must be able to fail
    assert _reveals("the answer is 270 ms", 270.0)
    assert _reveals("try: the Placement Service", "placement service")
    assert not _reveals("look 2700 ms later", 270.0)
    assert not _reveals("read the REPORT line", "placement")
