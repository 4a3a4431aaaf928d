"""The paired batcher never splits a pair, never loses or duplicates an example."""
import random
from collections import Counter

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_concner.training.batching import configure_paired_batcher, group_pairs
from spacy_concner.data.docdata import get_pair_id, set_pair

NLP = spacy.blank("xx")


def _examples(rng: random.Random, n_pairs: int):
    examples = []
    for p in range(n_pairs):
        for lang in ["en"] + rng.sample(["de", "es", "nl"], rng.randint(0, 3)):
            words = [f"w{i}" for i in range(rng.randint(1, 30))]
            doc = set_pair(Doc(NLP.vocab, words=words), f"p{p}", lang)
            examples.append(Example(doc, doc))
    rng.shuffle(examples)
    return examples


def test_200_random_batches_keep_pairs_and_examples():
    rng = random.Random(0)
    n_batches = 0
    while n_batches < 200:
        examples = _examples(rng, rng.randint(1, 40))
        size = rng.randint(30, 300)
        unit = rng.choice(["words", "examples"])
        if unit == "examples":
            size = rng.randint(4, 20)
        bucket = rng.choice([0, 0, 3, 50])
        batcher = configure_paired_batcher(size=size, unit=unit, seed=rng.randint(0, 99), bucket=bucket)
        batches = list(batcher(examples))
        n_batches += len(batches)
        seen = Counter(id(eg) for batch in batches for eg in batch)
        assert sorted(seen) == sorted(id(eg) for eg in examples)  # none lost
        assert max(seen.values()) == 1  # none duplicated
        home = {}
        for b, batch in enumerate(batches):
            for eg in batch:
                assert home.setdefault(get_pair_id(eg.reference), b) == b  # pair never split
            measure = len(batch) if unit == "examples" else sum(len(eg) for eg in batch)
            pairs_in_batch = {get_pair_id(eg.reference) for eg in batch}
            assert measure <= size or len(pairs_in_batch) == 1  # only a lone oversize pair exceeds


def test_same_seed_same_batches_and_epochs_differ():
    examples = _examples(random.Random(1), 30)
    def order(seed):
        batcher = configure_paired_batcher(size=100, seed=seed)
        return [[get_pair_id(e.reference) for e in b] for b in batcher(examples)], \
               [[get_pair_id(e.reference) for e in b] for b in batcher(examples)]
    first_a, second_a = order(3)
    first_b, second_b = order(3)
    assert first_a == first_b and second_a == second_b
    assert first_a != second_a  # a new shuffle each epoch
    assert order(4)[0] != first_a


def test_oversize_pair_emitted_alone_or_discarded():
    doc = set_pair(Doc(NLP.vocab, words=["x"] * 50), "big", "en")
    small = set_pair(Doc(NLP.vocab, words=["y"] * 5), "small", "en")
    examples = [Example(doc, doc), Example(small, small)]
    batches = list(configure_paired_batcher(size=20, seed=0)(examples))
    assert sorted(len(b) for b in batches) == [1, 1]
    batcher = configure_paired_batcher(size=20, seed=0, discard_oversize=True)
    kept = [e for b in batcher(examples) for e in b]
    assert [get_pair_id(e.reference) for e in kept] == ["small"] and batcher.n_oversize == 1


def test_group_pairs_groups_by_pair_id():
    docs = [set_pair(Doc(NLP.vocab, words=["a"]), pid, "en") for pid in ["1", "2", "1"]]
    groups = group_pairs(Example(d, d) for d in docs)
    assert [len(g) for g in groups] == [2, 1]


def test_bad_unit():
    with pytest.raises(ValueError, match="unit"):
        configure_paired_batcher(size=10, unit="tokens")


def _padded(batches):
    """Padded slots / real tokens: what a transformer computes on, over what it needs."""
    return sum(max(len(eg) for eg in b) * len(b) for b in batches) / sum(len(eg) for b in batches for eg in b)


def _similar_length_pairs(rng: random.Random, n_pairs: int):
    """Pairs whose translations are as long as their source (give or take a word), like real ones."""
    examples = []
    for p in range(n_pairs):
        n = rng.randint(2, 30)
        for lang in ["en"] + rng.sample(["de", "es", "nl"], rng.randint(0, 3)):
            doc = set_pair(Doc(NLP.vocab, words=[f"w{i}" for i in range(n + rng.randint(-1, 1))]), f"p{p}", lang)
            examples.append(Example(doc, doc))
    rng.shuffle(examples)
    return examples


def test_bucketing_cuts_padding_keeps_pairs_and_is_seeded():
    examples = _similar_length_pairs(random.Random(2), 400)
    plain = list(configure_paired_batcher(size=300, seed=0)(examples))
    bucketed = configure_paired_batcher(size=300, seed=0, bucket=400)
    first, second = list(bucketed(examples)), list(bucketed(examples))
    assert _padded(plain) > 1.4 and _padded(first) < 1.15  # sentences of 1-30 words, whole set in one window
    for batch in first:
        ids = Counter(get_pair_id(eg.reference) for eg in batch)
        assert all(n == sum(get_pair_id(e.reference) == p for e in examples) for p, n in ids.items())
    lengths = [max(len(eg) for eg in b) for b in first]
    assert lengths != sorted(lengths)  # batch order shuffled, not short-to-long
    again = list(configure_paired_batcher(size=300, seed=0, bucket=400)(examples))
    assert [[id(e) for e in b] for b in again] == [[id(e) for e in b] for b in first]
    assert [[id(e) for e in b] for b in second] != [[id(e) for e in b] for b in first]
    with pytest.raises(ValueError, match="bucket"):
        configure_paired_batcher(size=10, bucket=-1)
