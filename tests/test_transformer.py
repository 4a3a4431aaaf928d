"""spacy_concner.TransformerModel.v1: length-sorted prediction gives TransformerModel.v3's output."""
import itertools
import random

import numpy
import pytest
import spacy
import torch

from spacy_concner.ml.transformer import ConCNERShim, length_chunks
from spacy_concner.training.callbacks import hf_models

from test_component import make_nlp, paired_examples  # noqa: F401  (fixture)


def _padded_slots(lengths, chunks, call_cost):
    return sum((end - start) * lengths[start] for start, end in chunks) + call_cost * len(chunks)


def _brute_force(lengths, call_cost):
    """The cheapest cut of the sorted rows into contiguous chunks, by trying every cut."""
    n, best = len(lengths), None
    for k in range(n):
        for cuts in itertools.combinations(range(1, n), k):
            bounds = (0,) + cuts + (n,)
            chunks = list(zip(bounds, bounds[1:]))
            cost = _padded_slots(lengths, chunks, call_cost)
            best = cost if best is None else min(best, cost)
    return best


def test_length_chunks_known_cases():
    assert length_chunks([]) == []
    assert length_chunks([40, 40, 40, 40, 8, 8, 8, 8], call_cost=10) == [(0, 4), (4, 8)]
    # splitting off the short rows saves 4 * 32 = 128 slots: not worth a call that costs more
    assert length_chunks([40, 40, 40, 40, 8, 8, 8, 8], call_cost=200) == [(0, 8)]
    assert length_chunks([30] * 5, call_cost=1) == [(0, 5)]  # equal lengths: nothing to trim


@pytest.mark.parametrize("seed", range(20))
def test_length_chunks_is_optimal(seed):
    rng = random.Random(seed)
    lengths = sorted((rng.randint(2, 60) for _ in range(rng.randint(1, 9))), reverse=True)
    cost = rng.choice([0, 16, 64, 256])
    chunks = length_chunks(lengths, call_cost=cost)
    assert [i for c in chunks for i in range(*c)] == list(range(len(lengths)))  # a partition, in order
    assert _padded_slots(lengths, chunks, cost) == _brute_force(lengths, cost)


TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris on Monday to talk about the new trade agreement "
    "between the European Union and Canada , which both of them support .",
    "Berlin .",
    "The United Nations said on Tuesday that the talks in Geneva would go on for another week .",
    "Peter lives in Hamburg .",
    "Siemens AG .",
    "Microsoft opened an office in Dublin , Ireland , and another one in Lisbon , Portugal , last year .",
]


def _pair(tiny_bert, paired_examples):
    """Two pipelines with the same weights: length-sorted prediction on, and off (plain v3)."""
    on = make_nlp(tiny_bert)
    on.initialize(lambda: paired_examples)
    off = make_nlp(tiny_bert, **{"components.transformer.model.sort_by_length": False})
    off.initialize(lambda: paired_examples)
    off.from_bytes(on.to_bytes())
    return on, off


def test_sorted_prediction_matches_one_padded_call(tiny_bert, paired_examples):
    on, off = _pair(tiny_bert, paired_examples)
    shim_on = on.get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(shim_on, ConCNERShim)
    assert not isinstance(off.get_pipe("transformer").model.layers[0].shims[0], ConCNERShim)
    calls = []
    hf = hf_models(on, "transformer")[0]
    hook = hf.register_forward_hook(lambda m, args, kwargs, out: calls.append(kwargs["input_ids"].shape),
                                    with_kwargs=True)
    docs_on = list(on.pipe(TEXTS, batch_size=len(TEXTS)))
    hook.remove()
    docs_off = list(off.pipe(TEXTS, batch_size=len(TEXTS)))
    assert len(calls) >= 2  # the long and the short sentences went in separate, trimmed calls
    assert sum(shape[0] for shape in calls) == len(TEXTS)
    full_width = max(d._.trf_data.wordpieces.input_ids.shape[1] for d in docs_off)
    assert max(shape[1] for shape in calls) == full_width and min(shape[1] for shape in calls) < full_width
    for a, b in zip(docs_on, docs_off):
        ta, tb = a._.trf_data, b._.trf_data
        mask = numpy.asarray(ta.wordpieces.attention_mask, dtype=bool)
        ha, hb = numpy.asarray(ta.model_output.last_hidden_state), numpy.asarray(tb.model_output.last_hidden_state)
        assert ha.shape == hb.shape
        numpy.testing.assert_allclose(ha[mask], hb[mask], rtol=1e-4, atol=1e-5)
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]


