"""Shipping the full vocabulary: a pipeline trained on a pruned encoder, expanded back to the full one.

Runs on the tiny synthetic multilingual-e5-style encoder of test_encoder.py (SentencePiece
vocabulary, pruned with the project's own ``prune_vocab``).
"""
import filecmp
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from transformers import AutoModel, AutoTokenizer

from spacy_concner.encoders.build import convert_e5s1
from spacy_concner.encoders.prune import prune_vocab
from spacy_concner.errors import InputError, MissingFile
from spacy_concner.encoders.vocabulary import VocabularyError, describe_vocabulary, expand_pipeline, pruned_row_ids
from test_encoder import write_e5s1

ROOT = Path(__file__).resolve().parents[1]
COVERED = ["hello world the cat", "the cat hello world"]  # what the pruned vocabulary was built from
UNSEEN = "the dog sat"  # "▁dog" and "▁sat" are pruned away


def _examples(nlp):
    words = [["hello", "world", "the", "cat"], ["the", "cat", "hello", "world"]]
    ents = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC", "B-PER", "I-PER"]]
    return [Example(nlp.make_doc(" ".join(w)), Doc(nlp.vocab, words=w, ents=e)) for w, e in zip(words, ents)]


def _pipeline(transformer: Path, out: Path, steps: int = 5) -> Path:
    """A small concner pipeline on ``transformer``, updated a few steps (every weight moves), saved."""
    config = spacy.util.load_config(ROOT / "configs" / "concner.cfg", overrides={
        "paths.transformer": str(transformer), "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8,
        "initialize.after_init.freeze_embeddings": False,  # the tiny BERT's random embeddings must train (the recipe freezes pretrained ones)
    }, interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.05
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    nlp.to_disk(out)
    return out


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vocab")
    bin_path = tmp / "tiny-q4.bin"
    write_e5s1(bin_path)
    full = tmp / "full"
    convert_e5s1(bin_path, full)
    prune_vocab(full, tmp / "pruned", COVERED)
    # as build_pruned_encoder records it: expand-encoder finds the full encoder from the pruned one
    (tmp / "pruned" / "build_report.json").write_text(json.dumps({"pruned_from": str(full)}))
    return full, tmp / "pruned"


@pytest.fixture(scope="module")
def expanded(encoders, tmp_path_factory):
    full, pruned = encoders
    tmp = tmp_path_factory.mktemp("expand")
    trained = _pipeline(pruned, tmp / "trained")
    info = expand_pipeline(trained, full, tmp / "expanded")
    return trained, tmp / "expanded", info


def _hidden(nlp, texts):
    trf = nlp.get_pipe("transformer").model
    batch = trf.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return trf.transformer.eval()(**batch).last_hidden_state.numpy(), batch["input_ids"].numpy()


def test_expanded_pipeline_tokenizes_unseen_text_as_the_full_encoder(expanded, encoders):
    trained, out, info = expanded
    full_tok = AutoTokenizer.from_pretrained(str(encoders[0]))
    nlp, before = spacy.load(out), spacy.load(trained)
    tok = nlp.get_pipe("transformer").model.tokenizer
    pruned_tok = before.get_pipe("transformer").model.tokenizer
    want = full_tok.convert_ids_to_tokens(full_tok(UNSEEN)["input_ids"])
    assert "\u2581dog" in want
    assert tok.convert_ids_to_tokens(tok(UNSEEN)["input_ids"]) == want
    assert pruned_tok.convert_ids_to_tokens(pruned_tok(UNSEEN)["input_ids"]) != want  # the test can fail
    assert tok.get_vocab() == full_tok.get_vocab()
    assert info["shipped"] == "full" and info["shipped_pieces"] == len(full_tok)
    assert json.loads((out / "meta.json").read_text())["concner_vocabulary"]["shipped"] == "full"
    doc = nlp(UNSEEN)  # the whole pipeline runs on unseen text
    assert len(doc) == 3


def test_covered_text_keeps_hidden_states_and_predictions(expanded):
    trained, out, _ = expanded
    nlp, before = spacy.load(out), spacy.load(trained)
    h_after, ids_after = _hidden(nlp, COVERED)
    h_before, ids_before = _hidden(before, COVERED)
    assert not numpy.array_equal(ids_after, ids_before)  # ids differ (full vs pruned numbering) ...
    numpy.testing.assert_allclose(h_after, h_before, atol=1e-5)  # ... the fine-tuned states do not
    docs_after = [nlp.make_doc(t) for t in COVERED]
    docs_before = [before.make_doc(t) for t in COVERED]
    for name, docs, p in (("after", docs_after, nlp), ("before", docs_before, before)):
        list(p.get_pipe("transformer").pipe(docs))
    lp_after = nlp.get_pipe("concner").tag_log_probs(docs_after)
    lp_before = before.get_pipe("concner").tag_log_probs(docs_before)
    for a, b in zip(lp_after, lp_before):
        numpy.testing.assert_allclose(a, b, atol=1e-5)


def test_embedding_rows_fine_tuned_where_trained_pretrained_elsewhere(expanded, encoders):
    trained, out, _ = expanded
    full = AutoModel.from_pretrained(str(encoders[0]))
    full_tok = AutoTokenizer.from_pretrained(str(encoders[0]))
    nlp, before = spacy.load(out), spacy.load(trained)
    emb = nlp.get_pipe("transformer").model.transformer.get_input_embeddings().weight.detach().numpy()
    trained_emb = before.get_pipe("transformer").model.transformer.get_input_embeddings().weight.detach().numpy()
    pretrained = full.get_input_embeddings().weight.detach().numpy()
    pruned_vocab = before.get_pipe("transformer").model.tokenizer.get_vocab()
    cat, dog = full_tok.convert_tokens_to_ids(["\u2581cat", "\u2581dog"])
    numpy.testing.assert_array_equal(emb[cat], trained_emb[pruned_vocab["\u2581cat"]])
    assert not numpy.allclose(emb[cat], pretrained[cat])  # training moved it, and it was kept
    numpy.testing.assert_array_equal(emb[dog], pretrained[dog])
    assert emb.shape == pretrained.shape


def test_unpruned_pipeline_passes_through(encoders, tmp_path):
    full, _ = encoders
    trained = _pipeline(full, tmp_path / "trained", steps=1)
    info = expand_pipeline(trained, full, tmp_path / "out")
    assert info["shipped"] == "full" and "fine_tuned_rows" not in info
    assert filecmp.cmp(trained / "transformer" / "model", tmp_path / "out" / "transformer" / "model", shallow=False)


def test_keep_pruned_records_how_much_unseen_text_is_resegmented(expanded, encoders, tmp_path):
    trained, _, _ = expanded
    info = expand_pipeline(trained, encoders[0], tmp_path / "pruned", keep_pruned=True,
                           unseen_texts=[UNSEEN, "hello world"])
    unseen = info["unseen_text"]
    assert info["shipped"] == "pruned" and unseen["words"] == 5 and unseen["resegmented_words"] == 2
    assert "40.0% of 5 words" in describe_vocabulary(info)


def test_wrong_full_encoder_is_a_clear_error(expanded, tiny_bert, tmp_path):
    trained, _, _ = expanded
    with pytest.raises(VocabularyError, match="not pruned from this encoder"):
        expand_pipeline(trained, tiny_bert, tmp_path / "x")
    assert pruned_row_ids({"a": 0}, {"a": 0}) is None


def test_full_encoder_that_cannot_be_loaded_is_bad_input(expanded, tmp_path):
    """Neither a folder nor a reachable model name (offline here): an InputError naming it, not OSError."""
    with pytest.raises(InputError, match="Cannot load the full encoder 'no/such/encoder'.*assets/me5-small"):
        expand_pipeline(expanded[0], "no/such/encoder", tmp_path / "x")
    with pytest.raises(MissingFile, match="config.cfg missing"):
        expand_pipeline(tmp_path / "no_pipeline", "no/such/encoder", tmp_path / "x")


def test_cli_finds_the_full_encoder_from_the_pruned_one(expanded, encoders, tmp_path):
    trained, _, _ = expanded
    unseen = tmp_path / "unseen.txt"
    unseen.write_text(UNSEEN + "\n", encoding="utf-8")
    base = [sys.executable, "-m", "spacy_concner", "expand-encoder", str(trained), str(encoders[1])]
    proc = subprocess.run(base + [str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Ships the full encoder vocabulary" in " ".join(proc.stdout.split())  # wasabi wraps messages
    tok = spacy.load(tmp_path / "out").get_pipe("transformer").model.tokenizer
    assert tok.get_vocab() == AutoTokenizer.from_pretrained(str(encoders[0])).get_vocab()
    assert spacy.load(tmp_path / "out").get_pipe_config("transformer")["model"].get("inference_dtype", "float32") == "float32"
    proc = subprocess.run(base + [str(tmp_path / "pruned"), "--vocabulary", "pruned", "--unseen", str(unseen),
                                  "--precision", "auto"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flat = " ".join(proc.stdout.split())
    assert "Ships a pruned encoder vocabulary" in flat and "66.7% of 3 words" in flat
    shim = spacy.load(tmp_path / "pruned").get_pipe("transformer").model.layers[0].shims[0]
    assert shim.inference_dtype == "auto"  # the shipped config carries the inference default


def test_full_encoder_found_from_a_pruned_folders_relative_record(tmp_path, monkeypatch):
    from spacy_concner.encoders.vocabulary import _full_encoder

    for name in ("full", "pruned"):
        (tmp_path / "project" / "assets" / name).mkdir(parents=True)
        (tmp_path / "project" / "assets" / name / "config.json").write_text("{}")
    pruned = tmp_path / "project" / "assets" / "pruned"
    (pruned / "build_report.json").write_text(json.dumps({"pruned_from": "assets/full"}))
    monkeypatch.chdir(tmp_path)  # not the project directory the record is relative to
    assert _full_encoder(pruned).resolve() == (tmp_path / "project" / "assets" / "full").resolve()
    assert _full_encoder(tmp_path / "project" / "assets" / "full") == tmp_path / "project" / "assets" / "full"
    assert _full_encoder("bert-base-multilingual-cased") == "bert-base-multilingual-cased"
    (pruned / "build_report.json").write_text(json.dumps({"pruned_from": "assets/gone"}))
    with pytest.raises(FileNotFoundError, match="which is missing here"):
        _full_encoder(pruned)
