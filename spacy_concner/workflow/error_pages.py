"""displaCy pages for looking at predictions: gold and predicted entities of test sentences, errors first.

One HTML page per language (``errors_LANG.html``): for a sample of sentences, the gold entities and
each system's predicted entities one above the other, sentences where the systems disagree with the
gold standard first (most wrong entities first), then correct ones for contrast. Numbers say how good
a model is; these pages say what it gets wrong (boundaries, types, missed names).
"""
import html
import random
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple, Union

from spacy import displacy
from spacy.tokens import Doc

Span = Tuple[int, int, str]


def entity_set(doc: Doc) -> Set[Span]:
    return {(e.start, e.end, e.label_) for e in doc.ents}


def n_errors(gold: Doc, pred: Doc) -> int:
    """Wrong entities in one sentence: false positives plus false negatives."""
    return len(entity_set(gold) ^ entity_set(pred))


def pick_sentences(gold: Sequence[Doc], preds: Dict[str, Sequence[Doc]], n: int, seed: int = 0) -> List[int]:
    """Indices of up to ``n`` sentences: those with errors (most first), then a random sample of correct ones."""
    errors = {i: sum(n_errors(g, p[i]) for p in preds.values()) for i, g in enumerate(gold)}
    wrong = sorted((i for i, e in errors.items() if e), key=lambda i: (-errors[i], i))
    right = [i for i, e in errors.items() if not e]
    random.Random(seed).shuffle(right)
    return (wrong + right)[:n]


def _titled(doc: Doc, title: str) -> Doc:
    copy = doc.copy()
    copy.user_data["title"] = title
    return copy


def error_page(lang: str, gold: Sequence[Doc], preds: Dict[str, Sequence[Doc]], n: int = 50) -> str:
    """The HTML page for one language."""
    docs = []
    for i in pick_sentences(gold, preds, n):
        docs.append(_titled(gold[i], f"#{i} gold"))
        for system, pred_docs in preds.items():
            wrong = n_errors(gold[i], pred_docs[i])
            docs.append(_titled(pred_docs[i], f"#{i} {system}: " + (f"{wrong} wrong" if wrong else "correct")))
    total = {s: sum(n_errors(g, p) for g, p in zip(gold, pd)) for s, pd in preds.items()}
    summary = "; ".join(f"{html.escape(s)}: {t} wrong entities in {len(gold)} sentences" for s, t in total.items())
    body = displacy.render(docs, style="ent", page=False, jupyter=False)
    return (f"<!DOCTYPE html><html lang='{html.escape(lang)}'><head><meta charset='utf-8'>"
            f"<title>concner errors: {html.escape(lang)}</title></head><body style='font-family:sans-serif'>"
            f"<h1>{html.escape(lang)}: gold vs predicted entities</h1><p>{summary}. Sentences with errors "
            f"first (most wrong entities first), then correct ones.</p>{body}</body></html>")


def write_error_pages(
    gold: Dict[str, Sequence[Doc]], predictions: Dict[str, Dict[str, Sequence[Doc]]],
    output_dir: Union[str, Path], n: int = 50,
) -> List[Path]:
    """``errors_LANG.html`` per language; ``predictions`` maps system -> lang -> predicted Docs."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang, gold_docs in gold.items():
        preds = {system: by_lang[lang] for system, by_lang in predictions.items() if lang in by_lang}
        path = output_dir / f"errors_{lang}.html"
        path.write_text(error_page(lang, gold_docs, preds, n), encoding="utf-8")
        paths.append(path)
    return paths
