"""Loss terms against values computed by hand on 2-4 vectors, plus the edge cases."""
import math

import pytest
import torch

from spacy_concner.ml.dual_contrastive_loss import DualContrastiveLoss
from spacy_concner.ml.loss_functions import soft_cross_entropy, supervised_contrastive, translation_contrastive


def _nll(num: float, *den: float) -> float:
    return -math.log(math.exp(num) / sum(math.exp(d) for d in den))


def test_supcon_three_vectors_by_hand():
    z = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])  # norms differ: cosine is used
    loss = supervised_contrastive(z, torch.tensor([0, 0, 1]), temperature=1.0)
    # anchors 0 and 1: positive sim 1, negative sim 0; anchor 2 has no positive -> skipped
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)


def test_supcon_four_vectors_by_hand():
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    t = 0.5  # cos: s01=.6 s02=0 s03=-1 s12=.8 s13=-.6 s23=0
    expected = (
        _nll(0.6 / t, 0.6 / t, 0.0, -1 / t)
        + _nll(0.6 / t, 0.6 / t, 0.8 / t, -0.6 / t)
        + _nll(0.0, 0.0, 0.8 / t, 0.0)
        + _nll(0.0, -1 / t, -0.6 / t, 0.0)
    ) / 4
    loss = supervised_contrastive(z, torch.tensor([0, 0, 1, 1]), temperature=t)
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_supcon_two_positives_averaged():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    loss = supervised_contrastive(z, torch.tensor([7, 7, 7]), temperature=1.0)
    # anchor 0: positives 1 (sim 1) and 2 (sim 0), both in the denominator e + 1
    a0 = (_nll(1, 1, 0) + _nll(0, 1, 0)) / 2
    a2 = _nll(0, 0, 0)  # anchor 2: both others positives with sim 0
    assert loss.item() == pytest.approx((2 * a0 + a2) / 3, abs=1e-6)


def test_translation_contrastive_pairs_by_hand_and_symmetric():
    # sentences 0,1 are a pair, 2,3 are a pair
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.0, -1.0]])
    ids = torch.tensor([10, 10, 20, 20])
    t = 1.0  # s01=.8 s02=0 s03=0 s12=.6 s13=-.6 s23=-1
    expected = (
        _nll(0.8, 0.8, 0.0, 0.0) + _nll(0.8, 0.8, 0.6, -0.6) + _nll(-1, 0.0, 0.6, -1) + _nll(-1, 0.0, -0.6, -1)
    ) / 4
    loss = translation_contrastive(z, ids, t)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    perm = torch.tensor([1, 0, 3, 2])  # swap source and translation roles
    assert translation_contrastive(z[perm], ids[perm], t).item() == pytest.approx(loss.item(), abs=1e-6)


@pytest.mark.parametrize("fn", [supervised_contrastive, translation_contrastive])
def test_no_positives_is_zero_with_zero_gradient(fn):
    z = torch.randn(4, 3, requires_grad=True)
    loss = fn(z, torch.tensor([0, 1, 2, 3]), 0.1)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(z.grad, torch.zeros_like(z))


def test_single_sentence_is_zero():
    z = torch.randn(1, 3, requires_grad=True)
    loss = translation_contrastive(z, torch.tensor([0]), 0.1)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(z.grad, torch.zeros_like(z))


def test_empty_input_is_zero():
    z = torch.zeros(0, 3, requires_grad=True)
    assert supervised_contrastive(z, torch.zeros(0, dtype=torch.long), 0.1).item() == 0.0


@pytest.mark.parametrize("setting", ["temperature", "distill_temperature"])
@pytest.mark.parametrize("value", [0.0, -0.5])
def test_temperature_must_be_positive_when_the_loss_is_configured(setting, value):
    """Checked once, where the config builds the loss (not again in the functions it calls)."""
    with pytest.raises(ValueError, match=f"^{setting} must be > 0, got {value}$"):
        DualContrastiveLoss(**{setting: value})


def test_soft_cross_entropy_by_hand():
    student = torch.tensor([[0.0, math.log(2.0)]])
    teacher = torch.log(torch.tensor([[0.25, 0.75]]))
    loss = soft_cross_entropy(student, teacher, temperature=1.0)
    assert loss.item() == pytest.approx(0.25 * math.log(3) + 0.75 * math.log(1.5), abs=1e-6)
    # T = 2: teacher p ~ sqrt(p), student q = softmax(logits / 2); loss scaled by T^2
    p = [math.sqrt(0.25), math.sqrt(0.75)]
    p = [x / sum(p) for x in p]
    q = [1.0, math.sqrt(2.0)]
    q = [x / sum(q) for x in q]
    expected = 4 * -(p[0] * math.log(q[0]) + p[1] * math.log(q[1]))
    assert soft_cross_entropy(student, teacher, temperature=2.0).item() == pytest.approx(expected, abs=1e-6)


def test_soft_cross_entropy_is_minimal_at_teacher():
    teacher = torch.log_softmax(torch.tensor([[2.0, -1.0, 0.5]]), dim=-1)
    at_teacher = soft_cross_entropy(teacher.clone(), teacher).item()
    off = soft_cross_entropy(torch.tensor([[0.0, 0.0, 0.0]]), teacher).item()
    assert at_teacher < off


def test_soft_cross_entropy_mask():
    student = torch.zeros(2, 2)
    teacher = torch.log(torch.tensor([[0.5, 0.5], [0.9, 0.1]]))
    loss = soft_cross_entropy(student, teacher, mask=torch.tensor([True, False]))
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)
