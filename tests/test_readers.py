"""PairedCorpus: pair ids and languages on every Doc; missing sources are errors or counted drops."""
import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_concner.data.docdata import get_lang, get_pair_id, set_pair
from spacy_concner.training.readers import create_paired_corpus

NLP = spacy.blank("xx")


def _write(path, docs):
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    return path


def test_reads_sample_corpus_pairs(corpus_docbins):
    reader = create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])
    examples = list(reader(NLP))
    langs = [get_lang(eg.reference) for eg in examples]
    assert langs.count("en") == langs.count("de") == 16  # every sentence of corpus/en/train.iob and its translation
    by_id = {}
    for eg in examples:
        assert get_pair_id(eg.predicted) == get_pair_id(eg.reference) is not None
        by_id.setdefault(get_pair_id(eg.reference), []).append(get_lang(eg.reference))
    assert all(sorted(v) == ["de", "en"] for v in by_id.values())
    assert sum(len(eg.reference.ents) for eg in examples) == 2 * 31  # corpus/README.md's counts


def test_missing_source_is_error_naming_file_and_id(tmp_path):
    src = _write(tmp_path / "src.spacy", [set_pair(Doc(NLP.vocab, words=["a"]), "1", "en")])
    tr = _write(tmp_path / "tr.spacy", [set_pair(Doc(NLP.vocab, words=["b"]), "1", "de"),
                                        set_pair(Doc(NLP.vocab, words=["c"]), "99", "de")])
    with pytest.raises(ValueError, match=r"tr\.spacy.*'99'"):
        list(create_paired_corpus(src, [tr])(NLP))
    reader = create_paired_corpus(src, [tr], on_missing_source="drop")
    assert len(list(reader(NLP))) == 2 and reader.dropped == {str(tr): 1}


def test_translation_without_pair_id_is_error(tmp_path):
    src = _write(tmp_path / "src.spacy", [Doc(NLP.vocab, words=["a"])])
    tr = _write(tmp_path / "tr.spacy", [Doc(NLP.vocab, words=["b"])])
    with pytest.raises(ValueError, match="without user_data"):
        list(create_paired_corpus(src, [tr])(NLP))
    # a source doc without an id gets one from its file and index
    assert [get_pair_id(e.reference) for e in create_paired_corpus(src)(NLP)] == ["src:0"]


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.spacy"):
        list(create_paired_corpus(tmp_path / "nope.spacy")(NLP))
