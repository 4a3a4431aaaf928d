"""benchmarks/inference_memory.py: the stream, the RSS samples, and the component it measures."""
import sys
from pathlib import Path

import spacy

import spacy_concner.heap as memory  # malloc_trim lives in spacy_concner.heap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import inference_memory  # noqa: E402


def test_stream_cycles_through_the_texts_in_order():
    assert list(inference_memory.stream(["a", "b", "c"], 7)) == ["a", "b", "c", "a", "b", "c", "a"]


def test_measure_samples_every_n_docs_and_the_last():
    result = inference_memory.measure(spacy.blank("en"), ["one text", "two"], docs=25, batch_size=4, every=10)
    assert [s["docs"] for s in result["samples"]] == [0, 10, 20, 25]
    assert all(s["rss_mb"] > 0 for s in result["samples"])
    assert result["final_rss_mb"] == result["samples"][-1]["rss_mb"]


def test_release_every_adds_the_component_that_trims(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "malloc_trim", lambda: calls.append)
    spacy.blank("en").to_disk(tmp_path / "model")
    (tmp_path / "texts.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    inference_memory.main([str(tmp_path / "model"), str(tmp_path / "texts.txt"), "--docs", "9", "--every", "3",
                           "--release-every", "4", "--out", str(tmp_path / "out")])
    assert calls == [0, 0]  # docs 4 and 8
    out = (tmp_path / "out" / "inference_memory-release4.json").read_text()
    assert '"concner_release_memory"' in out
