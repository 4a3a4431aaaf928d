"""`spacy project run` end to end on the sample corpus (tiny BERT, a few steps), then again:
the second run must skip every finished step. Uses the `online` workflow (no encoder build)
with the tiny local transformer, so it needs the offline MT engines but no download."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_concner.translation import EngineUnavailable, get_translator

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["prepare", "translate", "train-src", "train-src-trans", "train-concner", "distill", "evaluate", "package"]


def _engines_available() -> bool:
    try:
        get_translator("apertium", src="en", tgt="es")
        get_translator("lexicon", src="en", tgt="de")
    except EngineUnavailable:
        return False
    return True


def test_workflow_runs_then_skips(tiny_bert, tmp_path):
    if not _engines_available():
        if os.environ.get("CONCNER_REQUIRE_ENGINES") == "1":
            pytest.fail("apertium / FreeDict missing but CONCNER_REQUIRE_ENGINES=1")
        pytest.skip("apertium / FreeDict not installed")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("project.yml", "configs", "corpus"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
    cmd = [sys.executable, "-m", "spacy", "project", "run", "online", str(project),
           "--vars.transformer", str(tiny_bert), "--vars.train_steps", "4", "--vars.distill_steps", "4",
           "--vars.eval_frequency", "2", "--vars.warmup_steps", "1", "--vars.target_langs", "de es",
           "--vars.translate_targets", "de:lexicon es:apertium"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=project)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for output in ("metrics/evaluation.json", "metrics/evaluation.md", "metrics/evaluation.png",
                   "packages/xx_concner_de_es-0.1.0/dist/xx_concner_de_es-0.1.0-py3-none-any.whl",
                   "data/translations/de.report.json", "data/soft/es.spacy"):
        assert (project / output).exists(), output
    meta = json.loads((project / "packages" / "meta.json").read_text())
    assert meta["name"] == "concner_de_es"  # derived from the target languages
    assert meta["concner"]["vocabulary"]["shipped"] == "full" and meta["concner"]["languages"] == ["de", "es"]
    assert "labels LOC, ORG, PER" in meta["description"] and "Ships the full encoder vocabulary" in meta["description"]
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=project)
    assert second.returncode == 0, second.stdout[-3000:]
    for name in COMMANDS:
        assert f"Skipping '{name}': nothing changed" in second.stdout, (name, second.stdout[-2000:])
