"""Write the words a dictionary left untranslated in the target language's script.

A word-by-word lexicon copies what it does not know, mostly names, so English sentences
"translated" into Bulgarian keep their names in Latin letters: in a WikiAnn sample 86 %
of the projected entity tokens are Latin-script while Bulgarian text is almost all Cyrillic
(``benchmarks/lexicon_script.py``). A model trained on such pairs can learn "Latin letters =
entity", a cue the target language does not offer (Russian lost 6.9 F1 to it, issue 24). The lexicon
engine's ``script=target`` option runs the copied words through the rules here, one word in, one word
out, so markers and projected spans are unchanged. Its default, ``auto``, is ``target`` wherever the
target language is not written in Latin script and ``keep`` where it is: on WikiAnn (3 seeds) the
Cyrillic translations raised the shipped student's English dev F1 by +0.6 [-0.7, +1.9] (higher in
every seed; benchmarks/README.md, "script").

The language's script is looked up in CLDR's likely subtags through ICU (``ru`` -> ``Cyrl``, ``ja`` ->
``Kana``, the first of its scripts), and the words are written by ICU's Latin-to-script transform (PyICU):
the language's own inverse romanisation where ICU has one (``Latin-Russian/BGN``), else the script's UN
(UNGEGN) variant (modern monotonic Greek), else the plain one, after ``Latin-ASCII`` has taken the
diacritics off ("Knausgård" -> "Knausgard"). These are inverse romanisations, not English
pronunciation ("Washington" -> "Уашингтон" in Russian, not "Вашингтон"); chosen over cyrtranslit and
transliterate because they leave no Latin letter and cover every script ICU knows
(benchmarks/results/wikiann/lexicon-script-library). A script ICU cannot write to (Chinese Han) keeps
the words as written under ``auto``, with a warning.

Bulgarian keeps the project's own rules, which read English spelling (common digraphs first, ``c``
soft before e/i/y, doubled consonants once): "Jason Schwartzman" -> "Джасон Шуарцман". On the names
measurement they are closer to the accepted Bulgarian spellings than ICU's (0.79 vs 0.62 similarity)
and its trained results were measured with them. Roman numerals stay in every script ("Henry VIII" ->
"Хенри VIII").
"""
import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import InputError
from .lexicon import match_case

logger = logging.getLogger(__name__)

# English spelling -> Bulgarian Cyrillic, longest match first (lowercase).
_BG_MULTI: List[Tuple[str, str]] = [
    ("shch", "щ"), ("tsch", "ч"), ("sch", "ш"), ("tch", "ч"),
    ("zh", "ж"), ("sh", "ш"), ("ch", "ч"), ("kh", "х"), ("ph", "ф"), ("th", "т"), ("ts", "ц"), ("tz", "ц"),
    ("ck", "к"), ("qu", "кв"), ("ya", "я"), ("yu", "ю"), ("yo", "йо"), ("ye", "йе"), ("oo", "у"), ("ee", "и"),
]
_BG_SINGLE: Dict[str, str] = dict(zip("abdefghijklmnopqrstuvwxz", [
    "а", "б", "д", "е", "ф", "г", "х", "и", "дж", "к", "л", "м", "н", "о", "п", "к", "р", "с", "т", "у", "в",
    "у", "кс", "з"]))
_VOWELS = set("aeiouy")
# letters NFKD does not take apart
_FOLD = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}

SCRIPTS = ("auto", "keep", "target")
# languages written by this module's own rules instead of ICU (see the module docstring for why)
SCHEMES = ("bg",)
_LATIN_RUN = re.compile(r"[^\W\d_]+")
# Roman numerals (1-39: monarchs, wars, sequels) are written in Latin letters in text of other scripts too
_ROMAN = re.compile(r"(?=[XVI])X{0,3}(?:IX|IV|V?I{0,3})")


