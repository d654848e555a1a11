"""One time plan: labs/README.md's minutes per lab, INSTRUCTORS.md's timings and the top-level README agree.

Labs added later (08, 09, ...) must appear in both tables with the same minutes, and the totals follow.
"""
from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"


def readme_minutes() -> dict[str, int]:
    rows = re.findall(r"^\| (\d\d) \| \[[^\]]+\]\((\d\d_\w+)\.ipynb\) \| (\d+) min \|",
                      (LABS / "README.md").read_text(encoding="utf-8"), re.M)
    return {number: int(minutes) for number, _, minutes in rows}


def instructor_rows() -> list[tuple[int, str, int]]:
    """(start minute, what, minutes) for each row of the timings table."""
    text = (LABS / "INSTRUCTORS.md").read_text(encoding="utf-8")
    rows = []
    for h, m, what, minutes in re.findall(r"^\| (\d+):(\d\d) \| ([^|]+?) \|\s*(\d*)(?: min)?\s*\|", text, re.M):
        rows.append((int(h) * 60 + int(m), what.strip(), int(minutes or 0)))
    return rows


def hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}"


def test_every_lab_has_its_minutes_in_both_plans():
    labs = sorted(p.stem[:2] for p in LABS.glob("[0-9][0-9]_*.ipynb"))
    minutes = readme_minutes()
    assert sorted(minutes) == labs, "labs/README.md must list every lab (and only those) with its minutes"
    planned = {what[:2]: m for _, what, m in instructor_rows() if what[:2].isdigit()}
    assert planned == minutes, f"INSTRUCTORS.md timings {planned} differ from labs/README.md {minutes}"


def test_start_times_add_up_and_the_totals_are_quoted():
    rows = instructor_rows()
    for (start, what, m), (following, *_rest) in zip(rows, rows[1:]):
        assert start + m == following, f"INSTRUCTORS.md: {what} starts at {start} min and lasts {m}, the next " \
                                       f"row starts at {following}"
    labs_total = sum(readme_minutes().values())
    with_breaks = rows[-1][0]
    assert rows[-1][1] == "end"
    instructors = (LABS / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert f"{hours(labs_total)} in all" in instructors and hours(with_breaks) in instructors
    for readme in (ROOT / "README.md", LABS / "README.md"):
        text = readme.read_text(encoding="utf-8")
        assert hours(labs_total) in text and hours(with_breaks) in text, \
            f"{readme.relative_to(ROOT)} should give the plan's totals: {hours(labs_total)} of labs, " \
            f"{hours(with_breaks)} with breaks"
