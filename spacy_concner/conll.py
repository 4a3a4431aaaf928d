"""Read CoNLL / WikiAnn-style NER files (IOB1, IOB2 or IOBES) into spaCy Docs.

One token per line, the tag in the last column (tab- or space-separated), a blank line between
sentences, ``-DOCSTART-`` lines ignored. An optional ``# id = X`` comment before a sentence sets
its pair id (see :mod:`spacy_concner.docdata`); otherwise the id is ``{lang}-{index:06d}``.
Tags are normalised to IOB2. An ``I-X`` that does not continue an ``X`` entity is repaired to
``B-X`` and counted, never dropped silently.
"""
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .docdata import set_pair

logger = logging.getLogger(__name__)

_NO_SPACE_BEFORE = re.compile(r"^([.,;:!?%)\]}»]|'s|'S|n't|'re|'ve|'ll|'d|'m)$")
_NO_SPACE_AFTER = re.compile(r"^[(\[{«¿¡]$")


@dataclass
class ReadStats:
    """What reading a file did: sentences read and BIO repairs made."""

    sentences: int = 0
    tokens: int = 0
    repaired_tags: int = 0
    entities: Dict[str, int] = field(default_factory=dict)


def normalize_tags(tags: Sequence[str]) -> Tuple[List[str], int]:
    """Convert IOB1/IOB2/IOBES tags to valid IOB2; return the tags and the number of repairs.

    ``S-X`` -> ``B-X``, ``E-X`` -> ``I-X``; an ``I-X`` not preceded by ``B-X``/``I-X`` becomes
    ``B-X`` (for IOB1 input this is the intended reading, so it is not counted as a repair when
    the file is IOB1-style; callers see the count either way).
    """
    out: List[str] = []
    repairs = 0
    prev = "O"
    for tag in tags:
        tag = tag.strip()
        if tag in ("O", "0", "", "_"):
            tag = "O"
        else:
            if "-" not in tag:
                raise ValueError(f"Tag {tag!r} is neither 'O' nor PREFIX-TYPE (e.g. B-PER).")
            prefix, label = tag.split("-", 1)
            prefix = prefix.upper()
            if prefix == "S":
                prefix = "B"
            elif prefix == "E":
                prefix = "I"
            if prefix not in ("B", "I"):
                raise ValueError(f"Tag {tag!r} has an unknown prefix {prefix!r} (want B/I/E/S).")
            if prefix == "I" and prev[2:] != label:
                prefix = "B"
                repairs += 1
            tag = f"{prefix}-{label}"
        out.append(tag)
        prev = tag
    return out, repairs


def guess_spaces(words: Sequence[str]) -> List[bool]:
    """Whitespace after each token for readable text ("Paris ." -> "Paris.")."""
    spaces = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        space = nxt is not None and not _NO_SPACE_BEFORE.match(nxt) and not _NO_SPACE_AFTER.match(w)
        spaces.append(space)
    return spaces


def _sentences(path: Path) -> Iterator[Tuple[Optional[str], List[str], List[str], int]]:
    words: List[str] = []
    tags: List[str] = []
    sent_id: Optional[str] = None
    start = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    yield sent_id, words, tags, start
                words, tags, sent_id = [], [], None
                continue
            if line.startswith("# id = ") and not words:
                sent_id = line[len("# id = "):].strip()
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if cols[0] == "-DOCSTART-":
                continue
            if len(cols) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'token<TAB>tag', got {line!r}")
            if not words:
                start = lineno
            words.append(cols[0])
            tags.append(cols[-1])
    if words:
        yield sent_id, words, tags, start


def read_conll(
    path: Union[str, Path], lang: str, vocab: Vocab, stats: Optional[ReadStats] = None
) -> Iterator[Doc]:
    """Yield one Doc per sentence with IOB2 entities, pair id and language set."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NER file not found: {path}")
    stats = stats if stats is not None else ReadStats()
    for index, (sent_id, words, tags, lineno) in enumerate(_sentences(path)):
        try:
            iob, repairs = normalize_tags(tags)
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: {err}") from None
        doc = Doc(vocab, words=words, spaces=guess_spaces(words), ents=iob)
        set_pair(doc, sent_id if sent_id is not None else f"{lang}-{index:06d}", lang)
        stats.sentences += 1
        stats.tokens += len(words)
        stats.repaired_tags += repairs
        for ent in doc.ents:
            stats.entities[ent.label_] = stats.entities.get(ent.label_, 0) + 1
        yield doc
    if stats.repaired_tags:
        logger.warning("%s: repaired %d I- tags that opened an entity", path, stats.repaired_tags)


def sample_docs(docs: Sequence[Doc], n: Optional[int], seed: int) -> List[Doc]:
    """Draw ``n`` docs without replacement with a seeded RNG, keeping file order."""
    docs = list(docs)
    if n is None or n >= len(docs):
        return docs
    keep = sorted(random.Random(seed).sample(range(len(docs)), n))
    return [docs[i] for i in keep]
