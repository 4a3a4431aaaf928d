"""The supervision of one batch, aligned with the model's output rows (:class:`~spacy_concner.ml.dual_contrastive_loss.Targets`).

Five independent pieces, one function each: gold tag ids per token, a pair id per Doc (equal for
a sentence and its translations), which tokens belong to translations (projected labels), the
teacher's soft tags per token (distillation), and the entity type of every tag (for
``positive_by = "type"``).
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.training import Example, biluo_to_iob

from ..data.docdata import get_pair_id, get_soft_tags, is_translated

MISSING = (None, "-")


def gold_tag_ids(eg: Example, tag_index: Dict[str, int], on_unknown: Callable[[str], None]) -> List[int]:
    """Tag index per predicted token, -1 where the gold is missing or its label unknown (``on_unknown(label)``)."""
    aligned = eg.get_aligned_ner()
    if aligned is None or all(t in MISSING for t in aligned):
        return [-1] * len(eg.predicted)
    iob = biluo_to_iob([t if t not in MISSING else "O" for t in aligned])
    ids = []
    for raw, tag in zip(aligned, iob):
        known = raw not in MISSING
        ids.append(tag_index.get(tag, -1) if known else -1)
        if known and tag.startswith("B-") and tag not in tag_index:
            on_unknown(tag[2:])
    return ids


def doc_pair_ids(examples: Sequence[Example]) -> numpy.ndarray:
    """An integer per Doc, equal for Docs that share a pair id (a Doc without one is its own pair)."""
    index: Dict[str, int] = {}
    ids = [index.setdefault(pair_key(eg, i), len(index)) for i, eg in enumerate(examples)]
    return numpy.asarray(ids, dtype="int64")


def translated_tokens(examples: Sequence[Example]) -> numpy.ndarray:
    """True for each predicted token of a Doc read from a translation file (see ``is_translated``)."""
    flags = [is_translated(eg.reference) or is_translated(eg.predicted) for eg in examples]
    return numpy.repeat(numpy.asarray(flags, dtype=bool), [len(eg.predicted) for eg in examples])


def pair_key(eg: Example, i: int) -> str:
    return get_pair_id(eg.reference) or get_pair_id(eg.predicted) or f"__doc{i}"


def reorder_soft(soft: Dict, tag_index: Dict[str, int], pid: str) -> numpy.ndarray:
    """Map the teacher's tag columns onto this component's tag order."""
    out = numpy.full((soft["log_probs"].shape[0], len(tag_index)), -1e4, dtype="float32")
    for col, tag in enumerate(soft["labels"]):
        if tag not in tag_index:
            raise ValueError(
                f"Teacher tag {tag!r} (doc {pid!r}) is not among the student's tags "
                f"{list(tag_index)}; initialize the student on the distillation corpus."
            )
        out[:, tag_index[tag]] = soft["log_probs"][:, col]
    return out


def soft_targets(
    examples: Sequence[Example], tag_index: Dict[str, int]
) -> Tuple[Optional[numpy.ndarray], Optional[numpy.ndarray]]:
    """Teacher log-probabilities per token and the mask of tokens that have them; ``(None, None)`` if none do."""
    rows: List[numpy.ndarray] = []
    mask: List[bool] = []
    for i, eg in enumerate(examples):
        n, soft = len(eg.predicted), get_soft_tags(eg.reference)
        if soft is None:
            rows.append(numpy.zeros((n, len(tag_index)), dtype="float32"))
            mask.extend([False] * n)
            continue
        if len(eg.reference) != n:
            raise ValueError(
                f"Soft targets of doc {pair_key(eg, i)!r} are aligned to {len(eg.reference)} tokens, "
                f"but the predicted doc has {n}; distillation examples must keep the "
                "teacher's tokenization (use spacy_concner.DistillCorpus.v1)."
            )
        rows.append(reorder_soft(soft, tag_index, pair_key(eg, i)))
        mask.extend([True] * n)
    if not any(mask):
        return None, None
    return numpy.concatenate(rows), numpy.asarray(mask, dtype=bool)


def entity_types(tags: Sequence[str], labels: Sequence[str]) -> numpy.ndarray:
    """Per tag, the index of its entity type: ``O`` is 0, ``B-X`` and ``I-X`` are ``1 + labels.index(X)``."""
    return numpy.array([0] + [1 + list(labels).index(t[2:]) for t in tags[1:]], dtype="int64")
