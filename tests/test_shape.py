"""The package's shape (issue 15): no module over 600 lines, no import cycle between modules (at import time or
closed by an import inside a function), and nothing outside lambdalab/engine reaching into the engine's heap or
sequence."""
from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent / "lambdalab"
MODULES = sorted(ROOT.rglob("*.py"))


def name_of(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_is_over_600_lines():
    long = {name_of(p): n for p in MODULES if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, f"split these by responsibility: {long}"


def imports_of(path: pathlib.Path, root: pathlib.Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports by name, at module level or inside a function (an import in a
    function that closes a cycle is a cycle all the same: it only moves the failure to the first call).
    ``import a.b`` counts as importing ``a.b``, not its parent packages, which Python imports on the way."""
    name = name_of(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


def import_cycles(root: pathlib.Path) -> list[list[str]]:
    """Each group of modules under ``root`` that import one another round (strongly connected), as a path that
    closes the loop, e.g. ``["a.lab", "a.replay", "a.lab"]``. A package importing its submodules is no cycle; a
    submodule importing the package back (``from . import helper`` of its ``__init__``) is one."""
    modules = sorted(root.rglob("*.py"))
    known = {name_of(p, root) for p in modules}
    graph = {name_of(p, root): imports_of(p, root, known) for p in modules}
    cycles = []
    for start in sorted(graph):
        if any(start in cycle for cycle in cycles):
            continue
        queue, seen = [(start, [start])], {start}
        while queue:                       # breadth first: the shortest way back to ``start``
            node, path = queue.pop(0)
            if start in graph[node]:
                cycles.append(path + [start])
                break
            for nxt in sorted(graph[node] - seen):
                seen.add(nxt)
                queue.append((nxt, path + [nxt]))
    return cycles


def test_no_import_cycles_between_modules():
    cycles = import_cycles(ROOT)
    assert not cycles, "import cycles (make the dependency go one way): " + "; ".join(" -> ".join(c) for c in cycles)


def test_a_cycle_closed_inside_a_function_is_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .lab import Lab\n")
    (package / "lab.py").write_text("class Lab:\n    def replay(self):\n        from .sub.replay import Replay\n")
    (package / "sub" / "replay.py").write_text("def shard():\n    import pkg\n    return pkg.Lab()\n")
    (package / "sub" / "record.py").write_text("def progress():\n    from . import load_all\n")
    (package / "sub" / "__init__.py").write_text("from . import record\ndef load_all():\n    pass\n")
    (package / "alone.py").write_text("from pkg.sub import record\n")      # one way: no cycle
    cycles = import_cycles(package)
    assert ["pkg", "pkg.lab", "pkg.sub.replay", "pkg"] in cycles
    assert ["pkg.sub", "pkg.sub.record", "pkg.sub"] in cycles
    assert not [c for c in cycles if "pkg.alone" in c]


def test_nothing_outside_the_engine_touches_its_privates():
    private = re.compile(r"engine\w*(\(\))?\._(heap|seq|horizon|quiet|run)\b", re.IGNORECASE)
    offenders = [f"{name_of(p)}: {line.strip()}" for p in MODULES if "engine" not in p.relative_to(ROOT).parts[:1]
                 for line in p.read_text(encoding="utf-8").splitlines() if private.search(line)]
    assert not offenders, offenders
