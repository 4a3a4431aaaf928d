"""prepare: formats in, DocBins out, with sampling, label restriction and counts."""
import json
import sys
import types
from pathlib import Path

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.data.docdata import get_lang, get_pair_id
from spacy_concner.cli_args import parse_lang_pairs
from spacy_concner.data.prepare import PrepareError, load_wikiann, prepare, wikiann_docs
from spacy_concner.encoders.corpus import read_texts
from spacy_concner.errors import InputError
from spacy_concner.data.text import sniff_format

SOURCE = """# id = en-1
Angela\tB-PER
Merkel\tI-PER
visited\tO
Paris\tB-LOC
.\tO

# id = en-2
The\tO
Bundesliga\tB-MISC
season\tO
started\tO

# id = en-3
Siemens\tI-ORG
hired\tO
staff\tO

# id = en-4
Rain\tO
fell\tO

# id = en-5
Madrid\tB-LOC
won\tO
"""
TEST_IOBES = """-DOCSTART- O

RODGAU S-LOC
hat O
Deutsche B-ORG
Bank E-ORG
.\tO
"""
UNLABELLED_CONLL = "Albrecht\t1\tB-PER\nLehmann\t1\tE-PER\nkam\t0\tO\n\nEr\t0\tO\nging\t0\tO\n"
UNLABELLED_TEXT = "Die Bahn fährt nach Berlin.\n\nIn München regnet es.\n"


