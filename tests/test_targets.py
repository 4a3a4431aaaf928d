"""The batch supervision of the concner component (pipeline/targets.py), one function at a time."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_concner.data.docdata import set_pair, set_soft_tags
from spacy_concner.pipeline.targets import doc_pair_ids, entity_types, gold_tag_ids, soft_targets

VOCAB = spacy.blank("en").vocab
TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
INDEX = {t: i for i, t in enumerate(TAGS)}


def _eg(words, ents=None, pair=None, predicted_words=None):
    ref = Doc(VOCAB, words=words, ents=ents)
    if pair:
        set_pair(ref, pair, "en")
    return Example(Doc(VOCAB, words=predicted_words or words), ref)


def test_gold_tags_are_iob_ids_and_unknown_labels_are_reported_and_masked():
    unknown = []
    eg = _eg(["Anna", "Maria", "saw", "Lake", "Como", "and", "Acme"],
             ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"])
    assert gold_tag_ids(eg, INDEX, unknown.append) == [3, 4, 0, 1, 2, 0, -1]
    assert unknown == ["ORG"]


def test_missing_gold_is_masked_not_read_as_O():
    eg = _eg(["Anna", "saw", "Paris"], ["B-PER", None, "B-LOC"])
    assert gold_tag_ids(eg, INDEX, lambda label: None) == [3, -1, 1]
    unannotated = Example(Doc(VOCAB, words=["a", "b"]), Doc(VOCAB, words=["a", "b"]))
    assert gold_tag_ids(unannotated, INDEX, lambda label: None) == [-1, -1]


def test_pair_ids_group_a_sentence_with_its_translations_and_lone_docs_are_their_own_pair():
    egs = [_eg(["a"], pair="p1"), _eg(["b"], pair="p2"), _eg(["c"], pair="p1"), _eg(["d"]), _eg(["e"])]
    ids = doc_pair_ids(egs).tolist()
    assert ids[0] == ids[2] and len({ids[0], ids[1], ids[3], ids[4]}) == 4


def test_soft_targets_follow_the_components_tag_order_and_mask_docs_without_them():
    teacher_labels = ["B-PER", "O", "I-PER", "B-LOC", "I-LOC"]  # another column order than TAGS
    log_probs = numpy.log(numpy.array([[0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.1, 0.6, 0.1, 0.1]], dtype="float32"))
    with_soft = _eg(["Anna", "Maria"])
    set_soft_tags(with_soft.reference, log_probs, teacher_labels)
    rows, mask = soft_targets([with_soft, _eg(["x"])], INDEX)
    assert mask.tolist() == [True, True, False]
    assert rows.shape == (3, len(TAGS))
    # float16 storage: the values come back to ~1e-3
    assert rows[0, INDEX["B-PER"]] == pytest.approx(numpy.log(0.7), abs=2e-3)
    assert rows[1, INDEX["I-PER"]] == pytest.approx(numpy.log(0.6), abs=2e-3)
    assert rows[0, INDEX["O"]] == pytest.approx(numpy.log(0.1), abs=2e-3)
    assert soft_targets([_eg(["x"])], INDEX) == (None, None)


def test_soft_targets_on_other_tokens_than_the_prediction_are_an_error():
    eg = _eg(["Anna", "Maria"], predicted_words=["Anna", "Maria", "!"])
    set_soft_tags(eg.reference, numpy.zeros((2, 5), dtype="float32"), TAGS)
    with pytest.raises(ValueError, match="DistillCorpus"):
        soft_targets([eg], INDEX)


def test_entity_types_share_an_index_for_B_and_I():
    assert entity_types(TAGS, ["LOC", "PER"]).tolist() == [0, 1, 1, 2, 2]
