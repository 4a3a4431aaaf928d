"""How the encoder computes at inference: float32, bfloat16/float16 autocast, or int8 Linear layers.

Settings of ``spacy_concner.TransformerModel.v1`` (``inference_dtype``, ``quantize``), so a saved
pipeline carries them in its config and ``spacy.load(path, config=...)`` can change them. They act
on prediction only: training always runs the float32 weights (mixed precision in training is the
``spacy_concner.autocast.v1`` callback's job), and the weights saved are always the float32 ones.

- ``inference_dtype``: "float32"; "bfloat16" or "float16" (``torch.autocast`` on the model's own
  device, outputs cast back to float32 for thinc); "auto": bfloat16 where the device computes it in
  hardware (CPUs with avx512_bf16/AMX, GPUs from Ampere on), else float32.
- ``quantize``: null, or "int8": torch's dynamic int8 quantisation of the encoder's Linear layers
  (weights int8, activations quantised per batch), run on a copy made at the first prediction after
  the weights last changed; CPU only (on a GPU the float model runs and a warning says so).
"""
import copy
import logging
from typing import Any, Optional

import torch

from ..compat import cpu_has_native_bfloat16, quantize_linear_int8

logger = logging.getLogger(__name__)

AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
AUTO = "auto"
INFERENCE_DTYPES = ("float32", "bfloat16", "float16", AUTO)
QUANTIZE = (None, "int8")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matrix products in hardware (else autocast would be slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return cpu_has_native_bfloat16()
    return False


def check_inference_levers(inference_dtype: str, quantize: Optional[str]) -> None:
    """A clear error for values the model cannot run, raised when the config is resolved."""
    if inference_dtype not in INFERENCE_DTYPES:
        raise ValueError(f"inference_dtype must be one of {list(INFERENCE_DTYPES)}, got {inference_dtype!r}")
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be null or \"int8\", got {quantize!r}")
    if quantize and inference_dtype != "float32":
        raise ValueError(
            f"quantize = \"int8\" runs the encoder's Linear layers in int8 with float32 activations; it cannot "
            f"be combined with inference_dtype = {inference_dtype!r}. Set inference_dtype = \"float32\", or "
            "quantize = null to use autocast."
        )


def inference_autocast_dtype(inference_dtype: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype of ``inference_dtype`` on ``device``, or None for float32."""
    if inference_dtype == AUTO:
        return torch.bfloat16 if native_bfloat16(device) else None
    return AUTOCAST_DTYPES.get(inference_dtype)


def float32_outputs(output: Any) -> Any:
    """Cast the floating tensors of a Hugging Face output (a dict subclass) back to float32, in place."""
    for key, value in list(output.items()):
        if torch.is_tensor(value) and value.is_floating_point() and value.dtype != torch.float32:
            output[key] = value.float()
    return output


def int8_copy(model: torch.nn.Module) -> torch.nn.Module:
    """An int8-Linear copy of ``model`` in eval mode; the (large, unquantised) input embeddings are shared."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    memo = {id(p): p for p in embeddings.parameters()} if embeddings is not None else {}
    clone = copy.deepcopy(model, memo)
    clone.eval()
    return quantize_linear_int8(clone)


_warned_gpu = False


def quantized_for(model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """:func:`int8_copy` of ``model`` on a CPU; None (and one warning) on another device."""
    global _warned_gpu
    device = next(model.parameters()).device
    if device.type != "cpu":
        if not _warned_gpu:
            logger.warning("quantize = \"int8\" runs on CPUs only; the encoder runs unquantised on %s", device)
            _warned_gpu = True
        return None
    return int8_copy(model)
