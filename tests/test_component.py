"""The concner component: each loss term's gradients are right and reach the transformer;
decoding; I/O; scores."""
import random
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

from spacy_concner.decoding import allowed_starts, allowed_transitions, tags_for_labels, viterbi_decode
from spacy_concner.docdata import set_soft_tags
from spacy_concner.readers import create_paired_corpus

ROOT = Path(__file__).resolve().parents[1]
TERMS = ("ce", "label", "trans", "distill")


def make_nlp(tiny_bert: Path, cfg: str = "concner.cfg", **overrides):
    config = spacy.util.load_config(ROOT / "configs" / cfg, overrides={
        "paths.transformer": str(tiny_bert),
        "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8,
        **overrides,
    }, interpolate=True)
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


@pytest.fixture(scope="module")
def paired_examples(corpus_docbins):
    nlp = spacy.blank("xx")
    reader = create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])
    examples = list(reader(nlp))
    by_id = {}
    for eg in examples:
        by_id.setdefault(eg.reference.user_data["concner.pair_id"], []).append(eg)
    return [eg for pair in list(by_id.values())[:6] for eg in pair]


@pytest.fixture(scope="module")
def trained_nlp(tiny_bert, paired_examples):
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: paired_examples)
    return nlp


def _transformer_grads(nlp):
    trf = nlp.get_pipe("transformer").model
    params = [p for node in trf.walk() for shim in node.shims for p in shim._model.parameters()]
    assert params
    return params


def _grad_after_update(nlp, examples, weights):
    comp = nlp.get_pipe("concner")
    for term in TERMS:
        setattr(comp.loss, f"{term}_weight", weights.get(term, 0.0))
    params = _transformer_grads(nlp)
    for p in params:
        p.grad = None
    torch.manual_seed(0)
    losses = nlp.update(examples, sgd=False, drop=0.0)
    grads = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    return losses, grads


def _with_soft_targets(nlp, examples):
    comp = nlp.get_pipe("concner")
    rng = numpy.random.default_rng(0)
    out = []
    for eg in examples:
        ref = Doc(nlp.vocab, words=[t.text for t in eg.reference])
        ref.user_data.update(eg.reference.user_data)
        logits = rng.normal(size=(len(ref), len(comp.tags)))
        set_soft_tags(ref, logits - numpy.log(numpy.exp(logits).sum(1, keepdims=True)), comp.tags)
        out.append(Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref))
    return out


@pytest.mark.parametrize("term", TERMS)
def test_each_term_alone_reaches_transformer(trained_nlp, paired_examples, term):
    examples = _with_soft_targets(trained_nlp, paired_examples) if term == "distill" else paired_examples
    losses, grads = _grad_after_update(trained_nlp, examples, {term: 1.0})
    assert losses[f"concner:{term}"] > 0
    assert sum(float(g.abs().sum()) for g in grads) > 0
    # the embedding matrix itself receives gradient
    assert any(float(g.abs().sum()) > 0 for g in grads[:1])


@pytest.mark.parametrize("term", TERMS)
def test_weight_zero_sends_exactly_zero(trained_nlp, paired_examples, term):
    examples = _with_soft_targets(trained_nlp, paired_examples) if term == "distill" else paired_examples
    _, grads = _grad_after_update(trained_nlp, examples, {term: 0.0})
    assert all(torch.count_nonzero(g) == 0 for g in grads)


def test_zero_weight_term_leaves_ce_gradient_unchanged(trained_nlp, paired_examples):
    _, ce_only = _grad_after_update(trained_nlp, paired_examples, {"ce": 1.0})
    _, ce_plus_zero = _grad_after_update(trained_nlp, paired_examples, {"ce": 1.0, "label": 0.0, "trans": 0.0})
    _, ce_plus_label = _grad_after_update(trained_nlp, paired_examples, {"ce": 1.0, "label": 1.0})
    assert all(torch.equal(a, b) for a, b in zip(ce_only, ce_plus_zero))
    assert not all(torch.equal(a, b) for a, b in zip(ce_only, ce_plus_label))


