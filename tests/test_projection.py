"""Marker projection: wrapping entities before MT, recovering them after, and every drop reason."""
import pytest
import spacy
from spacy.tokens import Doc

from spacy_concner.data.docdata import get_lang, get_pair_id, set_pair
from spacy_concner.translate.projection import (
    EMPTY_ENTITY,
    EMPTY_TRANSLATION,
    MARKER_DUPLICATED,
    MARKER_LABEL_CHANGED,
    MARKER_LOST,
    MARKER_OVERLAP,
    MARKER_UNBALANCED,
    BracketMarkers,
    HtmlMarkers,
    ProjectionDrop,
    mark_doc,
    project,
    recover,
)

BR = BracketMarkers()
HT = HtmlMarkers()


def make_doc(words, ents, pair_id="en-1", spaces=None):
    doc = Doc(spacy.blank("en").vocab, words=words, spaces=spaces, ents=ents)
    return set_pair(doc, pair_id, "en")


def ents_of(doc):
    return [(e.text, e.label_) for e in doc.ents]


@pytest.fixture
def merkel():
    # "Angela Merkel visited Paris ."  -> PER (2 tokens), LOC
    return make_doc(["Angela", "Merkel", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"],
                    spaces=[True, True, True, False, False])


def test_mark_brackets_and_html(merkel):
    assert mark_doc(merkel, BR) == "[PER Angela Merkel ] visited [LOC Paris ]."
    assert mark_doc(merkel, HT) == '<span class="PER">Angela Merkel</span> visited <span class="LOC">Paris</span>.'


def test_roundtrip_sets_pair_id_language_and_target_tokenizer(merkel):
    doc, expanded = project(merkel, "[PER Angela Merkel ] besuchte [LOC Paris ].", BR, "de")
    assert doc.text == "Angela Merkel besuchte Paris."
    assert ents_of(doc) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert [t.text for t in doc] == ["Angela", "Merkel", "besuchte", "Paris", "."]
    assert get_pair_id(doc) == "en-1" and get_lang(doc) == "de" and doc.lang_ == "de"
    assert expanded == 0


def test_type_comes_from_the_marker_not_the_order(merkel):
    # The engine moved the LOC before the PER: each span keeps the type written in its marker.
    doc, _ = project(merkel, "In [LOC París ] estuvo [PER Angela Merkel ].", BR, "es")
    assert ents_of(doc) == [("París", "LOC"), ("Angela Merkel", "PER")]


def test_adjacent_entities_and_entities_at_start_and_end():
    src = make_doc(["Paris", "London", "and", "Rome"], ["B-LOC", "B-LOC", "O", "B-LOC"])
    assert mark_doc(src, BR) == "[LOC Paris ] [LOC London ] and [LOC Rome ]"
    # Engines glue markers; entities stay separate words and keep their boundaries.
    text, spans = recover("[LOC París ][LOC Londres ] y [LOC Roma ]", ["LOC"] * 3, BR)
    assert text == "París Londres y Roma"
    assert [text[s:e] for s, e, _ in spans] == ["París", "Londres", "Roma"]
    doc, _ = project(src, "[LOC París ][LOC Londres ] y [LOC Roma ]", BR, "es")
    assert ents_of(doc) == [("París", "LOC"), ("Londres", "LOC"), ("Roma", "LOC")]
    assert doc.ents[0].start == 0 and doc.ents[-1].end == len(doc)


def test_html_adjacent_and_glued_words():
    text, spans = recover('x<span class="PER">Ana</span>y <span class="ORG">UE</span>', ["PER", "ORG"], HT)
    assert text == "x Ana y UE"
    assert [(text[s:e], label) for s, e, label in spans] == [("Ana", "PER"), ("UE", "ORG")]


def test_brackets_already_in_the_text_survive_and_are_not_markers():
    src = make_doc(["He", "said", "[", "sic", "]", "Obama", "won"], ["O", "O", "O", "O", "O", "B-PER", "O"])
    marked = mark_doc(src, BR)
    assert marked == "He said ［ sic ］ [PER Obama ] won"
    doc, _ = project(src, "Er sagte ［ sic ］ [PER Obama ] gewann", BR, "de")
    assert "[ sic ]" in doc.text and ents_of(doc) == [("Obama", "PER")]
    # An entity that itself contains brackets.
    src2 = make_doc(["[", "Radio", "]", "X"], ["B-ORG", "I-ORG", "I-ORG", "O"])
    assert mark_doc(src2, BR) == "[ORG ［ Radio ］ ] X"
    doc2, _ = project(src2, "[ORG ［ Radio ］ ] X", BR, "de")
    assert ents_of(doc2) == [("[ Radio ]", "ORG")]


def test_html_escapes_markup_characters_in_text():
    src = make_doc(["AT&T", "<", "Verizon"], ["B-ORG", "O", "B-ORG"])
    assert mark_doc(src, HT) == '<span class="ORG">AT&amp;T</span> &lt; <span class="ORG">Verizon</span>'
    doc, _ = project(src, '<span class="ORG">AT&amp;T</span> &lt; <span class="ORG">Verizon</span>', HT, "es")
    assert doc.text == "AT&T < Verizon" and ents_of(doc) == [("AT&T", "ORG"), ("Verizon", "ORG")]


def test_multi_word_and_multi_token_entities():
    src = make_doc(["Jean-Claude", "Van", "Damme", "visited", "New", "York"],
                   ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC"])
    doc, _ = project(src, "[PER Jean-Claude Van Damme ] besuchte [LOC New York ]", BR, "de")
    assert ents_of(doc) == [("Jean-Claude Van Damme", "PER"), ("New York", "LOC")]
    assert len(doc.ents[0]) == 3 and len(doc.ents[1]) == 2


def test_boundary_inside_a_target_token_expands_and_is_counted():
    src = make_doc(["EU", "commission"], ["B-ORG", "O"])
    doc, expanded = project(src, "[ORG EU ]-Kommission", BR, "de")
    assert doc.text == "EU-Kommission"
    assert ents_of(doc) == [("EU-Kommission", "ORG")] and expanded == 1


def test_expansion_that_merges_two_entities_is_an_overlap_drop():
    src = make_doc(["EU", "UN"], ["B-ORG", "B-ORG"])
    with pytest.raises(ProjectionDrop) as err:
        project(src, "[ORG EU ]-[ORG UN ]", BR, "de")
    assert err.value.reason == MARKER_OVERLAP


@pytest.mark.parametrize(
    "translation,reason",
    [
        ("Angela Merkel besuchte [LOC Paris ].", MARKER_LOST),
        ("[PER Angela Merkel ] besuchte [LOC Paris ] und [LOC Paris ].", MARKER_DUPLICATED),
        ("[PER Angela Merkel ] besuchte ] Paris [LOC .", MARKER_UNBALANCED),  # swapped close/open
        ("[PER Angela Merkel besuchte [LOC Paris ] ].", MARKER_OVERLAP),  # reordered into overlap
        ("[PER Angela Merkel ] besuchte [LOC Paris .", MARKER_UNBALANCED),  # never closed
        ("[PER Angela Merkel ] ] besuchte [LOC Paris ].", MARKER_UNBALANCED),  # extra close
        ("[PER ] besuchte [LOC Paris ].", EMPTY_ENTITY),
        ("[Por Angela Merkel ] besuchte [LOC Paris ].", MARKER_LABEL_CHANGED),  # apertium did this
        ("[LOC Angela Merkel ] besuchte [LOC Paris ].", MARKER_LOST),  # PER lost, LOC extra
        ("", EMPTY_TRANSLATION),
        ("   \n", EMPTY_TRANSLATION),
    ],
)
def test_broken_markers_are_dropped_with_a_reason(merkel, translation, reason):
    with pytest.raises(ProjectionDrop) as err:
        project(merkel, translation, BR, "de")
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "translation,reason",
    [
        ('<span class="PER">Angela Merkel</span> visitó París.', MARKER_LOST),
        ('<span class="PER">Angela Merkel</span> visitó <span>París</span>.', MARKER_UNBALANCED),
        ('<span class="PER">Angela Merkel visitó <span class="LOC">París</span></span>.', MARKER_OVERLAP),
        ('<span class="PER">Angela Merkel</span></span> visitó <span class="LOC">París</span>', MARKER_UNBALANCED),
    ],
)
def test_broken_html_markers_are_dropped(merkel, translation, reason):
    with pytest.raises(ProjectionDrop) as err:
        project(merkel, translation, HT, "es")
    assert err.value.reason == reason


def test_a_marker_in_a_sentence_without_entities_is_dropped():
    src = make_doc(["No", "names", "here"], ["O", "O", "O"])
    with pytest.raises(ProjectionDrop) as err:
        project(src, "Keine [PER Namen ] hier", BR, "de")
    assert err.value.reason == MARKER_LABEL_CHANGED  # a type the source never had
    doc, _ = project(src, "Keine Namen hier", BR, "de")
    assert doc.text == "Keine Namen hier" and not doc.ents


def test_label_case_changed_by_engine_is_recovered_from_the_marker(merkel):
    doc, _ = project(merkel, "[per Angela Merkel ] besuchte [Loc Paris ].", BR, "de")
    assert ents_of(doc) == [("Angela Merkel", "PER"), ("Paris", "LOC")]


def test_any_label_set_works_generically():
    src = make_doc(["Euro", "2000", "in", "Rotterdam"], ["B-MISC", "I-MISC", "O", "B-WORK_OF_ART"])
    doc, _ = project(src, "[MISC Euro 2000 ] in [WORK_OF_ART Rotterdam ]", BR, "nl")
    assert ents_of(doc) == [("Euro 2000", "MISC"), ("Rotterdam", "WORK_OF_ART")]


def test_bulgarian_cyrillic_text_and_tokenizer(merkel):
    doc, _ = project(merkel, "[PER Ангела Меркел ] посети [LOC Париж ].", BR, "bg")
    assert doc.lang_ == "bg" and get_lang(doc) == "bg"
    assert ents_of(doc) == [("Ангела Меркел", "PER"), ("Париж", "LOC")]
    assert [t.text for t in doc] == ["Ангела", "Меркел", "посети", "Париж", "."]
    doc2, _ = project(merkel, '<span class="PER">Ангела Меркел</span> посети <span class="LOC">Париж</span>.', HT, "bg")
    assert ents_of(doc2) == ents_of(doc)


def test_whitespace_is_normalised(merkel):
    text, spans = recover("  [PER  Angela   Merkel  ]   besuchte\n[LOC Paris ] . ", ["PER", "LOC"], BR)
    assert text == "Angela Merkel besuchte Paris ."
    assert [text[s:e] for s, e, _ in spans] == ["Angela Merkel", "Paris"]


def test_source_without_pair_id_is_an_error():
    doc = Doc(spacy.blank("en").vocab, words=["Paris"], ents=["B-LOC"])
    with pytest.raises(ValueError, match="pair id"):
        project(doc, "[LOC Paris ]", BR, "de")


def test_label_that_cannot_be_a_bracket_marker_is_an_error():
    doc = make_doc(["Paris"], ["B-LOC"])
    doc.ents = [doc.char_span(0, 5, label="TWO WORDS")]
    with pytest.raises(ValueError, match="cannot be written"):
        mark_doc(doc, BR)
