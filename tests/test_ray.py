"""The Ray scale-out gives the one-process output: 2 local workers, tagging and teacher soft labels
compared exactly; a worker that fails once is retried without losing or duplicating a document;
bad input fails in the driver with the local path's one-line error. Skipped without Ray."""
import json
import os
import sys
from pathlib import Path

import numpy
import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e \".[ray]\"")
pytest.importorskip("ray.data", reason="Ray Data is part of the ray extra: pip install -e \".[ray]\"")

import spacy  # noqa: E402
import srsly  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from spacy_concner.cli import app  # noqa: E402
from spacy_concner.data.docdata import get_pair_id, get_soft_tags  # noqa: E402
from spacy_concner.errors import InputError  # noqa: E402
from spacy_concner.workflow.annotate_ray import annotate_file_on_ray  # noqa: E402
from spacy_concner.workflow.distill import annotate_file  # noqa: E402
from spacy_concner.workflow.ray_runner import RayOptions, run_chunks  # noqa: E402
from spacy_concner.workflow.tagging import TagTask, chunked, tag_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
UNLABELLED = ROOT / "corpus" / "de" / "unlabeled.txt"
RUNNER = CliRunner()
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def sentences():
    return [l.strip() for l in UNLABELLED.read_text(encoding="utf-8").splitlines() if l.strip()][:40]


@pytest.fixture
def text_file(tmp_path, sentences):
    path = tmp_path / "in.txt"
    path.write_text("\n".join(sentences[:20]) + "\n\n" + "\n".join(sentences[20:]) + "\n", encoding="utf-8")
    return path


def test_tag_on_two_workers_equals_one_process(local_ray, tmp_path, tiny_pipeline, text_file):
    local = tag_file(str(tiny_pipeline), text_file, tmp_path / "local.jsonl", batch_size=6)
    res = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(text_file), str(tmp_path / "ray.jsonl"),
                              "--batch-size", "6", "--workers", "2"])
    assert res.exit_code == 0, res.output
    expected = (tmp_path / "local.jsonl").read_text(encoding="utf-8")
    assert sum(len(json.loads(l)["ents"]) for l in expected.splitlines()) > 0  # there are entities to compare
    assert (tmp_path / "ray.jsonl").read_text(encoding="utf-8") == expected  # same entities, same order
    report = json.loads((tmp_path / "ray.report.json").read_text())
    assert (report["engine"], report["workers"]) == ("ray", 2)
    assert (report["documents_in"], report["documents_out"], report["dropped"]) == (41, 40, {"empty_line": 1})
    assert (local.documents_in, local.documents_out, local.dropped) == (41, 40, {"empty_line": 1})


def test_inference_settings_and_sorted_windows_reach_the_workers(local_ray, tmp_path, tiny_pipeline, text_file):
    """--quantize int8 and --sort-window on 2 workers: the one-process output with the same settings."""
    options = ["--batch-size", "6", "--quantize", "int8", "--sort-window", "16"]
    for name, extra in (("local", []), ("ray", ["--workers", "2"])):
        res = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(text_file), str(tmp_path / f"{name}.jsonl"),
                                  *options, *extra])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "ray.jsonl").read_text(encoding="utf-8") == (tmp_path / "local.jsonl").read_text(encoding="utf-8")
    report = json.loads((tmp_path / "ray.report.json").read_text())
    assert (report["settings"], report["sort_window"], report["documents_out"]) == ({"quantize": "int8"}, 16, 40)
    texts = [json.loads(l)["text"] for l in (tmp_path / "ray.jsonl").read_text(encoding="utf-8").splitlines()]
    assert texts == [l.strip() for l in text_file.read_text(encoding="utf-8").splitlines() if l.strip()]


