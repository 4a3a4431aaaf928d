"""The workloads of the speed benchmark, one per process (see ``speed.py``).

Each case loads one encoder, builds the same batches of CoNLL sentences, warms up, then times
``reps`` repetitions. Raw-torch cases use the tokenizer output of exactly the texts our
pipeline tokenizes (``doc.text``), pre-tokenized outside the timed region: they are the limit
of this machine for the encoder, not a second implementation of the pipeline.
"""
import gc
import itertools
import random
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
CONLL_EN = ROOT.parent / "shared" / "data" / "conll" / "en" / "train.txt"
SAMPLE_EN = ROOT / "corpus" / "en" / "train.iob"


@dataclass
class Case:
    """One measured workload; ``side`` is "raw" or "ours", ``mode`` "train" or "infer"."""

    name: str
    side: str
    mode: str
    config: str = "concner.cfg"
    freeze_embeddings: bool = False
    autocast: bool = False  # bfloat16 autocast of the encoder's forward (spacy_concner.autocast.v1 on ours)
    release_gradients: bool = True  # ours only: transformer_levers.v1 release_gradients (the configs' default)
    optimizer: str = ""  # ours only: "" = the config's (spacy_concner.AdamW.v1), "thinc" = thinc's Adam.v1
    pruned: bool = False
    lengths: str = "fixed"  # "fixed": all sentences min_len..max_len words; "mixed": any length
    bucketed: bool = False  # sort the mixed sample by length before cutting batches
    batch_size: Optional[int] = None  # inference batch size (default: the training batch size)
    sort_by_length: bool = True  # ours only: spacy_concner.TransformerModel.v1 length-sorted chunks
    group: str = "main"
    note: str = ""


@dataclass
class Settings:
    encoder: str
    pruned_encoder: str = ""
    batch_size: int = 16
    n_batches: int = 4
    min_len: int = 20
    max_len: int = 30
    warmup: int = 1
    reps: int = 2
    threads: int = 2
    seed: int = 0
    phases: bool = True  # after timing, 2 more instrumented reps for a per-phase breakdown
    data: str = str(CONLL_EN)


@dataclass
class Result:
    case: str
    times: List[float] = field(default_factory=list)  # wall seconds per repetition
    cpu_times: List[float] = field(default_factory=list)  # process CPU seconds per repetition
    words: int = 0  # spaCy tokens processed per repetition
    wordpieces: int = 0  # non-pad wordpieces per repetition
    padded: int = 0  # wordpiece slots incl. padding per repetition
    docs: int = 0
    steps: int = 0  # optimizer steps (train) or batches (infer) per repetition
    rss_loaded_mb: float = 0.0  # peak RSS after loading and warm-up
    rss_peak_mb: float = 0.0
    extra: Dict[str, object] = field(default_factory=dict)


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_docs(settings: Settings, case: Case):
    """Sentences from CoNLL-2003 en train (seeded); fixed-length or mixed-length sample."""
    import spacy

    from spacy_concner.data.conll import read_conll
    from spacy_concner.data.docdata import set_pair

    path = Path(settings.data)
    if not path.exists():
        path = SAMPLE_EN
    vocab = spacy.blank("xx").vocab
    docs = [d for d in read_conll(path, "en", vocab) if d.text != "-DOCSTART-"]
    if case.lengths == "fixed":
        docs = [d for d in docs if settings.min_len <= len(d) <= settings.max_len]
    n = settings.batch_size * settings.n_batches
    if len(docs) < n:
        raise SystemExit(f"{path} has only {len(docs)} usable sentences, need {n}")
    docs = random.Random(settings.seed).sample(docs, n)
    if case.bucketed:
        docs.sort(key=len)
    for i, doc in enumerate(docs):  # consecutive docs form a "translation pair" for L_trans
        set_pair(doc, f"p{i // 2}", "en")
    return vocab, docs


def batches(items: Sequence, size: int) -> List[List]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _timed(fn: Callable[[], None], settings: Settings, result: Result) -> None:
    """Warm-up, then timed repetitions. Both sides freeze what is alive after the warm-up out of the
    garbage collector: a full collection over the ~440k objects the imports leave costs ~0.3 s and
    lands in some repetitions and not others (benchmarks/README.md, Performance)."""
    for _ in range(settings.warmup):
        fn()
    gc.collect()
    gc.freeze()
    result.rss_loaded_mb = peak_rss_mb()
    for _ in range(settings.reps):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        result.times.append(time.perf_counter() - start)
        result.cpu_times.append(time.process_time() - cpu)
    result.rss_peak_mb = peak_rss_mb()


