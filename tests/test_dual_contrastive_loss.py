"""DualContrastiveLoss wiring, by value: which token rows and labels reach SupCon, which sentence rows
and ids reach InfoNCE, what include_o / the O cap / positive_by="type" change, and that each term's
value and gradient are the pure functions' (spacy_concner.ml.loss_functions) on exactly those inputs."""
from typing import Dict, List

import numpy
import pytest
import torch
import torch.nn.functional as F

from spacy_concner.ml import dual_contrastive_loss as dcl
from spacy_concner.ml.architecture import ConCNEROutput
from spacy_concner.ml.dual_contrastive_loss import DualContrastiveLoss, Targets
from spacy_concner.ml.loss_functions import soft_cross_entropy, supervised_contrastive, translation_contrastive

# tags O, B-LOC, I-LOC, B-PER, I-PER; entity types O=0, LOC=1, PER=2
ENTITY_TYPES = numpy.array([0, 1, 1, 2, 2])
# 3 docs (4 + 3 + 5 tokens); doc 0 and doc 1 are a pair, doc 2 is alone; -1: no gold label
TAG_IDS = numpy.array([1, 2, 0, -1,   3, 0, 0,   0, 4, -1, 1, 0])
PAIR_IDS = numpy.array([0, 0, 1])
ENTITY_ROWS = [0, 1, 4, 8, 10]
O_ROWS = [2, 5, 6, 7, 11]


def _output(seed: int = 0) -> ConCNEROutput:
    rng = numpy.random.default_rng(seed)
    return ConCNEROutput(rng.normal(size=(12, 5)).astype("float32"), rng.normal(size=(12, 4)).astype("float32"),
                         rng.normal(size=(3, 4)).astype("float32"), numpy.array([4, 3, 5], dtype="int32"))


def _targets(**kwargs) -> Targets:
    return Targets(tag_ids=TAG_IDS, pair_ids=PAIR_IDS, entity_types=ENTITY_TYPES, **kwargs)


@pytest.fixture
def spy(monkeypatch) -> Dict[str, List]:
    """Record what the loss hands the pure functions (and let them compute as usual)."""
    calls: Dict[str, List] = {"label": [], "trans": []}

    def record(name, fn):
        def wrapper(z, labels, temperature):
            calls[name].append((z.detach().numpy().copy(), labels.numpy().copy(), temperature))
            return fn(z, labels, temperature)
        return wrapper

    monkeypatch.setattr(dcl, "supervised_contrastive", record("label", supervised_contrastive))
    monkeypatch.setattr(dcl, "translation_contrastive", record("trans", translation_contrastive))
    return calls


def _supcon(rows: numpy.ndarray, labels: numpy.ndarray, t: float) -> float:
    return float(supervised_contrastive(torch.tensor(rows), torch.tensor(labels), t))


def test_label_term_gets_every_labelled_token_and_its_tag(spy):
    out = _output()
    loss = DualContrastiveLoss(ce_weight=0, trans_weight=0, label_weight=0.5, temperature=0.3, max_o_tokens=100)
    values, grads = loss(out, _targets())
    [(z, labels, t)] = spy["label"]
    rows = sorted(ENTITY_ROWS + O_ROWS)  # tokens without a gold label (3, 9) never take part
    numpy.testing.assert_array_equal(z, out.token_proj[rows])
    numpy.testing.assert_array_equal(labels, TAG_IDS[rows])
    assert t == 0.3 and spy["trans"] == []
    assert values == {"label": pytest.approx(_supcon(out.token_proj[rows], TAG_IDS[rows], 0.3), rel=1e-6)}
    # the gradient reaches exactly those rows, weighted by label_weight
    z_ref = torch.tensor(out.token_proj, requires_grad=True)
    (0.5 * supervised_contrastive(z_ref[rows], torch.tensor(TAG_IDS[rows]), 0.3)).backward()
    numpy.testing.assert_allclose(grads.token_proj, z_ref.grad.numpy(), atol=1e-6)
    assert not grads.token_proj[[3, 9]].any() and grads.sent_proj is None
    assert not grads.logits.any()  # ce_weight 0: nothing on the logits


