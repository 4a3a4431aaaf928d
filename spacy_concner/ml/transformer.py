"""``spacy_concner.TransformerModel.v1``: spacy-transformers' TransformerModel.v3, predicting faster.

Training is unchanged. Prediction differs in two ways, both invisible in the output:

- **Length-sorted chunks.** spacy-transformers pads every span of a batch to the batch's longest
  and runs them in one call. On a CPU each padded slot costs as much as a real word piece (every
  dense layer runs over it), so a batch of 16 sentences of 20-30 words wastes about a quarter of
  the work. Here the batch's rows are sorted by length and cut into the chunks that minimise
  padded slots plus a fixed cost per call (:func:`length_chunks`), each chunk is run trimmed to its
  own longest row, and the outputs are put back in place. A row's real positions get the same
  values as in the padded call (attention never looks at padding); padded positions, which
  nothing downstream reads, hold the chunk's padding output or zeros. On a GPU, where padded
  slots are nearly free, the batch runs in one call as before.
- **No train/eval walk per batch.** thinc's ``PyTorchShim.predict`` switches every submodule to
  eval mode and back to train mode on each call; here the model is left in eval mode after
  predicting (``begin_update`` switches it to train mode before every training step, as it always did).
"""
from typing import Any, Callable, Dict, List, Tuple

import torch
from spacy.util import registry
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import ArgsKwargs

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


class LengthSortedHFShim(HFShim):
    """HFShim whose ``predict`` runs the batch in length-sorted, trimmed chunks (see module doc)."""

    def predict(self, inputs: ArgsKwargs) -> Any:
        model = self._model
        if model.training:
            model.eval()
        with torch.no_grad(), torch.autocast(device_type="cuda", enabled=self._mixed_precision):
            mask = inputs.kwargs.get("attention_mask")
            if mask is None or mask.device.type != "cpu" or inputs.args or _returns_per_layer(model):
                return model(*inputs.args, **inputs.kwargs)
            return _predict_in_chunks(model, inputs.kwargs, mask)


def _returns_per_layer(model: torch.nn.Module) -> bool:
    config = getattr(model, "config", None)
    return bool(getattr(config, "output_hidden_states", False) or getattr(config, "output_attentions", False))


def _predict_in_chunks(model: torch.nn.Module, kwargs: Dict[str, torch.Tensor], mask: torch.Tensor) -> Any:
    lengths = (mask != 0).sum(dim=1)  # spacy-transformers passes the mask as floats
    order = torch.argsort(lengths, descending=True, stable=True)
    sorted_lengths = lengths[order].tolist()
    chunks = length_chunks(sorted_lengths)
    if not chunks or (len(chunks) == 1 and sorted_lengths[0] == mask.shape[1]):
        return model(**kwargs)  # nothing to gain: one chunk, no padding to trim
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
) -> TransformerModel:
    """spacy-transformers' ``TransformerModel.v3`` (same arguments), predicting in length-sorted chunks.

    sort_by_length: False gives TransformerModel.v3's prediction exactly (one padded call per batch).
    """
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision,
                             grad_scaler_config)
    if sort_by_length:
        model.layers[0].shims[0].__class__ = LengthSortedHFShim
    return model
