"""The translate step: DocBin in, one DocBin + JSON report per language out, and the CLI."""
import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.data.docdata import get_lang, get_pair_id, set_pair
from spacy_concner.translate.translate_train import Target, export_marked, load_source, make_targets, parse_options, translate
from spacy_concner.translate.engines import Translator, translators

VOCAB = spacy.blank("en").vocab


def make_source(path, n_broken=0):
    docs = []
    for i in range(6):
        words = ["Anna", "saw", "the", "house", "in", "Paris", "."]
        d = Doc(VOCAB, words=words, spaces=[True] * 5 + [False, False], ents=["B-PER", "O", "O", "O", "O", "B-LOC", "O"])
        docs.append(set_pair(d, f"en-{i}", "en"))
    docs.append(set_pair(Doc(VOCAB, words=["Euro", "2000", "!"], ents=["B-MISC", "I-MISC", "O"]), "en-misc", "en"))
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return docs


@translators.register("test-drop-odd")
def make_drop_odd(src, tgt):
    """Loses the markers of every other sentence, so drops are exercised deterministically."""

    class DropOdd(Translator):
        name = "test-drop-odd"
        batch_size = 3

        def translate(self, texts, ids):
            out = []
            for text, pair_id in zip(texts, ids):
                odd = pair_id[-1].isdigit() and int(pair_id[-1]) % 2 == 1
                out.append(text.replace("[PER ", "").replace(" ]", "", 1) if odd else text.replace("house", "Haus"))
            return out

    return DropOdd()


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "en-de.tsv"
    path.write_text("house\tHaus\nthe\tdas\nsaw\tsah\n", encoding="utf-8")
    return path


def test_translate_writes_docbins_and_reports(tmp_path, tsv):
    src = tmp_path / "en.spacy"
    make_source(src)
    out = tmp_path / "out"
    reports = translate(src, out, [Target("de", "lexicon", {"dictionary": str(tsv)}), Target("nl", "test-drop-odd")], progress=False)
    de = list(DocBin().from_disk(out / "de.spacy").get_docs(VOCAB))
    assert [d.text for d in de][:1] == ["Anna sah das Haus in Paris."]
    assert [get_pair_id(d) for d in de] == [f"en-{i}" for i in range(6)] + ["en-misc"]
    assert all(get_lang(d) == "de" for d in de)
    report = json.loads((out / "nl.report.json").read_text(encoding="utf-8"))
    assert report["sentences_in"] == 7 == report["kept"] + report["dropped_total"]
    assert report["kept"] == 4 and report["dropped"]["marker_lost"] == 3
    assert report["entities_in"] == {"LOC": 6, "MISC": 1, "PER": 6}
    assert report["entities_out"] == {"LOC": 3, "MISC": 1, "PER": 3}
    assert len(report["drop_examples"]) == 3 and report["drop_examples"][0]["pair_id"] == "en-1"
    assert reports["nl"].kept_ratio == pytest.approx(4 / 7)
    nl = list(DocBin().from_disk(out / "nl.spacy").get_docs(VOCAB))
    assert [get_pair_id(d) for d in nl] == ["en-0", "en-2", "en-4", "en-misc"]


def test_translate_is_deterministic(tmp_path, tsv):
    src = tmp_path / "en.spacy"
    make_source(src)
    results = []
    for run in ("a", "b"):
        translate(src, tmp_path / run, [Target("de", "lexicon", {"dictionary": str(tsv)})], progress=False, batch_size=2)
        docs = DocBin().from_disk(tmp_path / run / "de.spacy").get_docs(VOCAB)
        results.append([(d.text, [(e.start, e.end, e.label_) for e in d.ents], d.user_data) for d in docs])
    assert results[0] == results[1]


def test_source_without_pair_ids_or_with_duplicates_is_an_error(tmp_path):
    path = tmp_path / "bad.spacy"
    DocBin(docs=[Doc(VOCAB, words=["x"])], store_user_data=True).to_disk(path)
    with pytest.raises(ValueError, match="no pair id"):
        load_source(path)
    d = set_pair(Doc(VOCAB, words=["x"]), "same", "en")
    DocBin(docs=[d, d], store_user_data=True).to_disk(path)
    with pytest.raises(ValueError, match="more than once"):
        load_source(path)


