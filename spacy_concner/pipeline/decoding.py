"""BIO tag sets and constrained Viterbi decoding.

Decoding forbids ``I-X`` unless the previous tag is ``B-X`` or ``I-X`` (and at the start of a
sentence), so every predicted sequence is valid IOB2 and maps onto non-overlapping spans.
Whitespace tokens are always ``O``: no entity starts, ends or runs across one.
"""
from typing import Iterable, List, Sequence

import numpy
from spacy.tokens import Doc, Span
from spacy.training import biluo_tags_to_spans, iob_to_biluo


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


def ents_from_tags(doc: Doc, tag_ids: Sequence[int], tags: Sequence[str]) -> List[Span]:
    """The entity spans of an IOB2 tag index sequence, read by spaCy (``iob_to_biluo`` +
    ``biluo_tags_to_spans``: ``I-X`` without an open ``X`` opens one), trimmed of whitespace tokens
    at either end (a span of whitespace only is dropped), as spaCy's own NER never lets an entity
    start or end on whitespace."""
    spans = biluo_tags_to_spans(doc, iob_to_biluo([tags[i] for i in tag_ids]))
    trimmed = []
    for span in spans:
        start, end = span.start, span.end
        while start < end and doc[start].is_space:
            start += 1
        while end > start and doc[end - 1].is_space:
            end -= 1
        if start < end:
            trimmed.append(Span(doc, start, end, label=span.label))
    return trimmed


def outside_on_space_tokens(log_probs: numpy.ndarray, doc: Doc) -> numpy.ndarray:
    """``log_probs`` with every tag but ``O`` (column 0) ruled out on whitespace tokens (``is_space``).

    Applied before decoding, so that no entity starts on, ends on or runs across a newline or
    extra space however the model scores it (the constrained Viterbi then picks the best valid
    tags around them). The scores themselves (e.g. a teacher's soft targets) are left as they are.
    """
    space = numpy.fromiter((t.is_space for t in doc), dtype=bool, count=len(doc))
    if not space.any():
        return log_probs
    masked = log_probs.copy()
    masked[space, 1:] = -numpy.inf
    return masked
