"""What ``spacy.load`` runs (``ml/``, ``pipeline/``) never imports ``training/`` (what ``spacy train`` plugs in)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_concner"


def imports(path: Path):
    """Absolute names of the modules ``path`` imports, function-level and relative imports included."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module
            if not node.module:
                yield from (f"{module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("path", sorted((PACKAGE / "pipeline").glob("*.py")) + sorted((PACKAGE / "ml").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_runtime_never_imports_training(path):
    assert [m for m in imports(path) if m.startswith("spacy_concner.training")] == []


def test_the_check_sees_a_relative_import(tmp_path, monkeypatch):
    src = tmp_path / "spacy_concner" / "pipeline" / "x.py"
    src.parent.mkdir(parents=True)
    src.write_text("def f():\n    from ..training.memory import trimmer\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "spacy_concner")
    assert list(imports(src)) == ["spacy_concner.training.memory"]