def is_latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def _fold(word: str) -> str:
    """Lowercase ASCII letters: diacritics dropped, ligatures and special letters spelled out."""
    word = "".join(_FOLD.get(c, c) for c in word.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _bg(word: str) -> str:
    w = _fold(word)
    w = re.sub(r"([b-df-hj-np-tv-z])\1", r"\1", w)  # doubled consonants once ("Hoffman" -> "Хофман")
    out: List[str] = []
    i = 0
    while i < len(w):
        for src, tgt in _BG_MULTI:
            if w.startswith(src, i):
                out.append(tgt)
                i += len(src)
                break
        else:
            c = w[i]
            if c == "c":
                out.append("с" if w[i + 1 : i + 2] in ("e", "i", "y") else "к")
            elif c == "y":  # a consonant at the start or after a vowel ("Roy"), a vowel otherwise ("Lynn")
                out.append("й" if i == 0 or w[i - 1] in _VOWELS else "и")
            else:
                out.append(_BG_SINGLE.get(c, c))
            i += 1
    return "".join(out)


def _icu() -> Any:
    try:
        import icu
    except ImportError as err:
        raise InputError("The target language's script is looked up and written with ICU, which is not installed: "
                         "`pip install pyicu-wheels` (or PyICU), or pass script='keep'.") from err
    return icu


def _locale(lang: str) -> Tuple[str, str]:
    """``lang``'s canonical language code and likely script from CLDR's likely subtags (``bul`` -> bg, Cyrl)."""
    icu = _icu()
    try:
        asked = icu.Locale.forLanguageTag(lang.replace("_", "-"))
        locale = icu.Locale(asked.getName())
        locale.addLikelySubtags()
    except icu.ICUError:
        asked = locale = icu.Locale("und")
    if not lang or not locale.getScript() or locale.getLanguage() != asked.getLanguage():
        raise InputError(f"Unknown language code {lang!r}: CLDR's likely subtags (through ICU) name no script for "
                         "it, so copied words cannot be written in its script. Pass an ISO 639 code (bg, ru, uk, el, "
                         "ar, he, hi, ja, ...; with a script subtag such as sr-Latn where a language has several), "
                         "or script='keep' (copy the words as written).")
    return locale.getLanguage(), icu.Script(icu.Script.getCode(locale.getName())[0]).getShortName()


def language_script(lang: str) -> str:
    """The ISO 15924 code of the script ``lang`` is usually written in, from CLDR's likely subtags (``ru``: Cyrl,
    ``sr-Latn``: Latn, ``ja``: Kana, the first of its scripts); an :class:`InputError` for an unknown language."""
    return _locale(lang)[1]


def _own_rules(lang: str) -> bool:
    """Whether ``lang`` (in its usual script) is written by this module's rules rather than ICU."""
    language, script = _locale(lang)
    return language in SCHEMES and script == "Cyrl"


def transform_id(lang: str) -> Optional[str]:
    """The ICU transform that writes Latin-script words in ``lang``'s script, None where ICU has none (Han) or
    the language is written in Latin script: ``Latin-ASCII`` (diacritics off), then the language's own inverse
    romanisation where ICU has one, else the script's UNGEGN variant, then the plain transform (for letters a
    romanisation does not use: "w", "q"), then the plain one again on what is left lowercased (caseless scripts
    such as Georgian have rules for lowercase letters only)."""
    language, script = _locale(lang)
    icu = _icu()
    ids = set(icu.Transliterator.getAvailableIDs())
    plain = f"Latn-{script}"
    if script == "Latn" or plain not in ids:
        return None
    own = sorted(i for i in ids if i.startswith(f"{language}_Latn-{language}/"))
    variant = own[0] if own else (f"{plain}/UNGEGN" if f"{plain}/UNGEGN" in ids else None)
    return "; ".join(["Latin-ASCII", *([variant] if variant else []), plain, "[:Latin:] Lower", plain])


@lru_cache(maxsize=None)
def _writer(lang: str) -> Callable[[str], str]:
    if _own_rules(lang):
        return lambda word: match_case(word, _bg(word))
    tid = transform_id(lang)
    if tid is None:
        raise ValueError(f"no transliteration scheme for {lang!r} (its script, {language_script(lang)}, is Latin or "
                         "one ICU cannot write Latin letters in)")
    return _icu().Transliterator.createInstance(tid).transliterate


def transliterate_word(word: str, lang: str) -> str:
    """One run of letters in ``lang``'s script; anything not Latin-script, and Roman numerals, as it is."""
    write = _writer(lang)
    if not word or not all(is_latin(c) for c in word) or _ROMAN.fullmatch(word):
        return word
    return write(word)


def to_target_script(text: str, lang: str) -> str:
    """Every Latin-script run of letters in ``text`` written in ``lang``'s script; bracket markers
    (``[PER``) and everything else untouched."""
    out: List[str] = []
    pos = 0
    for m in _LATIN_RUN.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "[":  # a marker's label
            continue
        out.append(text[pos : m.start()])
        out.append(transliterate_word(m.group(), lang))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def resolve_script(script: str, lang: str) -> str:
    """``keep`` or ``target`` for ``lang`` (``auto``: ``target`` wherever its script is not Latin and can be
    written); a clear error for an unknown value or language, or for ``target`` where it cannot be written."""
    if script not in SCRIPTS:
        raise InputError(f"script={script!r}: use 'auto' (the default: 'target' wherever the target language is not "
                         "written in Latin script, else 'keep'), 'keep' (words the dictionary lacks are copied as "
                         "written) or 'target' (copied words written in the target language's script).")
    if script == "keep":
        return script
    if _own_rules(lang) or transform_id(lang) is not None:
        return "target"
    written = language_script(lang)
    if written == "Latn":
        if script == "target":
            raise InputError(f"script='target' for {lang!r}: it is written in Latin script, so there is nothing to "
                             "transliterate: use script='keep' (or 'auto').")
        return "keep"
    if script == "target":
        raise InputError(f"script='target' for {lang!r}: ICU has no transform from Latin letters to its script "
                         f"({written}); use script='keep'.")
    logger.warning("script=auto for %r: ICU cannot write Latin letters in its script (%s); copied words stay as "
                   "written", lang, written)
    return "keep"
