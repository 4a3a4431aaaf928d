"""The translate-train step: labelled source DocBin -> one projected DocBin per target language.

For each target language the source sentences are marked (:mod:`.projection`), translated in
batches by the chosen engine (:mod:`.engines`), and projected back into Docs tokenised by
the target language's tokenizer, each carrying its source sentence's pair id. Sentences whose
markers do not survive are dropped and counted by reason; ``{lang}.report.json`` records
sentences in / kept / dropped (in = kept + dropped), entities in vs. out by type, and how many
translations are word for word their source (dropped too with ``identical="drop"``).

(Named for the method's step, *translate-train*; spaCy's sense of "pipeline" is
:mod:`spacy_concner.pipeline`.)
"""
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import spacy
from spacy.tokens import Doc
from spacy.util import minibatch
from tqdm import tqdm
from wasabi import msg

from ..data.docdata import get_lang, get_pair_id
from ..errors import InputError
from ..fileio import read_docbin, write_docbin, write_json, write_text_atomic
from .engines import EngineFailed, Translator, get_translator
from .projection import DROP_REASONS, ProjectionDrop, get_marker_style, mark_doc, project, target_nlp

MAX_DROP_EXAMPLES = 5
IDENTICAL = "identical_to_source"  # the drop reason of ``identical="drop"``
IDENTICAL_POLICIES = ("keep", "drop")


@dataclass
class Target:
    """One target language, the engine that translates into it, and that engine's options."""

    lang: str
    engine: str
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class TranslationReport:
    """What one language's translation did; ``sentences_in == kept + sum(dropped)``."""

    lang: str
    src_lang: str
    engine: Dict[str, Any]
    markers: str
    sentences_in: int = 0
    kept: int = 0
    dropped: Dict[str, int] = field(default_factory=lambda: {r: 0 for r in DROP_REASONS})
    entities_in: Dict[str, int] = field(default_factory=dict)
    entities_out: Dict[str, int] = field(default_factory=dict)
    boundaries_expanded: int = 0
    identical: int = 0  # kept or dropped translations whose words are the source's, word for word
    seconds: float = 0.0
    drop_examples: List[Dict[str, str]] = field(default_factory=list)

    @property
    def kept_ratio(self) -> float:
        return self.kept / self.sentences_in if self.sentences_in else 0.0

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["entities_in"] = dict(sorted(self.entities_in.items()))
        data["entities_out"] = dict(sorted(self.entities_out.items()))
        data["kept_ratio"] = round(self.kept_ratio, 4)
        data["dropped_total"] = sum(self.dropped.values())
        return data

    def summary(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in self.dropped.items() if v) or "none"
        ents_in, ents_out = sum(self.entities_in.values()), sum(self.entities_out.values())
        return (
            f"{self.src_lang}->{self.lang} [{self.engine.get('engine')}]: kept {self.kept}/{self.sentences_in} "
            f"({self.kept_ratio:.1%}), entities {ents_out}/{ents_in}, dropped: {drops}, "
            f"identical to the source: {self.identical}, {self.seconds:.1f}s"
        )


def load_source(path: Union[str, Path]) -> List[Doc]:
    """Source Docs from a DocBin; every Doc must carry a pair id (no silent re-numbering)."""
    path = Path(path)
    docs = read_docbin(path, spacy.blank("xx").vocab, "Source DocBin")
    if not docs:
        raise InputError(f"{path} holds no sentences; write it with `python -m spacy_concner prepare`.")
    missing = sum(1 for d in docs if get_pair_id(d) is None)
    if missing:
        raise InputError(
            f"{missing} of {len(docs)} Docs in {path} have no pair id; write them with "
            "`python -m spacy_concner prepare` (or docdata.set_pair and DocBin(store_user_data=True))."
        )
    ids = Counter(get_pair_id(d) for d in docs)
    dupes = [i for i, n in ids.items() if n > 1]
    if dupes:
        raise InputError(f"{len(dupes)} pair ids occur more than once in {path}, e.g. {dupes[:5]}; make them unique.")
    return docs