def _docs(path: Path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


@pytest.fixture()
def files(tmp_path):
    paths = {}
    for name, text in [("train.iob", SOURCE), ("test.txt", TEST_IOBES), ("unl.conll", UNLABELLED_CONLL),
                       ("unl.txt", UNLABELLED_TEXT)]:
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_sniff_format(files, tmp_path):
    assert sniff_format(files["train.iob"]) == "conll"
    assert sniff_format(files["test.txt"]) == "conll"  # space-separated IOBES with -DOCSTART-
    assert sniff_format(files["unl.conll"]) == "conll"
    assert sniff_format(files["unl.txt"]) == "text"
    (tmp_path / "x.spacy").touch()
    assert sniff_format(tmp_path / "x.spacy") == "docbin"
    with pytest.raises(FileNotFoundError):
        sniff_format(tmp_path / "missing.iob")


def test_prepare_writes_docbins_with_counts(files, tmp_path):
    out = tmp_path / "out"
    stats = prepare(out, files["train.iob"], n=0, tests=[("de", files["test.txt"])],
                    unlabelled=[("de", files["unl.conll"]), ("es", files["unl.txt"])], labels=["PER", "ORG", "LOC"])
    train, test = stats[0], stats[1]
    assert (train.sentences, train.repaired_tags) == (5, 1)  # "Siemens I-ORG" opens an entity
    assert train.dropped_entities == {"MISC": 1} and train.entities == {"LOC": 2, "ORG": 1, "PER": 1}
    docs = _docs(out / "en" / "train.spacy")
    assert [get_pair_id(d) for d in docs] == ["en-1", "en-2", "en-3", "en-4", "en-5"]
    assert [(e.text, e.label_) for e in docs[2].ents] == [("Siemens", "ORG")]
    assert [t.ent_iob_ for t in docs[1]] == ["O", "O", "O", "O"]  # MISC -> O, still annotated
    de_test = _docs(out / "de" / "test.spacy")
    assert [(e.text, e.label_) for e in de_test[0].ents] == [("RODGAU", "LOC"), ("Deutsche Bank", "ORG")]
    assert get_lang(de_test[0]) == "de" and test.entities == {"LOC": 1, "ORG": 1}
    json_stats = json.loads((out / "prepare_stats.json").read_text())
    assert [s["kind"] for s in json_stats] == ["train", "test", "unlabelled", "unlabelled"]


def test_unlabelled_docs_have_missing_not_o_annotation(files, tmp_path):
    stats = prepare(tmp_path / "o", files["train.iob"], unlabelled=[("de", files["unl.conll"]), ("es", files["unl.txt"])])
    de, es = _docs(tmp_path / "o" / "de" / "unlabelled.spacy"), _docs(tmp_path / "o" / "es" / "unlabelled.spacy")
    assert [d.text for d in de] == ["Albrecht Lehmann kam", "Er ging"]
    assert [d.text for d in es] == ["Die Bahn fährt nach Berlin.", "In München regnet es."]
    for doc in de + es:
        assert not doc.has_annotation("ENT_IOB") and all(t.ent_iob_ == "" for t in doc)
        assert get_lang(doc) in ("de", "es") and get_pair_id(doc)
    assert stats[1].ignored_tags == 2 and stats[2].skipped_lines == 1
    assert [t.text for t in es[0]][-2:] == ["Berlin", "."]  # tokenised with spaCy's German/Spanish rules


def test_sampling_is_seeded(files, tmp_path):
    ids = {}
    for seed in (0, 0, 3):
        prepare(tmp_path / f"s{seed}", files["train.iob"], n=2, seed=seed)
        ids.setdefault(seed, []).append([get_pair_id(d) for d in _docs(tmp_path / f"s{seed}" / "en" / "train.spacy")])
    assert len(ids[0][0]) == 2 and ids[0][0] == ids[0][1]
    assert ids[3][0] != ids[0][0]


def test_bad_tag_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.iob"
    bad.write_text("Paris\tX-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.iob:1"):
        prepare(tmp_path / "o", bad)
    with pytest.raises(PrepareError, match="CoNLL"):
        text = tmp_path / "plain.txt"
        text.write_text("just a sentence\n", encoding="utf-8")
        prepare(tmp_path / "o", text)


def test_wikiann_rows_become_docs():
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    rows = [{"tokens": ["Ada", "Lovelace", "in", "London"], "ner_tags": [1, 2, 0, 5]}, {"tokens": [], "ner_tags": []},
            {"tokens": ["IBM", "Corp"], "ner_tags": [4, 4]}]
    docs = wikiann_docs(rows, names, "en", Vocab())
    assert [(e.text, e.label_) for e in docs[0].ents] == [("Ada Lovelace", "PER"), ("London", "LOC")]
    assert len(docs) == 2 and [e.text for e in docs[1].ents] == ["IBM Corp"]  # I- start repaired


def test_wikiann_without_datasets_or_network_says_pass_local_files(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(PrepareError, match="local IOB/CoNLL files"):
        load_wikiann("de", "test", Vocab())

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(PrepareError, match="ConnectionError.*local IOB/CoNLL"):
        load_wikiann("de", "test", Vocab())


def test_read_texts_for_encoder_pruning(files):
    texts = read_texts([files["train.iob"], files["unl.txt"]])
    assert texts[0] == "Angela Merkel visited Paris." and texts[-1] == "In München regnet es."
    from spacy_concner.data import prepare as old_home  # benchmarks/ still import it from there

    assert old_home.read_texts is read_texts


def test_lang_pairs():
    assert parse_lang_pairs(["de=a.iob", "es = b.iob"], "--test") == [("de", "a.iob"), ("es", "b.iob")]
    with pytest.raises(InputError, match="LANG=PATH"):
        parse_lang_pairs(["a.iob"], "--test")
    with pytest.raises(InputError, match="'de' given twice"):
        parse_lang_pairs(["de=a.iob", "de=b.iob"], "--test")


def test_cli_prepare(files, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", str(files["train.iob"]), str(tmp_path / "o"), "--n", "3", "--seed", "1",
                              "--test", f"de={files['test.txt']}", "--labels", "PER,ORG,LOC"])
    assert res.exit_code == 0, res.output
    assert "en/train: 3 sentences" in res.output and "sampled from 5" in res.output
    assert (tmp_path / "o" / "de" / "test.spacy").exists()
    res = runner.invoke(app, ["prepare", str(files["train.iob"]), str(tmp_path / "o"), "--test", "oops"])
    assert res.exit_code == 1 and "LANG=PATH" in res.output
