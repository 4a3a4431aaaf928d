"""Corpus readers for paired (source + translations) and distillation training data.

``spacy_concner.PairedCorpus.v1`` reads a source DocBin and any number of translation DocBins.
Every Doc must carry ``user_data["concner.pair_id"]`` (translations: the id of their source
sentence) and ``user_data["concner.lang"]``; a source Doc without a pair id gets
``"{file stem}:{index}"``. A pair id used twice in one file is an error (two unrelated sentences
would become contrastive positives). A translation whose pair id is not in the source file is an
error naming the file and id, or, with ``on_missing_source = "drop"``, a counted and logged drop.
``limit`` keeps the first N source sentences and their translations (the others' translations
are dropped and counted, not errors).

Translation and soft-target paths may contain ``{lang}``, expanded for each language of
``langs`` (``"de es nl"``): ``data/translations/{lang}.spacy`` reads exactly the files of the
languages configured, never a stale file from an earlier run. A directory stands for all the
``.spacy`` files in it.

Examples are built like ``spacy.Corpus.v1`` does: the predicted Doc is ``nlp.make_doc(text)`` and
the reference is the stored Doc (distillation docs keep the stored tokens, see ``DistillCorpus``).
All errors are :class:`~spacy_concner.errors.InputError`, so ``spacy train`` prints them as one
message instead of a traceback.
"""
import logging
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry

from ..data.docdata import LANG, PAIR_ID, TRANSLATED, get_pair_id
from ..errors import InputError
from ..fileio import read_docbin

logger = logging.getLogger(__name__)
LANG_FIELD = "{lang}"


def _read_docbin(path: Path, nlp: Language) -> List[Doc]:
    return read_docbin(path, nlp.vocab, "Corpus file")


def split_langs(langs: Union[str, Sequence[str], None]) -> List[str]:
    """``"de es,nl"`` or ``["de", "es"]`` -> ``["de", "es", "nl"]``."""
    if not langs:
        return []
    items = langs.replace(",", " ").split() if isinstance(langs, str) else list(langs)
    return [str(x).strip() for x in items if str(x).strip()]


def expand_docbin_paths(paths: Sequence[Union[str, Path]], langs: Union[str, Sequence[str], None] = None) -> List[Path]:
    """File paths as given, ``{lang}`` expanded per language; a directory stands for its ``*.spacy`` (sorted)."""
    languages = split_langs(langs)
    out: List[Path] = []
    for raw in map(str, paths):
        if LANG_FIELD in raw:
            if not languages:
                raise InputError(
                    f"Corpus path {raw!r} contains {LANG_FIELD} but no languages are set: "
                    "set the reader's langs (e.g. --corpora.train.langs \"de es\")."
                )
            expanded = [Path(raw.replace(LANG_FIELD, lang)) for lang in languages]
        else:
            expanded = [Path(raw)]
        for path in expanded:
            if path.is_dir():
                found = sorted(path.glob("*.spacy"))
                if not found:
                    raise InputError(f"No .spacy files in directory {path}; check the path.")
                out.extend(found)
            else:
                out.append(path)
    return out


def _make_example(nlp: Language, ref: Doc, gold_tokens: bool = False) -> Example:
    """Predicted Doc from ``nlp.make_doc(text)``, or ``ref``'s own tokens with ``gold_tokens``."""
    if gold_tokens:
        pred = Doc(nlp.vocab, words=[t.text for t in ref], spaces=[bool(t.whitespace_) for t in ref])
    else:
        pred = nlp.make_doc(ref.text)
    pred.user_data[PAIR_ID] = ref.user_data.get(PAIR_ID)
    pred.user_data[LANG] = ref.user_data.get(LANG)
    return Example(pred, ref)


