"""Batch tagging in one process: what goes in comes out (counted), with the pipeline's own entities,
in both output formats; bad input is one line naming the line; no Ray needed."""
import json
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.errors import InputError
from spacy_concner.workflow.ray_runner import RayOptions, in_key_order
from spacy_concner.workflow.tagging import LINE, TagReport, read_records, report_path, tag_file

ROOT = Path(__file__).resolve().parents[1]
UNLABELLED = ROOT / "corpus" / "de" / "unlabeled.txt"
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def nlp(tiny_pipeline):
    return spacy.load(tiny_pipeline)


@pytest.fixture(scope="module")
def sentences():
    return [l.strip() for l in UNLABELLED.read_text(encoding="utf-8").splitlines() if l.strip()][:30]


def _expected_ents(nlp, texts, batch_size):
    return [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp.pipe(texts, batch_size=batch_size)]


def test_text_to_jsonl_keeps_every_sentence_and_counts_blank_lines(tmp_path, nlp, tiny_pipeline, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:10]) + "\n\n   \n" + "\n".join(sentences[10:]) + "\n", encoding="utf-8")
    report = tag_file(str(tiny_pipeline), src, tmp_path / "out.jsonl", batch_size=8, load=lambda: nlp)
    rows = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == sentences
    assert [r["line"] for r in rows] == list(range(1, 11)) + list(range(13, 33))  # lines 11, 12 are blank
    assert [[[e["start"], e["end"], e["label"]] for e in r["ents"]] for r in rows] == _expected_ents(nlp, sentences, 8)
    assert sum(len(r["ents"]) for r in rows) > 0  # the untrained head still predicts some: the check bites
    for r in rows:
        for e in r["ents"]:
            assert r["text"][e["start"]:e["end"]].strip() == r["text"][e["start"]:e["end"]] != ""
    saved = json.loads(report_path(tmp_path / "out.jsonl").read_text())
    assert (saved["documents_in"], saved["documents_out"], saved["dropped"]) == (32, 30, {"empty_line": 2})
    assert saved["engine"] == "local" and report.documents_out == 30


def test_jsonl_to_docbin_keeps_line_numbers_meta_and_entities(tmp_path, nlp, tiny_pipeline, sentences):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": t, "id": f"s{i}"}) for i, t in enumerate(sentences[:5])]
    lines.insert(2, json.dumps({"text": "  ", "id": "blank"}))
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tag_file(str(tiny_pipeline), src, tmp_path / "out.spacy", batch_size=2, load=lambda: nlp)
    assert (report.documents_in, report.documents_out, report.dropped) == (6, 5, {"empty_text": 1})
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(nlp.vocab))
    assert [d.text for d in docs] == sentences[:5]
    assert [d.user_data[LINE] for d in docs] == [1, 2, 4, 5, 6]
    assert [[[e.start_char, e.end_char, e.label_] for e in d.ents] for d in docs] == _expected_ents(nlp, sentences[:5], 2)
    records = read_records(src)
    assert [r.meta for r in records] == [{"id": f"s{i}"} for i in range(5)]


@pytest.mark.parametrize("content,says", [
    ('{"text": "Berlin"}\n{"text": "Rom"\n', ":2: not valid JSON"),
    ('{"text": "Berlin"}\n["Rom"]\n', ':2: expected a JSON object with a string "text" field'),
    ('{"text": "Berlin"}\n{"txt": "Rom"}\n', ':2: expected a JSON object with a string "text" field'),
    ("", "no sentence to tag"),
    ('\n  \n{"text": " "}\n', "no sentence to tag"),
])
def test_bad_jsonl_is_one_input_error_naming_the_line(tmp_path, tiny_pipeline, content, says):
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        tag_file(str(tiny_pipeline), src, tmp_path / "out.jsonl", load=lambda: pytest.fail("loaded for bad input"))
    assert says in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out.jsonl").exists() and not report_path(tmp_path / "out.jsonl").exists()


def test_empty_text_file_is_an_error_not_an_empty_success(tmp_path, tiny_pipeline):
    src = tmp_path / "in.txt"
    src.write_text("\n \n", encoding="utf-8")
    res = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(src), str(tmp_path / "out.spacy")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [  # one line, as every CLI error (wasabi's fail icon)
        f"✘ {src}: no sentence to tag (the file is empty or blank); pass text with one sentence per line, "
        'or JSONL with a "text" field.']
    assert not (tmp_path / "out.spacy").exists()


def test_tag_command_writes_output_and_report(tmp_path, tiny_pipeline, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:4]) + "\n", encoding="utf-8")
    res = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(src), str(tmp_path / "o.jsonl"), "--batch-size", "3"])
    assert res.exit_code == 0, res.output
    assert "4 documents in, 4 out (dropped: none) on local x1" in res.output
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 4
    assert json.loads((tmp_path / "o.report.json").read_text())["batch_size"] == 3