def test_include_o_false_leaves_out_every_o_token(spy):
    out = _output(1)
    values, _ = DualContrastiveLoss(ce_weight=0, trans_weight=0, include_o=False)(out, _targets())
    [(z, labels, _)] = spy["label"]
    numpy.testing.assert_array_equal(z, out.token_proj[ENTITY_ROWS])
    numpy.testing.assert_array_equal(labels, TAG_IDS[ENTITY_ROWS])
    assert values["label"] == pytest.approx(_supcon(out.token_proj[ENTITY_ROWS], TAG_IDS[ENTITY_ROWS], 0.1), rel=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_o_cap_keeps_every_entity_and_at_most_max_o_tokens_of_o(spy, seed):
    out = _output(2)
    DualContrastiveLoss(ce_weight=0, trans_weight=0, max_o_tokens=2, seed=seed)(out, _targets())
    [(z, labels, _)] = spy["label"]
    chosen = [int(numpy.flatnonzero((out.token_proj == row).all(axis=1))[0]) for row in z]
    assert chosen == sorted(chosen)  # in token order
    assert [r for r in chosen if r in ENTITY_ROWS] == ENTITY_ROWS
    o_chosen = [r for r in chosen if r not in ENTITY_ROWS]
    assert len(o_chosen) == 2 and set(o_chosen) <= set(O_ROWS)
    numpy.testing.assert_array_equal(labels, TAG_IDS[chosen])


def test_entity_cap_samples_entities_too(spy):
    out = _output(3)
    DualContrastiveLoss(ce_weight=0, trans_weight=0, include_o=False, max_entity_tokens=3)(out, _targets())
    [(z, labels, _)] = spy["label"]
    chosen = [int(numpy.flatnonzero((out.token_proj == row).all(axis=1))[0]) for row in z]
    assert len(chosen) == 3 and set(chosen) <= set(ENTITY_ROWS) and chosen == sorted(chosen)


def test_positive_by_type_gives_b_and_i_of_a_type_one_label(spy):
    out = _output(4)
    rows = sorted(ENTITY_ROWS + O_ROWS)
    by_tag, _ = DualContrastiveLoss(ce_weight=0, trans_weight=0, max_o_tokens=100)(out, _targets())
    by_type, _ = DualContrastiveLoss(ce_weight=0, trans_weight=0, max_o_tokens=100, positive_by="type")(
        out, _targets())
    (_, tag_labels, _), (z, type_labels, _) = spy["label"]
    numpy.testing.assert_array_equal(tag_labels, TAG_IDS[rows])
    numpy.testing.assert_array_equal(type_labels, ENTITY_TYPES[TAG_IDS[rows]])
    assert list(type_labels) == [1, 1, 0, 2, 0, 0, 0, 2, 1, 0]  # B-LOC and I-LOC now positives of each other
    assert by_type["label"] == pytest.approx(_supcon(z, ENTITY_TYPES[TAG_IDS[rows]], 0.1), rel=1e-6)
    assert by_type["label"] != pytest.approx(by_tag["label"])


def test_trans_term_gets_every_sentence_and_its_pair_id(spy):
    out = _output(5)
    values, grads = DualContrastiveLoss(ce_weight=0, label_weight=0, trans_weight=0.7, temperature=0.2)(
        out, _targets())
    [(z, ids, t)] = spy["trans"]
    numpy.testing.assert_array_equal(z, out.sent_proj)
    numpy.testing.assert_array_equal(ids, PAIR_IDS)
    assert t == 0.2 and spy["label"] == []
    z_ref = torch.tensor(out.sent_proj, requires_grad=True)
    expected = translation_contrastive(z_ref, torch.tensor(PAIR_IDS), 0.2)
    (0.7 * expected).backward()
    assert values == {"trans": pytest.approx(expected.item(), rel=1e-6)}
    numpy.testing.assert_allclose(grads.sent_proj, z_ref.grad.numpy(), atol=1e-6)
    assert grads.token_proj is None


def test_ce_and_distill_terms_by_value():
    out = _output(6)
    rng = numpy.random.default_rng(0)
    teacher = numpy.log(rng.dirichlet(numpy.ones(5), size=12)).astype("float32")
    mask = numpy.array([True] * 7 + [False] * 5)
    loss = DualContrastiveLoss(label_weight=0, trans_weight=0, distill_weight=0.4, distill_temperature=2.0)
    values, grads = loss(out, _targets(soft_log_probs=teacher, soft_mask=mask))
    logits = torch.tensor(out.logits, requires_grad=True)
    ce = F.cross_entropy(logits, torch.tensor(TAG_IDS), ignore_index=-1)
    distill = soft_cross_entropy(logits, torch.tensor(teacher), 2.0, torch.tensor(mask))
    (ce + 0.4 * distill).backward()
    assert values == {"ce": pytest.approx(ce.item(), rel=1e-6), "distill": pytest.approx(distill.item(), rel=1e-6)}
    numpy.testing.assert_allclose(grads.logits, logits.grad.numpy(), atol=1e-6)
