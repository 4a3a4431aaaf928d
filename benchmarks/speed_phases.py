"""Exclusive wall time per phase of a training step, by wrapping a few library functions.

cProfile shows the same, but its overhead on the many small spaCy calls distorts the split; these
wrappers cost one perf_counter pair per call. Nested wrapped calls are subtracted from their
caller, so the phases add up to at most the step time ("other" is the rest: spaCy glue, the
concner heads, the listener's pooling, the head's optimizer update).
"""
import functools
import time
from typing import Callable, Dict, List, Tuple


class PhaseTimer:
    def __init__(self) -> None:
        self.totals: Dict[str, float] = {}
        self._stack: List[List[float]] = []  # per active call: [child time]
        self._patched: List[Tuple[object, str, Callable]] = []

    def wrap(self, owner: object, attr: str, phase: str) -> None:
        """Replace ``owner.attr`` by a timed version accumulating into ``phase``."""
        original = getattr(owner, attr)
        timer = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            timer._stack.append([0.0])
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                child = timer._stack.pop()[0]
                timer.totals[phase] = timer.totals.get(phase, 0.0) + elapsed - child
                if timer._stack:
                    timer._stack[-1][0] += elapsed

        setattr(owner, attr, timed)
        self._patched.append((owner, attr, original))

    def reset(self) -> None:
        self.totals = {}

    def restore(self) -> None:
        for owner, attr, original in reversed(self._patched):
            setattr(owner, attr, original)
        self._patched = []


def instrument_ours(timer: PhaseTimer) -> None:
    import torch
    from spacy_transformers.pipeline_component import Transformer
    from thinc.shims.pytorch import PyTorchShim

    from spacy_concner.pipeline.concner import ConCNER

    timer.wrap(Transformer, "update", "transformer forward (tokenize, align, HF forward)")
    timer.wrap(ConCNER, "get_loss", "concner targets + loss (torch)")
    timer.wrap(torch.autograd, "backward", "backward (torch autograd)")
    from spacy_concner.training.optimizer import TorchAdamW

    # thinc's Adam runs inside the shim's finish_update; spacy_concner.AdamW.v1 in its own __call__
    timer.wrap(PyTorchShim, "finish_update", "optimizer on the transformer (thinc Adam)")
    timer.wrap(TorchAdamW, "__call__", "optimizer (spacy_concner.AdamW.v1)")


def instrument_raw(timer: PhaseTimer) -> None:
    import torch

    timer.wrap(torch.nn.Module, "__call__", "forward (HF model + head)")
    timer.wrap(torch.autograd, "backward", "backward (torch autograd)")
    timer.wrap(torch.nn.utils, "clip_grad_norm_", "optimizer (clip + fused AdamW)")
    timer.wrap(torch.optim.AdamW, "step", "optimizer (clip + fused AdamW)")
