"""Ship the full vocabulary: write a pruned, fine-tuned encoder back into the full embedding matrix.

Why: pruning the encoder's vocabulary to the workflow's own text (``encoder --prune-to``) makes
training cheaper, but a pipeline that keeps the pruned tokenizer reads unseen words as single
characters or ``<unk>``: it is a different model on new text from the one that was evaluated.
:func:`expand_pipeline` takes a trained pipeline whose transformer was pruned and the full encoder
it was pruned from, and rebuilds the transformer with the full tokenizer and the full embedding
matrix: every row the training saw keeps its fine-tuned value, every other row its pretrained
value, and every other weight (attention, feed-forward, norms, pooler) comes from the trained
model. On text the pruned vocabulary covers, segmentation, hidden states and predictions are
unchanged; on any other text the pipeline now segments exactly as the full encoder does.

The pruned rows are matched to the full vocabulary by piece string (the pruning keeps pieces
verbatim), so it works for SentencePiece and WordPiece tokenizers alike and needs no map file.
"""
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Union

import numpy

from ..errors import InputError, MissingFile, one_line
from ..loading import load_pipeline
from .export import find_transformer

logger = logging.getLogger(__name__)

META_KEY = "concner_vocabulary"
_WEIGHT_FILES = {"model.safetensors", "pytorch_model.bin", "config.json", "README.md",
                 "build_report.json", "pruned_vocab_map.json"}


class VocabularyError(InputError):
    """The trained pipeline and the full encoder do not fit together."""


def _full_encoder(full: Union[str, Path]) -> Union[str, Path]:
    """A local folder as a Path (checked), anything else as a Hugging Face model name.

    A pruned folder built by ``encoder --prune-to`` names its source in ``build_report.json``
    (``pruned_from``): that source is the full encoder, so the workflow can pass the encoder it
    trained with, pruned or not.
    """
    path = Path(full)
    if not path.exists():
        return str(full)
    if not (path / "config.json").exists():
        raise MissingFile(f"No Hugging Face model at {path} (config.json missing): pass the full encoder folder.")
    report = path / "build_report.json"
    source = json.loads(report.read_text(encoding="utf-8")).get("pruned_from") if report.exists() else None
    if source:  # relative to where the pruning ran (a project directory above the folder), or absolute
        for candidate in [Path(source)] + [parent / source for parent in path.resolve().parents]:
            if (candidate / "config.json").exists():
                return candidate
        raise MissingFile(f"{path} was pruned from {source} (build_report.json), which is missing here: "
                                "pass the full encoder folder instead.")
    return path


