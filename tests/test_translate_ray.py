"""``translate --workers 2`` writes what the one-process run writes: the same DocBin bytes (text, entities,
pair ids, in source order) and the same report counts; a missing source fails with the same one-line error.
Skipped without Ray."""
import json

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e \".[ray]\"")
pytest.importorskip("ray.data", reason="Ray Data is part of the ray extra: pip install -e \".[ray]\"")

import spacy  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from spacy_concner.cli import app  # noqa: E402
from spacy_concner.data.docdata import get_pair_id  # noqa: E402
from spacy_concner.errors import InputError  # noqa: E402
from spacy_concner.translate.engines.lexicon import default_dictionary  # noqa: E402
from spacy_concner.translate.translate_train import Target  # noqa: E402
from spacy_concner.workflow.ray_runner import RayOptions  # noqa: E402
from spacy_concner.workflow.translate_ray import translate_anywhere  # noqa: E402

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture
def broken_tsv(tmp_path):
    """nl: "the" becomes a stray marker (a counted drop with an example), "of" a word; the rest stays the
    source word for word (identical: dropped with --identical drop)."""
    path = tmp_path / "en-nl.tsv"
    path.write_text("the\t]\nof\tvan\n", encoding="utf-8")
    return path


def test_missing_source_is_the_same_one_line_error(tmp_path):
    missing = tmp_path / "missing.spacy"
    errors = []
    for options in (None, RayOptions(workers=2)):
        with pytest.raises(InputError) as err:
            translate_anywhere(missing, tmp_path / "out", [Target("de", "lexicon")], options, progress=False)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and str(missing) in errors[0] and "\n" not in errors[0]
    assert not ray.is_initialized()  # checked in the driver, before Ray starts
    res = RUNNER.invoke(app, ["translate", str(missing), str(tmp_path / "out"), "-t", "de:lexicon", "--workers", "2"])
    assert res.exit_code == 1 and str(missing) in res.output and not (tmp_path / "out").exists()


def test_translate_on_two_workers_equals_one_process(local_ray, tmp_path, corpus_docbins, broken_tsv):
    if not default_dictionary("en", "de").exists():
        pytest.skip("needs FreeDict en-de: apt-get install dict-freedict-eng-deu")
    source = str(corpus_docbins["en/train"])
    args = ["-t", "de:lexicon nl:lexicon", "--option", f"nl.dictionary={broken_tsv}", "--batch-size", "8",
            "--identical", "drop", "--no-progress"]
    res = RUNNER.invoke(app, ["translate", source, str(tmp_path / "local")] + args)
    assert res.exit_code == 0, res.output
    res = RUNNER.invoke(app, ["translate", source, str(tmp_path / "ray")] + args + ["--workers", "2"])
    assert res.exit_code == 0, res.output
    vocab = spacy.blank("xx").vocab
    for lang in ("de", "nl"):
        local_bytes = (tmp_path / "local" / f"{lang}.spacy").read_bytes()
        local = list(DocBin().from_bytes(local_bytes).get_docs(vocab))
        dist = list(DocBin().from_disk(tmp_path / "ray" / f"{lang}.spacy").get_docs(vocab))
        assert [(d.text, get_pair_id(d), [(e.start, e.end, e.label_) for e in d.ents]) for d in dist] == \
               [(d.text, get_pair_id(d), [(e.start, e.end, e.label_) for e in d.ents]) for d in local]
        assert (tmp_path / "ray" / f"{lang}.spacy").read_bytes() == local_bytes
        reports = [json.loads((tmp_path / run / f"{lang}.report.json").read_text()) for run in ("local", "ray")]
        for report in reports:
            report.pop("seconds")
        assert reports[0] == reports[1]
    de, nl = reports_of(tmp_path / "ray", "de"), reports_of(tmp_path / "ray", "nl")
    assert (de["sentences_in"], de["kept"], sum(de["entities_out"].values())) == (16, 16, 31)
    # 16 sentences in 2 batches: drops, examples and entities are added up across workers, in order
    assert nl["sentences_in"] == 16 and 0 < nl["kept"] < 16 and nl["dropped"]["identical_to_source"] > 0
    assert sum(nl["dropped"].values()) - nl["dropped"]["identical_to_source"] > 5 == len(nl["drop_examples"])
    assert nl["sentences_in"] == nl["kept"] + nl["dropped_total"]


def reports_of(folder, lang):
    return json.loads((folder / f"{lang}.report.json").read_text())
