"""Unlabelled text in any input format the package takes: one sniffer, one reader.

A file is a DocBin (``.spacy``), a CoNLL/IOB column file (its tags are ignored here) or plain
text with one sentence per line. ``prepare --unlabelled``, ``annotate`` (distillation) and the
encoder's vocabulary pruning all read through :func:`read_raw_docs`, so a file that one step
accepts is read the same way by the others.
"""
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Union

import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import InputError
from ..fileio import read_docbin, read_lines, require_file
from .conll import read_conll
from .docdata import get_pair_id, set_pair

logger = logging.getLogger(__name__)

TAG = re.compile(r"^(O|[BIES]-\S+)$")


@dataclass
class RawStats:
    """What reading unlabelled text dropped: entity tags of labelled input, blank text lines."""

    ignored_tags: int = 0
    skipped_lines: int = 0


def sniff_format(path: Union[str, Path], n_lines: int = 200) -> str:
    """Guess ``"docbin"``, ``"conll"``, ``"text"`` or ``"empty"`` for a file: the package's one sniffer.

    CoNLL means that at least half of the content lines among the first ``n_lines`` have
    tab-separated columns, or space-separated ones ending in a tag (``O`` or ``B-TYPE``...); running
    text almost never does. Anything else is text, one sentence per line. The odd broken line of a
    column file (one column, a bad tag) is then reported by the CoNLL reader with its line number.
    A file with no content line (empty, or blank lines only) is ``"empty"``.
    """
    path = require_file(path)
    if path.suffix == ".spacy":
        return "docbin"
    columns = content = 0
    for _, line in read_lines(path):
        line = line.strip()
        if not line or line.startswith("# id = ") or line.startswith("-DOCSTART-"):
            continue
        content += 1
        tabbed = "\t" in line  # tabs never occur in running text: a column file, bad tags or not
        cols = line.split("\t") if tabbed else line.split()
        columns += len(cols) >= 2 and bool(tabbed or TAG.match(cols[-1]))
        if content >= n_lines:
            break
    if not content:
        return "empty"
    return "conll" if columns and 2 * columns >= content else "text"


def blank_tokenizer(lang: str) -> Callable[[str], Doc]:
    """spaCy's rule-based tokenizer for ``lang`` (the multilingual one where spaCy has no ``lang``)."""
    try:
        return spacy.blank(lang).tokenizer
    except ImportError:
        logger.warning("spaCy has no language %r; tokenising its text with the multilingual tokenizer", lang)
        return spacy.blank("xx").tokenizer


def without_annotation(docs: Iterable[Doc], vocab: Vocab, stats: RawStats) -> List[Doc]:
    """The Docs' words, spaces and ``user_data`` only: entities become missing, not ``O``, and are counted."""
    bare = []
    for doc in docs:
        stats.ignored_tags += sum(1 for t in doc if t.ent_iob_ in ("B", "I"))
        words, spaces = [t.text for t in doc], [bool(t.whitespace_) for t in doc]
        bare.append(Doc(vocab, words=words, spaces=spaces, user_data=dict(doc.user_data)))
    return bare


def _text_docs(path: Path, tokenize: Callable[[str], Doc], stats: RawStats) -> Iterable[Doc]:
    for _, line in read_lines(path):
        if line.strip():
            yield tokenize(line.strip())
        else:
            stats.skipped_lines += 1


def read_raw_docs(
    path: Union[str, Path], vocab: Vocab, lang: str = "xx", tokenize: Optional[Callable[[str], Doc]] = None,
    stats: Optional[RawStats] = None, allow_empty: bool = False,
) -> List[Doc]:
    """Docs with no entity annotation, each with a pair id and ``lang``, from any input format.

    DocBin and CoNLL input keep their words (a student then trains on the tokens it is evaluated
    on); text lines are tokenised by ``tokenize`` (default: spaCy's tokenizer for ``lang``).
    An empty file is an error unless ``allow_empty``.
    """
    stats = stats if stats is not None else RawStats()
    fmt = sniff_format(path)
    if fmt == "empty":
        if allow_empty:
            return []
        raise InputError(f"{path} is empty (no sentences in it); pass unlabelled text, one sentence per line.")
    if fmt == "docbin":
        source: Iterable[Doc] = read_docbin(path, vocab)
    elif fmt == "conll":
        source = read_conll(path, lang, vocab)
    else:
        source = _text_docs(Path(path), tokenize or blank_tokenizer(lang), stats)
    docs = without_annotation(source, vocab, stats)
    for i, doc in enumerate(docs):
        if get_pair_id(doc) is None:
            set_pair(doc, f"{lang}-unlabelled-{i:06d}", lang)
    return docs
