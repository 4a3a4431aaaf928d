"""Malformed input through every user-facing entry point: a clear message or a counted repair.

One table, one row per (entry point, bad input). A row runs the command in process (typer's
CliRunner: our CLI, and spaCy's own CLI for ``spacy train`` with our readers) and asserts the
exit status, that the output names the file (or the bad value when there is no file), that it
says what is wrong, and that no traceback was printed or raised. ``spacy.load`` + ``nlp(...)``
rows check that odd text tags without crashing and with valid offsets. All rows share one
folder of inputs and the session's tiny BERT pipeline.
"""
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.data.docdata import set_pair, set_soft_tags

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()
VOCAB = spacy.blank("xx").vocab
LONG = 5000


@dataclass
class Case:
    id: str
    argv: List[str]  # {d}: the inputs folder, {model}: a trained pipeline, {bert}: the tiny BERT
    code: int
    says: List[str] = field(default_factory=list)  # substrings of the output (file name first)
    cli: str = "concner"  # or "spacy"


def _docbin(path: Path, docs) -> None:
    DocBin(store_user_data=True, docs=docs).to_disk(path)


def _pair(words, pid, lang, ents=None) -> Doc:
    return set_pair(Doc(VOCAB, words=words, ents=ents), pid, lang)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_pipeline):
    """Every malformed (and every well-formed companion) input, written once."""
    d = tmp_path_factory.mktemp("bad_input")
    text = {
        "empty.iob": "",
        "blank.iob": "\n \n\t\n\n",
        "one_column.iob": "Angela\tB-PER\nMerkel\n",
        "bad_prefix.iob": "Angela\tB-PER\nMerkel\tX-PER\n",
        "i_after_o.iob": "Angela\tB-PER\nvisited\tO\nParis\tI-LOC\n\nRain\tO\n",
        "mixed_sep.iob": "Angela\tB-PER\nMerkel I-PER\nvisited\tO\nParis B-LOC\n",
        "long.iob": "".join(f"w{i}\t{'B-LOC' if i % 100 == 0 else 'O'}\n" for i in range(LONG)),
        "dup_id.iob": "# id = s1\nA\tB-PER\n\n# id = s1\nB\tB-PER\n",
        "good.iob": "Angela\tB-PER\nMerkel\tI-PER\nvisited\tO\nParis\tB-LOC\n",
        "space.conll": "Angela B-PER\nMerkel I-PER\nkam O\n\nEr O\nging O\n",
        "raw.txt": "Angela Merkel kam nach Paris .\nEr ging .\n",
        "en-de.tsv": "visited\tbesuchte\n",
        "partial_translations.tsv": "s1\t[PER Ana ] lebt\n",
    }
    for name, content in text.items():
        (d / name).write_text(content, encoding="utf-8")
    (d / "latin1.iob").write_bytes("Angela\tB-PER\nM\u00fcnchen\tB-LOC\n".encode("latin-1"))
    (d / "latin1.txt").write_bytes("Er ging nach M\u00fcnchen .\n".encode("latin-1"))
    (d / "corrupt.spacy").write_bytes(b"this is not a DocBin\n")
    src = [_pair(["Ana", "visited", "Lima"], "s1", "en", ["B-PER", "O", "B-LOC"]),
           _pair(["Bo", "visited", "Rome"], "s2", "en", ["B-PER", "O", "B-LOC"])]
    _docbin(d / "src.spacy", src)
    _docbin(d / "empty.spacy", [])
    _docbin(d / "dup_src.spacy", src + [_pair(["Cy", "left"], "s2", "en", ["B-PER", "O"])])
    _docbin(d / "de.spacy", [_pair(["Ana", "besuchte", "Lima"], "s1", "de", ["B-PER", "O", "B-LOC"])])
    _docbin(d / "orphan_de.spacy", [_pair(["Ana", "besuchte", "Lima"], "s9", "de", ["B-PER", "O", "B-LOC"])])
    _docbin(d / "dup_de.spacy", [_pair(["Ana", "x"], "s1", "de", ["B-PER", "O"]),
                                 _pair(["Bo", "y"], "s1", "de", ["B-PER", "O"])])
    # a DocBin from another pipeline: tags but no entities, no pair ids, no languages
    other = [Doc(VOCAB, words=["(Berlin)", "U.S.-Firma", "zahlt"], tags=["NN", "NN", "VV"])]
    DocBin(attrs=["ORTH", "TAG"], docs=other).to_disk(d / "other_pipeline.spacy")
    soft = Doc(VOCAB, words=["Ana", "kam"])
    set_soft_tags(soft, [[-0.1, -3.0, -3.0], [-0.1, -3.0, -3.0]], ["O", "B-PER", "I-PER"])
    soft_bad = Doc(VOCAB, words=["Ana", "kam"])  # no soft targets
    _docbin(d / "soft_ok.spacy", [soft])
    _docbin(d / "soft_missing.spacy", [soft_bad])
    blank = spacy.blank("xx")
    blank.to_disk(d / "blank_pipeline")
    no_trf = d / "no_transformer"
    import shutil

    shutil.copytree(tiny_pipeline, no_trf)
    shutil.rmtree(no_trf / "transformer")
    fake = d / "apertium"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -l ]; then echo en-es; exit 0; fi\necho 'lt-proc: bad mode' >&2\nexit 2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return d


