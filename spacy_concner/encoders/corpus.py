"""The text an encoder's tokenizer sees, read from the workflow's files (for pruning and for
measuring what a pruned vocabulary re-segments).

Every input format goes through :func:`spacy_concner.data.text.read_raw_docs`, so the pruned
vocabulary covers exactly the words the DocBins hold (CoNLL words joined as the DocBins join them).
"""
from pathlib import Path
from typing import Dict, List, Sequence, Union

from spacy.vocab import Vocab

from ..data.text import read_raw_docs


def read_texts(paths: Sequence[Union[str, Path]], lang: str = "xx") -> List[str]:
    """Raw sentence texts of DocBins, CoNLL files (words joined as the DocBins will hold them),
    plain text files (one per line) or directories of DocBins: what an encoder's tokenizer sees."""
    return [text for texts in read_texts_by_file(paths, lang).values() for text in texts]


def read_texts_by_file(paths: Sequence[Union[str, Path]], lang: str = "xx") -> Dict[str, List[str]]:
    """:func:`read_texts`, kept apart per file (a directory stands for every DocBin below it),
    so that checks can sample every input file, not only the first. An empty file holds no text."""
    vocab = Vocab()
    files: List[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.spacy")) if path.is_dir() else [path])
    by_file: Dict[str, List[str]] = {}
    for path in files:
        docs = read_raw_docs(path, vocab, lang, allow_empty=True)
        by_file.setdefault(str(path), []).extend(doc.text for doc in docs)
    return by_file
