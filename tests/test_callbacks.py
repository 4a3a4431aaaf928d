"""spacy_concner.freeze_embeddings.v1: the embedding matrix stops training, the rest does not."""
import numpy
import pytest
import torch
from thinc.api import Adam

import spacy_concner.training.callbacks  # noqa: F401  (registers the callback if the entry point is missing)
from spacy_concner.training.callbacks import hf_models

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


def _listener_output(nlp, docs):
    trf = nlp.get_pipe("transformer")
    return [numpy.array(d._.trf_data.model_output.last_hidden_state) for d in trf.pipe([nlp.make_doc(t) for t in docs])]


def test_autocast_runs_bfloat16_and_returns_float32(tiny_bert, paired_examples):
    """Same weights, with and without the callback: float32 outputs that differ only by bf16 rounding."""
    from spacy_concner.training.optimizer import create_torch_adamw

    texts = [eg.reference.text for eg in paired_examples[:4]]
    plain = make_nlp(tiny_bert)
    plain.initialize(lambda: paired_examples)
    cast = make_nlp(tiny_bert, **{"initialize.after_init": {"@callbacks": "spacy_concner.autocast.v1"}})
    cast.initialize(lambda: paired_examples)
    cast.get_pipe("transformer").from_bytes(plain.get_pipe("transformer").to_bytes())
    hf = hf_models(cast, "transformer")[0]
    from spacy_concner.training.callbacks import autocast_forward
    autocast_forward(hf, torch.bfloat16)  # from_bytes rebuilt the module: cast it again
    seen = []
    hook = hf.encoder.layer[0].attention.self.query.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    ours, ref = _listener_output(cast, texts), _listener_output(plain, texts)
    hook.remove()
    assert seen and all(d == torch.bfloat16 for d in seen)
    for a, b in zip(ours, ref):
        assert a.dtype == b.dtype == "float32"
        assert 0 < abs(a - b).max() < 0.1 * abs(b).max()
    cast.update(paired_examples, sgd=False, drop=0.0)  # backward through the bf16 graph
    grads = [p.grad for p in hf.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    opt = create_torch_adamw(1e-3)
    for _, proc in cast.pipeline:
        proc.finish_update(opt)


def test_autocast_bad_dtype():
    with pytest.raises(ValueError, match="dtype must be one of"):
        spacy_concner.training.callbacks.make_autocast(dtype="int8")


def test_release_gradients_same_updates_without_kept_gradients(tiny_bert, paired_examples):
    """Two steps with gradients released equal two steps with gradients zeroed; no .grad survives."""
    from spacy_concner.training.optimizer import create_torch_adamw

    def two_steps(release: bool):
        levers = {"@callbacks": "spacy_concner.transformer_levers.v1", "release_gradients": release}
        nlp = make_nlp(tiny_bert, **{"initialize.after_init": levers, "components.concner.model.dropout": 0.0})
        torch.manual_seed(0)
        numpy.random.seed(0)
        nlp.initialize(lambda: paired_examples)
        opt = create_torch_adamw(1e-3)
        for _ in range(2):
            nlp.update(paired_examples, sgd=False, drop=0.0)
            for _, proc in nlp.pipeline:
                proc.finish_update(opt)
        return hf_models(nlp, "transformer")[0]

    released, kept = two_steps(True), two_steps(False)
    assert all(p.grad is None for p in released.parameters())
    assert any(p.grad is not None for p in kept.parameters())
    for (name, a), (_, b) in zip(released.named_parameters(), kept.named_parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)
    from transformers import AutoModel

    start = dict(AutoModel.from_pretrained(str(tiny_bert)).named_parameters())
    query = "encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(dict(released.named_parameters())[query], start[query])  # it did train


def test_autocast_auto_follows_the_hardware(monkeypatch):
    """"auto": bfloat16 where the device has it natively, float32 (no autocast) elsewhere."""
    from spacy_concner.training import callbacks

    seen = []
    module = torch.nn.Linear(4, 4)
    original = module.forward
    module.forward = lambda x: {"y": (seen.append(torch.is_autocast_enabled("cpu")), original(x))[1]}
    callbacks.autocast_forward(module, None)
    for native in (True, False):
        monkeypatch.setattr(callbacks, "native_bfloat16", lambda device, native=native: native)
        out = module(torch.ones(2, 4))
        assert out["y"].dtype == torch.float32
    assert seen == [True, False]
