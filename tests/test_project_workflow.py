"""`spacy project run` end to end on the sample corpus (tiny BERT, a few steps), then again:
the second run must skip every finished step; then docs/custom-domain.md's run in the same
checkout (other targets, data and labels) must read only its own files. Uses the `online`
workflow (no encoder build) with the tiny local transformer, so it needs the offline MT engines
but no download."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ONLY_INSTALLED_COPY, fresh_venv, run_clean

from spacy_concner.workflow.package_meta import build_meta, pipeline_info
from spacy_concner.translate.engines import EngineUnavailable, get_translator

pytestmark = pytest.mark.slow  # full `spacy project run`, pip wheel, a fresh venv: minutes
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["prepare", "translate", "train-src", "train-src-trans", "train-concner", "distill", "evaluate", "package"]


def _engines_available() -> bool:
    try:
        get_translator("apertium", src="en", tgt="es")
        get_translator("lexicon", src="en", tgt="de")
    except EngineUnavailable:
        return False
    return True


def _check_packaged_wheel(project: Path, tmp_path: Path) -> None:
    """The workflow's wheel loads in a fresh venv (only our installed wheels, no source tree)
    and its meta carries the evaluation's numbers for the packaged system."""
    wheel = next((project / "packages").rglob("xx_concner_de_es-*.whl"))  # named after the target languages
    run_clean([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
               "-w", str(tmp_path / "ours"), str(ROOT)])
    env_dir = tmp_path / "fresh"
    py = fresh_venv(env_dir, [next((tmp_path / "ours").glob("spacy_concner-*.whl")), wheel])
    check = ONLY_INSTALLED_COPY.format(env=str(env_dir)) + (
        "import json, spacy\n"
        "nlp = spacy.load('xx_concner_de_es')\n"
        "doc = nlp('Angela Merkel besuchte Paris .')\n"
        "print(json.dumps({'concner': nlp.meta['concner'], 'pipeline': nlp.pipe_names, 'n': len(doc)}))\n"
    )
    got = json.loads(run_clean([str(py), "-c", check], cwd=str(tmp_path)).stdout.strip().splitlines()[-1])
    assert got["pipeline"] == ["transformer", "concner"] and got["n"] == 5
    evaluation = json.loads((project / "metrics" / "evaluation.json").read_text())
    shipped = pipeline_info(project / "training" / "distill_shipped")
    expected = build_meta(evaluation, "concner+distill", None, "0.1.0", shipped)["concner"]
    got_flat, want_flat = _flat(got["concner"]), _flat(expected)
    assert set(got_flat) == set(want_flat)
    for key, want in want_flat.items():  # spacy package rounds floats
        assert got_flat[key] == (pytest.approx(want, rel=1e-8, abs=1e-10) if isinstance(want, float) else want), key
    for lang in ("de", "es"):  # a few steps of a tiny BERT may score 0: the gold count keeps this from being vacuous
        f1 = evaluation["results"]["concner+distill"][lang]["seqeval"]["f1"]
        assert got["concner"]["evaluation"][lang]["seqeval"]["f1"] == pytest.approx(f1, rel=1e-8, abs=1e-10)
        assert got["concner"]["evaluation"][lang]["seqeval"]["support"] > 0  # the gold entities it was scored on


def _flat(tree, prefix: str = "") -> dict:
    """Nested dicts as {"a/b/c": leaf}, so that pytest.approx can compare them."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}/{key}").items()}


def test_workflow_runs_then_skips(tiny_bert, tmp_path):
    if not _engines_available():
        if os.environ.get("CONCNER_REQUIRE_ENGINES") == "1":
            pytest.fail("apertium / FreeDict missing but CONCNER_REQUIRE_ENGINES=1")
        pytest.skip("apertium / FreeDict not installed")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("project.yml", "configs", "corpus", "examples"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
    cmd = [sys.executable, "-m", "spacy", "project", "run", "online", str(project),
           "--vars.transformer", str(tiny_bert), "--vars.train_steps", "4", "--vars.evals", "2",
           "--vars.freeze_embeddings", "false",  # a tiny random BERT must train its embeddings
           "--vars.target_langs", "de es",
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
    _check_packaged_wheel(project, tmp_path)
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=project)
    assert second.returncode == 0, second.stdout[-3000:]
    for name in COMMANDS:
        assert f"Skipping '{name}': nothing changed" in second.stdout, (name, second.stdout[-2000:])

    _custom_domain_run_in_the_same_checkout(project, tiny_bert, env)


def _labels(model: Path):
    return sorted(json.loads((model / "concner" / "cfg").read_text())["labels"])


def _custom_domain_run_in_the_same_checkout(project: Path, tiny_bert: Path, env) -> None:
    """README quick start, then its custom-domain command in the same checkout (issue 12, defect 8).

    The first run left data/translations/de.spacy and data/soft/de.spacy behind; the custom-domain
    run (target es, labels PRODUCT/COMPANY) must neither fail on them nor learn from them. Only the
    steps that read those folders run, with two training steps."""
    assert _labels(project / "training/distill/model-best") == ["LOC", "ORG", "PER"]
    custom = ["--vars.transformer", str(tiny_bert), "--vars.train_steps", "2", "--vars.evals", "2",
              "--vars.freeze_embeddings", "false",
              "--vars.source_train", "examples/custom_domain/train.iob", "--vars.source_dev", "examples/custom_domain/dev.iob",
              "--vars.labels", "PRODUCT,COMPANY", "--vars.target_langs", "es", "--vars.translate_targets", "es:apertium",
              "--vars.target_test", "examples/custom_domain/{lang}/test.iob",
              "--vars.target_unlabelled", "examples/custom_domain/{lang}/unlabeled.txt"]
    for step in ("prepare", "translate", "train-concner", "distill"):
        proc = subprocess.run([sys.executable, "-m", "spacy", "project", "run", step, str(project), *custom],
                              capture_output=True, text=True, env=env, cwd=project)
        assert proc.returncode == 0, (step, proc.stdout[-3000:] + proc.stderr[-3000:])
    assert (project / "data/soft/de.spacy").exists() and (project / "data/translations/de.spacy").exists()
    assert _labels(project / "training/concner/model-best") == ["COMPANY", "PRODUCT"]
    assert _labels(project / "training/distill/model-best") == ["COMPANY", "PRODUCT"]
