"""spacy_concner/compat.py: the private internals we rely on, pinned to the releases they were checked on."""
import numpy
import pytest
import torch
from thinc.api import PyTorchWrapper, SGD
from thinc.shims import PyTorchShim

from spacy_concner import compat


def test_installed_releases_are_the_ones_compat_was_checked_against():
    """Fails on any other release of torch, thinc, spacy-transformers or transformers: re-read every
    internal in spacy_concner/compat.py against it, then move ``TESTED`` on."""
    assert compat.untested_versions() == {}


def test_an_other_release_is_reported(monkeypatch):
    monkeypatch.setitem(compat.TESTED, "thinc", "8.2.0")
    monkeypatch.setitem(compat.TESTED, "no-such-package", "1.0")
    found = compat.untested_versions()
    assert found["thinc"][0] == "8.2.0" and found["thinc"][1] != "8.2.0"
    assert found["no-such-package"] == ("1.0", None)


def test_fused_adamw_matches_torch_adamw():
    """The kernel call gives what torch's own AdamW(fused=True) step gives."""
    torch.manual_seed(0)
    w, g = torch.randn(7), torch.randn(7)
    ref = w.clone().requires_grad_(True)
    ref.grad = g.clone()
    opt = torch.optim.AdamW([ref], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, fused=True)
    ours, m, v, step = w.clone(), torch.zeros(7), torch.zeros(7), torch.zeros(())
    for _ in range(3):
        opt.step()
        step += 1
        compat.fused_adamw_(ours, g.clone(), m, v, step, lr=0.01, beta1=0.8, beta2=0.99, weight_decay=0.1,
                            eps=1e-6, grad_scale=None)
    torch.testing.assert_close(ours, ref.detach())


def test_shim_internals_and_the_copied_finish_update():
    """``_model``/``_mixed_precision``/``_grad_scaler`` are where compat reads them, and the copied
    finish_update updates like thinc's own, leaving no gradient behind."""
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    shims = [PyTorchWrapper(m).shims[0] for m in (a, b)]
    assert all(isinstance(s, PyTorchShim) and compat.shim_module(s) is m for s, m in zip(shims, (a, b)))
    assert compat.shim_mixed_precision(shims[0]) is False
    for module in (a, b):
        module(torch.ones(4, 3)).sum().backward()
    shims[0].finish_update(SGD(0.5))
    compat.finish_update_releasing_gradients(shims[1], SGD(0.5))
    numpy.testing.assert_allclose(a.weight.detach().numpy(), b.weight.detach().numpy())
    assert float(a.weight.grad.abs().sum()) == 0 and b.weight.grad is None
    compat.set_shim_module(shims[1], a)
    assert compat.shim_module(shims[1]) is a


def test_replace_shim_class_refuses_an_unrelated_class(tiny_bert):
    from spacy_concner.ml.transformer import ConCNERShim, create_transformer_model
    from spacy_transformers.span_getters import configure_strided_spans

    model = create_transformer_model(str(tiny_bert), configure_strided_spans(64, 48), sort_by_length=False)
    assert type(compat.hf_shim(model)).__name__ == "HFShim"
    with pytest.raises(TypeError, match="not a subclass"):
        compat.replace_shim_class(model, PyTorchShim)
    compat.replace_shim_class(model, ConCNERShim)
    assert type(compat.hf_shim(model)) is ConCNERShim


def test_in_spacy_transformers_tokenize_reads_the_call_stack():
    assert compat.in_spacy_transformers_tokenize() is False

    def huggingface_tokenize():  # a function of that name outside spacy_transformers does not count
        return compat.in_spacy_transformers_tokenize()

    assert huggingface_tokenize() is False
