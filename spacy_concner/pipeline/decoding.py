"""BIO tag sets and constrained Viterbi decoding.

Decoding forbids ``I-X`` unless the previous tag is ``B-X`` or ``I-X`` (and at the start of a
sentence), so every predicted sequence is valid IOB2 and maps onto non-overlapping spans.
"""
from typing import Iterable, List, Sequence

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
    n, n_tags = log_probs.shape
    if n == 0:
        return numpy.zeros((0,), dtype="int32")
    penalty = numpy.where(allowed, 0.0, -numpy.inf)
    score = numpy.where(starts, log_probs[0], -numpy.inf)
    back = numpy.zeros((n, n_tags), dtype="int32")
    for t in range(1, n):
        cand = score[:, None] + penalty  # (prev, cur)
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_probs[t]
    path = numpy.zeros((n,), dtype="int32")
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
