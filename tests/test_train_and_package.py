"""End to end: `spacy train` fits the sample corpus; `spacy package` gives a wheel that loads.

The package test installs the model wheel and our own wheel with ``--no-deps`` into a fresh
virtual environment (conftest.fresh_venv). Third-party dependencies (torch, spaCy, ...) are
borrowed from this environment with every trace of the development copy of spacy-concner
removed, so the check is that *our* two wheels are complete: the pipeline loads from the
installed model package with ``spacy.load(name)`` and finds the concner factory through the
installed spacy-concner entry points, not this source tree.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from conftest import ONLY_INSTALLED_COPY, fresh_venv, run_clean

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday .",
    "Deutsche Bahn opened a new office in Madrid .",
    "Barack Obama visited the United Nations in New York .",
    "Die Europäische Union tagt in Brüssel .",
]


def _run(cmd, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    assert proc.returncode == 0, f"{cmd}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bert, corpus_docbins):
    out = tmp_path_factory.mktemp("train")
    translations = [str(corpus_docbins[f"{l}/train.translated"]) for l in ("de", "es", "nl")]
    proc = _run([
        sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "concner.cfg"),
        "--output", str(out),
        "--paths.train", str(corpus_docbins["en/train"]),
        "--paths.translations", json.dumps(translations),
        "--paths.dev", str(corpus_docbins["en/train"]),
        "--paths.transformer", str(tiny_bert),
        "--training.max_steps", "250", "--training.eval_frequency", "50",
        "--training.optimizer.learn_rate.initial_rate", "0.001",
        "--training.optimizer.learn_rate.warmup_steps", "20",
        "--components.concner.model.proj_hidden", "32",
        "--components.concner.model.proj_width", "16",
        "--training.logger.output_file", str(out / "log.jsonl"),
        "--initialize.after_init.freeze_embeddings", "false",  # the tiny BERT's random embeddings must train (the recipe freezes pretrained ones)
    ])
    return out, proc.stdout


def test_training_fits_its_own_data(trained):
    out, _ = trained
    meta = json.loads((out / "model-best" / "meta.json").read_text())
    assert meta["performance"]["ents_f"] > 0.6  # tiny BERT memorises the training sentences


def test_loss_terms_logged_separately(trained):
    out, stdout = trained
    header = next(line for line in stdout.splitlines() if "L_LABEL" in line)
    assert "L_CE" in header and "L_TRANS" in header and "LOSS CONCNER" in header
    records = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    last = records[-1]["losses"]
    assert last["concner:label"] > 0 and last["concner:trans"] > 0 and last["concner:ce"] > 0
    # the pipe total is the weighted sum of its terms (weights 1, 0.1, 0.1)
    expected = last["concner:ce"] + 0.1 * last["concner:label"] + 0.1 * last["concner:trans"]
    assert last["concner"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.slow  # spacy package, pip wheel, a fresh venv
def test_spacy_package_wheel_loads_in_fresh_venv(trained, tmp_path):
    out, _ = trained
    model_dir = out / "model-best"
    nlp = spacy.load(model_dir)
    expected = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(TEXTS)]
    assert any(expected)
    dist = tmp_path / "dist"
    dist.mkdir()
    _run([sys.executable, "-m", "spacy", "package", str(model_dir), str(dist), "--name", "concner_test",
          "--version", "0.0.1", "--build", "wheel", "--force"])
    model_wheel = next(dist.rglob("xx_concner_test-*.whl"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path / "ours"), str(ROOT)])
    our_wheel = next((tmp_path / "ours").glob("spacy_concner-*.whl"))

    env_dir = tmp_path / "fresh"
    py = fresh_venv(env_dir, [our_wheel, model_wheel])
    check = (
        ONLY_INSTALLED_COPY.format(env=str(env_dir)) + "import json, spacy\n"
        "nlp = spacy.load('xx_concner_test')\n"
        f"print(json.dumps([[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe({TEXTS!r})]))\n"
    )
    got = json.loads(run_clean([str(py), "-c", check], cwd=str(tmp_path)).stdout.strip().splitlines()[-1])
    assert [[tuple(e) for e in d] for d in got] == expected
    packaged_meta = json.loads(next(dist.rglob("xx_concner_test/meta.json")).read_text())
    requirements = [r.split(">")[0].split("=")[0] for r in packaged_meta["requirements"]]
    assert "spacy-concner" in requirements and "spacy-transformers" in requirements


def test_finetune_config_sources_transformer_and_learns_new_labels(trained, tiny_bert, tmp_path):
    """configs/finetune_domain.cfg: trained transformer sourced, fresh head with the user's labels."""
    from spacy.tokens import Doc, DocBin

    from spacy_concner.data.docdata import set_pair

    out, _ = trained
    nlp = spacy.blank("xx")
    words = [["The", "Pixel", "9", "beats", "the", "Galaxy", "S24", "."], ["I", "bought", "a", "Kindle", "."]]
    tags = [["O", "B-GADGET", "I-GADGET", "O", "O", "B-GADGET", "I-GADGET", "O"], ["O", "O", "O", "B-GADGET", "O"]]
    docs = [set_pair(Doc(nlp.vocab, words=w, ents=t), f"d{i}", "en") for i, (w, t) in enumerate(zip(words, tags))]
    DocBin(store_user_data=True, docs=docs).to_disk(tmp_path / "domain.spacy")
    _run([
        sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "finetune_domain.cfg"),
        "--output", str(tmp_path / "ft"), "--paths.base", str(out / "model-best"),
        "--paths.train", str(tmp_path / "domain.spacy"), "--paths.dev", str(tmp_path / "domain.spacy"),
        "--training.max_steps", "3", "--training.eval_frequency", "3",
        "--components.concner.model.proj_hidden", "32", "--components.concner.model.proj_width", "16",
    ])
    tuned = spacy.load(tmp_path / "ft" / "model-last")
    assert tuned.get_pipe("concner").labels == ["GADGET"]

    def embeddings(nlp_):
        trf = nlp_.get_pipe("transformer").model
        shim = next(s for node in trf.walk() for s in node.shims)
        return next(p for n, p in shim._model.named_parameters() if "word_embeddings" in n).detach()

    import transformers

    fresh = transformers.AutoModel.from_pretrained(str(tiny_bert)).embeddings.word_embeddings.weight.detach()
    base, ft = embeddings(spacy.load(out / "model-best")), embeddings(tuned)
    assert float((ft - base).abs().max()) < float((ft - fresh).abs().max())  # started from the base
