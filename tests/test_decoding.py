"""Constrained Viterbi as a property: on random scores and many tag sets the output is always
valid IOB2, and on short inputs it is the best valid sequence (checked by brute force)."""
import itertools
import random
from typing import List, Sequence

import numpy
import pytest

import spacy
from spacy.training import biluo_tags_to_spans, iob_to_biluo

from spacy_concner.pipeline.decoding import (
    allowed_starts, allowed_transitions, ents_from_tags, outside_on_space_tokens, tags_for_labels, viterbi_decode,
    viterbi_decode_batch,
)

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


def _one_at_a_time(log_probs, allowed, starts):
    """The reference: the textbook recursion, one sentence at a time."""
    out = []
    for lp in log_probs:
        n, n_tags = lp.shape
        if not n:
            out.append([])
            continue
        penalty = numpy.where(allowed, 0.0, -numpy.inf)
        score, back = numpy.where(starts, lp[0], -numpy.inf), []
        for t in range(1, n):
            cand = score[:, None] + penalty
            back.append(cand.argmax(axis=0))
            score = cand.max(axis=0) + lp[t]
        path = [int(score.argmax())]
        for pointers in reversed(back):
            path.append(int(pointers[path[-1]]))
        out.append(path[::-1])
    return out


@pytest.mark.parametrize("labels", TAG_SETS, ids=lambda l: f"{len(l)}labels")
def test_batched_viterbi_equals_one_sentence_at_a_time(labels):
    """Sentences of very different lengths (0 included) in one batch: each gets its own best path."""
    tags = tags_for_labels(labels)
    allowed, starts = allowed_transitions(tags), allowed_starts(tags)
    rng = random.Random(7)
    for _ in range(40):
        batch = [_random_scores(rng, rng.choice([0, 1, 2, 5, 17]), len(tags)) for _ in range(rng.randint(1, 9))]
        got = viterbi_decode_batch(batch, allowed, starts)
        assert [g.tolist() for g in got] == _one_at_a_time(batch, allowed, starts)
        assert [len(g) for g in got] == [len(lp) for lp in batch]


def _spans(doc, ids, tags):
    return [(s.start, s.end, s.label_) for s in ents_from_tags(doc, ids, tags)]


def test_ents_from_tags_reads_tags_as_spacy_does():
    """Without whitespace tokens: exactly spaCy's iob_to_biluo + biluo_tags_to_spans, ill-formed input too."""
    tags = tags_for_labels(["LOC", "PER"])
    nlp = spacy.blank("en")
    rng = random.Random(3)
    cases = [["B-PER", "I-PER", "O", "B-LOC"], ["I-PER", "I-PER", "B-PER", "I-LOC"], ["O", "O"], [],
             ["B-LOC", "B-LOC", "I-LOC", "I-LOC"], ["I-LOC"]]
    cases += [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(200)]
    for seq in cases:
        doc = nlp.make_doc(" ".join(["w"] * len(seq))) if seq else nlp.make_doc("")
        expected = [(s.start, s.end, s.label_) for s in biluo_tags_to_spans(doc, iob_to_biluo(seq))]
        assert _spans(doc, [tags.index(t) for t in seq], tags) == expected, seq


def test_ents_from_tags_trims_whitespace_tokens():
    """An entity never starts or ends on a whitespace token; one of whitespace only is dropped."""
    tags = tags_for_labels(["LOC"])
    doc = spacy.blank("en").make_doc("Berlin\nBerlin  Paris \n")
    assert [t.text for t in doc] == ["Berlin", "\n", "Berlin", " ", "Paris", "\n"]
    assert [t.is_space for t in doc] == [False, True, False, True, False, True]
    B, I, O = tags.index("B-LOC"), tags.index("I-LOC"), 0
    assert _spans(doc, [B, I, I, I, I, I], tags) == [(0, 5, "LOC")]  # inside: kept, as spaCy's NER does
    assert _spans(doc, [O, B, I, O, B, I], tags) == [(2, 3, "LOC"), (4, 5, "LOC")]
    assert _spans(doc, [O, B, O, B, O, B], tags) == []


def test_space_tokens_never_carry_an_entity_however_they_are_scored():
    """Raw scores that put B-/I-LOC on "\n" and " ": decoding still gives them O, and the entities
    around them are the best valid ones without them."""
    tags = tags_for_labels(["LOC"])
    allowed, starts = allowed_transitions(tags), allowed_starts(tags)
    doc = spacy.blank("en").make_doc("\nBerlin\nBerlin  Paris \n")
    assert [t.text for t in doc] == ["\n", "Berlin", "\n", "Berlin", " ", "Paris", "\n"]
    #                       O     B-LOC  I-LOC
    scores = numpy.log(numpy.array([
        [0.1, 0.8, 0.1],   # \n       favours B-LOC
        [0.1, 0.2, 0.7],   # Berlin   favours I-LOC (continue)
        [0.1, 0.1, 0.8],   # \n       favours I-LOC
        [0.1, 0.2, 0.7],   # Berlin
        [0.05, 0.05, 0.9],  # " "     favours I-LOC
        [0.1, 0.2, 0.7],   # Paris
        [0.1, 0.1, 0.8],   # \n
    ]))
    raw = viterbi_decode(scores, allowed, starts)
    assert [tags[i] for i in raw] == ["B-LOC"] + ["I-LOC"] * 6  # what the scores alone choose
    before = scores.copy()
    masked = outside_on_space_tokens(scores, doc)
    assert numpy.array_equal(scores, before)  # the caller's scores (e.g. soft targets) are left as they are
    ids = viterbi_decode(masked, allowed, starts)
    assert [tags[i] for i in ids] == ["O", "B-LOC", "O", "B-LOC", "O", "B-LOC", "O"]
    assert _spans(doc, ids, tags) == [(1, 2, "LOC"), (3, 4, "LOC"), (5, 6, "LOC")]
    plain = spacy.blank("en").make_doc("Berlin Paris")
    assert numpy.array_equal(outside_on_space_tokens(scores[:2], plain), scores[:2])
