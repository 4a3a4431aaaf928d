"""Turn the user's raw NER data into the DocBins the workflow trains and evaluates on.

Inputs are local files or, online, WikiAnn through the ``datasets`` library:

- labelled source / dev / test sets: CoNLL or WikiAnn-style IOB1/IOB2/IOBES files
  (:mod:`spacy_concner.data.conll`), an existing ``.spacy`` DocBin, or ``wikiann[:split]``;
- unlabelled target text: CoNLL files whose tags are ignored (``token<TAB>0<TAB>O``) or plain
  text with one sentence per line (tokenised with spaCy's tokenizer for the language). These
  Docs carry *no* entity annotation (missing, not ``O``) so nothing mistakes them for gold.

The source set is sampled (``n`` sentences, seeded) because ConCNER's setting is low-resource.
Labels outside an optional allow-list become ``O`` and are counted, as are BIO repairs. Every
written Doc keeps its pair id and language in ``user_data`` (``DocBin(store_user_data=True)``).
"""
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .conll import ReadStats, guess_spaces, normalize_tags, read_conll, sample_docs
from .docdata import get_pair_id, set_pair
from ..errors import InputError
from ..fileio import read_docbin, write_docbin, write_text_atomic
from .text import RawStats, read_raw_docs, sniff_format, without_annotation

logger = logging.getLogger(__name__)

WIKIANN = "wikiann"
WIKIANN_DATASET = "wikiann"  # the Hugging Face Hub id (redirects to unimelb-nlp/wikiann)


class PrepareError(InputError):
    """The input cannot be prepared; the message says what to pass instead."""


@dataclass
class SetStats:
    """Counts for one written DocBin (printed and saved to ``prepare_stats.json``)."""

    path: str
    lang: str
    kind: str
    sentences: int = 0
    tokens: int = 0
    entities: Dict[str, int] = field(default_factory=dict)
    repaired_tags: int = 0
    dropped_entities: Dict[str, int] = field(default_factory=dict)
    ignored_tags: int = 0
    skipped_lines: int = 0
    read_sentences: Optional[int] = None


def _empty_error(spec: Union[str, Path], what: str) -> PrepareError:
    return PrepareError(f"{spec} is empty (no sentences in it); pass a file with {what}.")


def _parse_wikiann_spec(spec: str) -> Optional[str]:
    """``wikiann`` / ``wikiann:test`` -> split name (None for not-WikiAnn)."""
    if spec == WIKIANN:
        return "train"
    if spec.startswith(WIKIANN + ":"):
        return spec.split(":", 1)[1] or "train"
    return None


def load_wikiann(
    lang: str, split: str, vocab: Vocab, stats: Optional[ReadStats] = None, dataset: str = WIKIANN_DATASET
) -> List[Doc]:
    """Read one WikiAnn split through ``datasets`` (only imported here: it is optional)."""
    try:
        import datasets
    except ImportError:
        raise PrepareError(
            "Reading WikiAnn online needs the `datasets` package (pip install 'spacy-concner[online]'). "
            "Offline, pass local IOB/CoNLL files instead (e.g. corpus/en/train.iob)."
        ) from None
    try:
        data = datasets.load_dataset(dataset, lang, split=split)
    except Exception as err:  # network, unknown language or split: all end the same way for the user
        raise PrepareError(
            f"Could not load WikiAnn {lang!r} split {split!r} through `datasets` ({type(err).__name__}: {err}). "
            "Without network access, pass local IOB/CoNLL files instead."
        ) from None
    names = data.features["ner_tags"].feature.names
    return wikiann_docs(data, names, lang, vocab, stats)


def wikiann_docs(
    rows: Iterable[Dict], tag_names: Sequence[str], lang: str, vocab: Vocab, stats: Optional[ReadStats] = None
) -> List[Doc]:
    """Docs from WikiAnn rows (``tokens`` + integer ``ner_tags`` indexing ``tag_names``).

    Tags go through the same IOB2 repair as CoNLL files; empty rows are skipped.
    """
    stats = stats if stats is not None else ReadStats()
    docs = []
    for i, row in enumerate(rows):
        words = list(row["tokens"])
        if not words:
            continue
        tags, repairs = normalize_tags([tag_names[t] for t in row["ner_tags"]])
        stats.repaired_tags += repairs
        stats.sentences += 1
        stats.tokens += len(words)
        doc = Doc(vocab, words=words, spaces=guess_spaces(words), ents=tags)
        docs.append(set_pair(doc, f"{lang}-wikiann-{i:06d}", lang))
    return docs


