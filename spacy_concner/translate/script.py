"""Write the words a dictionary left untranslated in the target language's script.

A word-by-word lexicon copies what it does not know, mostly names, so English sentences
"translated" into Bulgarian keep their names in Latin letters: in a WikiAnn sample 86 %
of the projected entity tokens are Latin-script while Bulgarian text is almost all Cyrillic
(``benchmarks/lexicon_script.py``). A model trained on such pairs can learn "Latin letters =
entity", a cue the target language does not offer. The lexicon engine's ``script=target`` option
runs the copied words through the rules here, one word in, one word out, so markers and projected
spans are unchanged. Its default, ``auto``, is ``target`` for a language with a scheme here and
``keep`` for the rest: on WikiAnn (3 seeds) the Cyrillic translations raised the shipped student's
English dev F1 by +0.6 [-0.7, +1.9] (higher in every seed; benchmarks/README.md, "script").

The rules read English spelling (common digraphs first, ``c`` soft before e/i/y, doubled consonants
once): a practical transcription ("Hockey" -> "Хокей", "Jason Schwartzman" -> "Джасон Шуарцман"),
not a dictionary of conventional forms ("Washington" -> "Уашингтон", not "Вашингтон"). Letters
with diacritics lose them first ("Knausgård" -> "Кнаусгард"); Roman numerals stay ("Henry VIII" -> "Хенри VIII").
"""
import re
import unicodedata
from typing import Dict, List, Tuple

from .lexicon import match_case

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
SCHEMES = ("bg",)
_LATIN_RUN = re.compile(r"[^\W\d_]+")
# Roman numerals (1-39: monarchs, wars, sequels) are written in Latin letters in Cyrillic text too
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


def transliterate_word(word: str, lang: str) -> str:
    """One run of letters in ``lang``'s script; anything not Latin-script is returned as it is."""
    if lang not in SCHEMES:
        raise ValueError(f"no transliteration scheme for {lang!r} (there is one for: {', '.join(SCHEMES)})")
    if not word or not all(is_latin(c) for c in word) or _ROMAN.fullmatch(word):
        return word
    return match_case(word, _bg(word))


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
    """``keep`` or ``target`` for ``lang`` (``auto``: ``target`` where a scheme exists); a clear error for an
    unknown value, or for ``target`` where no scheme exists."""
    from ..errors import InputError

    if script not in SCRIPTS:
        raise InputError(f"script={script!r}: use 'auto' (the default: 'target' where a transliteration scheme "
                         f"exists ({', '.join(SCHEMES)}), else 'keep'), 'keep' (words the dictionary lacks are "
                         "copied as written) or 'target' (copied words written in the target language's script).")
    if script == "auto":
        return "target" if lang in SCHEMES else "keep"
    if script == "target" and lang not in SCHEMES:
        raise InputError(f"script='target' for {lang!r}: there is no transliteration scheme for it (schemes: "
                         f"{', '.join(SCHEMES)}). A language written in Latin script needs none: use script='keep'.")
    return script