def test_prediction_leaves_eval_mode_and_training_restores_train_mode(tiny_bert, paired_examples):
    nlp, _ = _pair(tiny_bert, paired_examples)
    hf = hf_models(nlp, "transformer")[0]
    list(nlp.pipe(TEXTS))
    assert not hf.training and not any(m.training for m in hf.modules())
    modes = []
    hook = hf.register_forward_hook(lambda m, i, o: modes.append(all(x.training for x in m.modules())))
    nlp.update(paired_examples[:4], sgd=False, drop=0.1)
    hook.remove()
    assert modes == [True]  # dropout is on in training, as with thinc's own shim


def test_setting_survives_save_and_load(tiny_bert, paired_examples, tmp_path):
    on, off = _pair(tiny_bert, paired_examples)
    on.to_disk(tmp_path / "on")
    off.to_disk(tmp_path / "off")
    shim = spacy.load(tmp_path / "on").get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(shim, ConCNERShim)
    shim = spacy.load(tmp_path / "off").get_pipe("transformer").model.layers[0].shims[0]
    assert not isinstance(shim, ConCNERShim)


def test_unpadded_batch_runs_in_one_call(tiny_bert, paired_examples):
    nlp, _ = _pair(tiny_bert, paired_examples)
    hf = hf_models(nlp, "transformer")[0]
    calls = []
    hook = hf.register_forward_hook(lambda m, i, o: calls.append(1))
    list(nlp.pipe(["Berlin ."] * 3, batch_size=3))
    hook.remove()
    assert calls == [1]
    assert torch.is_grad_enabled()


def _no_dropout(nlp):
    hf = hf_models(nlp, "transformer")[0]
    for module in hf.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_prob"):  # SDPA attention's dropout
            module.dropout_prob = 0.0
    return hf


@pytest.fixture(scope="module")
def mixed_length_pairs(corpus_docbins):
    """The 5 shortest and the longest English sentence with their translations: lengths that chunking splits."""
    from spacy_concner.training.readers import create_paired_corpus

    examples = list(create_paired_corpus(corpus_docbins["en/train"], [corpus_docbins["de/train.translated"]])(
        spacy.blank("xx")))
    by_id = {}
    for eg in examples:
        by_id.setdefault(eg.reference.user_data["concner.pair_id"], []).append(eg)
    pairs = sorted(by_id.values(), key=lambda pair: max(len(eg.reference) for eg in pair))
    return [eg for pair in pairs[:5] + pairs[-1:] for eg in pair]


def test_training_in_chunks_gives_the_one_call_gradients(tiny_bert, paired_examples, mixed_length_pairs,
                                                         monkeypatch):
    from spacy_concner.ml import transformer

    # a call cost of 8 slots instead of 64: the sample corpus's short sentences split however short it is cut
    monkeypatch.setattr(transformer, "length_chunks", lambda lengths: length_chunks(lengths, call_cost=8))
    on, off = _pair(tiny_bert, paired_examples)
    batch = mixed_length_pairs  # the update's batch: lengths that chunking splits
    hf_on, hf_off = _no_dropout(on), _no_dropout(off)
    calls, lookups = [], []
    hook = hf_on.register_forward_hook(lambda m, args, kwargs, out: calls.append(
        (kwargs.get("input_ids") if kwargs.get("input_ids") is not None else kwargs["inputs_embeds"]).shape),
        with_kwargs=True)
    lookup_hook = hf_on.get_input_embeddings().register_forward_hook(lambda m, i, o: lookups.append(o.shape))
    losses_on = on.update(batch, sgd=False, drop=0.0)
    hook.remove()
    lookup_hook.remove()
    losses_off = off.update(batch, sgd=False, drop=0.0)
    assert len(calls) >= 2 and sum(shape[0] for shape in calls) == len(batch)
    # trained word embeddings are looked up once for the whole batch: one dense gradient, not one per chunk
    assert len(lookups) == 1 and lookups[0][0] == len(batch)
    assert losses_on["concner"] == pytest.approx(losses_off["concner"], rel=1e-5)
    grads_off = dict(hf_off.named_parameters())
    compared = 0
    for name, param in hf_on.named_parameters():
        other = grads_off[name].grad
        if param.grad is None:
            assert other is None or not other.any(), name
            continue
        torch.testing.assert_close(param.grad, other, rtol=1e-4, atol=1e-6)
        compared += 1
    assert compared > 10 and hf_on.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0