def _full_tokenizer(full: Union[str, Path]):
    """The full encoder's tokenizer; a name that is neither a local folder nor a reachable model is bad input."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(full))
    except (OSError, ValueError) as err:  # no such folder / hub name, or offline
        raise InputError(
            f"Cannot load the full encoder {str(full)!r} ({type(err).__name__}: {one_line(err)[:200]}); pass the "
            "folder of the encoder the pipeline was trained from (e.g. assets/me5-small) or a reachable model name."
        ) from None


def pruned_row_ids(pruned_vocab: Dict[str, int], full_vocab: Dict[str, int]) -> Optional[numpy.ndarray]:
    """Full-vocabulary id of every pruned row (indexed by pruned id); None if nothing was pruned."""
    if pruned_vocab == full_vocab:
        return None
    missing = [piece for piece in pruned_vocab if piece not in full_vocab]
    if missing:
        raise VocabularyError(
            f"{len(missing)} pieces of the trained tokenizer are not in the full encoder's vocabulary "
            f"(e.g. {missing[:5]}): the trained pipeline was not pruned from this encoder. Pass the "
            "full encoder its transformer was pruned from (e.g. assets/me5-small)."
        )
    ids = numpy.full(max(pruned_vocab.values()) + 1, -1, dtype="int64")
    for piece, i in pruned_vocab.items():
        ids[i] = full_vocab[piece]
    if (ids < 0).any():
        raise VocabularyError("The trained tokenizer's ids are not contiguous; cannot map its embedding rows.")
    return ids


def _check_same_architecture(trained_config, full_config, full_dir: Path) -> None:
    keys = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size")
    diff = {k: (getattr(trained_config, k, None), getattr(full_config, k, None)) for k in keys
            if getattr(trained_config, k, None) != getattr(full_config, k, None)}
    if diff:
        raise VocabularyError(f"The full encoder at {full_dir} is a different architecture from the trained "
                              f"transformer (trained vs full: {diff}); pass the encoder it was pruned from.")


def expand_transformer(model, tokenizer, full_dir: Union[str, Path], out_dir: Union[str, Path]) -> Dict[str, int]:
    """Save ``model`` (a fine-tuned, pruned HF model) as a Hugging Face folder with the full vocabulary.

    ``tokenizer`` is the pruned tokenizer it was trained with; ``full_dir`` the full encoder. The
    trained model is changed in place (its embedding matrix becomes the full one). Returns counts.
    """
    import torch
    from transformers import AutoModel

    out_dir = Path(out_dir)
    full_dir = _full_encoder(full_dir)
    full_tok = _full_tokenizer(full_dir)
    ids = pruned_row_ids(tokenizer.get_vocab(), full_tok.get_vocab())
    full_model = AutoModel.from_pretrained(str(full_dir))
    _check_same_architecture(model.config, full_model.config, full_dir)
    trained_emb = model.get_input_embeddings().weight.data
    full_emb = full_model.get_input_embeddings().weight.data.clone().to(trained_emb.dtype)
    if ids is None:
        ids = numpy.arange(len(tokenizer))
    if len(ids) > trained_emb.shape[0]:
        raise VocabularyError(f"The trained tokenizer has {len(ids)} pieces but its embedding matrix only "
                              f"{trained_emb.shape[0]} rows.")
    full_emb[torch.from_numpy(ids)] = trained_emb[: len(ids)].to(full_emb.device)
    new_emb = torch.nn.Embedding(full_emb.shape[0], full_emb.shape[1], padding_idx=full_model.config.pad_token_id)
    new_emb.weight.data = full_emb.to(trained_emb.device)
    model.set_input_embeddings(new_emb)
    model.config.vocab_size = full_emb.shape[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    full_tok.save_pretrained(str(out_dir))
    for path in (full_dir.iterdir() if isinstance(full_dir, Path) else ()):  # tokenizer files, including the slow vocabulary file spacy-transformers reads
        if path.is_file() and path.name not in _WEIGHT_FILES:
            shutil.copy2(path, out_dir / path.name)
    del full_model
    return {"trained_rows": len(ids), "full_rows": int(full_emb.shape[0]), "full_pieces": len(full_tok)}


def resegmented_words(tokenizer, full_tokenizer, texts: Iterable[str]) -> Dict[str, float]:
    """How many whitespace-separated words ``tokenizer`` segments differently from ``full_tokenizer``."""
    words = sorted({w for text in texts for w in text.split()})
    counts = {w: 0 for w in words}
    for text in texts:
        for w in text.split():
            counts[w] += 1
    if not words:
        return {"words": 0, "types": 0, "resegmented_words": 0, "resegmented_fraction": 0.0}
    ours = tokenizer(words, add_special_tokens=False)["input_ids"]
    full = full_tokenizer(words, add_special_tokens=False)["input_ids"]
    differ = [w for w, a, b in zip(words, ours, full)
              if tokenizer.convert_ids_to_tokens(a) != full_tokenizer.convert_ids_to_tokens(b)]
    n_words = sum(counts.values())
    n_diff = sum(counts[w] for w in differ)
    return {"words": n_words, "types": len(words), "resegmented_words": n_diff,
            "resegmented_fraction": round(n_diff / n_words, 4), "examples": differ[:10]}


def _write_meta_key(pipeline_dir: Path, info: Dict) -> None:
    meta_path = pipeline_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    meta[META_KEY] = info
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")


def expand_pipeline(
    trained: Union[str, Path], full_dir: Union[str, Path], out: Union[str, Path],
    keep_pruned: bool = False, unseen_texts: Sequence[str] = (),
) -> Dict:
    """Write ``trained`` to ``out`` with its transformer's vocabulary expanded to ``full_dir``'s.

    A pipeline that was not pruned is copied unchanged. With ``keep_pruned`` the pruned pipeline
    is copied as it is (the explicit opt-out) and ``unseen_texts``, if given, measure how many
    words it segments differently from the full encoder. Either way ``meta.json`` of ``out`` gets
    a ``concner_vocabulary`` entry saying what ships. Returns that entry.
    """
    from spacy_transformers.layers.transformer_model import huggingface_from_pretrained

    trained, out = Path(trained), Path(out)
    full_dir = _full_encoder(full_dir)
    if not (trained / "config.cfg").exists():
        raise MissingFile(f"No spaCy pipeline at {trained} (config.cfg missing): pass a trained pipeline folder.")
    nlp = load_pipeline(trained)
    name, trf = find_transformer(nlp, "expand-encoder")
    tokenizer = trf.model.tokenizer
    full_tok = _full_tokenizer(full_dir)
    ids = pruned_row_ids(tokenizer.get_vocab(), full_tok.get_vocab())
    info: Dict = {"full_encoder": str(full_dir), "full_pieces": len(full_tok), "trained_pieces": len(tokenizer)}
    if ids is None or keep_pruned:
        info["shipped"] = "full" if ids is None else "pruned"
        info["shipped_pieces"] = len(tokenizer)
        if ids is not None and unseen_texts:
            info["unseen_text"] = resegmented_words(tokenizer, full_tok, unseen_texts)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(trained, out)
        _write_meta_key(out, info)
        return info
    model = trf.model
    trf_config = nlp.get_pipe_config(name)["model"]
    with tempfile.TemporaryDirectory() as tmp:
        counts = expand_transformer(model.transformer, tokenizer, full_dir, Path(tmp) / "hf")
        hf = huggingface_from_pretrained(Path(tmp) / "hf", dict(trf_config.get("tokenizer_config", {})),
                                         dict(trf_config.get("transformer_config", {})))
        model.attrs["has_transformer"] = False
        model.attrs["set_transformer"](model, hf)
    model.attrs["name"] = str(full_dir)
    _point_config_at(nlp, name, str(full_dir))
    info.update(shipped="full", shipped_pieces=len(full_tok), fine_tuned_rows=counts["trained_rows"])
    nlp.meta[META_KEY] = info
    if out.exists():
        shutil.rmtree(out)
    nlp.to_disk(out)
    logger.info("Expanded %s: %d fine-tuned rows written into %d; saved to %s",
                trained, counts["trained_rows"], counts["full_rows"], out)
    return info


def _point_config_at(nlp, component: str, name: str) -> None:
    """The saved config names the full encoder (what a fresh ``initialize`` of this config would load)."""
    model_cfg = nlp.get_pipe_config(component)["model"]
    ref = model_cfg.get("name")
    if isinstance(ref, str) and ref.startswith("${paths.") and ref.endswith("}"):
        nlp.config["paths"][ref[len("${paths."):-1]] = name
    else:
        model_cfg["name"] = name


def describe_vocabulary(info: Dict) -> str:
    """One sentence for the package description: what the shipped tokenizer reads."""
    if not info:
        return ""
    if info.get("shipped") == "full":
        extra = (f" (the {info['trained_pieces']:,} pieces of the pruned training vocabulary carry their fine-tuned "
                 "embeddings, the others their pretrained ones)"
                 if info.get("trained_pieces") != info.get("shipped_pieces") else "")
        return f"Ships the full encoder vocabulary: {info['shipped_pieces']:,} pieces{extra}."
    text = (f"Ships a pruned encoder vocabulary: {info['shipped_pieces']:,} of {info['full_pieces']:,} pieces; "
            "words outside it are segmented differently from the full encoder")
    unseen = info.get("unseen_text")
    if unseen:
        text += (f" ({100 * unseen['resegmented_fraction']:.1f}% of {unseen['words']:,} words of the "
                 "unseen text measured at packaging)")
    return text + "."
