"""spacy_concner.freeze_embeddings.v1: the embedding matrix stops training, the rest does not."""
import pytest
import torch
from thinc.api import Adam

import spacy_concner.callbacks  # noqa: F401  (registers the callback if the entry point is missing)
from spacy_concner.callbacks import hf_models

from test_component import make_nlp, paired_examples  # noqa: F401  (fixture)


def test_freeze_embeddings_after_init(tiny_bert, paired_examples):
    nlp = make_nlp(tiny_bert, **{"initialize.after_init": {"@callbacks": "spacy_concner.freeze_embeddings.v1"}})
    nlp.initialize(lambda: paired_examples)
    optimizer = Adam(0.001)  # the config's warm-up schedule starts at learn rate 0
    hf = hf_models(nlp, "transformer")[0]
    emb = hf.get_input_embeddings().weight
    assert not emb.requires_grad
    before = emb.detach().clone()
    others = [(p, p.detach().clone()) for n, p in hf.named_parameters() if "word_embeddings" not in n]
    nlp.update(paired_examples, sgd=False, drop=0.0)  # as `spacy train`: gradients first, then
    for _, proc in nlp.pipeline:  # every component's finish_update (nlp.update(sgd=...) would
        proc.finish_update(optimizer)  # step the transformer before its gradient exists)
    assert torch.equal(hf.get_input_embeddings().weight, before)
    assert any(not torch.equal(p, old) for p, old in others)


def test_freeze_embeddings_unknown_component(tiny_bert, paired_examples):
    nlp = make_nlp(tiny_bert, **{"initialize.after_init": {
        "@callbacks": "spacy_concner.freeze_embeddings.v1", "component": "nope"}})
    with pytest.raises(ValueError, match="no component 'nope'"):
        nlp.initialize(lambda: paired_examples)
