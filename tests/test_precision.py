"""Inference levers of spacy_concner.TransformerModel.v1: bfloat16 autocast and int8 Linear layers.

Each lever changes how predictions are computed, never the float32 weights that train and are saved.
"""
import numpy
import pytest
import spacy
import torch
from thinc.api import SGD

from spacy_concner.ml.precision import check_inference_levers
from spacy_concner.ml.transformer import ConCNERShim
from spacy_concner.training.callbacks import hf_models

from test_component import make_nlp, paired_examples  # noqa: F401  (fixture)
from test_transformer import TEXTS

DTYPE = "components.transformer.model.inference_dtype"
QUANTIZE = "components.transformer.model.quantize"


def _like(reference, tiny_bert, paired_examples, **overrides):
    """A pipeline with ``overrides`` and the weights of ``reference``."""
    nlp = make_nlp(tiny_bert, **overrides)
    nlp.initialize(lambda: paired_examples)
    nlp.from_bytes(reference.to_bytes())
    return nlp


@pytest.fixture(scope="module")
def fp32(tiny_bert, paired_examples):
    nlp = make_nlp(tiny_bert)
    nlp.initialize(lambda: paired_examples)
    return nlp


def _hidden(nlp):
    docs = list(nlp.pipe(TEXTS, batch_size=len(TEXTS)))
    out = []
    for doc in docs:
        trf = doc._.trf_data
        mask = numpy.asarray(trf.wordpieces.attention_mask, dtype=bool)
        out.append(numpy.asarray(trf.model_output.last_hidden_state)[mask])
    return numpy.concatenate(out)


def _shim(nlp) -> ConCNERShim:
    return nlp.get_pipe("transformer").model.layers[0].shims[0]


def test_bfloat16_predicts_close_to_float32_in_float32(fp32, tiny_bert, paired_examples):
    bf16 = _like(fp32, tiny_bert, paired_examples, **{DTYPE: "bfloat16"})
    reference, low = _hidden(fp32), _hidden(bf16)
    assert low.dtype == numpy.float32  # thinc never sees bfloat16
    assert not numpy.array_equal(low, reference)  # autocast did run
    # bfloat16 keeps 8 bits of mantissa: errors of a few 1e-2 on unit-scale hidden states
    numpy.testing.assert_allclose(low, reference, atol=0.1)
    assert numpy.abs(low - reference).mean() < 0.02


def test_int8_predicts_close_to_float32_and_keeps_the_float_weights(fp32, tiny_bert, paired_examples):
    int8 = _like(fp32, tiny_bert, paired_examples, **{QUANTIZE: "int8"})
    saved = int8.get_pipe("transformer").to_bytes()
    reference, low = _hidden(fp32), _hidden(int8)
    assert not numpy.array_equal(low, reference)
    numpy.testing.assert_allclose(low, reference, atol=0.25)
    assert numpy.abs(low - reference).mean() < 0.05
    hf = hf_models(int8, "transformer")[0]
    assert all(type(m) is not torch.nn.Linear for m in _shim(int8)._int8[1].modules())  # the copy is int8
    assert any(type(m) is torch.nn.Linear for m in hf.modules())  # the model itself is not
    assert _shim(int8)._int8[1].get_input_embeddings().weight is hf.get_input_embeddings().weight  # shared
    assert int8.get_pipe("transformer").to_bytes() == saved  # what is saved is the float32 model


def test_int8_copy_follows_training(fp32, tiny_bert, paired_examples):
    int8 = _like(fp32, tiny_bert, paired_examples, **{QUANTIZE: "int8"})
    before = _hidden(int8)
    copy = _shim(int8)._int8[1]
    int8.update(paired_examples, sgd=False, drop=0.0)
    int8.get_pipe("transformer").finish_update(SGD(0.5, L2=0.0, grad_clip=0.0))
    after = _hidden(int8)
    assert _shim(int8)._int8[1] is not copy  # rebuilt from the updated weights
    assert not numpy.allclose(before, after, atol=1e-3)


def test_training_is_float32_whatever_the_inference_dtype(fp32, tiny_bert, paired_examples):
    bf16 = _like(fp32, tiny_bert, paired_examples, **{DTYPE: "bfloat16"})
    for nlp in (fp32, bf16):
        for module in hf_models(nlp, "transformer")[0].modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    docs = [eg.predicted for eg in paired_examples[:4]]
    outputs = []
    for nlp in (fp32, bf16):
        trf, _ = nlp.get_pipe("transformer").model.begin_update(docs)
        hidden = trf.model_output.last_hidden_state
        outputs.append(hidden.detach().numpy() if torch.is_tensor(hidden) else numpy.asarray(hidden))
    assert outputs[0].dtype == numpy.float32
    numpy.testing.assert_array_equal(outputs[0], outputs[1])


def test_levers_load_from_the_saved_config_and_can_be_overridden(fp32, tmp_path):
    fp32.to_disk(tmp_path / "model")
    assert _shim(spacy.load(tmp_path / "model")).quantize is None
    loaded = spacy.load(tmp_path / "model", config={"components": {"transformer": {"model": {"quantize": "int8"}}}})
    assert _shim(loaded).quantize == "int8"
    list(loaded.pipe(TEXTS))
    assert _shim(loaded)._int8[1] is not None  # it predicted with the int8 copy


@pytest.mark.parametrize("dtype,quantize,message", [
    ("float64", None, "inference_dtype must be one of"),
    ("float32", "int4", "quantize must be null or \"int8\""),
    ("bfloat16", "int8", "cannot be combined"),
])
def test_bad_levers_are_config_errors(dtype, quantize, message, tiny_bert):
    with pytest.raises(ValueError, match=message):
        check_inference_levers(dtype, quantize)
    with pytest.raises(Exception, match=message):
        make_nlp(tiny_bert, **{DTYPE: dtype, QUANTIZE: quantize})
