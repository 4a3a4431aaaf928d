"""Shared offline fixtures: a tiny BERT built locally and DocBins from the sample corpus.

The tiny BERT (2 layers, width 32) gets a WordPiece vocabulary trained with ``tokenizers`` on
the corpus/ text, and is saved with ``save_pretrained``; nothing is downloaded.
"""
import os
import subprocess
import sysconfig
import venv
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"


def corpus_text_lines() -> List[str]:
    """All sentences of the sample corpus as plain text (tokenizer training material)."""
    import spacy

    from spacy_concner.data.conll import read_conll

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
    # model_max_length as real checkpoints set it: spacy-transformers truncates longer windows to it
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=False, model_max_length=256)
    fast.save_pretrained(str(out_dir))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=256,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,  # deterministic updates in tests
    )
    BertModel(config).save_pretrained(str(out_dir))
    return out_dir


def _is_dev_copy_of_ours(name: str) -> bool:
    """Entries of the development site-packages that put *this* spacy-concner on the path."""
    low = name.lower()
    return "spacy_concner" in low or "spacy-concner" in low or low.endswith((".pth", ".egg-link"))


def fresh_venv(env_dir: Path, wheels: Sequence[Path]) -> Path:
    """A new virtual environment with ``wheels`` installed (``--no-deps``); returns its python.

    Third-party dependencies (torch, spaCy, ...) are borrowed from this environment through a
    folder of links to its site-packages, *minus* every trace of the development copy of
    spacy-concner (package, editable finder, dist-info, .pth files), so what loads there can
    only come from the installed wheels.
    """
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    deps = env_dir.parent / f"{env_dir.name}-shared-deps"
    deps.mkdir()
    dev_site = Path(sysconfig.get_paths()["purelib"])
    for entry in dev_site.iterdir():
        if not _is_dev_copy_of_ours(entry.name):
            (deps / entry.name).symlink_to(entry)
    site = Path(run_clean([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "shared_deps.pth").write_text(f"{deps}\n")
    run_clean([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, wheels)])
    return py


def run_clean(cmd: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    """Run without PYTHONPATH (which points at the source tree in development) and offline."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
    proc = subprocess.run(list(cmd), capture_output=True, text=True, env=env, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    return proc


#: Python run inside a fresh venv: fails unless spacy_concner and its one distribution come from it.
ONLY_INSTALLED_COPY = """
import importlib.metadata, sys, spacy_concner
env = {env!r}
assert spacy_concner.__file__.startswith(env), spacy_concner.__file__
ours = [d for d in importlib.metadata.distributions()
        if (d.metadata["Name"] or "").lower().replace("_", "-") == "spacy-concner"]
assert len(ours) == 1 and str(ours[0].locate_file("")).startswith(env), [str(d.locate_file("")) for d in ours]
"""


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

    from spacy_concner.data.conll import read_conll

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


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory, tiny_bert, corpus_docbins) -> Path:
    """An initialised (untrained) transformer + concner pipeline saved to disk, labels LOC/ORG/PER
    (and MISC): enough to load, tag, annotate and export, fast."""
    import spacy

    from spacy_concner.training.readers import create_paired_corpus

    config = spacy.util.load_config(ROOT / "configs" / "concner.cfg", overrides={
        "paths.transformer": str(tiny_bert), "components.concner.model.proj_hidden": 16,
        "components.concner.model.proj_width": 8,
    }, interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = list(create_paired_corpus(corpus_docbins["en/train"])(nlp))[:20]
    nlp.initialize(lambda: examples)
    out = tmp_path_factory.mktemp("pipeline") / "model"
    nlp.to_disk(out)
    return out
