"""Read CoNLL / WikiAnn-style NER files (IOB1, IOB2 or IOBES) into spaCy Docs.

One token per line, the tag in the last column (tab- or space-separated), a blank line between
sentences, ``-DOCSTART-`` lines ignored. An optional ``# id = X`` comment before a sentence sets
its pair id (see :mod:`spacy_concner.data.docdata`; an id used twice in a file is an error); otherwise
the id is ``{lang}-{index:06d}``. Tags are normalised to IOB2. The scheme is decided per file: a
file where ``B-`` only ever separates two adjacent entities of one type is IOB1 (CoNLL-2003), and
its ``I-`` tags that open an entity are the intended reading, converted without a warning; in any
other file such an ``I-`` is a repair, counted in ``ReadStats.repaired_tags`` and logged.
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
from ..errors import InputError
from ..fileio import read_lines, require_file

logger = logging.getLogger(__name__)

_NO_SPACE_BEFORE = re.compile(r"^([.,;:!?%)\]}»]|'s|'S|n't|'re|'ve|'ll|'d|'m)$")
_NO_SPACE_AFTER = re.compile(r"^[(\[{«¿¡]$")


@dataclass
class ReadStats:
    """What reading a file did: sentences read, BIO repairs made, the tag scheme found."""

    sentences: int = 0
    tokens: int = 0
    repaired_tags: int = 0
    entities: Dict[str, int] = field(default_factory=dict)
    scheme: Optional[str] = None  # "IOB1" or "IOB2" (IOBES is read as IOB2)


class TagError(ValueError):
    """A tag that is neither ``O`` nor ``PREFIX-TYPE``; ``index`` is its position in the sentence."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def normalize_tags(tags: Sequence[str]) -> Tuple[List[str], int]:
    """Convert IOB1/IOB2/IOBES tags to valid IOB2; return the tags and the number of ``I-`` openers.

    ``S-X`` -> ``B-X``, ``E-X`` -> ``I-X``; an ``I-X`` not preceded by ``B-X``/``I-X`` becomes
    ``B-X`` and is counted. Whether that count is a repair depends on the file's scheme (in IOB1
    it is the normal way to open an entity): :func:`read_conll` decides.
    """
    out: List[str] = []
    repairs = 0
    prev = "O"
    for index, tag in enumerate(tags):
        tag = tag.strip()
        if tag in ("O", "0", "", "_"):
            tag = "O"
        else:
            if "-" not in tag:
                raise TagError(f"tag {tag!r} is neither 'O' nor PREFIX-TYPE (e.g. B-PER); fix the tag.", index)
            prefix, label = tag.split("-", 1)
            prefix = prefix.upper()
            if prefix == "S":
                prefix = "B"
            elif prefix == "E":
                prefix = "I"
            if prefix not in ("B", "I"):
                raise TagError(f"tag {tag!r} has an unknown prefix {prefix!r} (want B-, I-, E- or S-); fix the tag.", index)
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


def _b_openers(tags: Sequence[str]) -> int:
    """``B-`` tags that do not follow an entity of their own type: they never occur in IOB1."""
    count, prev = 0, "O"
    for tag in tags:
        if tag[:2].upper() in ("B-", "S-") and prev[2:] != tag[2:]:
            count += 1
        prev = tag if tag not in ("0", "", "_") else "O"
    return count


def _sentences(path: Path) -> Iterator[Tuple[Optional[str], int, List[str], List[str], List[int]]]:
    """``(id, line of the id, words, tags, line number of each token)`` per sentence."""
    words: List[str] = []
    tags: List[str] = []
    lines: List[int] = []
    sent_id: Optional[str] = None
    id_line = 0
    for lineno, line in read_lines(path):
        if not line.strip():
            if words:
                yield sent_id, id_line, words, tags, lines
            words, tags, lines, sent_id = [], [], [], None
            continue
        if line.startswith("# id = ") and not words:
            sent_id, id_line = line[len("# id = "):].strip(), lineno
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if cols[0] == "-DOCSTART-":
            continue
        if len(cols) < 2:
            raise InputError(
                f"{path}:{lineno}: expected 'token<TAB>tag' (two or more columns), got {line[:80]!r}; "
                "put the tag after the token, separated by a tab."
            )
        words.append(cols[0])
        tags.append(cols[-1])
        lines.append(lineno)
    if words:
        yield sent_id, id_line, words, tags, lines


def read_conll(
    path: Union[str, Path], lang: str, vocab: Vocab, stats: Optional[ReadStats] = None
) -> Iterator[Doc]:
    """Yield one Doc per sentence with IOB2 entities, pair id and language set."""
    path = require_file(path, "NER file")
    stats = stats if stats is not None else ReadStats()
    openers = b_openers = 0
    seen_ids: Dict[str, int] = {}
    for index, (sent_id, id_line, words, tags, lines) in enumerate(_sentences(path)):
        try:
            iob, opened_with_i = normalize_tags(tags)
        except TagError as err:
            raise InputError(f"{path}:{lines[err.index]}: {err}") from None
        if sent_id is not None:
            if sent_id in seen_ids:
                raise InputError(
                    f"{path}:{id_line}: pair id {sent_id!r} was already used on line {seen_ids[sent_id]}; "
                    "every '# id =' in a file must be unique (two sentences would become translation pairs)."
                )
            seen_ids[sent_id] = id_line
        doc = Doc(vocab, words=words, spaces=guess_spaces(words), ents=iob)
        set_pair(doc, sent_id if sent_id is not None else f"{lang}-{index:06d}", lang)
        stats.sentences += 1
        stats.tokens += len(words)
        openers += opened_with_i
        b_openers += _b_openers(tags)
        for ent in doc.ents:
            stats.entities[ent.label_] = stats.entities.get(ent.label_, 0) + 1
        yield doc
    stats.scheme = "IOB1" if openers and not b_openers else "IOB2"
    if stats.scheme == "IOB1":
        logger.info("%s: read as IOB1 (%d entities opened with I-, converted to IOB2)", path, openers)
    elif openers:
        stats.repaired_tags += openers
        logger.warning("%s: repaired %d I- tags that opened an entity (to B-)", path, openers)


def sample_docs(docs: Sequence[Doc], n: Optional[int], seed: int) -> List[Doc]:
    """Draw ``n`` docs without replacement with a seeded RNG, keeping file order."""
    docs = list(docs)
    if n is None or n >= len(docs):
        return docs
    keep = sorted(random.Random(seed).sample(range(len(docs)), n))
    return [docs[i] for i in keep]
