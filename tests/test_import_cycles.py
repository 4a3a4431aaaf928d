"""No spacy_concner module imports in a circle, and every module imports in a fresh interpreter.

The import graph is read from the source with ``ast`` (function-level imports included: a late
import hides a cycle, it does not remove one) and sorted with :mod:`graphlib`, which names the
cycle it finds. A submodule's implicit import of its parent package is not an edge: a package's
``__init__`` importing its own submodules is how a package is put together, not a cycle.
"""
import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_concner"


def module_names(package: Path) -> Dict[str, Path]:
    """Dotted name -> file for every module of ``package`` (a package is its ``__init__``)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(package: Path) -> Dict[str, Set[str]]:
    """Module -> the modules of ``package`` it imports, anywhere in its source."""
    modules = module_names(package)
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""] if node.level
                                else [node.module or ""]).rstrip(".")
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_cycles():
    graph = import_graph(PACKAGE)
    assert "spacy_concner.translate.engines.base" in graph["spacy_concner.translate.engines.apertium"]
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


@pytest.mark.parametrize("late", [False, True], ids=["top", "late"])
def test_a_cycle_is_found(tmp_path, late):
    """The check fails on a cycle, also one kept alive by an import at the bottom or inside a function."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import engine\n")  # a package importing its parts: fine
    (pkg / "sub" / "engine.py").write_text("from ..registry import register\n")
    back = "def f():\n    from .sub import engine\n" if late else "x = 1\nfrom .sub import engine  # noqa\n"
    (pkg / "registry.py").write_text("register = None\n" + back)
    graph = import_graph(pkg)
    assert graph["pkg.sub"] == {"pkg.sub.engine"} and graph["pkg.registry"] == {"pkg.sub", "pkg.sub.engine"}
    with pytest.raises(CycleError):
        TopologicalSorter(graph).prepare()
    (pkg / "registry.py").write_text("register = None\n")
    TopologicalSorter(import_graph(pkg)).prepare()


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(n for n in module_names(PACKAGE) if not n.endswith("__main__"))  # __main__ runs the CLI
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    proc = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