def _phases(fn: Callable[[], None], instrument: Callable, result: Result, reps: int = 1) -> None:
    """Extra repetitions with phase wrappers on; seconds per step for each phase."""
    from benchmarks.speed_phases import PhaseTimer

    timer = PhaseTimer()
    instrument(timer)
    try:
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        total = time.perf_counter() - start
    finally:
        timer.restore()
    per_step = reps * max(result.steps, 1)
    phases = {k: round(v / per_step, 4) for k, v in sorted(timer.totals.items())}
    phases["other"] = round(total / per_step - sum(phases.values()), 4)
    phases["step"] = round(total / per_step, 4)
    result.extra["phases"] = phases


def encoder_path(settings: Settings, case: Case) -> str:
    path = Path(settings.pruned_encoder if case.pruned else settings.encoder)
    if not (path / "config.json").exists():
        hint = ("build it with `python -m spacy_concner encoder OUT --from FULL --prune-to CORPUS` "
                "or pass --pruned-encoder" if case.pruned else
                "build it with `python -m spacy_concner encoder assets/me5-small` or pass --encoder")
        raise SystemExit(f"Encoder folder {path} not found (no config.json); {hint}.")
    return str(path)


def run_raw(settings: Settings, case: Case, encoder: str) -> Result:
    """HF AutoModel + linear token-classification head (first subword per word) in plain torch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(settings.seed)
    _, docs = load_docs(settings, case)
    tokenizer = AutoTokenizer.from_pretrained(encoder, use_fast=True)
    model = AutoModel.from_pretrained(encoder)
    n_tags = 9
    head = torch.nn.Linear(model.config.hidden_size, n_tags)
    size = case.batch_size or settings.batch_size
    texts = [[d.text for d in batch] for batch in batches(docs, size)]

    def encode(batch_texts: List[str]):
        """Tokenize and label one batch: timed, as our side tokenizes and aligns inside nlp.update."""
        enc = tokenizer(batch_texts, padding=True, truncation=True, return_tensors="pt")
        lab = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
        for row in range(len(batch_texts)):  # label the first subword of every word (tag id is arbitrary)
            seen = set()
            for col, wid in enumerate(enc.word_ids(row)):
                if wid is not None and wid not in seen:
                    seen.add(wid)
                    lab[row, col] = wid % n_tags
        return dict(enc), lab

    encoded = [encode(t) for t in texts]  # only for the counts below
    result = Result(case.name, words=sum(len(d) for d in docs), docs=len(docs), steps=len(texts))
    result.wordpieces = int(sum(int(x["attention_mask"].sum()) for x, _ in encoded))
    result.padded = int(sum(x["input_ids"].numel() for x, _ in encoded))
    if case.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    params = [p for p in list(model.parameters()) + list(head.parameters()) if p.requires_grad]
    result.extra["trainable_params"] = sum(p.numel() for p in params)
    if case.autocast:
        _autocast_raw(model)
    if case.mode == "train":
        # fused AdamW is torch's fastest CPU implementation (the default, single-tensor, is ~2x slower)
        optim = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.01, fused=True)
        model.train()

        def epoch() -> None:
            for batch_texts in texts:
                x, y = encode(batch_texts)
                logits = head(model(**x).last_hidden_state)
                loss = torch.nn.functional.cross_entropy(logits.view(-1, n_tags), y.view(-1))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optim.step()
                optim.zero_grad(set_to_none=True)
    else:
        model.eval()

        def epoch() -> None:
            with torch.no_grad():
                for batch_texts in texts:
                    x = tokenizer(batch_texts, padding=True, truncation=True, return_tensors="pt")
                    head(model(**x).last_hidden_state).argmax(-1)
    _timed(epoch, settings, result)
    if case.mode == "train" and settings.phases:
        from benchmarks.speed_phases import instrument_raw

        _phases(epoch, instrument_raw, result)
    return result


def _autocast_raw(model) -> None:
    """The raw side of the bf16 lever: the same wrapper our callback installs."""
    import torch

    from spacy_concner.training.callbacks import autocast_forward

    autocast_forward(model, torch.bfloat16)


def build_nlp(settings: Settings, case: Case, encoder: str, docs):
    """An nlp from configs/<case.config>, initialized on the benchmark docs, its optimizer and its
    ``[training.before_update]`` callback (None if the config has none), which ``spacy train`` calls each step."""
    import spacy
    from spacy.training import Example
    from spacy.util import registry

    overrides = {"paths.transformer": encoder, "nlp.batch_size": case.batch_size or settings.batch_size,
                 "components.transformer.model.sort_by_length": case.sort_by_length}
    overrides["initialize.after_init"] = {
        "@callbacks": "spacy_concner.transformer_levers.v1", "freeze_embeddings": case.freeze_embeddings,
        "autocast": "bfloat16" if case.autocast else None, "release_gradients": case.release_gradients}
    if case.optimizer == "thinc":
        overrides["training.optimizer.@optimizers"] = "Adam.v1"
    config = spacy.util.load_config(ROOT / "configs" / case.config, overrides=overrides, interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = [Example(_copy(nlp, d), _copy(nlp, d, with_ents=True)) for d in docs]
    nlp.initialize(lambda: examples)
    resolved = registry.resolve({"o": config["training"]["optimizer"], "b": config["training"].get("before_update")})
    return nlp, examples, resolved["o"], resolved["b"]


def _copy(nlp, doc, with_ents: bool = False):
    """A copy of ``doc`` in ``nlp``'s vocab (same words, spaces, pair id; entities if asked)."""
    from spacy.tokens import Doc

    ents = [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc] if with_ents else None
    copy = Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc], ents=ents)
    copy.user_data.update(doc.user_data)
    return copy


