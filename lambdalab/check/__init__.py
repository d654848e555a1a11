"""Self-checks for the labs' exercises.

A lab exercise asks the learner to put an answer in a variable; a check cell then hands it to
``check.answer``, which says "correct" (with a short explanation of why) or "not yet" with a hint. A hint
points at where to look, never at the value itself. Checks never raise: an unfilled answer (``None``) just
asks the learner to fill it in, so the unmodified notebook runs green under nbval.

Each lab registers its checks in its own module, ``lambdalab/check/labNN.py``, at import time. The module is
imported lazily from the key's prefix: ``answer("lab03.retries", 2)`` imports ``lambdalab.check.lab03``.

Writing a check (in ``lambdalab/check/lab03.py``)::

    from lambdalab.check import register

    register(
        "lab03.retries",
        verify=lambda v: int(v) == 2,               # may raise on a wrong type: that counts as wrong
        hint="Count the retry attempts in lab.trace.filter(component='poller'), not the first attempt.",
        right=[2, "2"],                             # example right answers (tests/check runs them)
        wrong=[0, 3],                               # example wrong answers: each must produce a hint
        explain="An async invoke is retried twice after the first failure.",
    )

Using it in a notebook::

    import lambdalab as ll
    my_answer = None                                # the learner replaces None
    ll.check.answer("lab03.retries", my_answer)
    # … lab03.retries: fill in your answer above, then run this cell again

Every right answer is also recorded in a small local file; ``ll.check.progress()`` shows which exercises of
which labs have been passed (``check.record``).

``hint`` may also be a callable ``value -> str`` to tailor the hint to the wrong answer given (it still must
not reveal the right one), or a list of hints that lead to the answer in steps: the first wrong try gets the
first, each further wrong try the next (the last one repeats), each shown as "hint 2 of 3".
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from . import record

__all__ = ["register", "answer", "registered", "get", "load_all", "progress", "Check", "Result", "words"]

Hint = Union[str, Callable[[Any], str], "tuple[str, ...]"]

_KEY = re.compile(r"^(lab\d\d)\.[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Check:
    """One exercise check: how to verify an answer, what to say when it's wrong, and examples for tests."""

    key: str
    verify: Callable[[Any], bool]
    hint: Hint
    right: tuple = ()
    wrong: tuple = ()
    explain: str = ""

    def is_right(self, value: Any) -> bool:
        """True when ``verify`` accepts ``value``; any exception from ``verify`` means "wrong"."""
        if value is None:
            return False
        try:
            return bool(self.verify(value))
        except Exception:  # a wrong type or shape is a wrong answer, not a crash in the learner's notebook
            return False

    def hint_for(self, value: Any, attempt: int = 1) -> str:
        """The hint for a wrong ``value`` on the learner's ``attempt``-th wrong try (1 = first)."""
        if isinstance(self.hint, tuple):
            step = max(1, min(attempt, len(self.hint)))
            return f"(hint {step} of {len(self.hint)}) {self.hint[step - 1]}"
        if callable(self.hint):
            try:
                text = self.hint(value)
            except Exception:
                text = None
            if text:
                return str(text)
            return "look again at the cells above this exercise."
        return str(self.hint)


@dataclass(frozen=True)
class Result:
    """What ``answer`` returns: ``ok`` and the printed ``message``. Its repr is the message (plain text)."""

    key: str
    ok: bool
    message: str
    filled: bool = field(default=True)
    printed: bool = field(default=False, repr=False)

    def __bool__(self) -> bool:
        return self.ok

    def _ipython_display_(self) -> None:
        # answer() already printed the verdict; as a cell's last expression, don't show it a second time.
        if not self.printed:
            print(self.message)

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__


_REGISTRY: dict[str, Check] = {}
_WRONG_TRIES: dict[str, int] = {}   # per check, wrong answers so far in this kernel (for hints in steps)


def register(key: str, *, verify: Callable[[Any], bool], hint: Hint, right, wrong, explain: str = "") -> Check:
    """Register the check ``key`` ("labNN.name"). ``right``/``wrong`` are example answers used by the tests."""
    if not _KEY.match(key):
        raise ValueError(f"check key {key!r} must look like 'lab01.name'")
    right, wrong = tuple(right), tuple(wrong)
    if isinstance(hint, (list, tuple)):
        hint = tuple(str(h) for h in hint)
        if not hint:
            raise ValueError(f"check {key!r}: give at least one hint")
    if not right or not wrong:
        raise ValueError(f"check {key!r} needs at least one example right answer and one wrong answer")
    check = Check(key=key, verify=verify, hint=hint, right=right, wrong=wrong, explain=explain)
    _REGISTRY[key] = check  # re-registering (a reloaded module) replaces the old check
    return check


def _load_lab(key: str) -> None:
    m = _KEY.match(key)
    if m:
        try:
            importlib.import_module(f"lambdalab.check.{m.group(1)}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lambdalab.check.{m.group(1)}":
                raise


def get(key: str) -> Check:
    """The registered check ``key``, importing its lab module first if needed (KeyError if none)."""
    if key not in _REGISTRY:
        _load_lab(key)
    return _REGISTRY[key]


def answer(key: str, value: Any, *, quiet: bool = False) -> Result:
    """Check the learner's ``value`` for exercise ``key``; print and return the verdict. Never raises."""
    try:
        check = get(key)
    except KeyError:
        result = Result(key, False, f"? {key}: there is no check with this name (is lambdalab up to date?)")
    else:
        if value is None or value is Ellipsis:
            result = Result(key, False, f"… {key}: fill in your answer above, then run this cell again", False)
        elif check.is_right(value):
            tail = f" — {check.explain}" if check.explain else ""
            result = Result(key, True, f"✓ {key}: correct{tail}")
            record.record_pass(key)
        else:
            _WRONG_TRIES[key] = tries = _WRONG_TRIES.get(key, 0) + 1
            result = Result(key, False, f"✗ {key}: not yet — hint: {check.hint_for(value, tries)}")
    if not quiet:
        print(result.message)
        result = Result(result.key, result.ok, result.message, result.filled, printed=True)
    return result


def words(value: Any) -> str:
    """A free-text answer folded for comparison: lower case, ``_``/``-`` as spaces, no "the", single spaces.

    ``words(" The Placement_Service ") == "placement service"``; checks compare against folded forms.
    """
    text = re.sub(r"[_\-\s]+", " ", str(value).strip().lower())
    text = re.sub(r"^(the|a|an) ", "", text)
    return text.strip(" .!")


def load_all() -> dict[str, Check]:
    """Import every ``lambdalab/check/labNN.py`` and return all registered checks (for tests and instructors)."""
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"lab\d\d", info.name):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


def registered() -> list[str]:
    """Keys of the checks registered so far (call ``load_all()`` first to see every lab's)."""
    return sorted(_REGISTRY)


def progress():
    """Which exercises of which labs the learner has passed (see ``lambdalab.check.record``)."""
    return record.progress(load_all())