def test_annotate_on_two_workers_equals_one_process(local_ray, tmp_path, tiny_pipeline, text_file):
    args = ["annotate", str(tiny_pipeline), "--input", f"de={text_file}", "--batch-size", "8"]
    assert RUNNER.invoke(app, args[:2] + [str(tmp_path / "local")] + args[2:]).exit_code == 0
    res = RUNNER.invoke(app, args[:2] + [str(tmp_path / "ray")] + args[2:] + ["--ray", "local", "--workers", "2"])
    assert res.exit_code == 0, res.output
    vocab = Vocab()
    local = list(DocBin().from_disk(tmp_path / "local" / "de.spacy").get_docs(vocab))
    dist = list(DocBin().from_disk(tmp_path / "ray" / "de.spacy").get_docs(vocab))
    assert len(local) == len(dist) == 40
    for a, b in zip(local, dist):
        assert [t.text for t in a] == [t.text for t in b]
        assert get_pair_id(a) == get_pair_id(b)
        sa, sb = get_soft_tags(a), get_soft_tags(b)
        assert sa["labels"] == sb["labels"]
        numpy.testing.assert_array_equal(sa["log_probs"], sb["log_probs"])  # exactly: same batches, same maths
    assert get_pair_id(dist[-1]) == "de-raw-000039"  # numbered across chunks, not per worker
    report = json.loads((tmp_path / "ray" / "de.report.json").read_text())
    assert (report["documents_in"], report["documents_out"], report["dropped"]) == (41, 40, {"empty_line": 1})


class FlakyTask:
    """A task whose first call anywhere fails (the worker raises, or its process dies), once."""

    def __init__(self, inner, flag: str, how: str) -> None:
        self.inner, self.flag, self.how = inner, flag, how

    def setup(self) -> None:
        self.inner.setup()

    def __call__(self, payload: bytes) -> bytes:
        try:
            os.unlink(self.flag)  # atomic: exactly one call, in one worker, wins the failure
        except FileNotFoundError:
            return self.inner(payload)
        if self.how == "dies":
            os._exit(1)
        raise RuntimeError("worker failure injected by the test")


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_failed_worker_is_retried_without_losing_or_duplicating(local_ray, tmp_path, tiny_pipeline, sentences, how):
    nlp = spacy.load(tiny_pipeline)
    expected = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(sentences, batch_size=4)]
    flag = tmp_path / "fail-once"
    flag.touch()
    task = FlakyTask(TagTask(str(tiny_pipeline), 4), str(flag), how)
    payloads = [srsly.json_dumps(list(c)).encode() for c in chunked(sentences, 4)]
    vocab = Vocab()
    docs = [d for out in run_chunks(task, payloads, RayOptions(workers=2)) for d in DocBin().from_bytes(out).get_docs(vocab)]
    assert not flag.exists()  # the failure did happen
    assert [d.text for d in docs] == sentences  # count in == count out, in order, no duplicates
    assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in docs] == expected


def test_bad_input_fails_in_the_driver_with_the_local_error(local_ray, tmp_path, tiny_pipeline):
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"text": "Berlin"}\n\n{"text": Rom}\n', encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    for path, says in ((bad, f"{bad}:3: not valid JSON"), (empty, "no sentence to tag")):
        errors = []
        for options in (None, RayOptions(workers=2)):
            with pytest.raises(InputError) as err:
                tag_file(str(tiny_pipeline), path, tmp_path / "o.jsonl", ray_options=options,
                         load=lambda: pytest.fail("loaded for bad input"))
            errors.append(str(err.value))
        assert errors[0] == errors[1] and says in errors[0] and "\n" not in errors[0]
    assert not (tmp_path / "o.jsonl").exists()
    nlp = spacy.load(tiny_pipeline)
    with pytest.raises(InputError) as local_err:
        annotate_file(nlp, empty, tmp_path / "a.spacy", "de")
    with pytest.raises(InputError) as ray_err:
        annotate_file_on_ray(nlp, str(tiny_pipeline), empty, tmp_path / "b.spacy", "de", RayOptions(workers=2))
    assert str(local_err.value) == str(ray_err.value)
    with pytest.raises(InputError, match="No pipeline at"):
        tag_file(str(tmp_path / "no-model"), UNLABELLED, tmp_path / "o.jsonl", ray_options=RayOptions(workers=2))
