"""Copied words in the target language's script (translate/script.py): ICU transforms for every non-Latin script,
the script looked up in CLDR's likely subtags, Bulgarian's own rules, and the Latin-script statistic of
benchmarks/lexicon_script.py. Expected strings are ICU 77.1's (the pinned pyicu-wheels)."""
import logging
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_concner.data.docdata import set_pair
from spacy_concner.errors import InputError
from spacy_concner.translate.translate_train import Target, translate
from spacy_concner.translate.script import (language_script, resolve_script, to_target_script, transform_id,
                                            transliterate_word)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from lexicon_script import latin_share, translation_rows  # noqa: E402

VOCAB = spacy.blank("en").vocab
NAMES = ["Washington", "Chicago", "Shakespeare", "Knausgård", "CBS", "VIII"]


@pytest.mark.parametrize("lang,expected", [
    # Russian: ICU's inverse of the BGN romanisation first ("sh" -> ш, "ch" -> ч), then Latin-Cyrillic
    ("ru", ["Уашингтон", "Чицаго", "Шакеспеаре", "Кнаусгард", "ЦБС", "VIII"]),
    # Ukrainian: no language-specific transform in ICU, the plain Latin-Cyrillic one
    ("uk", ["Уасхингтон", "Цхицаго", "Схакеспеаре", "Кнаусгард", "ЦБС", "VIII"]),
    # Greek: the UNGEGN variant, monotonic (the plain transform writes polytonic breathings)
    ("el", ["Μπασχιγγτον", "Χικαγο", "Σχακεσπεαρε", "Κναυσγαρδ", "ΚΜΠΣ", "VIII"]),
    ("ja", ["ワシングトン", "チカゴ", "シャケスペアレ", "クナウスガルデ", "クブス", "VIII"]),
    ("ar", ["وَسهِنگتُن", "كهِكَگُ", "سهَكِسپَِرِ", "كنَُسگَرد", "كبس", "VIII"]),
    ("hi", ["वशिन्ग्तॊन्", "छिचगॊ", "शकॆस्पॆअरॆ", "क्नौस्गर्द्", "च्ब्स्", "VIII"]),
    # Bulgarian keeps the project's English-spelling rules (closer to the accepted spellings, names.md)
    ("bg", ["Уашингтон", "Чикаго", "Шакеспеаре", "Кнаусгард", "КБС", "VIII"]),
])
def test_names_in_the_target_script(lang, expected):
    """Each name in the language's script, diacritics off first, Roman numerals kept, capitals kept."""
    assert [transliterate_word(w, lang) for w in NAMES] == expected


def test_the_script_and_transform_are_looked_up_not_listed():
    assert [language_script(l) for l in ["ru", "uk", "el", "ar", "he", "hi", "ja", "ko", "zh", "de", "sr-Latn"]] == [
        "Cyrl", "Cyrl", "Grek", "Arab", "Hebr", "Deva", "Kana", "Hang", "Hani", "Latn", "Latn"]
    assert transform_id("ru") == "Latin-ASCII; ru_Latn-ru/BGN; Latn-Cyrl; [:Latin:] Lower; Latn-Cyrl"
    assert transform_id("el") == "Latin-ASCII; Latn-Grek/UNGEGN; Latn-Grek; [:Latin:] Lower; Latn-Grek"
    assert transform_id("he") == "Latin-ASCII; Latn-Hebr; [:Latin:] Lower; Latn-Hebr"
    assert transform_id("de") is None and transform_id("zh") is None  # Latin script; no Latin-to-Han transform
    # ISO 639-3 codes are the same languages (Bulgarian keeps its rules under either code)
    assert transliterate_word("Jason", "bul") == transliterate_word("Jason", "bg") == "Джасон"


def test_markers_and_non_latin_words_untouched():
    text = "[PER Michael Jackson ] в [LOC Бостон ] , 1985 : Henry VIII !"
    assert to_target_script(text, "ru") == "[PER Мичаел Йацксон ] в [LOC Бостон ] , 1985 : Хенры VIII !"
    assert to_target_script("[ORG CBS ] και [MISC Euro 2000 ]", "el") == "[ORG ΚΜΠΣ ] και [MISC Ευρο 2000 ]"


@pytest.mark.parametrize("lang", ["bg", "ru", "uk", "sr", "el", "ar", "he", "hi", "ja", "ko", "ka", "bul"])
def test_auto_is_target_wherever_the_script_is_not_latin(lang):
    assert resolve_script("auto", lang) == resolve_script("target", lang) == "target"
    assert resolve_script("keep", lang) == "keep"


@pytest.mark.parametrize("lang", ["de", "en", "hu", "es", "tr", "sr-Latn", "pt-BR"])
def test_auto_is_keep_for_latin_script_languages_and_target_is_an_error(lang):
    assert resolve_script("auto", lang) == "keep"
    with pytest.raises(InputError, match=rf"script='target' for '{lang}': it is written in Latin script.*"
                                         "script='keep'"):
        resolve_script("target", lang)


