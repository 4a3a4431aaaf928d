"""The per-Doc metadata that ties translations, languages and soft targets together.

All of it lives in ``doc.user_data`` so it travels through ``DocBin(store_user_data=True)``:

- ``"concner.pair_id"`` (str): id of the *source* sentence. A source sentence and each of its
  translations share it; the translation-contrastive loss treats equal ids as positives.
- ``"concner.lang"`` (str): ISO 639-1 code of the Doc's language ("en", "de", ...).
- ``"concner.soft_tags"`` (dict): teacher output for distillation, see :func:`set_soft_tags`.
- ``"concner.translated"`` (bool): set by the paired reader on Docs read from translation files, so
  the loss can weight the CE of projected (noisier) labels apart from the source's.
"""
from typing import Dict, List, Optional, Sequence

import numpy
from spacy.tokens import Doc

from ..errors import InputError

PAIR_ID = "concner.pair_id"
LANG = "concner.lang"
SOFT_TAGS = "concner.soft_tags"
TRANSLATED = "concner.translated"


def set_pair(doc: Doc, pair_id: str, lang: str) -> Doc:
    doc.user_data[PAIR_ID] = str(pair_id)
    doc.user_data[LANG] = str(lang)
    return doc


def get_pair_id(doc: Doc) -> Optional[str]:
    return doc.user_data.get(PAIR_ID)


def get_lang(doc: Doc) -> Optional[str]:
    return doc.user_data.get(LANG)


def is_translated(doc: Doc) -> bool:
    """Whether the Doc came from a translation file (its labels are projected, not annotated)."""
    return bool(doc.user_data.get(TRANSLATED, False))


def set_soft_tags(doc: Doc, log_probs: numpy.ndarray, labels: Sequence[str]) -> None:
    """Store a teacher's per-token tag log-probabilities compactly (float16 bytes).

    Log-probabilities (not probabilities) are stored so the student may re-soften them with
    any temperature: softmax(log_p / T) == softmax(logits / T).
    """
    log_probs = numpy.asarray(log_probs)
    if log_probs.ndim != 2 or log_probs.shape != (len(doc), len(labels)):
        raise ValueError(
            f"Soft tags of shape {log_probs.shape} do not fit a Doc of {len(doc)} tokens "
            f"and {len(labels)} tags."
        )
    doc.user_data[SOFT_TAGS] = {
        "labels": list(labels),
        "shape": list(log_probs.shape),
        "data": log_probs.astype("float16").tobytes(),
    }


def get_soft_tags(doc: Doc) -> Optional[Dict]:
    """Return ``{"labels": [...], "log_probs": float32 array (n_tokens, n_tags)}`` or None.

    A stored array whose length differs from the Doc's is an error, never silently truncated.
    """
    stored = doc.user_data.get(SOFT_TAGS)
    if stored is None:
        return None
    shape = tuple(stored["shape"])
    arr = numpy.frombuffer(stored["data"], dtype="float16").reshape(shape).astype("float32")
    if shape[0] != len(doc):
        pid = get_pair_id(doc)
        raise InputError(
            f"Soft targets for doc {pid!r} cover {shape[0]} tokens but the doc has {len(doc)}: "
            "the teacher annotation and the text are misaligned."
        )
    labels: List[str] = list(stored["labels"])
    return {"labels": labels, "log_probs": arr}
