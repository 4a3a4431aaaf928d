"""benchmarks/inference_memory.py: the stream, the RSS samples and the trim schedule."""
import sys
from pathlib import Path

import spacy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import inference_memory  # noqa: E402


def test_stream_cycles_through_the_texts_in_order():
    assert list(inference_memory.stream(["a", "b", "c"], 7)) == ["a", "b", "c", "a", "b", "c", "a"]


def test_measure_samples_every_n_docs_and_trims_every_n_batches(monkeypatch):
    calls = []
    monkeypatch.setattr(inference_memory, "malloc_trim", lambda: calls.append)
    result = inference_memory.measure(spacy.blank("en"), ["one text", "two"], docs=25, batch_size=4, every=10,
                                      trim_every=2)
    assert [s["docs"] for s in result["samples"]] == [0, 10, 20, 25]
    assert all(s["rss_mb"] > 0 for s in result["samples"])
    assert calls == [0, 0, 0]  # 6 full batches of 4 in 25 docs, every 2nd one trimmed
    assert result["final_rss_mb"] == result["samples"][-1]["rss_mb"]


def test_measure_without_trim_never_looks_for_malloc_trim(monkeypatch):
    def missing():
        raise AssertionError("malloc_trim looked up with trim_every=0")

    monkeypatch.setattr(inference_memory, "malloc_trim", missing)
    result = inference_memory.measure(spacy.blank("en"), ["x"], docs=3, batch_size=2, every=10, trim_every=0)
    assert [s["docs"] for s in result["samples"]] == [0, 3]
