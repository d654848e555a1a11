"""Lab 06's policy check judges the policy the learner gives now, not one it remembers.

Its verdict comes from replays of a day of traffic (seconds each), so it is remembered for a policy in the same
state (the check's verify and hint both ask). A learner who changes the same object, or defines the class again,
and answers again must get a fresh verdict. The replays are replaced by a judge that says which policy it saw.
"""
from __future__ import annotations

import pytest

from lambdalab.check import lab06


class Waits:
    """A learner's policy: keeps an environment ``minutes`` after each request."""

    def __init__(self, minutes: float = 10) -> None:
        self.minutes = minutes

    def on_idle(self, function, now):
        return self.minutes * 60


@pytest.fixture
def judged(monkeypatch):
    seen = []

    def judge(policy):
        made = policy() if isinstance(policy, type) else policy
        seen.append(made.minutes)
        return made.minutes < 10, f"judged with {made.minutes} minutes"

    monkeypatch.setattr(lab06, "judge", judge)
    monkeypatch.setattr(lab06, "_VERDICTS", {})
    return seen


def test_the_same_policy_in_the_same_state_is_judged_once(judged):
    policy = Waits(5)
    assert lab06._verdict(policy) == (True, "judged with 5 minutes")
    assert lab06._verdict(policy) == (True, "judged with 5 minutes")
    assert judged == [5]


def test_a_policy_changed_since_its_verdict_is_judged_again(judged):
    policy = Waits(5)
    assert lab06._verdict(policy)[0] is True
    policy.minutes = 30                       # the learner edits the same object and answers again
    assert lab06._verdict(policy) == (False, "judged with 30 minutes")
    assert judged == [5, 30]


def _define(minutes: float) -> type:
    """``class Mine(Waits)`` as a notebook cell defines it: at the top of its module, so its objects pickle."""
    mine = type("Mine", (Waits,), {"__init__": lambda self: Waits.__init__(self, minutes), "__module__": __name__})
    globals()["Mine"] = mine
    return mine


def test_a_class_defined_again_is_judged_again(judged):
    first = _define(5)
    assert lab06._verdict(first)[0] is True
    assert lab06._verdict(first)[0] is True
    again = _define(45)                       # the learner re-runs the cell with a change
    assert lab06._verdict(again) == (False, "judged with 45 minutes")
    assert judged == [5, 45]


def test_a_policy_that_cannot_be_pickled_is_judged_every_time(judged):
    policy = Waits(5)
    policy.hook = lambda: None                # (a lambda does not pickle)
    lab06._verdict(policy)
    lab06._verdict(policy)
    assert judged == [5, 5]
