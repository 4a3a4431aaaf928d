"""spacy_concner.release_memory.v1 (training) and the concner_release_memory component (inference):
freed heap memory goes back to the OS."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spacy
from spacy.cli.train import train

import spacy_concner.heap as heap
import spacy_concner.training.memory as memory

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.cfg"))


class _Trims:
    def __init__(self):
        self.calls = []

    def __call__(self, pad):
        self.calls.append(pad)
        return 1


def test_trims_every_n_steps(monkeypatch):
    trims = _Trims()
    monkeypatch.setattr(heap, "malloc_trim", lambda: trims)
    before_update = memory.make_release_memory(every=3)
    for step in range(10):
        before_update(None, {"step": step, "epoch": 0})
    assert trims.calls == [0, 0, 0, 0]  # steps 0, 3, 6, 9


def test_off_and_bad_values(monkeypatch):
    monkeypatch.setattr(heap, "malloc_trim", lambda: pytest.fail("looked up although off"))
    before_update = memory.make_release_memory(every=0)
    before_update(None, {"step": 0, "epoch": 0})
    with pytest.raises(ValueError, match="every must be 0"):
        memory.make_release_memory(every=-1)


def test_without_malloc_trim_it_does_nothing(monkeypatch, caplog):
    monkeypatch.setattr(heap, "malloc_trim", lambda: None)
    with caplog.at_level("INFO", logger=heap.__name__):
        before_update = memory.make_release_memory(every=1)
    before_update(None, {"step": 1, "epoch": 0})
    assert "no malloc_trim" in caplog.text


@pytest.mark.skipif(heap.malloc_trim() is None, reason="needs glibc's malloc_trim")
def test_malloc_trim_returns_freed_heap_memory_to_the_os():
    """The situation it exists for, in a fresh process: 300 MB of tensors under the mmap threshold
    freed below a live one stay resident until the trim returns them."""
    script = textwrap.dedent("""
        import torch
        from spacy_concner.heap import malloc_trim
        def rss():
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024
        base = rss()
        blocks = [torch.ones(16000) for _ in range(4800)]  # 64 KB each: from the heap, not mmap
        pin = torch.ones(16000)  # allocated above them: the heap's top cannot shrink
        del blocks
        freed = rss()
        malloc_trim()(0)
        print(base, freed, rss())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    base, freed, trimmed = map(int, out.stdout.split())
    assert freed - base > 250  # glibc kept the freed 300 MB
    assert freed - trimmed > 250  # the trim gave them back


@pytest.mark.parametrize("cfg", CONFIGS)
def test_every_config_releases_memory_before_updates(cfg):
    config = spacy.util.load_config(ROOT / "configs" / cfg, interpolate=True)
    section = config["training"]["before_update"]
    assert section["@callbacks"] == "spacy_concner.release_memory.v1" and section["every"] > 0
    assert callable(spacy.util.registry.resolve({"b": section})["b"])


def test_spacy_train_calls_it(tiny_bert, corpus_docbins, tmp_path, monkeypatch):
    """Through spaCy's own training loop: one trim per ``every`` steps, the last step included."""
    trims = _Trims()
    monkeypatch.setattr(heap, "malloc_trim", lambda: trims)
    train(ROOT / "configs" / "concner.cfg", tmp_path / "out", overrides={
        "paths.transformer": str(tiny_bert), "paths.train": str(corpus_docbins["en/train"]),
        "paths.dev": str(corpus_docbins["en/dev"]), "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8, "training.max_steps": 4, "training.eval_frequency": 4,
        "training.before_update.every": 2, "training.batcher.size": 100})
    assert len(trims.calls) == 3  # before the updates of steps 0, 2 and 4


def test_component_trims_every_n_docs_in_pipe_and_call_and_keeps_the_docs(monkeypatch):
    trims = _Trims()
    monkeypatch.setattr(heap, "malloc_trim", lambda: trims)
    nlp = spacy.blank("en")  # found by name: the setup.py entry point, no import needed in production
    nlp.add_pipe("concner_release_memory", config={"every": 4})
    texts = [f"text number {i}" for i in range(10)]
    docs = list(nlp.pipe(texts, batch_size=3))
    assert [d.text for d in docs] == texts
    assert trims.calls == [0, 0]  # after docs 4 and 8
    nlp("one more")
    nlp("and another")
    assert trims.calls == [0, 0, 0]  # doc 12


def test_component_round_trips_and_rejects_bad_values(tmp_path, monkeypatch):
    nlp = spacy.blank("en")
    nlp.add_pipe("concner_release_memory", config={"every": 7})
    nlp.to_disk(tmp_path / "nlp")
    loaded = spacy.load(tmp_path / "nlp")
    assert loaded.get_pipe("concner_release_memory").every == 7
    with pytest.raises(ValueError, match="every must be 0"):
        spacy.blank("en").add_pipe("concner_release_memory", config={"every": -1})
    monkeypatch.setattr(heap, "malloc_trim", lambda: pytest.fail("looked up although off"))
    off = spacy.blank("en")
    off.add_pipe("concner_release_memory", config={"every": 0})
    assert [d.text for d in off.pipe(["a", "b"])] == ["a", "b"]
