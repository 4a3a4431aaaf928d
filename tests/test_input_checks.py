"""Issue 12: the eight ways bad input used to pass silently (or as a traceback), one test each.

Each test failed before its fix; the broader table of malformed inputs per entry point is
tests/test_bad_input.py.
"""
import logging
import stat
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.data.conll import ReadStats, read_conll
from spacy_concner.data.docdata import get_pair_id, set_pair
from spacy_concner.training.readers import create_distill_corpus, create_paired_corpus

NLP = spacy.blank("xx")
RUNNER = CliRunner()


def _write(path: Path, docs) -> Path:
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    return path


def _doc(words, pid, lang, ents=None) -> Doc:
    return set_pair(Doc(NLP.vocab, words=words, ents=ents), pid, lang)


def _clean_exit(res, code=1):
    """Non-zero exit with a message, not an exception escaping the command."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


# 1 ---------------------------------------------------------------------------------------------
def test_1_distillation_without_soft_targets_is_an_error(tmp_path):
    src = _write(tmp_path / "en.spacy", [_doc(["Ana"], "1", "en", ["B-PER"])])
    with pytest.raises(ValueError, match=r"soft"):
        create_distill_corpus(soft=[], labelled_source=src)


# 2 ---------------------------------------------------------------------------------------------
def test_2_limit_applies_to_pairs_and_counts_dropped_translations(tmp_path, caplog):
    src = _write(tmp_path / "en.spacy", [_doc(["a"], "1", "en"), _doc(["b"], "2", "en"), _doc(["c"], "3", "en")])
    tr = _write(tmp_path / "de.spacy", [_doc(["A"], "1", "de"), _doc(["B"], "2", "de"), _doc(["C"], "3", "de")])
    reader = create_paired_corpus(src, [tr], limit=2)
    with caplog.at_level(logging.INFO, logger="spacy_concner"):
        ids = sorted(get_pair_id(eg.reference) for eg in reader(NLP))
    assert ids == ["1", "1", "2", "2"]
    assert reader.dropped_by_limit == {str(tr): 1}
    assert "de.spacy" in caplog.text and "limit" in caplog.text


# 3 ---------------------------------------------------------------------------------------------
def test_3_annotate_reads_space_separated_conll_and_keeps_docbin_words(tiny_pipeline, tmp_path):
    from spacy_concner.workflow.distill import annotate_file

    teacher = spacy.load(tiny_pipeline)
    conll = tmp_path / "de.conll"
    conll.write_text("Angela B-PER\nMerkel I-PER\nkam O\n\nEr O\nging O\n", encoding="utf-8")
    assert annotate_file(teacher, conll, tmp_path / "a.spacy", "de") == 2
    docs = list(DocBin().from_disk(tmp_path / "a.spacy").get_docs(NLP.vocab))
    assert [[t.text for t in d] for d in docs] == [["Angela", "Merkel", "kam"], ["Er", "ging"]]

    words = ["(Berlin)", "U.S.-Firma", "zahlt"]  # the teacher's tokenizer would split these
    src = _write(tmp_path / "in.spacy", [Doc(NLP.vocab, words=words)])
    assert annotate_file(teacher, src, tmp_path / "b.spacy", "de") == 1
    doc = next(DocBin().from_disk(tmp_path / "b.spacy").get_docs(NLP.vocab))
    assert [t.text for t in doc] == words


# 4 ---------------------------------------------------------------------------------------------
def test_4_gold_labels_outside_the_label_set_are_warned_with_counts(tiny_pipeline, caplog):
    nlp = spacy.load(tiny_pipeline)
    comp = nlp.get_pipe("concner")
    doc = Doc(nlp.vocab, words=["Bundesliga", "and", "FIFA", "and", "UEFA"],
              ents=["B-EVENT", "O", "B-SPORTORG", "O", "B-SPORTORG"])
    with caplog.at_level(logging.WARNING, logger="spacy_concner"):
        nlp.update([Example(nlp.make_doc(doc.text), doc)])
    assert "SPORTORG" in caplog.text and "EVENT" in caplog.text and "not among" in caplog.text
    assert comp.unknown_labels == {"EVENT": 1, "SPORTORG": 2}


def test_4_prepare_label_that_never_occurs_is_an_error(tmp_path):
    from spacy_concner.data.prepare import PrepareError, prepare

    src = tmp_path / "train.iob"
    src.write_text("Ana\tB-PER\nvisits\tO\nLima\tB-LOC\n", encoding="utf-8")
    with pytest.raises(PrepareError, match=r"ORGG.*train\.iob"):
        prepare(tmp_path / "out", src, n=0, labels=["PER", "LOC", "ORGG"])


# 5 ---------------------------------------------------------------------------------------------
def test_5_duplicate_pair_ids_are_errors_naming_file_and_id(tmp_path):
    src = _write(tmp_path / "en.spacy", [_doc(["a"], "7", "en"), _doc(["b"], "7", "en")])
    with pytest.raises(ValueError, match=r"en\.spacy.*'7'"):
        list(create_paired_corpus(src)(NLP))
    src = _write(tmp_path / "en2.spacy", [_doc(["a"], "1", "en"), _doc(["b"], "2", "en")])
    tr = _write(tmp_path / "de.spacy", [_doc(["A"], "1", "de"), _doc(["B"], "1", "de")])
    with pytest.raises(ValueError, match=r"de\.spacy.*'1'"):
        list(create_paired_corpus(src, [tr])(NLP))
    conll = tmp_path / "x.iob"
    conll.write_text("# id = s1\nA\tO\n\n# id = s1\nB\tO\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.iob:4.*'s1'"):
        list(read_conll(conll, "en", NLP.vocab))


# 6 ---------------------------------------------------------------------------------------------
def test_6_one_distill_weight_default(tiny_bert):
    from spacy_concner.pipeline.concner import ConCNER
    from spacy_concner.ml.dual_contrastive_loss import DualContrastiveLoss

    assert DualContrastiveLoss().distill_weight == 0.0
    nlp = spacy.blank("xx")
    assert ConCNER(nlp.vocab, model=None).loss.distill_weight == 0.0


def test_6_iob1_file_is_converted_not_warned_iob2_repairs_counted(tmp_path, caplog):
    iob1 = tmp_path / "iob1.txt"  # CoNLL-2003 style: I- opens, B- only between same-type neighbours
    iob1.write_text("EU I-ORG\nrejects O\nGerman I-MISC\ncall O\n\nBonn I-LOC\nBerlin B-LOC\n", encoding="utf-8")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="spacy_concner"):
        docs = list(read_conll(iob1, "en", NLP.vocab, stats))
    assert [(e.text, e.label_) for e in docs[1].ents] == [("Bonn", "LOC"), ("Berlin", "LOC")]
    assert stats.repaired_tags == 0 and stats.scheme == "IOB1" and caplog.text == ""
    iob2 = tmp_path / "iob2.txt"
    iob2.write_text("Ana B-PER\nin O\nLima I-LOC\n", encoding="utf-8")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="spacy_concner"):
        list(read_conll(iob2, "en", NLP.vocab, stats))
    assert stats.repaired_tags == 1 and "iob2.txt" in caplog.text


# 7 ---------------------------------------------------------------------------------------------
@pytest.fixture()
def source_docbin(tmp_path):
    return _write(tmp_path / "en.spacy", [_doc(["Ana", "lives", "in", "Lima"], "1", "en", ["B-PER", "O", "O", "B-LOC"])])


def test_7_unknown_engine_option_is_a_message(source_docbin, tmp_path):
    tsv = tmp_path / "d.tsv"
    tsv.write_text("lives\tlebt\n", encoding="utf-8")
    res = RUNNER.invoke(app, ["translate", str(source_docbin), str(tmp_path / "out"), "--target", "de:lexicon",
                              "--option", f"de.dictionary={tsv}", "--option", "de.foo=1"])
    _clean_exit(res)
    assert "foo" in res.output and "lexicon" in res.output


def test_7_apertium_failure_is_a_message(source_docbin, tmp_path):
    fake = tmp_path / "apertium"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -l ]; then echo en-es; exit 0; fi\necho 'segfault in lt-proc' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    res = RUNNER.invoke(app, ["translate", str(source_docbin), str(tmp_path / "out"), "--target", "es:apertium",
                              "--option", f"es.binary={fake}", "--no-progress"])
    _clean_exit(res)
    assert "apertium" in res.output and "segfault in lt-proc" in res.output
    assert not (tmp_path / "out" / "es.spacy").exists()


def test_7_annotate_same_language_twice_is_an_error(tmp_path):
    res = RUNNER.invoke(app, ["annotate", str(tmp_path / "teacher"), str(tmp_path / "soft"),
                              "--input", "de=a.txt", "--input", "de=b.txt"])
    _clean_exit(res)
    assert "'de'" in res.output and "twice" in res.output


def test_7_bad_tag_reports_its_own_line(tmp_path):
    bad = tmp_path / "bad.iob"
    bad.write_text("Ana\tB-PER\nvisits\tO\nLima\tX-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.iob:3:"):
        list(read_conll(bad, "en", NLP.vocab))


def test_7_empty_and_non_utf8_files_are_named(tmp_path):
    empty = tmp_path / "empty.iob"
    empty.write_text("\n\n", encoding="utf-8")
    res = RUNNER.invoke(app, ["prepare", str(empty), str(tmp_path / "o")])
    _clean_exit(res)
    assert "empty.iob" in res.output and "empty" in res.output.replace("empty.iob", "")
    latin = tmp_path / "latin1.iob"
    latin.write_bytes("Ana\tB-PER\nM\u00fcnchen\tB-LOC\n".encode("latin-1"))
    res = RUNNER.invoke(app, ["prepare", str(latin), str(tmp_path / "o")])
    _clean_exit(res)
    assert "latin1.iob:2" in res.output and "UTF-8" in res.output


def test_7_outputs_appear_only_when_complete(tiny_pipeline, tmp_path, monkeypatch):
    from spacy_concner.workflow.distill import annotate_file

    text = tmp_path / "de.txt"
    text.write_text("Er ging nach Hause .\n", encoding="utf-8")

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(DocBin, "to_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        annotate_file(spacy.load(tiny_pipeline), text, tmp_path / "soft" / "de.spacy", "de")
    assert not (tmp_path / "soft" / "de.spacy").exists()
    assert list((tmp_path / "soft").iterdir()) == []  # no temporary left behind either
