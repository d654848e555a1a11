"""ll.check.progress(): which exercises the learner has passed, kept in a small local file."""
from __future__ import annotations

import json
import os
import warnings

import pytest

import lambdalab as ll
from lambdalab.check import record as progress_module


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "home" / ".lambdalab" / "progress.json"
    monkeypatch.setenv("LAMBDALAB_PROGRESS", str(path))
    return path


def _right(key):
    return ll.check.get(key).right[0]


def test_right_answers_are_recorded_and_shown_per_lab(progress_file):
    before = ll.check.progress()
    assert before.passed == 0 and before.total == len(ll.check.load_all())
    numbers = [n for n, _, _ in before.labs]
    assert numbers == sorted({k[3:5] for k in ll.check.load_all()}) and "00" in numbers and "07" in numbers
    assert dict((n, name) for n, name, _ in before.labs)["03"] == "03_asynchronous_invocations"
    ll.check.answer("lab03.throttled", None)                       # unfilled: nothing recorded
    ll.check.answer("lab03.throttled", ll.check.get("lab03.throttled").wrong[0])   # wrong: nothing recorded
    assert not progress_file.exists()
    assert ll.check.answer("lab03.who_invokes", _right("lab03.who_invokes")).ok
    assert ll.check.answer("lab00.next_path", _right("lab00.next_path")).ok
    ll.check.answer("lab00.next_path", _right("lab00.next_path"))  # twice: recorded once
    assert json.loads(progress_file.read_text())["passed"] == ["lab00.next_path", "lab03.who_invokes"]
    now = ll.check.progress()
    assert now.passed == 2
    assert now.lab("03")["lab03.who_invokes"] and not now.lab("03")["lab03.throttled"]
    text = str(now)
    assert "Exercises passed: 2 of" in text and "✓ who_invokes" in text and "· throttled" in text
    assert "03_asynchronous_invocations" in now._repr_html_()


def test_a_corrupt_file_warns_and_never_crashes(progress_file):
    progress_file.parent.mkdir(parents=True)
    for junk in ("{not json", json.dumps({"passed": "lab00.x"}), json.dumps([1, 2]), "\udcff"):
        progress_file.write_text(junk, encoding="utf-8", errors="surrogateescape")
        with pytest.warns(UserWarning, match="progress file"):
            shown = ll.check.progress()
        assert shown.passed == 0
    # a pass replaces the damaged file with a good one, without a warning in the learner's cell
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ll.check.answer("lab01.warm_skips", _right("lab01.warm_skips")).ok
    assert json.loads(progress_file.read_text())["passed"] == ["lab01.warm_skips"]


def test_an_unwritable_place_loses_only_the_record(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LAMBDALAB_PROGRESS", str(blocker / "progress.json"))   # its parent is a file
    with pytest.warns(UserWarning, match="could not save"):
        result = ll.check.answer("lab01.warm_skips", _right("lab01.warm_skips"))
    assert result.ok and result.message.startswith("✓")
    with pytest.warns(UserWarning, match="cannot read"):
        assert ll.check.progress().passed == 0


def test_the_default_file_is_in_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("LAMBDALAB_PROGRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress_module.progress_path() == tmp_path / ".lambdalab" / "progress.json"
    assert os.environ.get("LAMBDALAB_PROGRESS") is None
