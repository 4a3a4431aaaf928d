"""Accuracy benchmark, data: the seed-independent shared sets and each seed's sample and translations,
cached in folders keyed by everything that shapes them (see ``accuracy.py``)."""
import argparse
import contextlib
import fcntl
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_protocol import ROOT, key_folder  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # parallel workers may write the same file
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Block while another process prepares the same cache folder (parallel workers share caches)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".prepare.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shared_folder(args: argparse.Namespace) -> Path:
    key = {k: getattr(args, k) for k in ("dataset", "langs", "n_dev", "n_test", "n_unlabelled", "subset_seed")}
    key["data"] = str(args.data)
    return key_folder(f"{args.dataset}-shared", key, args.cache)


def seed_folder(args: argparse.Namespace, seed: int, shared: Path) -> Path:
    key = {"shared": shared.name, "seed": seed, "n_source": args.n_source, "targets": args.targets,
           "full_encoder": str(args.full_encoder)}
    if args.drop_identical:  # only when set: the folders of earlier runs keep their names
        key["drop_identical"] = True
    if lexicon_names(args):  # likewise
        key["lexicon_names"] = lexicon_names(args)
    if args.target_script:  # likewise
        key["target_script"] = args.target_script
    return key_folder(f"{args.dataset}-seed{seed}", key, args.cache)


def lexicon_names(args: argparse.Namespace) -> Optional[str]:
    """``--lexicon-names`` when it differs from the engine's default ('words'), else None."""
    return args.lexicon_names if args.lexicon_names not in (None, "words") else None


def lexicon_langs(args: argparse.Namespace) -> List[str]:
    return [t.partition(":")[0] for t in args.targets if t.partition(":")[2] == "lexicon"]


def target_scripts(args: argparse.Namespace) -> Optional[List[str]]:
    """``--target-script`` resolved: the lexicon targets written in their own script, or None for none.

    Unset: every lexicon target with a transliteration scheme (bg), as the engine's default ``script=auto``
    does; ``none``: every lexicon target keeps the copied words as written, which is what runs from before that
    default recorded (as unset), so their settings and prepared-data folders still match."""
    from spacy_concner.translate.script import resolve_script

    chosen, lexicon = args.target_script, lexicon_langs(args)
    if chosen is None:  # the engine's own rule, so the benchmark's default follows it
        chosen = [lang for lang in lexicon if resolve_script("auto", lang) == "target"]
    elif "none" in chosen:
        if len(chosen) > 1:
            raise SystemExit(f"--target-script {' '.join(chosen)}: 'none' stands alone")
        chosen = []
    if set(chosen) - set(lexicon):
        raise SystemExit(f"--target-script {' '.join(sorted(set(chosen) - set(lexicon)))}: not a lexicon target "
                         f"(lexicon targets: {' '.join(lexicon) or 'none'})")
    return sorted(chosen) or None


def lexicon_options(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    """``--lexicon-names`` and the resolved ``--target-script`` as engine options of the lexicon targets only
    (apertium has no such options); the script is always explicit, so no engine default decides it."""
    names, script = lexicon_names(args), set(args.target_script or ())
    options: Dict[str, Dict[str, Any]] = {}
    for lang in lexicon_langs(args):
        if names is not None:
            options.setdefault(lang, {})["names"] = names
        options.setdefault(lang, {})["script"] = "target" if lang in script else "keep"
    return options


def prepare_shared(args: argparse.Namespace, out: Path) -> List[Dict[str, Any]]:
    """Seed-independent sets: en dev subset, target test subsets, unlabelled target text subsets."""
    done = out / "stats.json"
    with folder_lock(out):
        if done.exists():
            return read_json(done)
        from spacy.vocab import Vocab

        from spacy_concner.data.conll import sample_docs
        from spacy_concner.data.prepare import SetStats, prepare_labelled, read_unlabelled
        from spacy_concner.fileio import write_docbin

        vocab = Vocab()
        stats = [prepare_labelled(args.data / "en" / "dev.txt", "en", out / "en" / "dev.spacy", "dev", vocab,
                                  n=args.n_dev, seed=args.subset_seed)]
        for lang in args.langs:
            stats.append(prepare_labelled(args.data / lang / "test.txt", lang, out / lang / "test.spacy", "test",
                                          vocab, n=args.n_test, seed=args.subset_seed))
            # prepare's unlabelled reader: text only, any tags in the file are dropped and counted
            st = SetStats(path=str(out / lang / "unlabelled.spacy"), lang=lang, kind="unlabelled")
            docs = read_unlabelled(args.data / lang / "unlabeled.txt", lang, vocab, st)
            st.read_sentences = len(docs)
            docs = sample_docs(docs, args.n_unlabelled or None, args.subset_seed)
            st.sentences, st.tokens = len(docs), sum(len(d) for d in docs)
            write_docbin(docs, st.path)
            stats.append(st)
        data = [asdict(s) for s in stats]
        for s in data:
            s["path"] = rel(Path(s["path"]))
        write_json(done, data)
        return data


def prepare_seed(args: argparse.Namespace, seed: int, shared: Path, prep: Path) -> Dict[str, Any]:
    """Source sample (seeded), its translations, and the encoder pruned to all the run's text."""
    with folder_lock(prep):
        return _prepare_seed(args, seed, shared, prep)


def _prepare_seed(args: argparse.Namespace, seed: int, shared: Path, prep: Path) -> Dict[str, Any]:
    from spacy_concner.encoders.build import build_encoder, build_pruned_encoder
    from spacy_concner.data.prepare import prepare, read_texts
    from spacy_concner.translate.translate_train import make_targets, translate

    data, trans, encoder = prep / "data", prep / "translations", prep / "encoder"
    langs = [t.split(":")[0] for t in args.targets]
    if not (data / "prepare_stats.json").exists():
        log(f"seed {seed}: sampling {args.n_source} source sentences")
        prepare(data, args.data / "en" / "train.txt", source_lang="en", n=args.n_source, seed=seed)
    if not all((trans / f"{lang}.report.json").exists() for lang in langs):
        log(f"seed {seed}: translating ({' '.join(args.targets)})")
        translate(data / "en" / "train.spacy", trans, make_targets(args.targets, lexicon_options(args)), progress=False,
                  identical="drop" if args.drop_identical else "keep")
    if not (encoder / "build_report.json").exists():
        if not (args.full_encoder / "config.json").exists():
            log(f"building the full encoder at {args.full_encoder}")
            build_encoder(args.full_encoder, check_spacy=False)
        texts = read_texts([data / "en" / "train.spacy", trans, shared])  # shared: dev, test, unlabelled
        log(f"seed {seed}: pruning the encoder to {len(texts)} texts")
        build_pruned_encoder(args.full_encoder, encoder, texts, keep_single_chars=True)
    reports = {lang: read_json(trans / f"{lang}.report.json") for lang in langs}
    return {
        "prepared": str(prep),
        "source": read_json(data / "prepare_stats.json")[0],
        "translations": {lang: {k: r.get(k) for k in ("engine", "sentences_in", "kept", "kept_ratio", "dropped_total",
                                                       "entities_in", "entities_out")} for lang, r in reports.items()},
        "encoder": read_json(encoder / "build_report.json").get("pruned_vocab_size"),
    }
