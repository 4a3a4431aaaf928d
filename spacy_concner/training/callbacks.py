"""Config callbacks (``@callbacks``) that trade a little accuracy headroom for speed and memory.

``spacy_concner.autocast.v1`` runs the transformer's forward pass in bfloat16 (or float16) autocast
on whatever device it is on; see :func:`autocast_forward`.

``spacy_concner.freeze_embeddings.v1`` in ``[initialize.after_init]`` stops training the
transformer's input word-embedding matrix. In multilingual encoders that matrix is most of the
model (multilingual-e5-small: 250k x 384 = 96M of 118M parameters), and without freezing every
step computes a dense gradient for it, clips it and runs Adam over it although a batch touches
only a few hundred rows. Frozen, those costs vanish; positions, layers and heads still train.
"""
from types import MethodType
from typing import Callable, List, Optional

import torch
from spacy.language import Language
from spacy.util import registry
from thinc.shims import PyTorchShim

from ..compat import finish_update_releasing_gradients, shim_module
from ..ml.precision import AUTO, AUTOCAST_DTYPES, float32_outputs, native_bfloat16


def hf_models(nlp: Language, component: str) -> List:
    """The torch modules wrapped by ``component``'s thinc model (normally one HF model)."""
    # component_names includes disabled components: `spacy train` disables sourced components
    # (e.g. a transformer sourced for fine-tuning) while [initialize.after_init] runs
    if component not in nlp.component_names:
        raise ValueError(f"transformer levers: no component {component!r} in the pipeline {nlp.component_names}")
    model = nlp.get_pipe(component).model
    modules = [shim_module(shim) for node in model.walk() for shim in node.shims]
    found = [m for m in modules if hasattr(m, "get_input_embeddings")]
    if not found:
        raise ValueError(
            f"transformer levers: component {component!r} wraps no Hugging Face model; "
            "use it on a spacy-transformers 'transformer' component after initialization "
            "([initialize.after_init])."
        )
    return found


def freeze_input_embeddings(nlp: Language, component: str = "transformer") -> int:
    """Set ``requires_grad=False`` on the word-embedding matrix; returns the frozen parameter count."""
    frozen = 0
    for module in hf_models(nlp, component):
        weight = module.get_input_embeddings().weight
        weight.requires_grad_(False)
        weight.grad = None
        frozen += weight.numel()
    return frozen


@registry.callbacks("spacy_concner.freeze_embeddings.v1")
def make_freeze_embeddings(component: str = "transformer") -> Callable[[Language], Language]:
    """``[initialize.after_init]`` callback: freeze ``component``'s input word embeddings."""

    def after_init(nlp: Language) -> Language:
        freeze_input_embeddings(nlp, component)
        return nlp

    return after_init


def autocast_forward(module: torch.nn.Module, dtype: Optional[torch.dtype]) -> None:
    """Run ``module``'s forward under ``torch.autocast`` on its own device; outputs back in float32.

    thinc's PyTorchShim autocasts on CUDA only (``mixed_precision``); this covers CPUs with
    bfloat16 units too. Matrix products run in ``dtype``, weights, gradients and the optimizer
    stay float32, and every floating output is cast back so the thinc side never sees bfloat16.
    ``dtype=None`` ("auto") uses bfloat16 only where the device has it in hardware, else float32.
    """
    inner = module.forward

    def forward(*args, **kwargs):
        device = next(module.parameters()).device
        if dtype is None and not native_bfloat16(device):  # "auto" on hardware without bfloat16
            return inner(*args, **kwargs)
        with torch.autocast(device_type=device.type, dtype=dtype or torch.bfloat16):
            output = inner(*args, **kwargs)
        return float32_outputs(output)

    module.forward = forward


@registry.callbacks("spacy_concner.autocast.v1")
def make_autocast(component: str = "transformer", dtype: str = "bfloat16") -> Callable[[Language], Language]:
    """``[initialize.after_init]`` callback: mixed-precision forward passes for ``component``.

    A training lever: a pipeline saved and loaded again predicts at the precision its config's
    ``spacy_concner.TransformerModel.v1`` sets (``inference_dtype``, see ml/precision.py).
    """
    if dtype not in AUTOCAST_DTYPES and dtype != AUTO:
        raise ValueError(f"autocast: dtype must be one of {sorted(AUTOCAST_DTYPES) + [AUTO]}, got {dtype!r}")

    def after_init(nlp: Language) -> Language:
        for module in hf_models(nlp, component):
            autocast_forward(module, AUTOCAST_DTYPES.get(dtype))
        return nlp

    return after_init


def set_gradients_to_none(nlp: Language, component: str = "transformer") -> int:
    """Make ``component``'s torch shims drop gradients after each update instead of zeroing them.

    thinc's ``PyTorchShim.finish_update`` keeps every ``.grad`` and zeroes it, so the next backward
    pass adds into it: one extra write and one extra read-add over all 118M gradients per step, and
    a second full gradient alive while it adds (about +470 MB peak for multilingual-e5-small). This
    is torch's own ``zero_grad(set_to_none=True)``; the update itself is unchanged. Returns the
    number of shims changed.
    """
    changed = 0
    for module_shim in _torch_shims(nlp, component):
        module_shim.finish_update = MethodType(finish_update_releasing_gradients, module_shim)
        changed += 1
    return changed


def _torch_shims(nlp: Language, component: str) -> List[PyTorchShim]:
    hf_models(nlp, component)  # the same clear error for a component without a torch model
    model = nlp.get_pipe(component).model
    return [shim for node in model.walk() for shim in node.shims if isinstance(shim, PyTorchShim)]


@registry.callbacks("spacy_concner.transformer_levers.v1")
def make_transformer_levers(
    component: str = "transformer",
    freeze_embeddings: bool = False,
    autocast: Optional[str] = None,
    release_gradients: bool = True,
) -> Callable[[Language], Language]:
    """``[initialize.after_init]`` callback combining the speed levers (the slot takes one callback).

    freeze_embeddings: stop training the input word embeddings (see :func:`freeze_input_embeddings`).
    autocast: "bfloat16" or "float16" for mixed-precision forward passes, "auto" for bfloat16 where
        the device computes it in hardware (CPUs with avx512_bf16/AMX, GPUs from Ampere on) and
        float32 elsewhere, or null for float32.
    release_gradients: drop the transformer's gradients after each update (see :func:`set_gradients_to_none`).
    """
    steps = []
    if release_gradients:
        steps.append(lambda nlp: (set_gradients_to_none(nlp, component), nlp)[1])
    if freeze_embeddings:
        steps.append(make_freeze_embeddings(component))
    if autocast:
        steps.append(make_autocast(component, autocast))

    def after_init(nlp: Language) -> Language:
        for step in steps:
            nlp = step(nlp)
        return nlp

    return after_init
