"""spacy_concner.AdamW.v1: torch's fused AdamW behind thinc's Optimizer, and the device-agnostic loss."""
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from thinc.api import Adam, torch2xp

from spacy_concner.ml.architecture import ConCNEROutput
from spacy_concner.ml.dual_contrastive_loss import DualContrastiveLoss, Targets
from spacy_concner.training.optimizer import TorchAdamW, create_torch_adamw

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("baseline_src.cfg", "baseline_src_trans.cfg", "concner.cfg", "distill.cfg", "finetune_domain.cfg")


def _clipped(grad: numpy.ndarray, clip: float) -> numpy.ndarray:
    norm = numpy.linalg.norm(grad)
    return grad * min(1.0, clip / norm)


def test_matches_torch_adamw_with_per_parameter_clipping():
    """Five steps on two arrays equal torch.optim.AdamW fed thinc-style (per-parameter) clipped grads."""
    rng = numpy.random.default_rng(0)
    weights = [rng.normal(size=(50, 20)).astype("float32"), rng.normal(size=(20,)).astype("float32")]
    ours = create_torch_adamw(1e-2, L2=0.01, grad_clip=1.0)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in weights]
    reference = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01, eps=1e-8)
    for _ in range(5):
        for i, (w, p) in enumerate(zip(weights, params)):
            grad = (rng.normal(size=w.shape) * 3).astype("float32")
            p.grad = torch.tensor(_clipped(grad, 1.0))
            new_w, new_g = ours((7, f"p{i}"), w, grad)
            assert new_w is w and new_g is grad  # updated in place
            assert not grad.any()  # thinc layers expect their gradient zeroed
        reference.step()
    for w, p in zip(weights, params):
        numpy.testing.assert_allclose(w, p.detach().numpy(), atol=1e-6)
    assert ours.nr_update[(7, "p0")] == 5


def test_no_clip_and_coupled_l2():
    """grad_clip=0 leaves large gradients alone; L2_is_weight_decay=False adds L2*w to the gradient."""
    w = numpy.ones((4,), dtype="float32")
    grad = numpy.full((4,), 100.0, dtype="float32")
    opt = create_torch_adamw(0.1, L2=0.5, grad_clip=0.0, L2_is_weight_decay=False)
    p = torch.nn.Parameter(torch.ones(4))
    p.grad = torch.full((4,), 100.0) + 0.5 * p.detach()
    reference = torch.optim.Adam([p], lr=0.1, eps=1e-8)
    opt((0, "w"), w, grad)
    reference.step()
    numpy.testing.assert_allclose(w, p.detach().numpy(), atol=1e-6)


def test_leaves_torch_owned_gradients_to_the_shim():
    """A view of a torch gradient (what thinc's PyTorchShim passes) is not zeroed twice."""
    param = torch.ones(3)
    grad = torch.full((3,), 2.0)
    before = param.clone()
    create_torch_adamw(0.1, grad_clip=0.0)((1, "w"), torch2xp(param), torch2xp(grad))
    assert (param < before).all()  # the torch tensor itself was updated, no copy
    assert (grad != 0).all()


def test_first_step_agrees_with_thinc_adam():
    """Adam's first step is about lr * sign(grad) in both implementations."""
    rng = numpy.random.default_rng(1)
    w1 = rng.normal(size=(30,)).astype("float32")
    w2 = w1.copy()
    g = rng.normal(size=(30,)).astype("float32")
    create_torch_adamw(1e-3, L2=0.0, grad_clip=0.0)((0, "w"), w1, g.copy())
    Adam(1e-3, L2=0.0, grad_clip=0.0, use_averages=False)((0, "w"), w2, g.copy())
    numpy.testing.assert_allclose(w1, w2, atol=1e-6)


def test_radam_is_refused():
    with pytest.raises(ValueError, match="RAdam"):
        TorchAdamW(1e-3, use_radam=True)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_configs_use_it_and_schedules_step(cfg):
    config = spacy.util.load_config(ROOT / "configs" / cfg, interpolate=True)
    opt = spacy.util.registry.resolve({"o": config["training"]["optimizer"]})["o"]
    assert isinstance(opt, TorchAdamW)
    first = opt.learn_rate
    for _ in range(5):
        opt.step_schedules()
    assert opt.learn_rate != first  # warm-up schedule advanced by spaCy's loop


def test_training_step_moves_transformer_weights(tiny_bert, corpus_docbins):
    """nlp.update with the optimizer changes the transformer's torch weights in place."""
    from spacy_concner.training.readers import create_paired_corpus

    config = spacy.util.load_config(ROOT / "configs" / "concner.cfg", overrides={
        "paths.transformer": str(tiny_bert), "initialize.after_init.freeze_embeddings": False}, interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    reader = create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])
    examples = list(reader(nlp))[:8]
    nlp.initialize(lambda: examples)
    opt = spacy.util.registry.resolve({"o": config["training"]["optimizer"]})["o"]
    for _ in range(3):
        opt.step_schedules()  # leave the zero learning rate of the warm-up's first step
    hf = [s._model for n in nlp.get_pipe("transformer").model.walk() for s in n.shims][0]
    emb = hf.get_input_embeddings().weight
    before = emb.detach().clone()
    nlp.update(examples, sgd=False, drop=0.0)  # the order of `spacy train`: gradients, then updates
    for _, proc in nlp.pipeline:
        proc.finish_update(opt)
    assert emb.grad is None or not emb.grad.any()  # gradient consumed and zeroed
    moved = (emb.detach() - before).abs().sum(dim=1)
    # rows of the batch's word pieces take an Adam step; the others only shrink by weight decay
    assert float(moved.max()) > 0 and float(moved.max()) > 100 * float(moved.median())


def _output(xp_dtype):
    rng = numpy.random.default_rng(0)
    lengths = numpy.array([2, 1, 2, 1], dtype="int32")
    return ConCNEROutput(
        rng.normal(size=(6, 5)).astype(xp_dtype),
        rng.normal(size=(6, 4)).astype(xp_dtype),
        rng.normal(size=(4, 4)).astype(xp_dtype),
        lengths,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_returns_gradients_of_the_type_it_was_given(dtype):
    out = _output(dtype)
    targets = Targets(tag_ids=numpy.array([0, 1, 2, 0, 1, 2]), pair_ids=numpy.array([0, 0, 1, 1]))
    values, grads = DualContrastiveLoss(label_weight=0.5, trans_weight=0.5)(out, targets)
    assert set(values) == {"ce", "label", "trans"}
    for given, grad in zip(out[:3], grads[:3]):
        assert type(grad) is type(given) and grad.dtype == given.dtype and grad.shape == given.shape
        assert numpy.abs(grad).sum() > 0
    assert grads.lengths is out.lengths


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU and cupy")
def test_loss_on_gpu_stays_on_gpu():
    cupy = pytest.importorskip("cupy")
    out = ConCNEROutput(*(cupy.asarray(a) for a in _output("float32")[:3]), numpy.array([2, 1, 2, 1]))
    targets = Targets(tag_ids=numpy.array([0, 1, 2, 0, 1, 2]), pair_ids=numpy.array([0, 0, 1, 1]))
    _, grads = DualContrastiveLoss(label_weight=0.5, trans_weight=0.5)(out, targets)
    assert all(isinstance(g, cupy.ndarray) for g in grads[:3])
