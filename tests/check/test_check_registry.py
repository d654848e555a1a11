"""lambdalab.check, the framework: what a learner sees for an unfilled, right, wrong or odd answer."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lambdalab import check


@pytest.fixture
def scratch():
    """Register throw-away checks under lab98.*; remove them afterwards so other tests never see them."""
    keys = []

    def reg(name, **kw):
        key = f"lab98.{name}"
        kw.setdefault("right", [2])
        kw.setdefault("wrong", [3])
        kw.setdefault("hint", "count again")
        check.register(key, **kw)
        keys.append(key)
        return key

    yield reg
    for key in keys:
        check._REGISTRY.pop(key, None)


def test_unfilled_answer_asks_to_fill_in_and_is_not_ok(scratch, capsys):
    key = scratch("two", verify=lambda v: v == 2)
    result = check.answer(key, None)
    assert capsys.readouterr().out == "… lab98.two: fill in your answer above, then run this cell again\n"
    assert not result.ok and not result.filled


def test_right_answer_says_correct_with_the_explanation(scratch, capsys):
    key = scratch("two", verify=lambda v: v == 2, explain="two is the loneliest number after one")
    result = check.answer(key, 2)
    assert capsys.readouterr().out == "✓ lab98.two: correct — two is the loneliest number after one\n"
    assert result.ok and bool(result)
    assert str(result) == result.message == "✓ lab98.two: correct — two is the loneliest number after one"


def test_wrong_answer_gives_the_hint(scratch, capsys):
    key = scratch("two", verify=lambda v: v == 2, hint="count the boxes once more")
    result = check.answer(key, 5)
    assert capsys.readouterr().out == "✗ lab98.two: not yet — hint: count the boxes once more\n"
    assert not result.ok and result.filled


def test_a_verify_that_raises_counts_as_wrong_not_as_a_crash(scratch, capsys):
    key = scratch("int", verify=lambda v: int(v) == 2)
    assert check.answer(key, "two").ok is False
    assert check.answer(key, ["a", "list"]).ok is False
    assert check.answer(key, "2").ok is True
    assert capsys.readouterr().out.count("hint:") == 2


def test_a_callable_hint_sees_the_wrong_value_and_a_broken_one_falls_back(scratch):
    key = scratch("tailored", verify=lambda v: v == 2, hint=lambda v: f"{v} is too big" if v > 2 else "")
    assert check.answer(key, 7, quiet=True).message.endswith("hint: 7 is too big")
    fallback = check.answer(key, 1, quiet=True).message
    assert fallback.startswith("✗ lab98.tailored: not yet — hint: ") and len(fallback) > 40
    broken = scratch("broken", verify=lambda v: v == 2, hint=lambda v: 1 / 0)
    assert "hint: " in check.answer(broken, 0, quiet=True).message


def test_unknown_key_explains_instead_of_raising(capsys):
    result = check.answer("lab97.no_such_check", 1)
    assert not result.ok
    assert capsys.readouterr().out.startswith("? lab97.no_such_check: there is no check")


def test_register_refuses_bad_keys_and_missing_examples():
    with pytest.raises(ValueError, match="must look like"):
        check.register("retries", verify=bool, hint="h", right=[1], wrong=[0])
    with pytest.raises(ValueError, match="at least one example"):
        check.register("lab98.nothing_wrong", verify=bool, hint="h", right=[1], wrong=[])
    assert "lab98.nothing_wrong" not in check.registered()


def test_quiet_answer_prints_nothing_but_displays_once_in_a_notebook(scratch, capsys):
    key = scratch("two", verify=lambda v: v == 2)
    quiet = check.answer(key, 2, quiet=True)
    assert capsys.readouterr().out == ""
    quiet._ipython_display_()           # as the last expression of a cell: shown once
    assert capsys.readouterr().out.startswith("✓ lab98.two")
    loud = check.answer(key, 2)
    loud._ipython_display_()            # already printed by answer(): not shown a second time
    assert capsys.readouterr().out.count("✓") == 1


def test_words_folds_free_text_answers():
    assert check.words(" The Placement_Service. ") == "placement service"
    assert check.words("worker-manager") == "worker manager"
    assert check.words(42) == "42"


def test_import_lambdalab_does_not_load_checks_and_answer_loads_the_lab_lazily():
    code = (
        "import sys, lambdalab as ll\n"
        "assert 'lambdalab.check' not in sys.modules\n"
        "r = ll.check.answer('lab00.first_component', 'frontend', quiet=True)\n"
        "print(r.ok, 'lambdalab.check.lab00' in sys.modules, 'lambdalab.check.lab01' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"]
