"""Every private internal of torch, thinc, spacy-transformers and transformers the package touches.

Each is a leading-underscore name or an undocumented detail that a release may change without
notice. They live here, each with what it is and why we need it, so that an upgrade is a matter of
re-checking this one file. ``TESTED`` holds the versions they were checked against;
``untested_versions()`` names the installed packages whose version differs, and the test suite
fails on them (tests/test_compat.py) until this file is re-checked and ``TESTED`` moved on.
"""
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Dict, Optional, Tuple

import torch
from packaging.version import Version

# every internal below was read against exactly these releases
TESTED: Dict[str, str] = {
    "torch": "2.13.0",
    "thinc": "8.3.14",
    "spacy-transformers": "1.4.0",
    "transformers": "4.53.2",
}


def untested_versions() -> Dict[str, Tuple[str, Optional[str]]]:
    """``{package: (tested, installed)}`` for each package installed at another release than ``TESTED``
    (a local build tag such as torch's ``+cpu`` does not count)."""
    found = {}
    for package, tested in TESTED.items():
        try:
            installed: Optional[str] = Version(version(package)).public
        except PackageNotFoundError:
            installed = None
        if installed != tested:
            found[package] = (tested, installed)
    return found


# ---- torch -------------------------------------------------------------------------------------
def fused_adamw_(param: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                 step: torch.Tensor, *, lr: float, beta1: float, beta2: float, weight_decay: float, eps: float,
                 grad_scale: Optional[torch.Tensor]) -> None:
    """One in-place AdamW step of one parameter with torch's fused kernel ``torch._fused_adamw_``
    (what ``torch.optim.AdamW(fused=True)`` calls; CPU kernels since torch 2.4). The public optimizer
    would own the parameters and state; spacy_concner.AdamW.v1 must leave both to thinc's interface."""
    torch._fused_adamw_(
        [param], [grad], [exp_avg], [exp_avg_sq], [], [step], lr=lr, beta1=beta1, beta2=beta2,
        weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False, grad_scale=grad_scale,
    )


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware (oneDNN's own check,
    ``torch.ops.mkldnn._is_mkldnn_bf16_supported``; torch has no public one for CPUs)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def quantize_linear_int8(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with every ``nn.Linear`` replaced, in place, by torch's dynamic int8 Linear
    (``torch.ao.quantization.quantize_dynamic``). torch marks ``torch.ao.quantization`` deprecated in
    favour of the separate torchao package (not installed, and paired to torch releases) but ships it
    in every release ``TESTED`` names; its deprecation warnings are silenced here, the one caller."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(torch\.ao\.quantization|quantize_per).*deprecated")
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


# ---- thinc's PyTorchShim -------------------------------------------------------------------------
def shim_module(shim: Any) -> torch.nn.Module:
    """The torch module a thinc ``PyTorchShim`` wraps (``shim._model``)."""
    return shim._model


def set_shim_module(shim: Any, module: Any) -> None:
    """Replace the object a ``PyTorchShim`` calls (``shim._model``), e.g. for one ``begin_update``."""
    shim._model = module


def shim_mixed_precision(shim: Any) -> bool:
    """The shim's CUDA autocast setting (``shim._mixed_precision``)."""
    return shim._mixed_precision


def finish_update_releasing_gradients(shim: Any, optimizer: Any) -> None:
    """thinc 8.3's ``PyTorchShim.finish_update``, copied, with each gradient set to None instead of
    zeroed (see training/callbacks.py ``set_gradients_to_none``). Reads ``shim._model``, ``shim.id``
    and ``shim._grad_scaler`` as the original does."""
    from thinc.api import torch2xp, xp2torch

    for name, param in shim._model.named_parameters():
        if param.grad is None:
            continue
        if not shim._grad_scaler.found_inf:  # skip the update if a mixed-precision gradient overflowed
            new, _ = optimizer((shim.id, name), torch2xp(param.data), torch2xp(param.grad))
            param.data = xp2torch(new, requires_grad=True, device=param.device)
        param.grad = None
    shim._grad_scaler.update()


# ---- spacy-transformers ----------------------------------------------------------------------------
def hf_shim(model: Any) -> Any:
    """The ``HFShim`` of a spacy-transformers ``TransformerModel`` (its first layer's only shim)."""
    return model.layers[0].shims[0]


def replace_shim_class(model: Any, cls: type) -> None:
    """Make a built ``TransformerModel``'s shim an instance of ``cls``, a subclass of its class whose
    own state is plain attributes with class defaults (set after the swap): spacy-transformers builds the shim inside ``TransformerModel``'s init with no hook
    to pass another class, so the live object's ``__class__`` is swapped."""
    shim = hf_shim(model)
    if not issubclass(cls, type(shim)):
        raise TypeError(f"{cls.__name__} is not a subclass of the shim's class {type(shim).__name__}")
    shim.__class__ = cls


def vocab_file_contents(model: Any) -> Optional[bytes]:
    """The bytes of the tokenizer's vocabulary file a spacy-transformers pipeline loaded from disk keeps
    (``HFShim._hfmodel.vocab_file_contents``), or None."""
    return getattr(hf_shim(model)._hfmodel, "vocab_file_contents", None)


def in_spacy_transformers_tokenize() -> bool:
    """Whether the caller runs inside spacy-transformers' ``huggingface_tokenize`` (found by that
    function's name on the call stack, ``sys._getframe``; it has no flag of its own)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "huggingface_tokenize" and "spacy_transformers" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False