def read_labelled(spec: Union[str, Path], lang: str, vocab: Vocab, stats: ReadStats) -> List[Doc]:
    """Labelled Docs from a CoNLL/IOB file, a DocBin or ``wikiann[:split]``."""
    split = _parse_wikiann_spec(str(spec))
    if split is not None:
        return load_wikiann(lang, split, vocab, stats)
    fmt = sniff_format(spec)
    if fmt == "docbin":
        docs = read_docbin(spec, vocab)
    elif fmt == "conll":
        return list(read_conll(spec, lang, vocab, stats=stats))
    elif fmt == "empty":
        raise _empty_error(spec, "one token<TAB>tag per line")
    else:
        raise PrepareError(
            f"{spec} does not look like a CoNLL/IOB file (token<TAB>tag per line, tags O or B-/I-/E-/S-TYPE); "
            "unlabelled text goes to --unlabelled."
        )
    for i, doc in enumerate(docs):  # CoNLL and WikiAnn readers count themselves
        if get_pair_id(doc) is None:
            set_pair(doc, f"{lang}-{i:06d}", lang)
        stats.sentences += 1
        stats.tokens += len(doc)
    return docs


def read_unlabelled(spec: Union[str, Path], lang: str, vocab: Vocab, stats: SetStats) -> List[Doc]:
    """Docs with no entity annotation from CoNLL (tags ignored), plain text, a DocBin or WikiAnn.

    Tags found in labelled input are discarded and counted in ``stats.ignored_tags``; blank
    lines of a text file are skipped and counted (:func:`spacy_concner.data.text.read_raw_docs`).
    """
    raw = RawStats()
    split = _parse_wikiann_spec(str(spec))
    if split is not None:
        docs = without_annotation(load_wikiann(lang, split, vocab), vocab, raw)
    else:
        docs = read_raw_docs(spec, vocab, lang, stats=raw)
    stats.ignored_tags += raw.ignored_tags
    stats.skipped_lines += raw.skipped_lines
    if stats.ignored_tags:
        logger.warning("%s: ignored %d entity tags (unlabelled text carries no gold)", spec, stats.ignored_tags)
    return docs


def restrict_labels(docs: Iterable[Doc], labels: Optional[Sequence[str]]) -> Dict[str, int]:
    """Make entities whose label is not in ``labels`` ``O`` (in place); return drops by label."""
    dropped: Dict[str, int] = {}
    if not labels:
        return dropped
    keep = set(labels)
    for doc in docs:
        ents = list(doc.ents)
        kept = [e for e in ents if e.label_ in keep]
        for ent in ents:
            if ent.label_ not in keep:
                dropped[ent.label_] = dropped.get(ent.label_, 0) + 1
        if len(kept) != len(ents):
            doc.set_ents(kept, default="outside")
    return dropped


def check_labels_occur(docs: Sequence[Doc], labels: Sequence[str], spec: Union[str, Path]) -> None:
    """A requested label that no entity in the data carries is a typo: an error listing what is there."""
    found = _count_entities(docs)
    missing = [label for label in labels if label not in found]
    if missing:
        there = ", ".join(f"{k} {v}" for k, v in found.items()) or "no entities at all"
        raise PrepareError(
            f"--labels {','.join(missing)}: never occurs in {spec} (labels there: {there}); "
            "check the spelling or drop it from --labels."
        )