def test_export_marked_then_file_engine_roundtrip(tmp_path):
    src = tmp_path / "en.spacy"
    make_source(src)
    marked = tmp_path / "marked.tsv"
    assert export_marked(src, marked) == 7
    lines = marked.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "en-0\t[PER Anna ] saw the house in [LOC Paris ]."
    # "The MT service": reverse the line order to prove alignment is by id, not by position.
    (tmp_path / "de.tsv").write_text("\n".join(reversed([l.replace("saw", "sah") for l in lines])) + "\n", encoding="utf-8")
    reports = translate(src, tmp_path / "out", [Target("de", "file", {"path": str(tmp_path / "de.tsv")})], progress=False)
    assert reports["de"].kept == 7
    first = next(DocBin().from_disk(tmp_path / "out" / "de.spacy").get_docs(VOCAB))
    assert first.text == "Anna sah the house in Paris." and get_pair_id(first) == "en-0"


def test_option_parsing():
    opts = parse_options(["model=/m", "de.dictionary=x.tsv", "batch_size=8"])
    assert opts == {"*": {"model": "/m", "batch_size": 8}, "de": {"dictionary": "x.tsv"}}
    targets = make_targets(["de:lexicon", "es:apertium"], opts)
    assert targets[0].options == {"model": "/m", "batch_size": 8, "dictionary": "x.tsv"}
    with pytest.raises(ValueError, match="LANG:ENGINE"):
        make_targets(["de"], {})
    with pytest.raises(ValueError, match="not targets"):
        make_targets(["de:lexicon"], parse_options(["fr.x=1"]))


def test_cli_translate(tmp_path, tsv):
    src = tmp_path / "en.spacy"
    make_source(src)
    runner = CliRunner()
    result = runner.invoke(app, ["translate", str(src), str(tmp_path / "out"), "-t", "de:lexicon",
                                 "--option", f"de.dictionary={tsv}", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "en->de [lexicon]: kept 7/7" in result.output
    assert (tmp_path / "out" / "de.spacy").exists() and (tmp_path / "out" / "de.report.json").exists()
    bad = runner.invoke(app, ["translate", str(src), str(tmp_path / "out"), "-t", "de:lexicon",
                              "--option", f"de.dictionary={tmp_path / 'missing.tsv'}", "--no-progress"])
    assert bad.exit_code == 1 and "missing.tsv" in bad.output


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_translations_identical_to_their_source_are_counted_and_dropped_on_request(tmp_path, tsv, policy):
    """The lexicon knows none of "Euro 2000 !": its translation is the source itself."""
    src = tmp_path / "en.spacy"
    make_source(src)
    reports = translate(src, tmp_path / "out", [Target("de", "lexicon", {"dictionary": str(tsv)})], progress=False,
                        identical=policy)
    report = reports["de"]
    ids = [get_pair_id(d) for d in DocBin().from_disk(tmp_path / "out" / "de.spacy").get_docs(VOCAB)]
    assert report.identical == 1
    assert ("en-misc" in ids) == (policy == "keep")
    assert report.kept == (7 if policy == "keep" else 6) and report.dropped.get("identical_to_source", 0) == (policy == "drop")
    assert report.sentences_in == report.kept + sum(report.dropped.values())
    data = json.loads((tmp_path / "out" / "de.report.json").read_text())
    assert data["identical"] == 1


def test_cli_identical_policy_is_checked(tmp_path, tsv):
    src = tmp_path / "en.spacy"
    make_source(src)
    result = CliRunner().invoke(app, ["translate", str(src), str(tmp_path / "out"), "--target", "de:lexicon",
                                      "--option", f"dictionary={tsv}", "--identical", "sometimes", "--no-progress"])
    assert result.exit_code != 0
    assert "'sometimes' is not one of 'keep', 'drop'" in result.output
    assert not (tmp_path / "out" / "de.spacy").exists()
