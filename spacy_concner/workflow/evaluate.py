"""Score pipelines on target-language test sets: seqeval (default + strict IOB2) and spaCy's scorer.

Why both: seqeval entity-level micro F1 is the number NER papers (ConCNER included) report,
so it is what published rows are compared with; spaCy's NER scorer (``get_ner_prf``, what
``nlp.evaluate`` uses for entities) is what ``spacy train`` logs, so the two can be checked
against each other. Predictions are made on the gold tokenisation, so tags align token by token.

Outputs (see :func:`write_reports`): ``evaluation.json`` with everything, ``evaluation.md`` with
the systems x languages table (+ mean), a line on whether the other metrics agree, and per-type
tables, ``evaluation.png``, a grouped bar chart that is the first thing to look at, and
``errors_LANG.html``, displaCy pages of gold vs predicted entities, errors first. Published rows ("reported") can be added for
comparison; they are never mixed up with measured rows.
"""
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import srsly
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example, biluo_to_iob
from spacy.training.iob_utils import doc_to_biluo_tags
from spacy.vocab import Vocab

from ..errors import InputError, one_line
from ..fileio import read_docbin, require_file
from ..loading import load_pipeline

logger = logging.getLogger(__name__)

MEAN = "mean"


class EvaluationError(InputError):
    """Inputs that cannot be scored; the message says why."""


@dataclass
class PRF:
    precision: float
    recall: float
    f1: float
    support: int = 0
    per_type: Dict[str, Dict[str, float]] = field(default_factory=dict)


@dataclass
class LangResult:
    """One system on one test set."""

    sentences: int
    gold_entities: int
    seqeval: PRF
    seqeval_strict: PRF
    spacy: PRF
    seconds: float


@dataclass
class Reported:
    """Published F1 scores (fractions) to show beside ours, e.g. the paper's table."""

    label: str
    scores: Dict[str, Dict[str, float]]  # system -> lang -> F1 in [0, 1]


@dataclass
class Evaluation:
    systems: List[str]
    languages: List[str]
    results: Dict[str, Dict[str, LangResult]]
    encoder: Optional[str] = None
    reported: Optional[Reported] = None

    def f1(self, system: str, lang: str, metric: str = "seqeval", reported: bool = False) -> Optional[float]:
        """Our measured F1, or with ``reported=True`` the published one (a row may share a name)."""
        if reported:
            return self.reported.scores.get(system, {}).get(lang) if self.reported else None
        return getattr(self.results[system][lang], metric).f1 if system in self.results else None

    def mean_f1(self, system: str, metric: str = "seqeval", reported: bool = False) -> Optional[float]:
        """Mean over the evaluated languages; None when a reported row lacks one of them."""
        values = [self.f1(system, lang, metric, reported) for lang in self.languages]
        if not values or any(v is None for v in values):
            return None
        return sum(values) / len(values)


# ---------------------------------------------------------------------------------------------
# Scoring


def doc_to_iob(doc: Doc) -> List[str]:
    """IOB2 tags of ``doc.ents`` (tokens without annotation count as ``O``), by spaCy's own conversions."""
    return biluo_to_iob(doc_to_biluo_tags(doc, missing="O"))


def seqeval_prf(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], strict: bool = False) -> PRF:
    """Entity-level micro P/R/F1 and per type from seqeval (strict: ``mode="strict", scheme=IOB2``)."""
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise EvaluationError("Gold and predicted tag sequences differ in length.")
    kwargs = {"mode": "strict", "scheme": IOB2} if strict else {}
    report = classification_report(
        [list(g) for g in gold], [list(p) for p in pred], output_dict=True, zero_division=0, **kwargs
    )
    micro = report.pop("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    for key in ("macro avg", "weighted avg"):
        report.pop(key, None)
    per_type = {
        label: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                "f1": float(v["f1-score"]), "support": int(v["support"])}
        for label, v in sorted(report.items())
    }
    return PRF(float(micro["precision"]), float(micro["recall"]), float(micro["f1-score"]),
               int(micro["support"]), per_type)


def spacy_prf(examples: Sequence[Example]) -> PRF:
    """spaCy's entity scorer (``spacy.scorer.get_ner_prf``, used by ``nlp.evaluate``)."""
    scores = get_ner_prf(examples)
    per_type = {
        label: {"precision": v["p"], "recall": v["r"], "f1": v["f"]}
        for label, v in sorted((scores["ents_per_type"] or {}).items())
    }
    return PRF(scores["ents_p"] or 0.0, scores["ents_r"] or 0.0, scores["ents_f"] or 0.0,
               sum(len(eg.reference.ents) for eg in examples), per_type)


def score_docs(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], seconds: float = 0.0) -> LangResult:
    """Score predictions made on the gold tokenisation against the gold Docs."""
    for gold, pred in zip(gold_docs, pred_docs):
        if len(gold) != len(pred):
            raise EvaluationError(
                f"A pipeline changed the tokenisation ({len(gold)} -> {len(pred)} tokens in {gold.text[:60]!r}); "
                "remove retokenising components (e.g. merge_entities) before evaluating."
            )
    gold_tags = [doc_to_iob(d) for d in gold_docs]
    pred_tags = [doc_to_iob(d) for d in pred_docs]
    examples = [Example(pred, gold) for pred, gold in zip(pred_docs, gold_docs)]
    return LangResult(
        sentences=len(gold_docs), gold_entities=sum(len(d.ents) for d in gold_docs),
        seqeval=seqeval_prf(gold_tags, pred_tags), seqeval_strict=seqeval_prf(gold_tags, pred_tags, strict=True),
        spacy=spacy_prf(examples), seconds=round(seconds, 2),
    )


