"""translation_ce_weight: the CE of tokens read from translation files (projected labels) weighted
apart from the source's, from the reader's mark through the targets to the loss and its gradient."""
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

from spacy_concner.data.docdata import is_translated, set_pair
from spacy_concner.ml.architecture import ConCNEROutput
from spacy_concner.ml.dual_contrastive_loss import DualContrastiveLoss, Targets
from spacy_concner.pipeline.targets import translated_tokens
from spacy_concner.training.readers import create_paired_corpus

NLP = spacy.blank("xx")
ROOT = Path(__file__).resolve().parents[1]


def _output(seed: int = 0) -> ConCNEROutput:
    rng = numpy.random.default_rng(seed)
    return ConCNEROutput(rng.normal(size=(6, 5)).astype("float32"), None, None, numpy.array([3, 3], dtype="int32"))


# doc 0 (source): tokens 0-2, doc 1 (its translation): tokens 3-5; token 2 has no gold label
TAGS = numpy.array([1, 0, -1, 1, 2, 0])
TRANSLATED = numpy.array([False] * 3 + [True] * 3)


def _ce_by_hand(logits: numpy.ndarray, weights: numpy.ndarray) -> float:
    log_p = logits - numpy.log(numpy.exp(logits).sum(1, keepdims=True))
    known = TAGS >= 0
    nll = -log_p[numpy.flatnonzero(known), TAGS[known]]
    return float((nll * weights[known]).sum() / weights[known].sum())


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0, 2.0])
def test_ce_is_the_weighted_mean_over_labelled_tokens(weight):
    out = _output()
    loss = DualContrastiveLoss(label_weight=0, trans_weight=0, translation_ce_weight=weight)
    values, grads = loss(out, Targets(tag_ids=TAGS, pair_ids=numpy.array([0, 0]), translated=TRANSLATED))
    weights = numpy.where(TRANSLATED, weight, 1.0)
    assert values["ce"] == pytest.approx(_ce_by_hand(out.logits, weights), rel=1e-5)
    # the gradient is the by-hand one too (finite differences would say the same; torch says it exactly)
    logits = torch.tensor(out.logits, requires_grad=True)
    log_p = torch.log_softmax(logits, 1)
    known = torch.tensor(TAGS >= 0)
    w = torch.tensor(weights, dtype=torch.float32)[known]
    ((-log_p[known, torch.tensor(TAGS)[known]] * w).sum() / w.sum()).backward()
    numpy.testing.assert_allclose(grads.logits, logits.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_weight_zero_trains_the_source_only_and_one_is_the_plain_mean():
    out = _output(1)
    targets = Targets(tag_ids=TAGS, pair_ids=numpy.array([0, 0]), translated=TRANSLATED)
    _, g0 = DualContrastiveLoss(label_weight=0, trans_weight=0, translation_ce_weight=0.0)(out, targets)
    assert numpy.abs(g0.logits[3:]).sum() == 0 and numpy.abs(g0.logits[:2]).sum() > 0
    plain = Targets(tag_ids=TAGS, pair_ids=numpy.array([0, 0]))  # no translation marks: every token alike
    v1, g1 = DualContrastiveLoss(label_weight=0, trans_weight=0)(out, targets)
    vp, gp = DualContrastiveLoss(label_weight=0, trans_weight=0, translation_ce_weight=0.0)(out, plain)
    assert v1["ce"] == pytest.approx(vp["ce"]) and numpy.allclose(g1.logits, gp.logits)


def test_a_batch_of_translations_only_with_weight_zero_has_no_ce_term():
    out = _output(2)
    targets = Targets(tag_ids=TAGS, pair_ids=numpy.array([0, 0]), translated=numpy.ones(6, dtype=bool))
    values, grads = DualContrastiveLoss(label_weight=0, trans_weight=0, translation_ce_weight=0.0)(
        out, targets)
    assert "ce" not in values and numpy.abs(grads.logits).sum() == 0


def test_negative_weight_is_refused():
    with pytest.raises(ValueError, match="translation_ce_weight"):
        DualContrastiveLoss(translation_ce_weight=-0.5)


def test_the_reader_marks_translations_and_the_targets_follow_token_by_token(corpus_docbins):
    reader = create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])
    examples = list(reader(NLP))
    marks = [(eg.reference.user_data["concner.lang"], is_translated(eg.reference)) for eg in examples]
    assert {m for m in marks} == {("en", False), ("de", True)}
    some = examples[:2] + [eg for eg in examples if is_translated(eg.reference)][:2]
    mask = translated_tokens(some)
    assert mask.tolist() == [flag for eg in some for flag in [is_translated(eg.reference)] * len(eg.predicted)]


def test_docs_not_read_by_the_paired_reader_are_not_translations():
    doc = Doc(NLP.vocab, words=["Peter", "lebt"])
    set_pair(doc, "p1", "de")
    assert translated_tokens([Example(Doc(NLP.vocab, words=["Peter", "lebt"]), doc)]).tolist() == [False, False]


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_from_the_config_through_the_component(tiny_bert, corpus_docbins, weight):
    """concner.cfg with the setting: the component's loss has it, and on a batch of translations
    with the contrastive terms off, weight 0 leaves no loss and no gradient while 1 leaves both."""
    config = spacy.util.load_config(ROOT / "configs" / "concner.cfg", overrides={
        "paths.transformer": str(tiny_bert), "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8, "components.concner.loss.label_weight": 0.0,
        "components.concner.loss.trans_weight": 0.0, "components.concner.loss.translation_ce_weight": weight,
    }, interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = list(create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])(nlp))
    nlp.initialize(lambda: examples)
    comp = nlp.get_pipe("concner")
    assert comp.loss.translation_ce_weight == weight
    batch = [eg for eg in examples if is_translated(eg.reference) and eg.reference.ents][:4]
    docs = [nlp.get_pipe("transformer")(eg.predicted) for eg in batch]
    total, grads = comp.get_loss(batch, comp.model.predict(docs))
    if weight == 0.0:
        assert total == 0.0 and numpy.abs(grads.logits).sum() == 0
    else:
        assert total > 0.1 and numpy.abs(grads.logits).sum() > 0
