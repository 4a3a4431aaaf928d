"""The package's layout rules (docs/spacy-pieces.md, "Where things are"), checked by reading the source, so they cannot drift.

- ``ml/`` and ``pipeline/`` (what ``spacy.load`` runs) import nothing from ``translate/``,
  ``encoders/`` or ``workflow/`` (the tooling around them);
- no module is over 350 lines.
"""
import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_concner"
CORE = ("ml", "pipeline")
TOOLING = ("translate", "encoders", "workflow")
MAX_LINES = 350


def imported_modules(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, function-level imports included."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield node.lineno, module
            if not node.module:  # `from .. import workflow`
                yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)


def modules_of(folder: str):
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("path", [p for folder in CORE for p in modules_of(folder)], ids=lambda p: p.parent.name + "/" + p.name)
def test_core_imports_no_tooling(path):
    banned = tuple(f"spacy_concner.{folder}" for folder in TOOLING)
    bad = [f"{path.name}:{line} imports {module}" for line, module in imported_modules(path)
           if module == "spacy_concner" or module.startswith(banned)]
    assert not bad


def test_rule_sees_relative_and_late_imports(tmp_path, monkeypatch):
    """The check reads `from ..workflow import x` inside functions too (a check that cannot fail is no check)."""
    real = PACKAGE / "pipeline" / "concner.py"
    found = dict((m, n) for n, m in imported_modules(real))
    assert "spacy_concner.ml.dual_contrastive_loss" in found and "spacy_concner.pipeline.targets" in found
    src = tmp_path / "spacy_concner" / "pipeline" / "x.py"
    src.parent.mkdir(parents=True)
    src.write_text("def f():\n    from ..workflow.report import bar_chart\n    from .. import encoders\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "spacy_concner")
    assert [m for _, m in imported_modules(src)] == [
        "spacy_concner.workflow.report", "spacy_concner", "spacy_concner.encoders"]


def test_no_module_over_max_lines():
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
