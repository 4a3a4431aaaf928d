"""Corpus readers for paired (source + translations) and distillation training data.

``spacy_concner.PairedCorpus.v1`` reads a source DocBin and any number of translation DocBins.
Every Doc must carry ``user_data["concner.pair_id"]`` (translations: the id of their source
sentence) and ``user_data["concner.lang"]``; a source Doc without a pair id gets
``"{file stem}:{index}"``. A translation whose pair id is not in the source file is an error
naming the file and id, or, with ``on_missing_source = "drop"``, a counted and logged drop.

Examples are built like ``spacy.Corpus.v1`` does: the predicted Doc is ``nlp.make_doc(text)``
(or the gold tokens with ``gold_preproc = true``) and the reference is the stored Doc.
"""
import logging
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry

from .docdata import LANG, PAIR_ID, get_pair_id

logger = logging.getLogger(__name__)


def _read_docbin(path: Path, nlp: Language) -> List[Doc]:
    if not path.exists():
        raise FileNotFoundError(f"Corpus file not found: {path}")
    if path.suffix != ".spacy":
        raise ValueError(f"Expected a DocBin file ending in .spacy, got {path}")
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def expand_docbin_paths(paths: Sequence[Union[str, Path]]) -> List[Path]:
    """File paths as given; a directory stands for the ``*.spacy`` files in it (sorted)."""
    out: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.spacy"))
            if not found:
                raise FileNotFoundError(f"No .spacy files in directory {path}")
            out.extend(found)
        else:
            out.append(path)
    return out


def _make_example(nlp: Language, ref: Doc, gold_preproc: bool) -> Example:
    if gold_preproc:
        pred = Doc(nlp.vocab, words=[t.text for t in ref], spaces=[bool(t.whitespace_) for t in ref])
    else:
        pred = nlp.make_doc(ref.text)
    pred.user_data[PAIR_ID] = ref.user_data.get(PAIR_ID)
    pred.user_data[LANG] = ref.user_data.get(LANG)
    return Example(pred, ref)


class PairedCorpus:
    """Source sentences plus their translations, every Doc tagged with pair id and language."""

    def __init__(
        self,
        source: Union[str, Path],
        translations: Sequence[Union[str, Path]] = (),
        *,
        on_missing_source: str = "error",
        max_length: int = 0,
        limit: int = 0,
        gold_preproc: bool = False,
    ) -> None:
        if on_missing_source not in ("error", "drop"):
            raise ValueError(f"on_missing_source must be 'error' or 'drop', got {on_missing_source!r}")
        self.source = Path(source)
        self.translations = expand_docbin_paths(translations)
        self.on_missing_source = on_missing_source
        self.max_length = max_length
        self.limit = limit
        self.gold_preproc = gold_preproc
        self.dropped: Dict[str, int] = {}

    def read_docs(self, nlp: Language) -> List[Doc]:
        """All docs (source first, then each translation file), validated; drops counted."""
        self.dropped = {}
        source_docs = _read_docbin(self.source, nlp)
        if self.limit:
            source_docs = source_docs[: self.limit]
        known = set()
        for i, doc in enumerate(source_docs):
            if get_pair_id(doc) is None:
                doc.user_data[PAIR_ID] = f"{self.source.stem}:{i}"
            known.add(doc.user_data[PAIR_ID])
        docs = list(source_docs)
        for path in self.translations:
            for doc in _read_docbin(path, nlp):
                pid = get_pair_id(doc)
                if pid is None:
                    raise ValueError(
                        f"{path}: a translation without user_data['{PAIR_ID}'] cannot be paired "
                        f"with its source (text: {doc.text[:60]!r})."
                    )
                if pid not in known:
                    if self.on_missing_source == "error":
                        raise ValueError(
                            f"{path}: translation with pair id {pid!r} has no source sentence in "
                            f"{self.source}. Set on_missing_source = \"drop\" to skip such docs."
                        )
                    self.dropped[str(path)] = self.dropped.get(str(path), 0) + 1
                    continue
                docs.append(doc)
        for path, n in self.dropped.items():
            logger.warning("%s: dropped %d translations whose source is missing", path, n)
        if self.max_length:
            before = len(docs)
            docs = [d for d in docs if len(d) <= self.max_length]
            if len(docs) < before:
                logger.warning("dropped %d docs longer than max_length=%d", before - len(docs), self.max_length)
        return docs

    def __call__(self, nlp: Language) -> Iterator[Example]:
        for doc in self.read_docs(nlp):
            yield _make_example(nlp, doc, self.gold_preproc)


@registry.readers("spacy_concner.PairedCorpus.v1")
def create_paired_corpus(
    source: Optional[Path],
    translations: List[Path] = [],  # files, or directories of .spacy files
    on_missing_source: str = "error",
    max_length: int = 0,
    limit: int = 0,
    gold_preproc: bool = False,
) -> Callable[[Language], Iterator[Example]]:
    """Reader for source + translation DocBins (see module docstring)."""
    if source is None:
        raise ValueError("PairedCorpus.v1 needs a source DocBin: set [paths] train (--paths.train).")
    return PairedCorpus(
        source, translations, on_missing_source=on_missing_source,
        max_length=max_length, limit=limit, gold_preproc=gold_preproc,
    )


class DistillCorpus:
    """Teacher-annotated raw target text (soft tags), optionally mixed with labelled data.

    Soft-target docs keep the teacher's tokens exactly (the predicted Doc is rebuilt from the
    stored words), so the stored distributions stay aligned; a doc without soft targets in a
    soft file, or with a length mismatch, is an error naming the file.
    """

    def __init__(self, soft: Sequence[Union[str, Path]], labelled: Optional[PairedCorpus] = None, limit: int = 0):
        self.soft = expand_docbin_paths(soft)
        self.labelled = labelled
        self.limit = limit

    def __call__(self, nlp: Language) -> Iterator[Example]:
        from .docdata import get_soft_tags

        for path in self.soft:
            docs = _read_docbin(path, nlp)
            if self.limit:
                docs = docs[: self.limit]
            for i, doc in enumerate(docs):
                try:
                    soft = get_soft_tags(doc)
                except ValueError as err:
                    raise ValueError(f"{path}, doc {i}: {err}") from None
                if soft is None:
                    raise ValueError(
                        f"{path}, doc {i}: no teacher soft targets (user_data['concner.soft_tags']); "
                        "annotate raw text with `python -m spacy_concner annotate` first."
                    )
                yield _make_example(nlp, doc, gold_preproc=True)
        if self.labelled is not None:
            yield from self.labelled(nlp)


@registry.readers("spacy_concner.DistillCorpus.v1")
def create_distill_corpus(
    soft: List[Path],
    labelled_source: Optional[Path] = None,
    labelled_translations: List[Path] = [],
    limit: int = 0,
) -> Callable[[Language], Iterator[Example]]:
    """Reader for distillation: soft-target DocBins, plus optional labelled source data."""
    labelled = PairedCorpus(labelled_source, labelled_translations) if labelled_source else None
    return DistillCorpus(soft, labelled, limit=limit)