P = "prepare"
T = "translate"
A = "annotate"
E = "evaluate"
X = "export-encoder"
TRAIN = ["train", str(ROOT / "configs" / "concner.cfg"), "--paths.transformer", "{bert}", "--paths.dev", "{d}/src.spacy",
         "--components.concner.model.proj_hidden", "8", "--components.concner.model.proj_width", "8"]
DISTILL = ["train", str(ROOT / "configs" / "distill.cfg"), "--paths.transformer", "{bert}", "--paths.dev", "{d}/src.spacy"]

CASES = [
    # prepare: labelled and unlabelled files
    Case("prepare-empty-file", [P, "{d}/empty.iob", "{d}/out"], 1, ["empty.iob", "is empty"]),
    Case("prepare-blank-lines-only", [P, "{d}/blank.iob", "{d}/out"], 1, ["blank.iob", "is empty"]),
    Case("prepare-non-utf8", [P, "{d}/latin1.iob", "{d}/out"], 1, ["latin1.iob:2", "not UTF-8"]),
    Case("prepare-one-column-line", [P, "{d}/one_column.iob", "{d}/out"], 1, ["one_column.iob:2", "token<TAB>tag"]),
    Case("prepare-bad-tag-prefix", [P, "{d}/bad_prefix.iob", "{d}/out"], 1, ["bad_prefix.iob:2", "unknown prefix"]),
    Case("prepare-i-after-o-repaired-and-counted", [P, "{d}/i_after_o.iob", "{d}/out", "--n", "0"], 0,
         ["out/en/train.spacy", "1 I- tags repaired to B-", "entities: LOC 1, PER 1"]),
    Case("prepare-mixed-tab-space", [P, "{d}/mixed_sep.iob", "{d}/out", "--n", "0"], 0,
         ["out/en/train.spacy", "4 tokens, entities: LOC 1, PER 1"]),
    Case("prepare-5000-token-sentence", [P, "{d}/long.iob", "{d}/out", "--n", "0"], 0,
         ["out/en/train.spacy", f"1 sentences, {LONG} tokens, entities: LOC 50"]),
    Case("prepare-label-never-occurs", [P, "{d}/good.iob", "{d}/out", "--labels", "PER,LOC,ORGG"], 1,
         ["good.iob", "ORGG", "never occurs"]),
    Case("prepare-duplicate-pair-id", [P, "{d}/dup_id.iob", "{d}/out"], 1, ["dup_id.iob:4", "'s1'"]),
    Case("prepare-missing-file", [P, "{d}/nope.iob", "{d}/out"], 1, ["nope.iob", "not found"]),
    Case("prepare-corrupt-docbin", [P, "{d}/corrupt.spacy", "{d}/out"], 1, ["corrupt.spacy", "not a readable DocBin"]),
    Case("prepare-raw-text-as-labelled", [P, "{d}/raw.txt", "{d}/out"], 1, ["raw.txt", "does not look like a CoNLL"]),
    Case("prepare-unlabelled-empty", [P, "{d}/good.iob", "{d}/out", "--unlabelled", "de={d}/empty.iob"], 1,
         ["empty.iob", "is empty"]),
    Case("prepare-unlabelled-non-utf8", [P, "{d}/good.iob", "{d}/out", "--unlabelled", "de={d}/latin1.txt"], 1,
         ["latin1.txt:1", "not UTF-8"]),
    Case("prepare-same-test-language-twice", [P, "{d}/good.iob", "{d}/out", "--test", "de={d}/good.iob",
                                              "--test", "de={d}/mixed_sep.iob"], 1, ["mixed_sep.iob", "twice"]),
    # translate
    Case("translate-missing-source", [T, "{d}/nope.spacy", "{d}/tr", "-t", "de:lexicon"], 1, ["nope.spacy", "not found"]),
    Case("translate-corrupt-source", [T, "{d}/corrupt.spacy", "{d}/tr", "-t", "de:lexicon"], 1,
         ["corrupt.spacy", "not a readable DocBin"]),
    Case("translate-empty-source", [T, "{d}/empty.spacy", "{d}/tr", "-t", "de:lexicon"], 1, ["empty.spacy", "no sentences"]),
    Case("translate-docbin-from-another-pipeline", [T, "{d}/other_pipeline.spacy", "{d}/tr", "-t", "de:lexicon"], 1,
         ["other_pipeline.spacy", "no pair id"]),
    Case("translate-duplicate-pair-ids", [T, "{d}/dup_src.spacy", "{d}/tr", "-t", "de:lexicon"], 1,
         ["dup_src.spacy", "more than once"]),
    Case("translate-unknown-language-code", [T, "{d}/src.spacy", "{d}/tr", "-t", "qq:lexicon"], 1,
         ["'qq'", "Unknown language code"]),
    Case("translate-unknown-engine", [T, "{d}/src.spacy", "{d}/tr", "-t", "de:babelfish"], 1,
         ["'babelfish'", "Unknown translation engine"]),
    Case("translate-unknown-engine-option", [T, "{d}/src.spacy", "{d}/tr", "-t", "de:lexicon",
                                             "--option", "de.dictionary={d}/en-de.tsv", "--option", "de.colour=red"], 1,
         ["'colour'", "has no option"]),
    Case("translate-missing-dictionary", [T, "{d}/src.spacy", "{d}/tr", "-t", "de:lexicon", "--option", "dictionary={d}/no.tsv"],
         1, ["no.tsv"]),
    Case("translate-file-engine-missing-translations", [T, "{d}/src.spacy", "{d}/tr", "-t", "de:file",
                                                        "--option", "path={d}/partial_translations.tsv", "--no-progress"], 1,
         ["partial_translations.tsv", "no translation for 1"]),
    Case("translate-engine-crashes", [T, "{d}/src.spacy", "{d}/tr", "-t", "es:apertium", "--option", "binary={d}/apertium",
                                      "--no-progress"], 1, ["apertium", "lt-proc: bad mode"]),
    Case("translate-bad-target-syntax", [T, "{d}/src.spacy", "{d}/tr", "-t", "de"], 1, ["'de'", "LANG:ENGINE"]),
    # annotate
    Case("annotate-missing-model-folder", [A, "{d}/no_model", "{d}/soft", "--input", "de={d}/raw.txt"], 1,
         ["no_model", "Cannot load the teacher"]),
    Case("annotate-model-folder-without-transformer", [A, "{d}/no_transformer", "{d}/soft", "--input", "de={d}/raw.txt"], 1,
         ["no_transformer", "Cannot load the teacher"]),
    Case("annotate-pipeline-without-concner", [A, "{d}/blank_pipeline", "{d}/soft", "--input", "de={d}/raw.txt"], 1,
         ["blank_pipeline", "no concner component"]),
    Case("annotate-empty-input", [A, "{model}", "{d}/soft", "--input", "de={d}/blank.iob"], 1, ["blank.iob", "is empty"]),
    Case("annotate-non-utf8-input", [A, "{model}", "{d}/soft", "--input", "de={d}/latin1.txt"], 1,
         ["latin1.txt:1", "not UTF-8"]),
    Case("annotate-missing-input", [A, "{model}", "{d}/soft", "--input", "de={d}/nope.txt"], 1, ["nope.txt", "not found"]),
    Case("annotate-same-language-twice", [A, "{model}", "{d}/soft", "--input", "de={d}/raw.txt",
                                          "--input", "de={d}/space.conll"], 1, ["space.conll", "twice"]),
    Case("annotate-space-separated-conll", [A, "{model}", "{d}/soft", "--input", "de={d}/space.conll"], 0,
         ["soft/de.spacy", "annotate de: 2 sentences"]),
    Case("annotate-docbin-from-another-pipeline", [A, "{model}", "{d}/soft", "--input", "de={d}/other_pipeline.spacy"], 0,
         ["soft/de.spacy", "annotate de: 1 sentences"]),
    # evaluate
    Case("evaluate-missing-model-folder", [E, "{d}/no_model", "--test", "de={d}/de.spacy", "-o", "{d}/ev"], 1,
         ["no_model", "Cannot load the pipeline"]),
    Case("evaluate-model-folder-without-transformer", [E, "{d}/no_transformer", "--test", "de={d}/de.spacy", "-o", "{d}/ev"],
         1, ["no_transformer", "Cannot load the pipeline"]),
    Case("evaluate-pipeline-without-ner", [E, "{d}/blank_pipeline", "--test", "de={d}/de.spacy", "-o", "{d}/ev"], 1,
         ["blank_pipeline", "no component that sets entities"]),
    Case("evaluate-test-docbin-from-another-pipeline", [E, "{model}", "--test", "de={d}/other_pipeline.spacy", "-o", "{d}/ev"],
         1, ["other_pipeline.spacy", "no entity annotation"]),
    Case("evaluate-corrupt-test-set", [E, "{model}", "--test", "de={d}/corrupt.spacy", "-o", "{d}/ev"], 1,
         ["corrupt.spacy", "not a readable DocBin"]),
    Case("evaluate-missing-test-set", [E, "{model}", "--test", "de={d}/nope.spacy", "-o", "{d}/ev"], 1,
         ["nope.spacy", "not found"]),
    Case("evaluate-empty-test-set", [E, "{model}", "--test", "de={d}/empty.spacy", "-o", "{d}/ev"], 1,
         ["empty.spacy", "is empty"]),
    # export-encoder
    Case("export-encoder-missing-model-folder", [X, "{d}/no_model", "{d}/enc"], 1, ["no_model", "Cannot load the pipeline"]),
    Case("export-encoder-model-folder-without-transformer", [X, "{d}/no_transformer", "{d}/enc"], 1,
         ["no_transformer", "Cannot load the pipeline"]),
    Case("export-encoder-pipeline-without-transformer", [X, "{d}/blank_pipeline", "{d}/enc"], 1,
         ["blank_pipeline", "no spacy-transformers 'transformer' component"]),
    # spacy train with our readers
    Case("train-translation-whose-source-is-missing", TRAIN + ["--paths.train", "{d}/src.spacy", "--paths.translations",
                                                              '["{d}/orphan_de.spacy"]'], 1,
         ["orphan_de.spacy", "'s9' has no source sentence"], cli="spacy"),
    Case("train-duplicate-pair-ids-in-source", TRAIN + ["--paths.train", "{d}/dup_src.spacy"], 1,
         ["dup_src.spacy", "'s2'"], cli="spacy"),
    Case("train-duplicate-pair-ids-in-translations", TRAIN + ["--paths.train", "{d}/src.spacy", "--paths.translations",
                                                             '["{d}/dup_de.spacy"]'], 1,
         ["dup_de.spacy", "'s1'"], cli="spacy"),
    Case("train-translations-from-another-pipeline", TRAIN + ["--paths.train", "{d}/src.spacy", "--paths.translations",
                                                             '["{d}/other_pipeline.spacy"]'], 1,
         ["other_pipeline.spacy", "cannot be paired"], cli="spacy"),
    Case("train-corrupt-source", TRAIN + ["--paths.train", "{d}/corrupt.spacy"], 1,
         ["corrupt.spacy", "not a readable DocBin"], cli="spacy"),
    Case("train-missing-language-file", TRAIN + ["--paths.train", "{d}/src.spacy", "--paths.translations",
                                                '["{d}/{{lang}}.spacy"]', "--corpora.train.langs", "de fr"], 1,
         ["fr.spacy", "not found"], cli="spacy"),
    Case("train-lang-pattern-without-langs", TRAIN + ["--paths.train", "{d}/src.spacy", "--paths.translations",
                                                     '["{d}/{{lang}}.spacy"]'], 1,
         ["{{lang}}.spacy", "no languages are set"], cli="spacy"),
    Case("train-distill-without-soft-targets", DISTILL + ["--paths.train", "{d}/src.spacy"], 1,
         ["paths] soft", "no soft targets"], cli="spacy"),
    Case("train-distill-docs-without-soft-targets", DISTILL + ["--paths.soft", '["{d}/soft_missing.spacy"]'], 1,
         ["soft_missing.spacy", "no teacher soft targets"], cli="spacy"),
]