def is_identical(source: Doc, target: Doc) -> bool:
    """The same words in the same order: an engine that knew none of them (names, numbers, gaps in a lexicon)."""
    return [t.text for t in source] == [t.text for t in target]


def check_identical_policy(identical: str) -> None:
    if identical not in IDENTICAL_POLICIES:
        raise InputError(f"identical={identical!r}: use 'keep' or 'drop' (translations word for word equal to their source).")


def translate_docs(
    docs: Sequence[Doc],
    translator: Translator,
    lang: str,
    src_lang: str,
    markers: Optional[str] = None,
    batch_size: Optional[int] = None,
    progress: bool = True,
    identical: str = "keep",
) -> "tuple[List[Doc], TranslationReport]":
    """Translate and project ``docs``; return the kept target Docs and the report.

    A translation word for word equal to its source is counted (``report.identical``); with
    ``identical="drop"`` it is also dropped (reason ``identical_to_source``): as a translation pair
    it is the sentence paired with itself, and as training data a duplicate of the source.
    """
    check_identical_policy(identical)
    style_name = markers or ("html" if translator.markup else "brackets")
    if translator.markup and style_name != "html":
        raise InputError(f"The {translator.name} engine reads HTML; use html markers, not {style_name!r}.")
    style = get_marker_style(style_name)
    nlp = target_nlp(lang)
    report = TranslationReport(lang=lang, src_lang=src_lang, engine=translator.describe(), markers=style_name)
    dropped, entities_in, entities_out = Counter(report.dropped), Counter(), Counter()
    size = batch_size or translator.batch_size
    kept: List[Doc] = []
    start = time.perf_counter()
    with tqdm(total=len(docs), desc=f"{src_lang}->{lang}", unit="sent", disable=not progress) as bar:
        for batch in minibatch(docs, size=size):
            marked = [mark_doc(doc, style) for doc in batch]
            ids = [str(get_pair_id(doc)) for doc in batch]
            outputs = translator.translate(marked, ids)
            if len(outputs) != len(batch):
                raise EngineFailed(f"{translator.name} returned {len(outputs)} translations for {len(batch)} sentences.")
            for doc, source_text, output in zip(batch, marked, outputs):
                report.sentences_in += 1
                entities_in.update(ent.label_ for ent in doc.ents)
                try:
                    target, expanded = project(doc, output, style, lang, nlp)
                except ProjectionDrop as drop:
                    dropped[drop.reason] += 1
                    if len(report.drop_examples) < MAX_DROP_EXAMPLES:
                        report.drop_examples.append(
                            {"pair_id": get_pair_id(doc) or "", "reason": drop.reason, "source": source_text, "translation": output}
                        )
                    continue
                if is_identical(doc, target):
                    report.identical += 1
                    if identical == "drop":
                        dropped[IDENTICAL] += 1
                        continue
                report.kept += 1
                report.boundaries_expanded += expanded
                entities_out.update(ent.label_ for ent in target.ents)
                kept.append(target)
            bar.update(len(batch))
    report.seconds = round(time.perf_counter() - start, 3)
    # plain dicts on the report: dataclasses.asdict cannot copy a Counter (it rebuilds it from item pairs)
    report.dropped, report.entities_in, report.entities_out = dict(dropped), dict(entities_in), dict(entities_out)
    assert report.sentences_in == report.kept + sum(report.dropped.values())
    return kept, report


#: ``(docs, translator, target, src_lang, markers, batch_size, progress, identical) -> (kept, report)``:
#: what :func:`translate_docs` returns for ``docs``, however it is computed.
TranslateTarget = Callable[[Sequence[Doc], Translator, Target, str, Optional[str], Optional[int], bool, str],
                           Tuple[List[Doc], TranslationReport]]


