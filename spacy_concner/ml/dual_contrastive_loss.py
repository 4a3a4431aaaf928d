"""The configurable loss object of the concner component.

``spacy_concner.DualContrastiveLoss.v1`` (registry ``@losses``) computes

    ce_weight * CE + label_weight * L_label + trans_weight * L_trans + distill_weight * L_distill

on a :class:`~spacy_concner.ml.architecture.ConCNEROutput` with torch autograd, and returns each
term's value and the gradient of the total with respect to the model outputs. A term whose
weight is 0 is not computed at all, so it contributes exactly zero gradient.

CE is the mean over labelled tokens, with the tokens of translations (projected labels, which carry
the projection's noise) weighted by ``translation_ce_weight`` (1: every token alike; 0: CE on the
source only; the translations still count in the contrastive terms, which only need the pairing).
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy
import torch
from spacy.util import registry
from thinc.api import torch2xp, xp2torch

from .architecture import ConCNEROutput
from .loss_functions import soft_cross_entropy, supervised_contrastive, translation_contrastive

O_INDEX = 0  # the tag id of O: the component's tag inventory puts O first (``tags_for_labels``)


@dataclass
class Targets:
    """Per-batch supervision aligned with the model output rows.

    tag_ids: (n_tokens,) gold tag index (O is 0), -1 where unknown (unaligned or unlabelled).
    pair_ids: (n_docs,) integer pair id per doc (equal = translations of each other).
    soft_log_probs: (n_tokens, n_tags) teacher log-probabilities or None.
    soft_mask: (n_tokens,) bool, rows of soft_log_probs that hold a teacher distribution.
    entity_types: (n_tags,) index of each tag's entity type (O = 0) for ``positive_by="type"``.
    translated: (n_tokens,) bool, tokens of Docs read from translation files, or None.
    """

    tag_ids: numpy.ndarray
    pair_ids: numpy.ndarray
    soft_log_probs: Optional[numpy.ndarray] = None
    soft_mask: Optional[numpy.ndarray] = None
    entity_types: Optional[numpy.ndarray] = None
    translated: Optional[numpy.ndarray] = None


class DualContrastiveLoss:
    """CE + lambda_label * SupCon(tokens) + lambda_trans * InfoNCE(sentences) [+ distillation]."""

    def __init__(
        self,
        ce_weight: float = 1.0,
        label_weight: float = 0.1,
        trans_weight: float = 0.1,
        temperature: float = 0.1,
        include_o: bool = True,
        max_o_tokens: int = 64,
        max_entity_tokens: int = 256,
        positive_by: str = "tag",
        distill_weight: float = 0.0,
        distill_temperature: float = 1.0,
        seed: int = 0,
        translation_ce_weight: float = 1.0,
    ) -> None:
        if positive_by not in ("tag", "type"):
            raise ValueError(f"positive_by must be 'tag' or 'type', got {positive_by!r}")
        for name, value in (("temperature", temperature), ("distill_temperature", distill_temperature)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if translation_ce_weight < 0:
            raise ValueError(f"translation_ce_weight must be >= 0, got {translation_ce_weight}")
        self.ce_weight = ce_weight
        self.label_weight = label_weight
        self.trans_weight = trans_weight
        self.temperature = temperature
        self.include_o = include_o
        self.max_o_tokens = max_o_tokens
        self.max_entity_tokens = max_entity_tokens
        self.positive_by = positive_by
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature
        self.translation_ce_weight = translation_ce_weight
        self._rng = numpy.random.default_rng(seed)

    @property
    def weights(self) -> Dict[str, float]:
        """Weight of each term in the total: ``ce``, ``label``, ``trans``, ``distill`` (the keys of the values)."""
        return {"ce": self.ce_weight, "label": self.label_weight,
                "trans": self.trans_weight, "distill": self.distill_weight}

    def _sample_contrastive_tokens(self, tag_ids: numpy.ndarray) -> numpy.ndarray:
        """Indices of the tokens that take part in L_label: entity tokens, plus sampled O tokens."""
        known = numpy.flatnonzero(tag_ids >= 0)
        ent = known[tag_ids[known] != O_INDEX]
        if len(ent) > self.max_entity_tokens:
            ent = self._rng.choice(ent, self.max_entity_tokens, replace=False)
        chosen = [ent]
        if self.include_o and self.max_o_tokens > 0:
            outside = known[tag_ids[known] == O_INDEX]
            if len(outside) > self.max_o_tokens:
                outside = self._rng.choice(outside, self.max_o_tokens, replace=False)
            chosen.append(outside)
        return numpy.sort(numpy.concatenate(chosen)).astype("int64")

    def _cross_entropy(
        self, logits: torch.Tensor, tags: torch.Tensor, translated: Optional[numpy.ndarray]
    ) -> Optional[torch.Tensor]:
        """Mean CE over labelled tokens, translation tokens weighted by ``translation_ce_weight``
        (a weighted mean, so the source's CE keeps its scale); None when every weight is 0."""
        if self.translation_ce_weight == 1.0 or translated is None or not translated.any():
            return torch.nn.functional.cross_entropy(logits, tags, ignore_index=-1)
        per_token = torch.nn.functional.cross_entropy(logits, tags, ignore_index=-1, reduction="none")
        weights = torch.where(torch.as_tensor(translated, device=logits.device),
                              self.translation_ce_weight, 1.0) * (tags >= 0)
        if not bool((weights > 0).any()):
            return None
        return (per_token * weights).sum() / weights.sum()

    def __call__(
        self, out: ConCNEROutput, targets: Targets
    ) -> Tuple[Dict[str, float], ConCNEROutput]:
        """Return ({term: value}, gradients w.r.t. ``out``) for one batch.

        The model outputs are viewed as torch tensors on their own device (numpy on CPU, cupy on
        GPU, no copy) and the gradients come back as arrays of the same type, device and dtype.
        Only the small integer targets travel from the host to the device.
        """
        logits = _leaf(out.logits)
        device = logits.device
        tags = torch.as_tensor(targets.tag_ids, dtype=torch.int64, device=device)
        values: Dict[str, torch.Tensor] = {}
        total = logits.sum() * 0.0
        if self.ce_weight and bool((tags >= 0).any()):
            ce = self._cross_entropy(logits, tags, targets.translated)
            if ce is not None:
                values["ce"] = ce
                total = total + self.ce_weight * ce
        token_proj = sent_proj = None
        if self.label_weight and out.token_proj is not None:
            token_proj = _leaf(out.token_proj)
            idx = torch.as_tensor(
                self._sample_contrastive_tokens(numpy.asarray(targets.tag_ids)), device=device
            )
            labels = tags[idx]
            if self.positive_by == "type" and targets.entity_types is not None:
                labels = torch.as_tensor(targets.entity_types, dtype=torch.int64, device=device)[labels]
            values["label"] = supervised_contrastive(token_proj[idx], labels, self.temperature)
            total = total + self.label_weight * values["label"]
        if self.trans_weight and out.sent_proj is not None:
            sent_proj = _leaf(out.sent_proj)
            pair_ids = torch.as_tensor(targets.pair_ids, dtype=torch.int64, device=device)
            values["trans"] = translation_contrastive(sent_proj, pair_ids, self.temperature)
            total = total + self.trans_weight * values["trans"]
        if self.distill_weight and targets.soft_log_probs is not None:
            mask = torch.as_tensor(targets.soft_mask, dtype=torch.bool, device=device)
            if bool(mask.any()):
                teacher = torch.as_tensor(targets.soft_log_probs, device=device)
                values["distill"] = soft_cross_entropy(logits, teacher, self.distill_temperature, mask)
                total = total + self.distill_weight * values["distill"]
        if total.requires_grad:
            total.backward()
        d_logits = _grad(logits, out.logits)
        if d_logits is None:
            d_logits = out.logits * 0
        grads = ConCNEROutput(
            d_logits, _grad(token_proj, out.token_proj), _grad(sent_proj, out.sent_proj), out.lengths
        )
        return {k: float(v.item()) for k, v in values.items()}, grads


def _device_of(array) -> torch.device:
    """The torch device of a numpy (host) or cupy (GPU) array."""
    if isinstance(array, numpy.ndarray):
        return torch.device("cpu")
    return torch.device("cuda", array.device.id)


def _leaf(array) -> torch.Tensor:
    """A float32 torch leaf requiring grad on ``array``'s own device, sharing its memory if float32."""
    return xp2torch(array, device=_device_of(array)).float().requires_grad_(True)


def _grad(tensor: Optional[torch.Tensor], like):
    """``tensor.grad`` as an array of ``like``'s kind (numpy or cupy) and dtype; None without one."""
    if tensor is None or tensor.grad is None:
        return None
    return torch2xp(tensor.grad).astype(like.dtype, copy=False)


# The class itself is the registered factory: config settings are its constructor arguments.
make_dual_contrastive_loss = registry.losses("spacy_concner.DualContrastiveLoss.v1")(DualContrastiveLoss)