def _fill(value: str, inputs: Path, model: Path, bert: Path) -> str:
    return value.format(d=inputs, model=model, bert=bert)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_through_the_cli(case, inputs, tiny_pipeline, tiny_bert):
    argv = [_fill(a, inputs, tiny_pipeline, tiny_bert) for a in case.argv]
    if case.cli == "spacy":
        from spacy.cli import app as spacy_app

        res = RUNNER.invoke(spacy_app, argv)
    else:
        res = RUNNER.invoke(app, argv)
    output = res.output
    assert res.exit_code == case.code, output[-3000:]
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in output
    flat = " ".join(output.split())  # spaCy's CLI wraps long messages
    for text in case.says:
        assert _fill(text, inputs, tiny_pipeline, tiny_bert) in flat, (text, output[-3000:])
    if case.code and case.cli == "concner":
        errors = [line for line in output.splitlines() if line.startswith("\u2718 ")]
        assert len(errors) == 1, output  # one line: what is wrong and what to do
        assert _fill(case.says[0], inputs, tiny_pipeline, tiny_bert) in errors[0], output


def test_no_half_written_outputs_after_failures(inputs):
    """The failing rows above left no output file behind (temporary names are cleaned up too)."""
    for name in ("tr", "soft", "ev", "enc"):
        folder = inputs / name
        leftovers = [p.name for p in folder.rglob("*")] if folder.exists() else []
        assert not [n for n in leftovers if n.endswith(".partial")], leftovers
    assert not (inputs / "enc").exists()
    assert not (inputs / "ev").exists() or not list((inputs / "ev").iterdir())


