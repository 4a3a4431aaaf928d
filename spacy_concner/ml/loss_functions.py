"""The ConCNER loss terms as plain torch functions (unit-tested on hand-computed values).

- :func:`supervised_contrastive`: SupCon (Khosla et al. 2020, the "L_out" form). Used for the
  label-contrastive term over token projections (labels = gold tag ids).
- :func:`translation_contrastive`: InfoNCE / NT-Xent over sentence projections where a sentence
  and its translations (equal pair ids) are positives and every other sentence in the batch is a
  negative. Every sentence is an anchor, so the loss is symmetric (source->translation and
  translation->source).
- :func:`soft_cross_entropy`: distillation loss on teacher log-probabilities with temperature.

Temperatures must be > 0; :class:`~spacy_concner.ml.dual_contrastive_loss.DualContrastiveLoss`
checks its settings when the config is loaded, so these functions do not check again.

Anchors without any positive in the batch contribute nothing; if no anchor has a positive the
loss is an exact zero that is still connected to the graph (zero gradient, never NaN).
"""
from typing import Optional

import torch
import torch.nn.functional as F


def supervised_contrastive(
    z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """SupCon loss of L2-normalised rows of ``z`` (n, d) with integer ``labels`` (n,).

    loss_i = -1/|P(i)| sum_{p in P(i)} log( exp(s_ip / t) / sum_{a != i} exp(s_ia / t) ),
    averaged over anchors i with |P(i)| > 0, where s = cosine similarity.
    """
    n = z.shape[0]
    if n < 2:
        return z.sum() * 0.0
    z = F.normalize(z, dim=-1)
    logits = z @ z.t() / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos.sum(dim=1)
    anchors = n_pos > 0
    if not bool(anchors.any()):
        return z.sum() * 0.0
    pos_log_prob = log_prob.masked_fill(~pos, 0.0).sum(dim=1)
    per_anchor = -pos_log_prob[anchors] / n_pos[anchors]
    return per_anchor.mean()


def translation_contrastive(
    z: torch.Tensor, pair_ids: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """Symmetric InfoNCE over sentence projections: same pair id = positive, rest negatives.

    For a batch of exactly one source and one translation per pair this is the NT-Xent loss of
    SimCLR; with several translations of one source, all of them are positives of each other.
    """
    return supervised_contrastive(z, pair_ids, temperature)


def soft_cross_entropy(
    student_logits: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    temperature: float = 1.0,
    mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Knowledge-distillation loss: T^2 * mean over tokens of CE(softmax(teacher/T), student/T).

    ``teacher_log_probs`` are log-probabilities (any per-row shift of logits gives the same
    softened distribution). Cross-entropy differs from KL only by the teacher's entropy, a
    constant, so the gradients are the same as for KL.
    """
    target = torch.softmax(teacher_log_probs / temperature, dim=-1)
    log_q = torch.log_softmax(student_logits / temperature, dim=-1)
    per_token = -(target * log_q).sum(dim=-1)
    if mask is not None:
        per_token = per_token[mask]
    if per_token.numel() == 0:
        return student_logits.sum() * 0.0
    return per_token.mean() * temperature**2
