"""Shared offline fixtures: a tiny BERT built locally and DocBins from the sample corpus.

The tiny BERT (2 layers, width 32) gets a WordPiece vocabulary trained with ``tokenizers`` on
the corpus/ text, and is saved with ``save_pretrained``; nothing is downloaded.
"""
import os
from pathlib import Path
from typing import Dict, List

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"


def corpus_text_lines() -> List[str]:
    """All sentences of the sample corpus as plain text (tokenizer training material)."""
    import spacy

    from spacy_concner.conll import read_conll

    vocab = spacy.blank("xx").vocab
    lines: List[str] = []
    for path in sorted(CORPUS.glob("*/*.iob")):
        lines.extend(doc.text for doc in read_conll(path, path.parent.name, vocab))
    for path in sorted(CORPUS.glob("*/unlabeled.txt")):
        lines.extend(l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip())
    return lines


def build_tiny_bert(out_dir: Path, hidden: int = 32, layers: int = 2, vocab_size: int = 2000) -> Path:
    """Save a randomly initialised tiny BERT + fast WordPiece tokenizer under ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    tok.train_from_iterator(corpus_text_lines(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=False)
    fast.save_pretrained(str(out_dir))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=256,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,  # deterministic updates in tests
    )
    BertModel(config).save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(autouse=True)
def fixed_seeds():
    """Every test starts from the same random state (random, numpy, torch), so model set-up
    (thinc heads initialise from numpy's global generator) never depends on test order."""
    from spacy.util import fix_random_seed

    fix_random_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def corpus_docbins(tmp_path_factory) -> Dict[str, Path]:
    """DocBins of the sample corpus: en train/dev, and per language translations + test."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_concner.conll import read_conll

    out = tmp_path_factory.mktemp("corpus")
    vocab = spacy.blank("xx").vocab
    paths: Dict[str, Path] = {}
    for path in sorted(CORPUS.glob("*/*.iob")):
        lang = path.parent.name
        key = f"{lang}/{path.stem}"
        db = DocBin(store_user_data=True, docs=read_conll(path, lang, vocab))
        target = out / f"{lang}_{path.stem}.spacy"
        db.to_disk(target)
        paths[key] = target
    return paths
