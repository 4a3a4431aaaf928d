"""``spacy_concner.TransformerModel.v1``: spacy-transformers' TransformerModel.v3, without padded work.

Same arguments, weights, outputs and gradients as TransformerModel.v3; two differences in how
the work is done:

- **Length-sorted chunks.** spacy-transformers pads every span of a batch to the batch's longest
  and runs them in one call. On a CPU each padded slot costs as much as a real word piece (every
  dense layer runs over it), so a batch of 16 sentences of 20-30 words wastes about a quarter of
  the work. Here the batch's rows are sorted by length and cut into the chunks that minimise
  padded slots plus a fixed cost per call (:func:`length_chunks`), each chunk is run trimmed to its
  own longest row, and the outputs are put back in place, in prediction and in training (the
  backward pass goes through each chunk). A row's real positions get the same values, and the
  weights the same gradients, as in the padded call (attention never looks at padding); padded
  positions, which nothing downstream reads, hold the chunk's padding output or zeros. On a GPU,
  where padded slots are nearly free, the batch runs in one call as before.
- **No train/eval walk per batch.** thinc's ``PyTorchShim.predict`` switches every submodule to
  eval mode and back to train mode on each call; here the model is left in eval mode after
  predicting (``begin_update`` switches it to train mode before every training step, as it always did).

And two inference levers, off by default: ``inference_dtype`` (bfloat16/float16 autocast) and
``quantize`` ("int8" Linear layers), see ml/precision.py.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from spacy.util import registry
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import ArgsKwargs

from ..compat import hf_shim, replace_shim_class, set_shim_module, shim_mixed_precision, shim_module
from .precision import check_inference_levers, float32_outputs, inference_autocast_dtype, quantized_for

# Fixed cost of one more forward call, in padded word-piece slots: the per-call overhead of a
# 12-layer encoder (~2 ms of Python and kernel set-up on one CPU thread) plus the lower efficiency of
# smaller matrix products. A chunk is split off only when it saves more padded slots than this.
CALL_COST_SLOTS = 64


def length_chunks(lengths: List[int], call_cost: int = CALL_COST_SLOTS) -> List[Tuple[int, int]]:
    """Cut rows sorted by length (longest first) into the chunks with the fewest padded slots.

    Minimises ``sum(rows_in_chunk * longest_in_chunk) + call_cost * n_chunks`` exactly (dynamic
    programming over the sorted rows; a chunk's longest row is its first). Returns ``(start, end)``
    index pairs into ``lengths``.
    """
    n = len(lengths)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(end):
            cost = best[start] + (end - start) * lengths[start] + call_cost
            if cost < best[end]:
                best[end], cut[end] = cost, start
    chunks, end = [], n
    while end > 0:
        chunks.append((cut[end], end))
        end = cut[end]
    return chunks[::-1]


class ConCNERShim(HFShim):
    """HFShim that predicts in length-sorted, trimmed chunks (see module doc) at the configured
    inference precision (ml/precision.py). The settings are attributes set by
    :func:`create_transformer_model`; the int8 copy is made at the first prediction after the
    weights changed (a training step or loading other weights)."""

    sort_by_length: bool = True
    inference_dtype: str = "float32"
    quantize: Optional[str] = None
    _int8: Optional[Tuple[torch.nn.Module, Optional[torch.nn.Module]]] = None

    def predict(self, inputs: ArgsKwargs) -> Any:
        model = shim_module(self)
        if model.training:
            model.eval()
        int8 = self._int8_model(model) if self.quantize else None  # None on a GPU: the float model runs
        runner = model if int8 is None else int8
        device = next(model.parameters()).device
        dtype = inference_autocast_dtype(self.inference_dtype, device)
        with torch.no_grad():
            if dtype is None:  # float32, or float16 on CUDA where the shim's mixed_precision says so
                with torch.autocast(device_type="cuda", enabled=shim_mixed_precision(self)):
                    return self._forward(runner, inputs)
            with torch.autocast(device_type=device.type, dtype=dtype):
                return float32_outputs(self._forward(runner, inputs))

    def _forward(self, model: torch.nn.Module, inputs: ArgsKwargs) -> Any:
        return _call(model, inputs) if self.sort_by_length else model(*inputs.args, **inputs.kwargs)

    def _int8_model(self, model: torch.nn.Module) -> Optional[torch.nn.Module]:
        if self._int8 is None or self._int8[0] is not model:
            self._int8 = (model, quantized_for(model))
        return self._int8[1]

    def begin_update(self, inputs: ArgsKwargs):
        """thinc's own ``begin_update`` (train mode, gradient scaling, backprop), with the model's
        forward replaced by the chunked call for its duration."""
        self._int8 = None  # the weights are about to change
        model = shim_module(self)
        if not self.sort_by_length or not _sortable(model, inputs):
            return super().begin_update(inputs)
        set_shim_module(self, _ChunkedCall(model))
        try:
            return super().begin_update(inputs)
        finally:
            set_shim_module(self, model)  # backprop reads the real model's parameters


class _ChunkedCall:
    """Stands in for the torch model inside ``PyTorchShim.begin_update``: same ``train()``, chunked call."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def train(self, mode: bool = True) -> "_ChunkedCall":
        self.model.train(mode)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self.model, ArgsKwargs(args=args, kwargs=kwargs))


