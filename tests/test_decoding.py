"""Constrained Viterbi as a property: on random scores and many tag sets the output is always
valid IOB2, and on short inputs it is the best valid sequence (checked by brute force)."""
import itertools
import random
from typing import List, Sequence

import numpy
import pytest

from spacy_concner.pipeline.decoding import allowed_starts, allowed_transitions, tags_for_labels, viterbi_decode

TAG_SETS = [["PER"], ["LOC", "PER"], ["LOC", "MISC", "ORG", "PER"], ["A", "B", "C", "D", "E", "F"]]


def is_valid_iob2(tags: Sequence[str]) -> bool:
    """I-X only directly after B-X or I-X; never at the start."""
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
        prev = tag
    return True


def brute_force_best(log_probs: numpy.ndarray, tags: List[str]) -> float:
    """Highest total score over every valid IOB2 sequence (enumerated)."""
    n = log_probs.shape[0]
    best = -numpy.inf
    for seq in itertools.product(range(len(tags)), repeat=n):
        if is_valid_iob2([tags[i] for i in seq]):
            best = max(best, float(log_probs[numpy.arange(n), list(seq)].sum()))
    return best


def _random_scores(rng: random.Random, n: int, n_tags: int) -> numpy.ndarray:
    """Log-softmax of random logits; half the time sharpened so invalid argmax paths are common."""
    scale = rng.choice([1.0, 5.0])
    logits = numpy.array([[rng.gauss(0, scale) for _ in range(n_tags)] for _ in range(n)])
    return logits - numpy.log(numpy.exp(logits).sum(-1, keepdims=True)) if n else logits.reshape(0, n_tags)


@pytest.mark.parametrize("labels", TAG_SETS, ids=lambda l: f"{len(l)}labels")
def test_viterbi_output_is_always_valid_iob2(labels):
    tags = tags_for_labels(labels)
    allowed, starts = allowed_transitions(tags), allowed_starts(tags)
    rng = random.Random(1234)
    for _ in range(300):
        n = rng.randint(0, 12)
        path = viterbi_decode(_random_scores(rng, n, len(tags)), allowed, starts)
        assert path.shape == (n,)
        assert is_valid_iob2([tags[i] for i in path]), [tags[i] for i in path]


@pytest.mark.parametrize("labels", TAG_SETS[:3], ids=lambda l: f"{len(l)}labels")
def test_viterbi_equals_brute_force_on_short_inputs(labels):
    tags = tags_for_labels(labels)
    allowed, starts = allowed_transitions(tags), allowed_starts(tags)
    rng = random.Random(99)
    max_len = 5 if len(tags) <= 5 else 4
    for _ in range(60):
        n = rng.randint(1, max_len)
        lp = _random_scores(rng, n, len(tags))
        path = viterbi_decode(lp, allowed, starts)
        got = float(lp[numpy.arange(n), path].sum())
        assert got == pytest.approx(brute_force_best(lp, tags), abs=1e-9), [tags[i] for i in path]


def test_iob2_checker_itself():
    assert is_valid_iob2(["B-PER", "I-PER", "O", "B-LOC"]) and is_valid_iob2([])
    assert not is_valid_iob2(["I-PER"]) and not is_valid_iob2(["B-LOC", "I-PER"])
    assert not is_valid_iob2(["O", "I-LOC"])