def load_test_docs(path: Union[str, Path], vocab: Optional[Vocab] = None) -> List[Doc]:
    """Gold Docs from a DocBin; an error when none of them carries entity annotation.

    Predictions are made on fresh Docs in each pipeline's own vocab, so the gold Docs can be
    read once (reading is slow: user_data is unpacked per Doc) and shared across pipelines.
    """
    path = Path(path)
    if not path.exists():
        raise EvaluationError(f"Test set not found: {path} (write it with `python -m spacy_concner prepare`)")
    docs = read_docbin(path, vocab or Vocab(), "Test set")
    if not docs:
        raise EvaluationError(f"Test set {path} is empty; write it with `python -m spacy_concner prepare`.")
    if not any(d.has_annotation("ENT_IOB") for d in docs):
        raise EvaluationError(
            f"Test set {path} has no entity annotation (an unlabelled set, or a DocBin from a pipeline "
            "without NER?); pass a labelled test set written by `python -m spacy_concner prepare`."
        )
    return docs


def predict(nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 64) -> List[Doc]:
    """Run ``nlp`` on fresh Docs with the gold words and spaces (no gold leaks in)."""
    bare = (Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in gold_docs)
    return list(nlp.pipe(bare, batch_size=batch_size))


def evaluate_pipeline(nlp: Language, gold_docs: Sequence[Doc], batch_size: int = 64) -> Tuple[LangResult, List[Doc]]:
    """Scores of ``nlp`` on ``gold_docs``, and its predicted Docs."""
    start = time.time()
    pred_docs = predict(nlp, gold_docs, batch_size=batch_size)
    return score_docs(gold_docs, pred_docs, seconds=time.time() - start), pred_docs


def evaluate(
    systems: Sequence[Tuple[str, Union[str, Path, Language]]],
    tests: Sequence[Tuple[str, Union[str, Path]]],
    encoder: Optional[str] = None,
    reported: Optional[Reported] = None,
    batch_size: int = 64,
) -> Evaluation:
    """Score every system (name, path / package name / loaded pipeline) on every (lang, DocBin)."""
    if not systems or not tests:
        raise EvaluationError("Need at least one pipeline and one test set.")
    names = [name for name, _ in systems]
    if len(set(names)) != len(names):
        raise EvaluationError(f"System names must be unique, got {names}; label them with NAME=PATH.")
    gold = {lang: load_test_docs(path) for lang, path in tests}
    results: Dict[str, Dict[str, LangResult]] = {}
    predictions: Dict[str, Dict[str, List[Doc]]] = {}
    for name, system in systems:
        nlp = system if isinstance(system, Language) else _load_tagger(system)
        results[name], predictions[name] = {}, {}
        for lang, _ in tests:
            result, predictions[name][lang] = evaluate_pipeline(nlp, gold[lang], batch_size=batch_size)
            logger.info("%s on %s: seqeval F1 %.4f (strict %.4f, spaCy %.4f)", name, lang,
                        result.seqeval.f1, result.seqeval_strict.f1, result.spacy.f1)
            results[name][lang] = result
    ev = Evaluation(names, [lang for lang, _ in tests], results, encoder=encoder, reported=reported)
    ev.gold, ev.predictions = gold, predictions  # for the error pages; not part of the JSON
    return ev


def _load_tagger(spec: Union[str, Path]) -> Language:
    """A pipeline to score: loadable, and with a component that sets ``doc.ents``."""
    nlp = load_pipeline(spec)
    if not any("doc.ents" in nlp.get_pipe_meta(name).assigns for name in nlp.pipe_names):
        raise EvaluationError(f"Pipeline {str(spec)!r} has no component that sets entities ({nlp.pipe_names}).")
    return nlp


def load_reported(path: Union[str, Path], label: Optional[str] = None) -> Reported:
    """Read published scores from JSON/YAML: ``{system: {lang: f1}}`` or ``{"label", "systems"}``.

    Values above 1 are taken as percentages (papers print 71.3, not 0.713).
    """
    path = require_file(path, "Reported scores file")
    fmt = "YAML" if path.suffix in (".yml", ".yaml") else "JSON"
    try:
        text = path.read_text(encoding="utf-8")
        data = srsly.yaml_loads(text) if fmt == "YAML" else json.loads(text)
    except ValueError as err:  # undecodable bytes, JSON and YAML syntax errors: all ValueErrors
        raise EvaluationError(f"{path}: not valid {fmt} ({one_line(err)[:200]}); fix the file.") from None
    if not isinstance(data, dict):
        raise EvaluationError(f"{path}: expected a mapping {{system: {{lang: f1}}}}")
    file_label = data.get("label") if isinstance(data.get("label"), str) else None
    systems = data.get("systems", {k: v for k, v in data.items() if k != "label"})
    scores: Dict[str, Dict[str, float]] = {}
    for system, langs in systems.items():
        try:
            values = {str(k): float(v) for k, v in langs.items()}
        except (AttributeError, TypeError, ValueError):  # not a mapping, or a value that is not a number
            raise EvaluationError(f"{path}: scores of {system!r} must map language -> F1 (a number)") from None
        scores[str(system)] = {k: v / 100 if v > 1 else v for k, v in values.items()}
    return Reported(label or file_label or "reported", scores)


# ---------------------------------------------------------------------------------------------
# Reports