def test_a_script_icu_cannot_write_keeps_the_words_under_auto_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="spacy_concner.translate.script"):
        assert resolve_script("auto", "zh") == "keep"
    assert "ICU cannot write Latin letters in its script (Hani)" in caplog.text
    with pytest.raises(InputError, match=r"script='target' for 'zh': ICU has no transform.*\(Hani\)"):
        resolve_script("target", "zh")
    with pytest.raises(ValueError, match="no transliteration scheme for 'de'"):
        transliterate_word("King", "de")


@pytest.mark.parametrize("lang", ["qq", "xyz", "und", "", "123"])
def test_unknown_language_is_a_clear_error_naming_the_options(lang):
    for script in ("auto", "target"):
        with pytest.raises(InputError, match=rf"^Unknown language code '{lang}': .*Pass an ISO 639 code \(bg, ru, "
                                             r".*sr-Latn.*or script='keep'"):
            resolve_script(script, lang)
    assert resolve_script("keep", lang) == "keep"  # copying as written needs no script
    with pytest.raises(InputError, match="script='cyrillic': use 'auto'.*'keep'.*'target'"):
        resolve_script("cyrillic", "ru")


def _source(path: Path) -> Path:
    docs = [Doc(VOCAB, words=["Peter", "Jackson", "visited", "Chicago", "."],
                ents=["B-PER", "I-PER", "O", "B-LOC", "O"]),
            Doc(VOCAB, words=["Henry", "VIII", "big", "house", "."], ents=["B-PER", "I-PER", "O", "O", "O"])]
    DocBin(docs=[set_pair(d, f"en-{i}", "en") for i, d in enumerate(docs)], store_user_data=True).to_disk(path)
    return path


DICTIONARIES = {"ru": "visited\tпосетил\nbig\tбольшой\nhouse\tдом\n",
                "el": "visited\tεπισκέφθηκε\nbig\tμεγάλο\nhouse\tσπίτι\n",
                "ar": "visited\tزار\nbig\tكبير\nhouse\tبيت\n",
                "bg": "visited\tпосети\nbig\tголяма\nhouse\tкъща\n"}


def test_entity_spans_are_unchanged_by_transliteration(tmp_path):
    """One word in, one word out: the same tokens carry the same labels, in the target's script."""
    src = _source(tmp_path / "en.spacy")
    vocab = spacy.blank("xx").vocab
    for lang, entries in DICTIONARIES.items():
        (tmp_path / f"{lang}.tsv").write_text(entries, encoding="utf-8")
        out = {}
        for script in ("keep", "target"):
            translate(src, tmp_path / script, [Target(lang, "lexicon", {"dictionary": str(tmp_path / f"{lang}.tsv"),
                                                                        "script": script})], progress=False)
            out[script] = list(DocBin().from_disk(tmp_path / script / f"{lang}.spacy").get_docs(vocab))
        for kept, target in zip(out["keep"], out["target"]):
            assert len(kept) == len(target)
            assert [(e.start, e.end, e.label_) for e in kept.ents] == [(e.start, e.end, e.label_) for e in target.ents]
        assert [e.text for e in out["keep"][0].ents] == ["Peter Jackson", "Chicago"]
        assert all(not any(c.isalpha() and c.isascii() for c in e.text) for e in out["target"][0].ents), lang
    assert [e.text for e in out["target"][1].ents] == ["Хенри VIII"]  # bg, the last one


def test_latin_share_counts_lettered_tokens():
    assert latin_share(["Москва", "Paris", "42", "XIV", "Jean-Пьер", ","]) == {"tokens": 4, "latin": 0.5}
    assert latin_share([]) == {"tokens": 0, "latin": 0.0}


@pytest.mark.parametrize("lang", sorted(DICTIONARIES))
def test_latin_script_statistic_per_language(tmp_path, lang):
    """The benchmark's statistic on a hand-built input: 8 lettered tokens, 5 of them in entities. keep: the 5
    names copied (Peter Jackson Chicago Henry VIII), target: only the Roman numeral VIII stays Latin."""
    (tmp_path / "d.tsv").write_text(DICTIONARIES[lang], encoding="utf-8")
    rows = translation_rows(_source(tmp_path / "en.spacy"), [lang], ["keep", "target"],
                            {lang: {"dictionary": str(tmp_path / "d.tsv")}})
    assert [(r["script"], r["all"], r["entities"]) for r in rows] == [
        ("keep", {"tokens": 8, "latin": 0.625}, {"tokens": 5, "latin": 1.0}),
        ("target", {"tokens": 8, "latin": 0.125}, {"tokens": 5, "latin": 0.2})]
