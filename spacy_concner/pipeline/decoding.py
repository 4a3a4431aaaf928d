"""BIO tag sets and constrained Viterbi decoding.

Decoding forbids ``I-X`` unless the previous tag is ``B-X`` or ``I-X`` (and at the start of a
sentence), so every predicted sequence is valid IOB2 and maps onto non-overlapping spans.
"""
from typing import Iterable, List, Sequence, Tuple

import numpy


def tags_for_labels(labels: Iterable[str]) -> List[str]:
    """The IOB2 tag inventory: ``O`` first, then ``B-X``, ``I-X`` per label in sorted order."""
    tags = ["O"]
    for label in sorted(set(labels)):
        tags.extend((f"B-{label}", f"I-{label}"))
    return tags


def allowed_transitions(tags: Sequence[str]) -> numpy.ndarray:
    """Boolean (n_tags, n_tags) matrix: entry [i, j] is True if tag j may follow tag i."""
    n = len(tags)
    allowed = numpy.ones((n, n), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            label = tag[2:]
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in (f"B-{label}", f"I-{label}")
    return allowed


def allowed_starts(tags: Sequence[str]) -> numpy.ndarray:
    return numpy.array([not t.startswith("I-") for t in tags], dtype=bool)


def viterbi_decode(log_probs: numpy.ndarray, allowed: numpy.ndarray, starts: numpy.ndarray) -> numpy.ndarray:
    """Best tag index sequence under the transition constraints for one sentence.

    log_probs: (n_tokens, n_tags) per-token log-probabilities. Returns (n_tokens,) int array.
    """
    return viterbi_decode_batch([log_probs], allowed, starts)[0]


def viterbi_decode_batch(
    log_probs: Sequence[numpy.ndarray], allowed: numpy.ndarray, starts: numpy.ndarray
) -> List[numpy.ndarray]:
    """:func:`viterbi_decode` for many sentences at once, with the same result for each.

    The sentences are padded into one (batch, max_len, n_tags) array so that the time loop runs
    max_len times for the whole batch instead of once per token of every sentence: a batch of
    16 sentences costs about what one sentence did. A sentence's scores stop changing after its
    last token, and its backtrace starts there.
    """
    lengths = numpy.array([len(lp) for lp in log_probs], dtype="int64")
    n_tags = allowed.shape[0]
    if not len(lengths) or not lengths.max():
        return [numpy.zeros((0,), dtype="int32") for _ in lengths]
    batch, max_len = len(lengths), int(lengths.max())
    scores = numpy.zeros((batch, max_len, n_tags), dtype=numpy.result_type(*log_probs, numpy.float32))
    for b, lp in enumerate(log_probs):
        scores[b, : len(lp)] = lp
    penalty = numpy.where(allowed, 0.0, -numpy.inf)
    score = numpy.where(starts, scores[:, 0], -numpy.inf)
    back = numpy.zeros((batch, max_len, n_tags), dtype="int32")
    for t in range(1, max_len):
        cand = score[:, :, None] + penalty  # (batch, prev, cur)
        back[:, t] = cand.argmax(axis=1)
        active = (t < lengths)[:, None]
        score = numpy.where(active, cand.max(axis=1) + scores[:, t], score)
    rows = numpy.arange(batch)
    path = numpy.zeros((batch, max_len), dtype="int32")
    cur = score.argmax(axis=1).astype("int32")
    path[rows, numpy.maximum(lengths - 1, 0)] = cur
    for t in range(max_len - 1, 0, -1):
        active = t < lengths
        prev = back[rows, t, cur]
        path[active, t - 1] = prev[active]
        cur = numpy.where(active, prev, cur)
    return [path[b, : lengths[b]].copy() for b in range(batch)]


def tag_spans(tag_ids: Sequence[int], tags: Sequence[str]) -> List[Tuple[int, int, str]]:
    """(start, end, label) token spans of an IOB2 tag index sequence.

    ``I-X`` continues an open ``X`` span and opens one otherwise (as spaCy's ``iob_to_biluo``
    reads it); ``B-X`` always opens one; ``O`` closes.
    """
    spans: List[Tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag_id in enumerate(tag_ids):
        tag = tags[tag_id]
        if start >= 0 and (tag == "O" or tag.startswith("B-") or tag[2:] != label):
            spans.append((start, i, label))
            start = -1
        if tag != "O" and start < 0:
            start, label = i, tag[2:]
    if start >= 0:
        spans.append((start, len(tag_ids), label))
    return spans