def translate(
    source: Union[str, Path],
    output_dir: Union[str, Path],
    targets: Sequence[Target],
    src_lang: Optional[str] = None,
    markers: Optional[str] = None,
    batch_size: Optional[int] = None,
    progress: bool = True,
    limit: Optional[int] = None,
    identical: str = "keep",
    translate_target: Optional[TranslateTarget] = None,
) -> Dict[str, TranslationReport]:
    """Write ``{lang}.spacy`` and ``{lang}.report.json`` into ``output_dir`` for every target.

    ``src_lang`` defaults to the language stored in the source Docs (it must be one).
    ``identical``: "keep" or "drop" translations word for word equal to their source (see
    :func:`translate_docs`). Prints one summary line per language (wasabi).
    ``translate_target`` translates one target's Docs with the translator built here (default: in
    this process); :mod:`spacy_concner.workflow.translate_ray` passes one that shards them over Ray
    workers, so the checks, the outputs and the reports stay this function's.
    """
    check_identical_policy(identical)
    docs = load_source(source)
    if limit is not None:
        docs = docs[:limit]
    langs = {get_lang(d) for d in docs} - {None}
    if src_lang is None:
        if len(langs) != 1:
            raise InputError(f"Source Docs in {source} have languages {sorted(langs) or 'unset'}; pass --src-lang.")
        src_lang = langs.pop()
    seen = set()
    for target in targets:  # every target checked before anything is translated or written
        if target.lang in seen:
            raise InputError(f"Target language {target.lang!r} given twice; pass each language once.")
        seen.add(target.lang)
        target_nlp(target.lang)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: Dict[str, TranslationReport] = {}
    for target in targets:
        translator = get_translator(target.engine, src_lang, target.lang, **target.options)
        if translate_target is None:
            kept, report = translate_docs(docs, translator, target.lang, src_lang, markers, batch_size, progress, identical)
        else:
            kept, report = translate_target(docs, translator, target, src_lang, markers, batch_size, progress, identical)
        write_docbin(kept, out_dir / f"{target.lang}.spacy")
        write_json(out_dir / f"{target.lang}.report.json", {**report.to_dict(), "source": str(source)})
        msg.good(report.summary())
        reports[target.lang] = report
    return reports


def export_marked(source: Union[str, Path], path: Union[str, Path], markers: str = "brackets") -> int:
    """Write ``pair_id<TAB>marked sentence`` lines to send to any MT service.

    Translate the second column, keep the first, and read the result back with the ``file``
    engine. Returns the number of lines written.
    """
    docs = load_source(source)
    style = get_marker_style(markers)
    one_line = str.maketrans("\n\t", "  ")  # a newline or tab in a sentence would break the line format
    write_text_atomic(path, "".join(f"{get_pair_id(doc)}\t{mark_doc(doc, style).translate(one_line)}\n" for doc in docs))
    return len(docs)


def parse_target(spec: str) -> Target:
    """``"es:apertium"`` -> Target("es", "apertium"); the CLI's target syntax."""
    lang, sep, engine = spec.partition(":")
    if not sep or not lang or not engine:
        raise InputError(f"Target {spec!r} should look like LANG:ENGINE, e.g. es:apertium or de:lexicon.")
    return Target(lang.strip(), engine.strip())


def parse_options(pairs: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    """``["model=/m", "de.dictionary=x.tsv"]`` -> options per language (``"*"`` = all).

    Values that look like integers become ints, so ``batch_size=8`` works from the CLI.
    """
    out: Dict[str, Dict[str, Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"Option {pair!r} should look like KEY=VALUE or LANG.KEY=VALUE.")
        lang, dot, name = key.partition(".")
        if not dot:
            lang, name = "*", key
        parsed: Any = int(value) if value.lstrip("-").isdigit() else value
        out.setdefault(lang, {})[name] = parsed
    return out


def make_targets(specs: Sequence[str], options: Mapping[str, Mapping[str, Any]]) -> List[Target]:
    targets = [parse_target(s) for s in specs]
    for target in targets:
        target.options = {**options.get("*", {}), **options.get(target.lang, {})}
    unknown = set(options) - {"*"} - {t.lang for t in targets}
    if unknown:
        raise InputError(f"Options given for languages that are not targets: {sorted(unknown)}; fix --option.")
    return targets
