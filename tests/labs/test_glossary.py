"""labs/GLOSSARY.md: one entry per Lambda term the labs use, linked from every lab (and every later lab)."""
from __future__ import annotations

import json
import pathlib
import re

import pytest

LABS = pathlib.Path(__file__).resolve().parents[2] / "labs"
GLOSSARY = LABS / "GLOSSARY.md"
NOTEBOOKS = sorted(LABS.glob("[0-9][0-9]_*.ipynb"))
ALL = sorted(p for p in LABS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ANCHOR = re.compile(r"\]\((?:\.\./)?GLOSSARY\.md#([^)\s]+)\)")


def headings() -> list[str]:
    return re.findall(r"^### (.+)$", GLOSSARY.read_text(encoding="utf-8"), re.M)


def slug(heading: str) -> str:
    """The anchor GitHub and JupyterLab both give a lower-case heading without punctuation."""
    return heading.strip().lower().replace(" ", "-")


def markdown(path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_lab_links_the_glossary(path):
    assert "](GLOSSARY.md" in markdown(path), f"{path.name}: link labs/GLOSSARY.md (build_00_01.nav does)"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(LABS)))
def test_glossary_anchors_exist(path):
    known = {slug(h) for h in headings()}
    missing = [a for a in ANCHOR.findall(markdown(path)) if a not in known]
    assert not missing, f"{path.name} links glossary entries that do not exist: {missing}"


def test_entries_are_alphabetical_unique_and_used_by_a_lab():
    names = headings()
    keys = [h.lower().lstrip("$") for h in names]
    assert keys == sorted(keys), "keep labs/GLOSSARY.md in alphabetical order"
    assert len(set(keys)) == len(keys)
    text = " ".join(p.read_text(encoding="utf-8").lower() for p in NOTEBOOKS)   # markdown and code
    unused = [h for h in names if h.lower() not in text]
    assert not unused, f"glossary entries no lab mentions (drop them, or use them): {unused}"


def test_every_part_of_the_architecture_has_an_entry():
    from lambdalab.engine.trace import COMPONENTS

    names = {h.lower() for h in headings()}
    aliases = {"async_queue": "async queue", "poller": "async poller", "worker": "worker host",
               "environment": "execution environment", "placement": "placement service"}
    missing = [c for c in COMPONENTS if aliases.get(c, c.replace("_", " ")) not in names]
    assert not missing, f"labs/GLOSSARY.md has no entry for {missing}"
