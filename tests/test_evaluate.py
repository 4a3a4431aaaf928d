"""evaluate: our numbers are seqeval's (and hand-computed), strict differs from default where it
should, spaCy's scorer agrees, and the JSON / markdown / PNG reports get written."""
import json

import pytest
import spacy
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.errors import InputError
from spacy_concner.workflow.evaluate import EvaluationError, Reported, doc_to_iob, evaluate, load_reported, seqeval_prf
from spacy_concner.workflow.report import write_reports

# 4 gold entities, 3 predicted, 2 correct: P = 2/3, R = 2/4, F1 = 2PR/(P+R) = 4/7
GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O", "B-PER", "O"]]
PRED = [["B-PER", "I-PER", "O", "O"], ["O", "O", "O", "B-PER", "B-LOC"]]


def test_seqeval_prf_is_seqeval_and_hand_value():
    got = seqeval_prf(GOLD, PRED)
    assert got.precision == pytest.approx(2 / 3) and got.recall == pytest.approx(2 / 4)
    assert got.f1 == pytest.approx(4 / 7) == f1_score(GOLD, PRED)
    assert (got.precision, got.recall) == (precision_score(GOLD, PRED), recall_score(GOLD, PRED))
    assert got.per_type["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert got.per_type["ORG"]["f1"] == 0.0 and got.per_type["LOC"]["support"] == 1


def test_strict_differs_from_default_on_an_i_start():
    gold, pred = [["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]]
    assert seqeval_prf(gold, pred).f1 == 1.0 == f1_score(gold, pred)  # conlleval: I- opens a chunk
    strict = seqeval_prf(gold, pred, strict=True)
    assert strict.f1 == 0.0 == f1_score(gold, pred, mode="strict", scheme=IOB2)


def _gold_docs(nlp):
    words = [["Angela", "Merkel", "visited", "Paris"], ["Deutsche", "Bank", "hired", "Anna", "today"]]
    docs = [Doc(nlp.vocab, words=w, ents=g) for w, g in zip(words, GOLD)]
    assert [doc_to_iob(d) for d in docs] == GOLD
    return docs


def _ruler(patterns):
    nlp = spacy.blank("xx")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    return nlp


@pytest.fixture()
def setup(tmp_path):
    nlp = spacy.blank("xx")
    test = tmp_path / "de.spacy"
    DocBin(docs=_gold_docs(nlp)).to_disk(test)
    # the rules reproduce PRED: Merkel found, Paris and Deutsche Bank missed, Anna found, "today" a false LOC
    partial = _ruler([{"label": "PER", "pattern": "Angela Merkel"}, {"label": "PER", "pattern": "Anna"},
                      {"label": "LOC", "pattern": "today"}])
    perfect = _ruler([{"label": "PER", "pattern": p} for p in ("Angela Merkel", "Anna")]
                     + [{"label": "LOC", "pattern": "Paris"}, {"label": "ORG", "pattern": "Deutsche Bank"}])
    partial.to_disk(tmp_path / "partial")
    perfect.to_disk(tmp_path / "perfect")
    return tmp_path, test


def test_pipeline_scores_equal_seqeval_and_spacy_scorer(setup):
    tmp_path, test = setup
    ev = evaluate([("partial", str(tmp_path / "partial")), ("perfect", str(tmp_path / "perfect"))],
                  [("de", test), ("es", test)], encoder="rules")
    res = ev.results["partial"]["de"]
    assert res.seqeval.f1 == pytest.approx(4 / 7) == f1_score(GOLD, PRED)
    assert res.seqeval_strict.f1 == pytest.approx(4 / 7)  # spaCy Docs always hold valid IOB2
    assert res.spacy.f1 == pytest.approx(4 / 7) and res.spacy.per_type["LOC"]["precision"] == 0.0
    assert (res.sentences, res.gold_entities) == (2, 4)
    assert ev.results["perfect"]["es"].seqeval.f1 == 1.0
    assert ev.mean_f1("partial") == pytest.approx(4 / 7)


def test_reports_are_written(setup):
    tmp_path, test = setup
    reported = Reported("Fu et al. 2022", {"ConCNER": {"de": 0.7284, "nl": 0.79}, "partial": {"de": 0.9}})
    ev = evaluate([("partial", str(tmp_path / "partial")), ("perfect", str(tmp_path / "perfect"))],
                  [("de", test)], encoder="tiny", reported=reported)
    paths = write_reports(ev, tmp_path / "results")
    data = json.loads(paths["json"].read_text())
    assert data["results"]["partial"]["de"]["seqeval"]["f1"] == pytest.approx(4 / 7)
    assert data["mean_f1"]["reported"]["ConCNER"] == pytest.approx(0.7284) and data["encoder"] == "tiny"
    md = paths["markdown"].read_text()
    assert "| partial | 57.1 | 57.1 |" in md and "| **100.0** | **100.0** |" in md
    assert "| system | de | mean |\n| --- | ---: | ---: |\n| partial |" in md  # numbers right-aligned
    assert "| ConCNER (reported: Fu et al. 2022) | 72.8 | 72.8 |" in md
    assert "| partial (reported: Fu et al. 2022) | 90.0 | 90.0 |" in md  # same name, kept apart
    png = paths["chart"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # one F1 table, and one line on the other metrics (they agree on valid spans over gold tokens)
    assert md.count("| system |") == 1 + 1  # the main table and the per-type table of de
    assert "give the same F1 on every cell" in md and "strict mode" not in md


def test_error_pages_errors_first(setup):
    """The displaCy page shows the wrong sentence first, with gold and each system's prediction."""
    tmp_path, test = setup
    ev = evaluate([("partial", str(tmp_path / "partial")), ("perfect", str(tmp_path / "perfect"))],
                  [("de", test)])
    paths = write_reports(ev, tmp_path / "out")
    page = paths["errors_de"].read_text(encoding="utf-8")
    assert "partial: 3 wrong entities in 2 sentences" in page and "perfect: 0 wrong entities" in page
    # sentence #1 (Deutsche Bank missed, "today" a false LOC: 2 wrong) ranks before #0 (Paris missed: 1 wrong)
    assert page.index("#1 gold") < page.index("#0 gold")
    assert "#1 partial: 2 wrong" in page and "#0 partial: 1 wrong" in page and "#0 perfect: correct" in page
    assert page.count("Deutsche Bank") >= 2  # gold + perfect render it as an entity


def test_reported_file_percentages_and_label(tmp_path):
    path = tmp_path / "paper.yml"
    path.write_text("label: Fu et al. 2022\nsystems:\n  ConCNER: {de: 72.84, es: 0.7712}\n", encoding="utf-8")
    rep = load_reported(path)
    assert rep.label == "Fu et al. 2022" and rep.scores["ConCNER"] == {"de": pytest.approx(0.7284), "es": 0.7712}
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"src-only": {"de": 69.6}}), encoding="utf-8")
    assert load_reported(bare, "paper").scores == {"src-only": {"de": pytest.approx(0.696)}}


def test_reported_file_that_is_missing_or_malformed_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="nope.yml"):
        load_reported(tmp_path / "nope.yml")
    bad = tmp_path / "bad.json"
    bad.write_text('{"ConCNER": {"de": 72.8', encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"bad\.json: not valid JSON"):
        load_reported(bad)
    words = tmp_path / "words.yml"
    words.write_text("ConCNER: {de: high}\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="'ConCNER' must map language -> F1"):
        load_reported(words)


def test_unlabelled_test_set_is_rejected(tmp_path):
    nlp = spacy.blank("xx")
    path = tmp_path / "unl.spacy"
    DocBin(docs=[Doc(nlp.vocab, words=["no", "gold"])]).to_disk(path)
    with pytest.raises(EvaluationError, match="no entity annotation"):
        evaluate([("x", _ruler([]))], [("de", path)])


def test_cli_evaluate(setup):
    tmp_path, test = setup
    res = CliRunner().invoke(app, ["evaluate", f"rules={tmp_path / 'partial'}", str(tmp_path / "perfect"),
                                   "--test", f"de={test}", "--output", str(tmp_path / "out"), "--encoder", "none"])
    assert res.exit_code == 0, res.output
    assert "| rules | 57.1 | 57.1 |" in res.output and "| perfect |" in res.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "evaluation.json", "evaluation.md", "evaluation.png", "errors_de.html"}
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "nope"), "--test", f"de={test}"])
    assert res.exit_code == 1 and "Cannot load the pipeline" in res.output