def _check_unique(path: Path, docs: Sequence[Doc]) -> None:
    seen: Dict[str, int] = {}
    for i, doc in enumerate(docs):
        pid = get_pair_id(doc)
        if pid is None:
            continue
        if pid in seen:
            raise InputError(
                f"{path}: pair id {pid!r} is used by doc {seen[pid]} and doc {i}; pair ids must be unique "
                "within a file (unrelated sentences would become translation pairs). Re-run prepare/translate."
            )
        seen[pid] = i


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
        langs: Union[str, Sequence[str], None] = None,
    ) -> None:
        if on_missing_source not in ("error", "drop"):
            raise InputError(f"on_missing_source must be 'error' or 'drop', got {on_missing_source!r}.")
        self.source = Path(source)
        self.translations = expand_docbin_paths(translations, langs)
        self.on_missing_source = on_missing_source
        self.max_length = max_length
        self.limit = limit
        self.dropped: Counter = Counter()
        self.dropped_by_limit: Counter = Counter()

    def read_docs(self, nlp: Language) -> List[Doc]:
        """All docs (source first, then each translation file), validated; drops counted."""
        self.dropped, self.dropped_by_limit = Counter(), Counter()
        source_docs = _read_docbin(self.source, nlp)
        for i, doc in enumerate(source_docs):
            if get_pair_id(doc) is None:
                doc.user_data[PAIR_ID] = f"{self.source.stem}:{i}"
        _check_unique(self.source, source_docs)
        beyond_limit = set()
        if self.limit:
            beyond_limit = {get_pair_id(d) for d in source_docs[self.limit:]}
            source_docs = source_docs[: self.limit]
        known = {get_pair_id(d) for d in source_docs}
        docs = list(source_docs)
        for path in self.translations:
            translations = _read_docbin(path, nlp)
            _check_unique(path, translations)
            for doc in translations:
                pid = get_pair_id(doc)
                if pid is None:
                    raise InputError(
                        f"{path}: a translation without user_data['{PAIR_ID}'] cannot be paired "
                        f"with its source (text: {doc.text[:60]!r}); write translations with "
                        "`python -m spacy_concner translate`."
                    )
                if pid in beyond_limit:
                    self.dropped_by_limit[str(path)] += 1
                    continue
                if pid not in known:
                    if self.on_missing_source == "error":
                        raise InputError(
                            f"{path}: translation with pair id {pid!r} has no source sentence in "
                            f"{self.source}. Translate this source again, or set on_missing_source = \"drop\" "
                            "to skip such docs."
                        )
                    self.dropped[str(path)] += 1
                    continue
                doc.user_data[TRANSLATED] = True  # projected labels: the loss may weight their CE apart
                docs.append(doc)
        for path, n in self.dropped.items():
            logger.warning("%s: dropped %d translations whose source is missing", path, n)
        for path, n in self.dropped_by_limit.items():
            logger.info("%s: dropped %d translations of source sentences beyond limit=%d", path, n, self.limit)
        if self.max_length:
            before = len(docs)
            docs = [d for d in docs if len(d) <= self.max_length]
            if len(docs) < before:
                logger.warning("dropped %d docs longer than max_length=%d", before - len(docs), self.max_length)
        return docs

    def __call__(self, nlp: Language) -> Iterator[Example]:
        for doc in self.read_docs(nlp):
            yield _make_example(nlp, doc)


@registry.readers("spacy_concner.PairedCorpus.v1")
def create_paired_corpus(
    source: Optional[Path],
    translations: List[Path] = [],  # files, or directories of .spacy files; {lang} expands with langs
    on_missing_source: str = "error",
    max_length: int = 0,
    limit: int = 0,
    langs: str = "",
) -> Callable[[Language], Iterator[Example]]:
    """Reader for source + translation DocBins (see module docstring)."""
    if source is None:
        raise InputError("PairedCorpus.v1 needs a source DocBin: set [paths] train (--paths.train).")
    return PairedCorpus(
        source, translations, on_missing_source=on_missing_source,
        max_length=max_length, limit=limit, langs=langs,
    )


class DistillCorpus:
    """Teacher-annotated raw target text (soft tags), optionally mixed with labelled data.

    Soft-target docs keep the teacher's tokens exactly (the predicted Doc is rebuilt from the
    stored words), so the stored distributions stay aligned; a doc without soft targets in a
    soft file, or with a length mismatch, is an error naming the file. Every file is checked
    when the corpus is first read (``spacy train`` does it at initialisation), not mid-training.
    """

    def __init__(self, soft: Sequence[Union[str, Path]], labelled: Optional[PairedCorpus] = None, limit: int = 0,
                 langs: Union[str, Sequence[str], None] = None):
        if not soft:
            raise InputError(
                "DistillCorpus.v1 has no soft targets, so distillation would silently train on the "
                "labelled source only: set [paths] soft (e.g. --paths.soft '[\"data/soft/{lang}.spacy\"]') "
                "to the DocBins written by `python -m spacy_concner annotate`."
            )
        self.soft = expand_docbin_paths(soft, langs)
        self.labelled = labelled
        self.limit = limit

    def read_docs(self, nlp: Language) -> List[Doc]:
        from ..data.docdata import get_soft_tags

        out: List[Doc] = []
        for path in self.soft:
            docs = _read_docbin(path, nlp)
            if self.limit:
                docs = docs[: self.limit]
            if not docs:
                raise InputError(f"{path} holds no documents; annotate unlabelled text into it first.")
            for i, doc in enumerate(docs):
                try:
                    soft = get_soft_tags(doc)
                except ValueError as err:
                    raise InputError(f"{path}, doc {i}: {err}") from None
                if soft is None:
                    raise InputError(
                        f"{path}, doc {i}: no teacher soft targets (user_data['concner.soft_tags']); "
                        "annotate raw text with `python -m spacy_concner annotate` first."
                    )
            out.extend(docs)
        return out

    def __call__(self, nlp: Language) -> Iterator[Example]:
        for doc in self.read_docs(nlp):
            yield _make_example(nlp, doc, gold_tokens=True)
        if self.labelled is not None:
            yield from self.labelled(nlp)


@registry.readers("spacy_concner.DistillCorpus.v1")
def create_distill_corpus(
    soft: List[Path],
    labelled_source: Optional[Path] = None,
    labelled_translations: List[Path] = [],
    limit: int = 0,
    langs: str = "",
) -> Callable[[Language], Iterator[Example]]:
    """Reader for distillation: soft-target DocBins (required), plus optional labelled source data."""
    labelled = PairedCorpus(labelled_source, labelled_translations, langs=langs) if labelled_source else None
    return DistillCorpus(soft, labelled, limit=limit, langs=langs)