def test_annotate_keeps_the_words_of_a_docbin_from_another_pipeline(inputs, tiny_pipeline):
    res = RUNNER.invoke(app, ["annotate", str(tiny_pipeline), str(inputs / "soft2"),
                              "--input", f"de={inputs / 'other_pipeline.spacy'}"])
    assert res.exit_code == 0, res.output
    doc = next(DocBin().from_disk(inputs / "soft2" / "de.spacy").get_docs(VOCAB))
    assert [t.text for t in doc] == ["(Berlin)", "U.S.-Firma", "zahlt"]


# spacy.load + nlp(...) -------------------------------------------------------------------------
ODD_TEXTS = {
    "empty": "",
    "whitespace-only": " \n\t ",
    "emoji-zero-width-rtl": "Angela\u200b Merkel 😀👍🏽 traf שלום עולם in Paris مرحبا\u200f , e\u0301t\u00e9 \ufeffBerlin .",
    "5000-token-sentence": " ".join(["Zürich"] * LONG),
    "longer-than-the-transformer-window": " ".join(["Donaudampfschifffahrtsgesellschaftskapitän"] * 300),
    "control-characters": "Paris\x00 Berlin\x1b[31m Rom\r\nMadrid",
}


@pytest.fixture(scope="module")
def loaded(tiny_pipeline):
    return spacy.load(tiny_pipeline)