def test_ray_path_without_ray_says_what_to_install(tmp_path, tiny_pipeline, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, installed or not
    src = tmp_path / "in.txt"
    src.write_text("Berlin\n", encoding="utf-8")
    with pytest.raises(InputError, match=r'pip install "spacy-concner\[ray\]"'):
        tag_file(str(tiny_pipeline), src, tmp_path / "o.jsonl", ray_options=RayOptions(workers=2))


def test_results_come_back_in_key_order_once_each():
    assert list(in_key_order([(2, b"c"), (0, b"a"), (1, b"b")], 3)) == [b"a", b"b", b"c"]
    with pytest.raises(RuntimeError, match="twice"):
        list(in_key_order([(0, b"a"), (0, b"a"), (1, b"b")], 2))
    with pytest.raises(RuntimeError, match="twice"):
        list(in_key_order([(1, b"b"), (1, b"b")], 2))
    with pytest.raises(RuntimeError, match="1 of 2 chunks never came back"):
        list(in_key_order([(0, b"a")], 2))


def test_report_refuses_counts_that_do_not_add_up(tmp_path):
    report = TagReport("in", "out", "ray", 2, 8, documents_in=10, documents_out=9, dropped={})
    with pytest.raises(RuntimeError, match="lost or duplicated"):
        report.write(tmp_path / "r.json")
    report.dropped = {"empty_line": 1}
    assert json.loads(report.write(tmp_path / "r.json").read_text())["documents_out"] == 9


@pytest.mark.parametrize("window", [1, 7, 1000])
def test_length_sorted_windows_tag_like_the_input_order(tmp_path, nlp, tiny_pipeline, sentences, window):
    from spacy_concner.workflow.tagging import length_order

    order = length_order([len(t) for t in sentences], window)
    assert sorted(order) == list(range(len(sentences)))
    for start in range(0, len(order), window):  # sorted by length inside each window, windows in place
        part = order[start:start + window]
        assert set(part) == set(range(start, min(start + window, len(sentences))))
        assert [len(sentences[i]) for i in part] == sorted(len(sentences[i]) for i in part)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    report = tag_file(str(tiny_pipeline), src, tmp_path / "out.jsonl", batch_size=4, load=lambda: nlp, sort_window=window)
    rows = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == sentences and [r["line"] for r in rows] == list(range(1, 31))
    assert [[[e["start"], e["end"], e["label"]] for e in r["ents"]] for r in rows] == _expected_ents(nlp, sentences, 4)
    assert report.sort_window == window


def test_inference_settings_reach_the_encoder_and_the_report(tmp_path, tiny_pipeline, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:6]) + "\n", encoding="utf-8")
    loaded = []

    def load():
        loaded.append(spacy.load(tiny_pipeline))
        return loaded[-1]

    report = tag_file(str(tiny_pipeline), src, tmp_path / "out.jsonl", load=load, settings={"quantize": "int8"})
    shim = loaded[0].get_pipe("transformer").model.layers[0].shims[0]
    assert shim.quantize == "int8" and shim._int8[1] is not None  # it tagged with the int8 copy
    assert loaded[0].get_pipe_config("transformer")["model"]["quantize"] == "int8"
    assert json.loads(report_path(tmp_path / "out.jsonl").read_text())["settings"] == {"quantize": "int8"}
    assert report.documents_out == 6


def test_bad_inference_settings_are_one_line(tmp_path, tiny_pipeline, sentences):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(sentences[:3]) + "\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(src), str(tmp_path / "out.jsonl"),
                                 "--precision", "bfloat16", "--quantize", "int8"])
    assert result.exit_code == 1, result.output
    assert "cannot be combined" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists()
    result = RUNNER.invoke(app, ["tag", str(tiny_pipeline), str(src), str(tmp_path / "out.jsonl"), "--sort-window", "-1"])
    assert result.exit_code == 1 and "sort window" in result.output


def test_shipped_inference_settings_are_written_into_the_saved_config(tmp_path, nlp, tiny_pipeline):
    import shutil

    from spacy_concner.inference import write_inference_settings

    shutil.copytree(tiny_pipeline, tmp_path / "model")
    write_inference_settings(tmp_path / "model", inference_dtype="auto")
    shim = spacy.load(tmp_path / "model").get_pipe("transformer").model.layers[0].shims[0]
    assert (shim.inference_dtype, shim.quantize, shim.sort_by_length) == ("auto", None, True)
    with pytest.raises(InputError, match="cannot be combined"):
        write_inference_settings(tmp_path / "model", quantize="int8")


def test_tag_sorts_by_length_by_default(tiny_pipeline):
    from spacy_concner.workflow.tagging import DEFAULT_SORT_WINDOW

    res = RUNNER.invoke(app, ["tag", "--help"], terminal_width=200)
    assert f"[default: {DEFAULT_SORT_WINDOW}]" in " ".join(res.output.split()).split("--sort-window")[1][:400]
