"""Dollar signs in the labs' markdown: JupyterLab reads `$...$` as LaTeX, so "$0.20 ... $1" renders as maths.

Every literal dollar in markdown is written `\\$`. Inside code (`` `$LATEST` `` or a fenced block) a dollar is
shown as typed and needs no escape. The test reads every notebook under labs/ (labs, solutions, and any lab
added later) and fails on an unescaped `$` followed by a digit.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

LABS = pathlib.Path(__file__).resolve().parents[2] / "labs"
NOTEBOOKS = sorted(p for p in LABS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
UNESCAPED_PRICE = re.compile(r"(?<!\\)\$(?=\s?\d)")


def unescaped_dollars(markdown: str) -> list[str]:
    """The places in ``markdown`` (outside code) where a `$` before a digit is not escaped."""
    prose = CODE_SPAN.sub("", FENCE.sub("", markdown))
    return [prose[max(0, m.start() - 20):m.end() + 12] for m in UNESCAPED_PRICE.finditer(prose)]


def test_the_rule_itself():
    assert unescaped_dollars("costs $0.20 per million") == ["costs $0.20 per mil"]
    assert unescaped_dollars("between $ 5 and") and unescaped_dollars("$1")
    assert unescaped_dollars(r"costs \$0.20, \$1 and `$1` in code") == []
    assert unescaped_dollars("```bash\necho $1\n```\nand `$LATEST`, $LATEST") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(LABS)))
def test_no_unescaped_dollar_before_a_digit(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    bad = [(i, hit) for i, c in enumerate(cells) if c["cell_type"] == "markdown"
           for hit in unescaped_dollars("".join(c["source"]))]
    assert not bad, f"{path.name}: write literal dollars as \\$ in markdown (cell, text): {bad}"