def _count_entities(docs: Sequence[Doc]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for doc in docs:
        for ent in doc.ents:
            counts[ent.label_] = counts.get(ent.label_, 0) + 1
    return dict(sorted(counts.items()))


def prepare_labelled(
    spec: Union[str, Path], lang: str, output: Union[str, Path], kind: str, vocab: Vocab,
    n: Optional[int] = None, seed: int = 0, labels: Optional[Sequence[str]] = None,
) -> SetStats:
    """Read, optionally sample ``n`` sentences and restrict labels, then write one DocBin."""
    read = ReadStats()
    docs = read_labelled(spec, lang, vocab, read)
    if not docs:
        raise _empty_error(spec, "one token<TAB>tag per line")
    if labels and kind == "train":
        check_labels_occur(docs, labels, spec)
    sampled = sample_docs(docs, n if n and n > 0 else None, seed)
    if n and n > len(docs):
        logger.warning("%s: asked for %d sentences, the file has only %d: using all", spec, n, len(docs))
    dropped = restrict_labels(sampled, labels)
    stats = SetStats(
        path=str(output), lang=lang, kind=kind, sentences=len(sampled), tokens=sum(len(d) for d in sampled),
        entities=_count_entities(sampled), repaired_tags=read.repaired_tags,
        dropped_entities=dropped, read_sentences=len(docs),
    )
    write_docbin(sampled, output)
    return stats


def prepare_unlabelled(spec: Union[str, Path], lang: str, output: Union[str, Path], vocab: Vocab) -> SetStats:
    stats = SetStats(path=str(output), lang=lang, kind="unlabelled")
    docs = read_unlabelled(spec, lang, vocab, stats)
    if not docs:
        raise _empty_error(spec, "one sentence per line")
    stats.sentences, stats.tokens = len(docs), sum(len(d) for d in docs)
    write_docbin(docs, output)
    return stats


def prepare(
    output_dir: Union[str, Path],
    source: Union[str, Path],
    source_lang: str = "en",
    n: Optional[int] = 1000,
    seed: int = 0,
    dev: Optional[Union[str, Path]] = None,
    tests: Sequence[Tuple[str, Union[str, Path]]] = (),
    unlabelled: Sequence[Tuple[str, Union[str, Path]]] = (),
    labels: Optional[Sequence[str]] = None,
) -> List[SetStats]:
    """Write ``{lang}/train|dev|test|unlabelled.spacy`` under ``output_dir`` plus ``prepare_stats.json``.

    Only the source training set is sampled; dev/test/unlabelled sets are written whole.
    """
    output_dir = Path(output_dir)
    vocab = Vocab()
    out = [prepare_labelled(source, source_lang, output_dir / source_lang / "train.spacy", "train",
                            vocab, n=n, seed=seed, labels=labels)]
    if dev:
        out.append(prepare_labelled(dev, source_lang, output_dir / source_lang / "dev.spacy", "dev",
                                    vocab, labels=labels))
    for lang, spec in tests:
        out.append(prepare_labelled(spec, lang, output_dir / lang / "test.spacy", "test", vocab, labels=labels))
    for lang, spec in unlabelled:
        out.append(prepare_unlabelled(spec, lang, output_dir / lang / "unlabelled.spacy", vocab))
    write_text_atomic(output_dir / "prepare_stats.json", json.dumps([asdict(s) for s in out], indent=2))
    return out


def format_stats(stats: Sequence[SetStats]) -> str:
    """A plain-text table of what was written (for the CLI and logs)."""
    lines = []
    for s in stats:
        ents = ", ".join(f"{k} {v}" for k, v in s.entities.items()) or "-"
        extra = []
        if s.read_sentences is not None and s.read_sentences != s.sentences:
            extra.append(f"sampled from {s.read_sentences}")
        if s.repaired_tags:
            extra.append(f"{s.repaired_tags} I- tags repaired to B-")
        if s.dropped_entities:
            extra.append("dropped to O: " + ", ".join(f"{k} {v}" for k, v in s.dropped_entities.items()))
        if s.ignored_tags:
            extra.append(f"{s.ignored_tags} tags ignored")
        if s.skipped_lines:
            extra.append(f"{s.skipped_lines} blank lines skipped")
        note = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"{s.lang}/{s.kind}: {s.sentences} sentences, {s.tokens} tokens, entities: {ents}{note} -> {s.path}")
    return "\n".join(lines)


def __getattr__(name: str):
    """``read_texts`` / ``read_texts_by_file`` moved to :mod:`spacy_concner.encoders.corpus` (encoder
    corpus reading lives with the encoder); the old name resolves there, lazily, until the scripts in
    benchmarks/ that import it from here are updated."""
    if name in ("read_texts", "read_texts_by_file"):
        from ..encoders import corpus

        return getattr(corpus, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
