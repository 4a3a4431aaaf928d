"""The concner component: each loss term's gradients are right and reach the transformer;
decoding; I/O; scores."""
import random
from pathlib import Path
from typing import Sequence

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

from thinc.api import SGD, NumpyOps, set_dropout_rate

from spacy_concner.ml.architecture import ConCNEROutput
from spacy_concner.pipeline.decoding import allowed_starts, allowed_transitions, tags_for_labels, viterbi_decode
from spacy_concner.data.docdata import set_pair, set_soft_tags
from spacy_concner.training.readers import create_paired_corpus

ROOT = Path(__file__).resolve().parents[1]
TERMS = ("ce", "label", "trans", "distill")


def make_nlp(tiny_bert: Path, cfg: str = "concner.cfg", **overrides):
    config = spacy.util.load_config(ROOT / "configs" / cfg, overrides={
        "paths.transformer": str(tiny_bert),
        "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8,
        # every O token takes part in L_label: no sampling, so repeated updates see the same loss
        "components.concner.loss.max_o_tokens": 10_000,
        "initialize.after_init.freeze_embeddings": False,  # the tiny BERT's random embeddings must train (the recipe freezes pretrained ones)
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


def _initialized(tiny_bert, examples):
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: examples)
    return nlp


@pytest.fixture(scope="module")
def trained_nlp(tiny_bert, paired_examples):
    return _initialized(tiny_bert, paired_examples)


@pytest.fixture(scope="module")
def all_term_examples(trained_nlp, paired_examples):
    """The paired batch with teacher soft targets added: gold ents, pairs and soft tags at once."""
    return _with_soft_targets(trained_nlp, paired_examples)


def _transformer_grads(nlp):
    trf = nlp.get_pipe("transformer").model
    params = [p for node in trf.walk() for shim in node.shims for p in shim._model.parameters()]
    assert params
    return params


def _set_weights(nlp, weights):
    comp = nlp.get_pipe("concner")
    for term in TERMS:
        setattr(comp.loss, f"{term}_weight", weights.get(term, 0.0))


def _grad_after_update(nlp, examples, weights):
    _set_weights(nlp, weights)
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
        gold = eg.reference
        iob = [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in gold]
        ref = Doc(nlp.vocab, words=[t.text for t in gold], ents=iob)  # keeps the gold ents ...
        ref.user_data.update(gold.user_data)  # ... and the pair id
        logits = rng.normal(size=(len(ref), len(comp.tags)))
        set_soft_tags(ref, logits - numpy.log(numpy.exp(logits).sum(1, keepdims=True)), comp.tags)
        out.append(Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref))
    return out


@pytest.mark.parametrize("term", TERMS)
def test_each_term_alone_reaches_transformer(trained_nlp, all_term_examples, term):
    losses, grads = _grad_after_update(trained_nlp, all_term_examples, {term: 1.0})
    assert losses[f"concner:{term}"] > 0
    assert set(k for k in losses if k.startswith("concner:")) == {f"concner:{term}"}
    # the embedding matrix itself receives gradient
    assert float(grads[0].abs().sum()) > 0


def test_all_weights_zero_send_exactly_zero(trained_nlp, all_term_examples):
    _, grads = _grad_after_update(trained_nlp, all_term_examples, {})
    assert all(torch.count_nonzero(g) == 0 for g in grads)


@pytest.mark.parametrize("term", TERMS)
def test_weight_zero_term_contributes_nothing_with_the_others_on(trained_nlp, all_term_examples, term):
    """Term off, the others on: the gradient is exactly the others' gradients summed (each
    computed alone on the same batch), and differs from the gradient with the term on."""
    others = [t for t in TERMS if t != term]
    losses, without = _grad_after_update(trained_nlp, all_term_examples, {**{t: 1.0 for t in others}, term: 0.0})
    assert f"concner:{term}" not in losses and all(f"concner:{t}" in losses for t in others)
    summed = [torch.zeros_like(g) for g in without]
    for other in others:
        _, alone = _grad_after_update(trained_nlp, all_term_examples, {other: 1.0})
        summed = [a + b for a, b in zip(summed, alone)]
    scale = max(float(g.abs().max()) for g in summed)
    for got, want in zip(without, summed):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * scale)
    _, with_term = _grad_after_update(trained_nlp, all_term_examples, {t: 1.0 for t in TERMS})
    assert max(float((a - b).abs().max()) for a, b in zip(with_term, without)) > 1e-3 * scale


