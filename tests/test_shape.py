"""The package's shape (issue 15): no module over 600 lines, no import cycle between modules at import time, and
nothing outside lambdalab/engine reaching into the engine's heap or sequence."""
from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent / "lambdalab"
MODULES = sorted(ROOT.rglob("*.py"))


def name_of(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_is_over_600_lines():
    long = {name_of(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, f"split these by responsibility: {long}"


def imports_at_import_time(path: pathlib.Path, known: set[str]) -> set[str]:
    """The lambdalab modules ``path`` imports when it is imported (module level, not inside functions)."""
    name = name_of(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in known and m != name}


def test_no_import_cycles_between_modules():
    known = {name_of(p) for p in MODULES}
    graph = {name_of(p): imports_at_import_time(p, known) for p in MODULES}
    parents = {m for m in known if any(k.startswith(m + ".") for k in known)}     # packages
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                # a package importing its own submodules (and they it) is how packages are built, not a cycle
                if nxt == start and not (start in parents and path[1].startswith(start + ".")):
                    cycles.append(path)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert not cycles, f"import cycles: {cycles[:3]}"


def test_nothing_outside_the_engine_touches_its_privates():
    private = re.compile(r"engine\w*(\(\))?\._(heap|seq|horizon|quiet|run)\b", re.IGNORECASE)
    offenders = [f"{name_of(p)}: {line.strip()}" for p in MODULES if "engine" not in p.relative_to(ROOT).parts[:1]
                 for line in p.read_text(encoding="utf-8").splitlines() if private.search(line)]
    assert not offenders, offenders