def _sortable(model: torch.nn.Module, inputs: ArgsKwargs) -> bool:
    """Keyword inputs with an attention mask on the CPU, and a model that returns no per-layer outputs."""
    mask = inputs.kwargs.get("attention_mask")
    config = getattr(model, "config", None)
    per_layer = getattr(config, "output_hidden_states", False) or getattr(config, "output_attentions", False)
    return mask is not None and mask.device.type == "cpu" and not inputs.args and not per_layer


def _call(model: torch.nn.Module, inputs: ArgsKwargs) -> Any:
    """The model's output for the whole batch, computed chunk by chunk where that saves padded slots.

    Differentiable: chunk outputs are written into the full-size output with indexed assignment,
    which autograd routes back to each chunk."""
    if not _sortable(model, inputs):
        return model(*inputs.args, **inputs.kwargs)
    kwargs = inputs.kwargs
    mask = kwargs["attention_mask"]
    lengths = (mask != 0).sum(dim=1)  # spacy-transformers passes the mask as floats
    order = torch.argsort(lengths, descending=True, stable=True)
    sorted_lengths = lengths[order].tolist()
    chunks = length_chunks(sorted_lengths)
    if not chunks or (len(chunks) == 1 and sorted_lengths[0] == mask.shape[1]):
        return model(**kwargs)  # nothing to gain: one chunk, no padding to trim
    embeddings = model.get_input_embeddings()
    if torch.is_grad_enabled() and embeddings.weight.requires_grad and "input_ids" in kwargs:
        # trained word embeddings: look them up once, so backward builds one dense gradient of the
        # embedding matrix (96M values for multilingual-e5-small), not one per chunk
        kwargs = {**kwargs, "inputs_embeds": embeddings(kwargs["input_ids"])}
        del kwargs["input_ids"]
    full: Dict[str, torch.Tensor] = {}
    part = None
    for start, end in chunks:
        rows, width = order[start:end], max(sorted_lengths[start], 1)
        part = model(**{key: value[rows, :width] for key, value in kwargs.items()})
        for key, value in part.items():
            per_position = value.dim() >= 3 and value.shape[1] == width  # e.g. last_hidden_state
            if key not in full:
                shape = (mask.shape[0], mask.shape[1]) if per_position else (mask.shape[0],)
                full[key] = value.new_zeros(shape + tuple(value.shape[len(shape):]))
            if per_position:
                full[key][rows, :width] = value
            else:
                full[key][rows] = value
    return type(part)(**full)


@registry.architectures("spacy_concner.TransformerModel.v1")
def create_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
    sort_by_length: bool = True,
    inference_dtype: str = "float32",
    quantize: Optional[str] = None,
) -> TransformerModel:
    """spacy-transformers' ``TransformerModel.v3`` (same arguments), run in length-sorted chunks.

    sort_by_length: False gives TransformerModel.v3 exactly (one padded call per batch).
    inference_dtype: "float32", "bfloat16", "float16" or "auto" (bfloat16 where the hardware has
        it): the precision of predictions; training is unaffected (ml/precision.py).
    quantize: null or "int8": predict with int8 Linear layers (CPU; ml/precision.py).
    """
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision,
                             grad_scaler_config)
    configure_shim(model, sort_by_length, inference_dtype, quantize)
    return model


def configure_shim(model: TransformerModel, sort_by_length: bool, inference_dtype: str, quantize: Optional[str]) -> None:
    """Give a built (or loaded) TransformerModel these settings: a :class:`ConCNERShim` where any is
    not TransformerModel.v3's own behaviour, spacy-transformers' HFShim otherwise."""
    check_inference_levers(inference_dtype, quantize)
    shim = hf_shim(model)
    if sort_by_length or inference_dtype != "float32" or quantize:
        if not isinstance(shim, ConCNERShim):
            replace_shim_class(model, ConCNERShim)
        shim.sort_by_length, shim.inference_dtype, shim.quantize = sort_by_length, inference_dtype, quantize
        shim._int8 = None
    elif isinstance(shim, ConCNERShim):
        shim.__class__ = HFShim
