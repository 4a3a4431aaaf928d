"""Word-by-word translation with a bilingual dictionary: the cheap-translation baseline.

Dictionaries are FreeDict dictd files (``/usr/share/dictd/freedict-eng-deu.index`` +
``.dict.dz``, Debian ``dict-freedict-eng-deu``) or a two-column TSV (``source<TAB>target``).
Phrases up to ``max_words`` words are looked up greedily, longest first; words the dictionary
lacks are copied unchanged (so unknown names survive as themselves). Bracket markers
(``[PER`` / ``]``) pass through untouched, so entity projection works as with any engine.
"""
import gzip
import logging
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

logger = logging.getLogger(__name__)

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
# Markers, words (with inner hyphens/apostrophes/dots), or any other single character.
_TOKEN = re.compile(r"\[[^\s\[\]]+|\]|\w+(?:[-'’.]\w+)*|\S")
_STRESS = {"\u0300", "\u0301"}  # stress accents in FreeDict's Bulgarian/Russian entries


def _b64(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64[char]
    return value


MAX_CANDIDATE_WORDS = 4
_PLACEHOLDER = re.compile(r"\b(?:etw|jdm|jdn|jds|jd|sth|sb)\.(?:/\S+(?:\s+Sache)?)?")


def _split_top_level(line: str) -> List[str]:
    """Split on commas/semicolons that are not inside (), [], {} or <>."""
    parts, depth, current = [], 0, []
    for char in line:
        if char in "([{<":
            depth += 1
        elif char in ")]}>" and depth:
            depth -= 1
        if char in ",;" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _clean_candidate(text: str) -> str:
    """The words before the first note: ``Deutschland <neut> [geogr.] DE`` -> ``Deutschland``."""
    text = _PLACEHOLDER.sub("", text)
    text = re.split(r"[<\[({]", text, maxsplit=1)[0]
    text = "".join(c for c in unicodedata.normalize("NFD", text) if c not in _STRESS)
    # NFKC also unfolds FreeDict Dutch's "ĳ" ligature to "ij".
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", " ", text)).strip(" .:")
    if re.search(r"[\[\]<>…]", text) or len(text.split()) > MAX_CANDIDATE_WORDS:
        return ""  # broken markup, or a gloss ("v.z. tussen woorden van ...") rather than a translation
    if text.endswith(("-", "\u2010")):
        return ""  # a prefix form ("rechter‐"), not a word
    return text


def _candidates(line: str) -> List[str]:
    out = []
    for candidate in _split_top_level(re.sub(r"^\d+\.\s*", "", line.strip())):
        candidate = _clean_candidate(candidate)
        if candidate and candidate[0].isalnum():
            out.append(candidate)
    return out


def first_translation(entry: str) -> Optional[str]:
    """The main translation of a dictd entry (headword line, then translations).

    FreeDict entries differ by language (``Haus <neut>``, ``1. къ́ща, къща``). Notes in
    ``<>``, ``[]``, ``()``, ``{}``, placeholders (``etw.``, ``jdm.``) and stress accents are
    removed. With numbered senses (``1. …``, ``2. …``) the candidate listed in most senses
    wins (``house`` -> ``къща``, not the first sense's ``стопанство``); otherwise the first
    candidate of the first translation line.
    """
    lines = [l for l in entry.split("\n")[1:] if l.strip() and not l.startswith((" ", "\t"))]
    numbered = [l for l in lines if re.match(r"^\d+\.\s", l)]
    if len(numbered) > 1:
        counts = Counter(candidate for line in numbered for candidate in dict.fromkeys(_candidates(line)))
        if counts:
            return counts.most_common(1)[0][0]  # the first of the most frequent (ties keep insertion order)
    for line in lines[:1]:
        found = _candidates(line)
        return found[0] if found else None
    return None


def _is_name_match(headword: str, phrase: str) -> bool:
    """A capitalised headword spelt like the phrase (``ISRAEL`` in headlines counts)."""
    return headword[:1].isupper() and (headword == phrase or phrase.isupper())


class Lexicon:
    """A phrase -> translation lookup, case-insensitive unless ``name`` is set.

    ``name=True`` is used inside entities: only a capitalised dictionary headword matching the
    phrase counts (``Paris`` -> ``Paris``, ``Germany`` -> ``Deutschland``), so a surname that is
    also a common word (``Levy``) is copied rather than translated as ``Abgabe``.
    """

    def lookup(self, phrase: str, name: bool = False) -> Optional[str]:
        raise NotImplementedError


class TsvLexicon(Lexicon):
    """``source<TAB>target`` lines; the first entry for a source phrase wins."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self.entries: Dict[str, Tuple[str, str]] = {}
        from ..errors import InputError
        from ..fileio import read_lines

        for lineno, line in read_lines(self.path):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                raise InputError(f"{self.path}:{lineno}: expected 'source<TAB>target', got {line!r}; fix the line.")
            self.entries.setdefault(cols[0].strip().casefold(), (cols[0].strip(), cols[1].strip()))

    def lookup(self, phrase: str, name: bool = False) -> Optional[str]:
        found = self.entries.get(phrase.casefold())
        if found is None or (name and not _is_name_match(found[0], phrase)):
            return None
        return found[1]


class DictdLexicon(Lexicon):
    """A dictd dictionary (``X.index`` + ``X.dict.dz`` or ``X.dict``), read without dictd.

    Several entries may share a headword; among those whose headword matches the phrase
    (ignoring case) the one with the same case wins, then the longest (FreeDict puts the
    common sense's examples there), then the first.
    """

    def __init__(self, index_path: Union[str, Path]) -> None:
        self.index_path = Path(index_path)
        stem = str(self.index_path)[: -len(".index")] if str(self.index_path).endswith(".index") else str(self.index_path)
        dz, plain = Path(stem + ".dict.dz"), Path(stem + ".dict")
        if dz.exists():
            with gzip.open(dz) as fh:  # dictzip is gzip-compatible
                self.data = fh.read()
        elif plain.exists():
            self.data = plain.read_bytes()
        else:
            raise FileNotFoundError(f"dictd data file {dz} (or {plain}) not found next to {self.index_path}")
        self.index: Dict[str, List[Tuple[int, int]]] = {}
        with self.index_path.open(encoding="utf-8") as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) != 3 or cols[0].startswith("00database"):
                    continue
                self.index.setdefault(cols[0].casefold(), []).append((_b64(cols[1]), _b64(cols[2])))
        self.lookup = lru_cache(maxsize=None)(self._lookup)  # type: ignore[method-assign]

    def _lookup(self, phrase: str, name: bool = False) -> Optional[str]:
        key = phrase.casefold()
        best: Optional[Tuple[int, int, int, str]] = None
        for order, (offset, length) in enumerate(self.index.get(key, ())):
            entry = self.data[offset : offset + length].decode("utf-8", errors="replace")
            headword = re.split(r"\s/|\s<|\n", entry, maxsplit=1)[0].strip()
            if headword.casefold() != key or (name and not _is_name_match(headword, phrase)):
                continue
            translation = first_translation(entry)
            if translation is None:
                continue
            score = (int(headword == phrase), len(entry), -order)
            if best is None or score > best[:3]:
                best = (*score, translation)
        return best[3] if best else None


def load_lexicon(path: Union[str, Path]) -> Lexicon:
    """A TSV (``.tsv``/``.txt``) or dictd (``.index``) dictionary, chosen by file name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Dictionary not found: {path}")
    if path.suffix == ".index":
        return DictdLexicon(path)
    return TsvLexicon(path)


def match_case(source: str, target: str) -> str:
    """Carry the source word's capitalisation over (``EU`` stays upper, ``Paris`` titled)."""
    if len(source) > 1 and source.isupper():
        return target.upper()
    if source[:1].isupper() and target[:1].islower():
        return target[:1].upper() + target[1:]
    return target


NAME_POLICIES = ("words", "whole", "copy")


def check_names_policy(names: str) -> None:
    if names not in NAME_POLICIES:
        from ..errors import InputError

        raise InputError(f"names={names!r}: use 'words' (each word of an entity looked up among the dictionary's "
                         "names), 'whole' (an entity translated only as one name entry, else copied) or 'copy'.")


def translate_words(text: str, lexicon: Lexicon, max_words: int = 3, names: str = "words") -> str:
    """Translate ``text`` phrase by phrase (longest match first), keeping spacing and markers.

    Phrases never cross a marker. Inside an entity only name entries are used (see
    :class:`Lexicon`), and ``names`` says how: ``"words"`` looks up each word or phrase, which can
    half-translate a name ("Kingdom of Scotland" -> "Kingdom of Schottland", "Peter T. King" ->
    "Petrus T. King"); ``"whole"`` translates an entity only when the whole of it is one name entry
    ("Germany" -> "Deutschland") and copies it otherwise; ``"copy"`` keeps every entity as written.
    """
    check_names_policy(names)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: List[str] = []
    pos = 0
    i = 0
    in_entity = False
    while i < len(tokens):
        word, start, end = tokens[i]
        out.append(text[pos:start])
        pos = start
        taken = 0
        if word.startswith("["):
            in_entity = True
            close = None if names == "words" else next(
                (j for j in range(i + 1, len(tokens)) if tokens[j][0] == "]"), None)
            if close is not None and close > i + 1:
                # the entity as one unit: its text up to the closing marker, translated whole or copied
                first, last = tokens[i + 1], tokens[close - 1]
                phrase = text[first[1]:last[2]]
                whole = lexicon.lookup(" ".join(phrase.split()), name=True) if names == "whole" else None
                out.append(text[start:first[1]])
                out.append(match_case(first[0], whole) if whole else phrase)
                pos, i = last[2], close
                continue
        elif word == "]":
            in_entity = False
        elif word[0].isalpha():
            for n in range(min(max_words, len(tokens) - i), 0, -1):
                group = tokens[i : i + n]
                joined = all(g[0][0].isalpha() for g in group) and all(
                    text[a[2] : b[1]] == " " for a, b in zip(group, group[1:])
                )
                if not joined:
                    continue
                phrase = " ".join(g[0] for g in group)
                translation = lexicon.lookup(phrase, name=in_entity)
                if translation:
                    out.append(match_case(word, translation))
                    taken = n
                    break
        if taken == 0:
            out.append(word)
            taken = 1
        pos = tokens[i + taken - 1][2]
        i += taken
    out.append(text[pos:])
    return "".join(out)


def translate_all(texts: Sequence[str], lexicon: Lexicon, max_words: int = 3, names: str = "words") -> List[str]:
    return [translate_words(text, lexicon, max_words, names) for text in texts]