@pytest.mark.parametrize("name", list(ODD_TEXTS))
def test_tagging_odd_text_does_not_crash_and_offsets_stay_valid(loaded, name):
    text = ODD_TEXTS[name]
    doc = loaded(text)
    assert doc.text == text
    for token in doc:
        assert text[token.idx: token.idx + len(token)] == token.text
    for ent in doc.ents:
        assert 0 <= ent.start_char < ent.end_char <= len(text)
        assert text[ent.start_char: ent.end_char] == ent.text
        assert ent.label_ in loaded.get_pipe("concner").labels
    assert all(t.ent_iob_ in ("B", "I", "O") for t in doc)  # every token was tagged


def test_pipe_with_mixed_empty_and_long_docs(loaded):
    texts = ["", ODD_TEXTS["emoji-zero-width-rtl"], " ", ODD_TEXTS["longer-than-the-transformer-window"]]
    docs = list(loaded.pipe(texts, batch_size=2))
    assert [d.text for d in docs] == texts


def test_case_count():
    """The table is what the issue asked for: at least the listed kinds, through every entry point."""
    entries = {c.argv[0] if c.cli == "concner" else "spacy train" for c in CASES}
    assert entries == {P, T, A, E, X, "spacy train"}
    assert len(CASES) + len(ODD_TEXTS) + 1 >= 60