def test_labels_learned_and_tags(trained_nlp, tiny_bert):
    comp = trained_nlp.get_pipe("concner")
    assert comp.labels == ["LOC", "ORG", "PER"]
    assert comp.tags == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert make_nlp(tiny_bert).get_pipe("concner").loss_terms == ["ce", "label", "trans"]
    assert make_nlp(tiny_bert, "baseline_src.cfg").get_pipe("concner").loss_terms == ["ce"]


def test_viterbi_never_starts_or_switches_with_i():
    tags = tags_for_labels(["LOC", "PER"])  # O B-LOC I-LOC B-PER I-PER
    lp = numpy.log(numpy.full((3, 5), 0.01))
    lp[0, 2] = lp[1, 4] = lp[2, 2] = numpy.log(0.9)  # argmax would be I-LOC I-PER I-LOC
    path = [tags[i] for i in viterbi_decode(lp, allowed_transitions(tags), allowed_starts(tags))]
    assert path[0] != "I-LOC" and not path[0].startswith("I-")
    for prev, cur in zip(path, path[1:]):
        assert not cur.startswith("I-") or prev[2:] == cur[2:]
    free = numpy.log(numpy.full((2, 5), 0.01))
    free[0, 3] = free[1, 4] = numpy.log(0.9)
    assert [tags[i] for i in viterbi_decode(free, allowed_transitions(tags), allowed_starts(tags))] == ["B-PER", "I-PER"]


def test_predict_writes_valid_ents_and_roundtrips(trained_nlp, tmp_path):
    texts = ["Angela Merkel met Emmanuel Macron in Paris .", "", "Siemens", "x " * 300]
    docs = list(trained_nlp.pipe(texts))
    assert len(docs[1]) == 0 and docs[1].ents == ()
    for doc in docs:
        for ent in doc.ents:
            assert ent.label_ in {"LOC", "ORG", "PER"} and len(ent) > 0
    trained_nlp.to_disk(tmp_path / "nlp")
    nlp2 = spacy.load(tmp_path / "nlp")
    for a, b in zip(docs, nlp2.pipe(texts)):
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
    assert nlp2.get_pipe("concner").labels == ["LOC", "ORG", "PER"]


def test_scores_with_spacy_scorer(trained_nlp, paired_examples):
    scores = trained_nlp.evaluate(paired_examples)
    assert {"ents_p", "ents_r", "ents_f", "ents_per_type"} <= set(scores)


def test_every_test_starts_from_fixed_seeds():
    """conftest's autouse fixture: model set-up never depends on which tests ran before."""
    assert random.random() == random.Random(0).random()
    assert numpy.random.random() == numpy.random.RandomState(0).random_sample()
    assert torch.rand(1).item() == torch.rand(1, generator=torch.Generator().manual_seed(0)).item()


def test_no_labels_is_clear_error(tiny_bert):
    nlp = make_nlp(tiny_bert)
    doc = Doc(nlp.vocab, words=["nothing", "here"], ents=["O", "O"])
    with pytest.raises(ValueError, match="No entity labels"):
        nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=["nothing", "here"]), doc)])


def test_soft_target_length_mismatch_is_error(trained_nlp):
    comp = trained_nlp.get_pipe("concner")
    ref = Doc(trained_nlp.vocab, words=["a", "b"])
    set_soft_tags(ref, numpy.zeros((2, len(comp.tags))), comp.tags)
    ref.user_data["concner.soft_tags"]["shape"] = [3, len(comp.tags)]
    ref.user_data["concner.soft_tags"]["data"] = numpy.zeros((3, len(comp.tags)), "float16").tobytes()
    with pytest.raises(ValueError, match="misaligned"):
        trained_nlp.update([Example(Doc(trained_nlp.vocab, words=["a", "b"]), ref)], sgd=False)