def run_ours(settings: Settings, case: Case, encoder: str) -> Result:
    """The pipeline of configs/<case.config>: ``nlp.update`` per batch, or ``nlp.pipe``."""
    import torch

    import spacy_concner.training.callbacks  # noqa: F401  registers the freeze callback without an entry point

    torch.manual_seed(settings.seed)
    _, docs = load_docs(settings, case)
    nlp, examples, optimizer, before_update = build_nlp(settings, case, encoder, docs)
    size = case.batch_size or settings.batch_size
    result = Result(case.name, words=sum(len(d) for d in docs), docs=len(docs))
    trf = nlp.get_pipe("transformer").model
    hf = spacy_concner.training.callbacks.hf_models(nlp, "transformer")[0]
    tokenizer = trf.tokenizer
    counts = [tokenizer([d.text for d in b], padding=True)["attention_mask"] for b in batches(docs, size)]
    result.wordpieces = int(sum(sum(map(sum, m)) for m in counts))
    result.padded = int(sum(len(m) * len(m[0]) for m in counts))
    result.extra["trainable_params"] = sum(p.numel() for p in hf.parameters() if p.requires_grad)
    if case.mode == "train":
        train_batches = batches(examples, size)
        result.steps = len(train_batches)
        losses: dict = {}

        trainable = [proc for _, proc in nlp.pipeline if getattr(proc, "is_trainable", False)]
        step = itertools.count()  # spacy train's global step, for the config's before_update schedule

        def epoch() -> None:
            for batch in train_batches:  # the order of `spacy train`: callback, all gradients, then all updates
                if before_update is not None:
                    before_update(nlp, {"step": next(step), "epoch": 0})
                nlp.update(batch, sgd=False, drop=0.1, losses=losses)
                for proc in trainable:
                    proc.finish_update(optimizer)
    else:
        result.steps = len(batches(docs, size))

        def epoch() -> None:
            batch_docs = fresh.pop() if fresh else [_copy(nlp, d) for d in docs]
            for _ in nlp.pipe(batch_docs, batch_size=size):
                pass

        fresh = [[_copy(nlp, d) for d in docs] for _ in range(settings.warmup + settings.reps)]
    _timed(epoch, settings, result)
    if case.mode == "train" and settings.phases:
        from benchmarks.speed_phases import instrument_ours

        _phases(epoch, instrument_ours, result)
    return result


def run_case(settings: Settings, case: Case) -> Result:
    import torch

    torch.set_num_threads(settings.threads)
    encoder = encoder_path(settings, case)
    result = (run_raw if case.side == "raw" else run_ours)(settings, case, encoder)
    result.extra["encoder"] = encoder
    result.extra["torch_threads"] = torch.get_num_threads()
    return result
