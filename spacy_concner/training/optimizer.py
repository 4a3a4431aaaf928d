"""``spacy_concner.AdamW.v1``: thinc's optimizer interface, torch's fused AdamW kernel.

spaCy's training loop hands every parameter to ``optimizer(key, weights, gradient)``; thinc's
``Adam.v1`` then runs several numpy passes per parameter. For a multilingual transformer (118M
parameters, 96M of them word embeddings) that is most of a CPU training step. This optimizer keeps
the interface, the schedules (``learn_rate`` etc. as thinc schedules, stepped by spaCy) and the
config keys of ``Adam.v1``, but updates each array in place with torch's fused AdamW kernel
(``torch._fused_adamw_``, reached through :mod:`spacy_concner.compat`): one
multi-threaded pass over weights, gradient and both moments, on whatever device the array lives
(numpy and cupy arrays are viewed as torch tensors without a copy).

Semantics, next to ``Adam.v1``:
- ``grad_clip`` clips each parameter's gradient to that L2 norm, as thinc does (per parameter, not
  the global norm); the scale is applied inside the fused kernel, so it costs no extra pass.
- ``L2_is_weight_decay = true`` is decoupled weight decay applied the AdamW way (weights shrink by
  ``lr * L2`` before the Adam step; thinc shrinks after it); ``false`` adds ``L2 * w`` to the gradient.
- Bias correction and ``eps`` follow torch's AdamW (``eps`` is added to the bias-corrected
  root of the second moment; thinc adds it before the correction). ``use_averages`` is supported.
- State (moments, step counts) lives in the optimizer object, like thinc's. Neither this nor
  spaCy's own optimizer is saved by ``nlp.to_disk``: a pipeline trained further with
  ``spacy train`` starts with fresh moments, exactly as it does with ``Adam.v1``.
"""
from typing import Dict, Optional, Tuple

import numpy
import torch
from spacy.util import registry
from thinc.api import Optimizer
from thinc.backends import get_array_ops
from thinc.optimizers import ADAM_DEFAULTS, FloatOrSeq
from thinc.types import FloatsXd

from ..compat import fused_adamw_

KeyT = Tuple[int, str]


def as_tensor_view(array: FloatsXd) -> torch.Tensor:
    """A torch tensor sharing ``array``'s memory, on its device; in-place ops update the array.

    (thinc's ``xp2torch`` would move a host array to the default GPU, i.e. update a copy.)
    """
    if isinstance(array, numpy.ndarray):
        return torch.from_numpy(array)
    return torch.utils.dlpack.from_dlpack(array)  # cupy and any other __dlpack__ array


def owned_by_torch(array: FloatsXd) -> bool:
    """True for a CPU view of a torch tensor (thinc's PyTorchShim zeroes those gradients itself)."""
    return isinstance(getattr(array, "base", None), torch.Tensor)


class TorchAdamW(Optimizer):
    """A thinc :class:`~thinc.api.Optimizer` whose Adam step is torch's fused AdamW, in place."""

    # thinc's Optimizer locks its attributes with __slots__; ours are declared the same way.
    __slots__ = ["_state", "_steps"]

    def __init__(self, learn_rate: FloatOrSeq, **kwargs) -> None:
        if kwargs.get("use_radam"):
            raise ValueError("spacy_concner.AdamW.v1 does not implement RAdam; use thinc's RAdam.v1.")
        super().__init__(learn_rate, **kwargs)
        self._state: Dict[KeyT, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._steps: Dict[KeyT, torch.Tensor] = {}

    def __call__(
        self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0
    ) -> Tuple[FloatsXd, FloatsXd]:
        if len(gradient) < 1:
            return weights, gradient
        self.nr_update[key] += 1
        param, grad = as_tensor_view(weights), as_tensor_view(gradient)
        if param.dtype != grad.dtype or not param.is_floating_point():
            raise TypeError(
                f"spacy_concner.AdamW.v1: parameter {key!r} is {param.dtype} with a {grad.dtype} "
                "gradient; both must be the same floating-point type."
            )
        if self.L2 and not self.L2_is_weight_decay:
            grad.add_(param, alpha=self.L2)
        exp_avg, exp_avg_sq = self._moments(key, param)
        step = self._steps[key]
        step += 1  # the fused kernel reads the step count; torch's AdamW.step() advances it first
        fused_adamw_(
            param, grad, exp_avg, exp_avg_sq, step,
            lr=self.learn_rate * lr_scale, beta1=self.b1, beta2=self.b2,
            weight_decay=self.L2 if self.L2_is_weight_decay else 0.0,
            eps=self.eps, grad_scale=self._clip_scale(grad),
        )
        if not owned_by_torch(gradient):
            grad.zero_()  # thinc layers accumulate into their gradient; the shim zeroes its own
        if self.averages is not None:
            ops = get_array_ops(weights)
            if key not in self.averages:
                self.averages[key] = ops.alloc(weights.shape, dtype="float32")
            ops.update_averages(self.averages[key], weights, self.nr_update[key])
        return weights, gradient

    def _moments(self, key: KeyT, param: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if key not in self._state or self._state[key][0].shape != param.shape:
            self._state[key] = (torch.zeros_like(param), torch.zeros_like(param))
            self._steps[key] = torch.zeros((), dtype=torch.float32, device=param.device)
        return self._state[key]

    def _clip_scale(self, grad: torch.Tensor) -> Optional[torch.Tensor]:
        """The fused kernel divides the gradient by this: norm / grad_clip where the norm is larger."""
        if not self.grad_clip:
            return None
        norm = torch.linalg.vector_norm(grad, dtype=torch.float32)
        return torch.clamp(norm / self.grad_clip, min=1.0)


@registry.optimizers("spacy_concner.AdamW.v1")
def create_torch_adamw(
    learn_rate: FloatOrSeq = ADAM_DEFAULTS["learn_rate"],
    *,
    L2: FloatOrSeq = ADAM_DEFAULTS["L2"],
    beta1: FloatOrSeq = ADAM_DEFAULTS["beta1"],
    beta2: FloatOrSeq = ADAM_DEFAULTS["beta2"],
    eps: FloatOrSeq = ADAM_DEFAULTS["eps"],
    grad_clip: FloatOrSeq = ADAM_DEFAULTS["grad_clip"],
    L2_is_weight_decay: bool = True,
    use_averages: bool = False,
) -> Optimizer:
    """AdamW with torch's fused kernel behind thinc's Optimizer; the keys of ``Adam.v1``."""
    return TorchAdamW(
        learn_rate, L2=L2, beta1=beta1, beta2=beta2, eps=eps, grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay, use_averages=use_averages,
    )
