"""spaCy's pipe conventions: ``spacy init labels`` writes the component's labels, ``initialize`` reads
them back, and non-Example input is refused with spaCy's own error."""
import subprocess
import sys

import pytest
import spacy
import srsly
from spacy.training import Example
from thinc.api import Config

CONFIG = """
[paths]
train = null
labels = null

[nlp]
lang = "xx"
pipeline = ["concner"]

[components]

[components.concner]
factory = "concner"

[components.concner.model]
@architectures = "spacy_concner.ConCNER.v1"
proj_hidden = 8
proj_width = 4

[components.concner.model.tok2vec]
@architectures = "spacy.HashEmbedCNN.v2"
width = 16
depth = 1
embed_size = 500
window_size = 1
maxout_pieces = 2
subword_features = false
pretrained_vectors = null

[corpora]

[corpora.train]
@readers = "spacy_concner.PairedCorpus.v1"
source = ${paths.train}

[corpora.dev]
@readers = "spacy_concner.PairedCorpus.v1"
source = ${paths.train}

[training]
train_corpus = "corpora.train"
dev_corpus = "corpora.dev"

[initialize]
"""
READ_LABELS = """
[initialize.components.concner]

[initialize.components.concner.labels]
@readers = "spacy.read_labels.v1"
path = ${paths.labels}
"""


def test_init_labels_writes_the_labels_and_initialize_reads_them(tmp_path, corpus_docbins):
    cfg = tmp_path / "config.cfg"
    spacy.util.load_model_from_config(Config().from_str(CONFIG, interpolate=False), auto_fill=True).config.to_disk(cfg)
    out = tmp_path / "labels"
    run = subprocess.run([sys.executable, "-m", "spacy", "init", "labels", str(cfg), str(out),
                          "--paths.train", str(corpus_docbins["en/train"])], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert srsly.read_json(out / "concner.json") == ["LOC", "ORG", "PER"]
    # read back: a label the data does not have proves they come from the file, not the corpus
    srsly.write_json(out / "concner.json", ["LOC", "MISC", "ORG", "PER"])
    (tmp_path / "with_labels.cfg").write_text(cfg.read_text(encoding="utf-8") + READ_LABELS, encoding="utf-8")
    config = spacy.util.load_config(tmp_path / "with_labels.cfg", overrides={
        "paths.train": str(corpus_docbins["en/train"]), "paths.labels": str(out / "concner.json")})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    comp = nlp.get_pipe("concner")
    assert comp.labels == ["LOC", "MISC", "ORG", "PER"] and comp.label_data == comp.labels
    assert comp.tags == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def test_not_examples_are_refused_as_spacy_pipes_refuse_them():
    nlp = spacy.blank("xx")
    comp = nlp.add_pipe("concner", config={"model": {"tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2",
        "width": 8, "depth": 1, "embed_size": 100, "window_size": 1, "maxout_pieces": 2,
        "subword_features": False, "pretrained_vectors": None}}})
    doc = nlp.make_doc("Ana in Lima")
    with pytest.raises(TypeError, match="E978"):  # spaCy: "... expects a list of Example objects"
        comp.initialize(lambda: [doc])
    comp.initialize(lambda: [Example.from_dict(doc, {"entities": ["U-PER", "O", "U-LOC"]})])
    with pytest.raises(TypeError, match="E978.*ConCNER.update"):
        comp.update([doc])
    with pytest.raises(TypeError, match="E978.*ConCNER.get_loss"):
        comp.get_loss([doc], None)