@pytest.mark.parametrize("term", TERMS)
def test_one_sgd_step_on_the_transformer_lowers_each_term(tiny_bert, paired_examples, term):
    """Plain SGD on the transformer only (heads frozen), a step small enough for first order:
    the term falls by lr * |g|^2, the amount its own gradient predicts. A sign error anywhere
    between the loss and the transformer raises it; a scale error breaks the agreement."""
    nlp = _initialized(tiny_bert, paired_examples)
    examples = _with_soft_targets(nlp, paired_examples)
    _set_weights(nlp, {term: 1.0})
    key = f"concner:{term}"
    for p in _transformer_grads(nlp):
        p.grad = None
    before = nlp.update(examples, sgd=False, drop=0.0)[key]
    g2 = sum(float((p.grad.double() ** 2).sum()) for p in _transformer_grads(nlp) if p.grad is not None)
    lr = 0.01 / g2  # predicted decrease: 0.01
    nlp.get_pipe("transformer").finish_update(SGD(lr, L2=0.0, grad_clip=0.0))
    after = nlp.update(examples, sgd=False, drop=0.0)[key]
    assert 0.7 < (before - after) / (lr * g2) < 1.3, (term, before, after, lr * g2)


def _float64_copy(model):
    """The same layers in float64 on plain numpy (BLIS is float32-only): exact enough for
    finite differences with a tiny step."""
    model = model.copy()
    for node in model.walk():
        node.ops = NumpyOps(use_blis=False)
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name).astype("float64"))
    return model


@pytest.mark.parametrize("head", ["logits", "token_proj", "sent_proj"])
def test_heads_backprop_matches_finite_differences(trained_nlp, paired_examples, head):
    """d(sum(R * head output))/dX from the heads' backprop equals central differences along
    random directions of the listener output X (one head at a time, so no error hides)."""
    comp = trained_nlp.get_pipe("concner")
    docs = list(trained_nlp.pipe([eg.reference.text for eg in paired_examples[:4]], disable=["concner"]))
    X = [x.astype("float64") for x in comp.model.get_ref("tok2vec").predict(docs)]
    heads = _float64_copy(comp.model.get_ref("heads"))
    set_dropout_rate(heads, 0.0)
    rng = numpy.random.default_rng(0)
    out, backprop = heads.begin_update(X)
    R = rng.normal(size=getattr(out, head).shape)

    def objective(Xs) -> float:
        return float((getattr(heads.begin_update(Xs)[0], head) * R).sum())

    zeros = {"logits": numpy.zeros_like(out.logits), "token_proj": None, "sent_proj": None}
    dX = backprop(ConCNEROutput(**{**zeros, head: R.copy()}, lengths=out.lengths))  # backprop may work in place
    assert [d.shape for d in dX] == [x.shape for x in X]
    eps = 1e-6
    for _ in range(3):
        V = [rng.normal(size=x.shape) for x in X]
        numeric = (objective([x + eps * v for x, v in zip(X, V)])
                   - objective([x - eps * v for x, v in zip(X, V)])) / (2 * eps)
        analytic = float(sum((d * v).sum() for d, v in zip(dX, V)))
        assert analytic == pytest.approx(numeric, rel=1e-5), (head, analytic, numeric)


def test_pair_ids_group_translations_of_one_sentence(trained_nlp):
    """Targets.pair_ids: same id exactly when two docs share a pair id; docs without one are
    their own group (never merged with each other)."""
    vocab = trained_nlp.vocab
    pairs = ["p1", "p1", "p2", None, "p2", None, "p1"]
    examples = []
    for i, pid in enumerate(pairs):
        ref = Doc(vocab, words=["Ana", "in", "Lima"], ents=["B-PER", "O", "B-LOC"])
        if pid is not None:
            set_pair(ref, pid, "en" if i < 3 else "de")
        examples.append(Example(Doc(vocab, words=["Ana", "in", "Lima"]), ref))
    ids = trained_nlp.get_pipe("concner")._targets(examples).pair_ids
    assert ids.shape == (len(pairs),)
    for i, a in enumerate(pairs):
        for j, b in enumerate(pairs):
            same = i == j or (a is not None and a == b)
            assert (ids[i] == ids[j]) == same, (i, j, ids.tolist())


def test_paired_batch_groups_by_pair(trained_nlp, paired_examples):
    """On the real paired batch: 6 pairs of (English, German) -> 6 groups of exactly two."""
    ids = trained_nlp.get_pipe("concner")._targets(paired_examples).pair_ids
    names = [eg.reference.user_data["concner.pair_id"] for eg in paired_examples]
    assert sorted(numpy.bincount(ids).tolist()) == [2] * 6
    assert all((ids[i] == ids[j]) == (names[i] == names[j]) for i in range(len(names)) for j in range(len(names)))


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


def _force_entities(nlp, texts: Sequence[str] = ()) -> None:
    """Scale the classifier up and bias it away from O, so an untrained model predicts many
    entities (an untrained head predicts none: nothing to compare). Given texts, each tag's bias
    also cancels its mean score on their tokens, so every tag wins somewhere and entities of every
    type appear whatever the random head favours on this platform."""
    layer = nlp.get_pipe("concner").model.get_ref("output_layer")
    layer.set_param("W", layer.get_param("W") * 50)
    b = layer.ops.alloc1f(layer.get_dim("nO"))
    if texts:
        docs = [nlp.make_doc(text) for text in texts]
        for _, proc in nlp.pipeline[:-1]:
            docs = [proc(doc) for doc in docs]
        log_probs = numpy.concatenate(nlp.get_pipe("concner").tag_log_probs(docs))
        b = layer.ops.asarray1f(-log_probs.mean(axis=0))  # per-token constants leave the argmax alone
    b[0] -= 3.0
    layer.set_param("b", b)


def test_predict_writes_valid_ents_and_roundtrips(tiny_bert, paired_examples, tmp_path):
    nlp = _initialized(tiny_bert, paired_examples)
    texts = ["Angela Merkel met Emmanuel Macron in Paris .", "", "Siemens", "x " * 300,
             "Deutsche Bahn opened a new office in Madrid ."]
    _force_entities(nlp, texts)
    comp = nlp.get_pipe("concner")
    docs = list(nlp.pipe(texts))
    assert len(docs[1]) == 0 and docs[1].ents == ()
    ents = [(e.start, e.end, e.label_) for doc in docs for e in doc.ents]
    assert len(ents) >= 10 and {label for *_, label in ents} == {"LOC", "ORG", "PER"}, ents
    for doc in docs:
        for ent in doc.ents:
            assert ent.label_ in {"LOC", "ORG", "PER"} and len(ent) > 0
    nlp.to_disk(tmp_path / "nlp")
    nlp2 = spacy.load(tmp_path / "nlp")
    comp2 = nlp2.get_pipe("concner")
    assert comp2.labels == ["LOC", "ORG", "PER"] and comp2.tags == comp.tags
    docs2 = list(nlp2.pipe(texts))
    for a, b in zip(docs, docs2):
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
    for a, b in zip(comp.tag_log_probs(docs), comp2.tag_log_probs(docs2)):
        numpy.testing.assert_allclose(a, b, atol=1e-4)


def test_no_entity_starts_or_ends_on_whitespace(tiny_bert, paired_examples):
    """300 lines of "Berlin": the scores favour an entity tag on many "\n" tokens, yet no entity
    starts, ends or runs across one (spaCy's NER never puts one there); the words keep theirs."""
    nlp = _initialized(tiny_bert, paired_examples)
    _force_entities(nlp)
    comp = nlp.get_pipe("concner")
    text = "Berlin\n" * 300 + "Paris  Madrid \n"
    doc = nlp.make_doc(text)
    assert sum(t.is_space for t in doc) == 302
    for name, proc in nlp.pipeline[:-1]:
        doc = proc(doc)
    space = numpy.array([t.is_space for t in doc])
    raw = comp.tag_log_probs([doc])[0]
    assert (raw[space].argmax(axis=1) != 0).sum() > 100  # the model alone would tag the newlines
    doc = comp(doc)
    assert len(doc.ents) > 100
    assert all(not t.is_space for ent in doc.ents for t in ent)


def test_scores_with_spacy_scorer_on_a_hand_case(trained_nlp):
    """Two sentences with known gold and predicted tags; P/R/F overall and per type by hand."""
    comp = trained_nlp.get_pipe("concner")
    cases = [
        (["Ana", "met", "Bob", "in", "Lima"], ["B-PER", "O", "B-PER", "O", "B-LOC"],
         ["B-PER", "O", "O", "O", "B-LOC"]),  # Ana right, Bob missed, Lima right (last token)
        (["Angela", "Merkel", "visited", "Siemens", "."], ["B-PER", "I-PER", "O", "B-ORG", "O"],
         ["B-PER", "I-PER", "O", "B-LOC", "O"]),  # Angela Merkel right, Siemens with the wrong type
    ]
    examples = []
    for words, gold, pred in cases:
        doc = Doc(trained_nlp.vocab, words=words)
        comp.set_annotations([doc], [numpy.array([comp.tags.index(t) for t in pred])])
        examples.append(Example(doc, Doc(trained_nlp.vocab, words=words, ents=gold)))
    scores = comp.score(examples)
    # 4 predicted, 3 right; 5 gold
    assert scores["ents_p"] == pytest.approx(3 / 4) and scores["ents_r"] == pytest.approx(3 / 5)
    assert scores["ents_f"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    per_type = scores["ents_per_type"]
    assert per_type["PER"] == pytest.approx({"p": 1.0, "r": 2 / 3, "f": 0.8})
    assert per_type["LOC"] == pytest.approx({"p": 0.5, "r": 1.0, "f": 2 / 3})
    assert per_type["ORG"] == pytest.approx({"p": 0.0, "r": 0.0, "f": 0.0})


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
