"""Accuracy benchmark: does dual-contrastive training pay off on real cross-lingual NER data?

Two datasets (``--dataset``): ``conll`` (CoNLL-2003 English -> CoNLL-2002/2003 de/es/nl) and
``wikiann`` (WikiAnn English -> de/bg/hu/es/nl, the ConCNER paper's low-resource setting). For
each seed, in one resumable run (see ``benchmarks/README.md``):

1. ``prepare`` (library): sample ``--n-source`` English sentences of ``en/train.txt`` with the
   seed. Seed-independent sets, drawn once with ``--subset-seed``: an English dev subset (model
   selection), ``--n-test`` sentences of each target test set and ``--n-unlabelled`` sentences of
   each target ``unlabeled.txt`` (text only; any tags in it are dropped and counted).
2. ``translate`` (library): each target with its engine (``--targets LANG:ENGINE``), marker label
   projection.
3. ``build_pruned_encoder`` (library): multilingual-e5-small pruned losslessly to every text the
   run touches (identical segmentation and hidden states, checked by the build).
4. ``spacy train`` with the project's configs, one folder per (seed, system): ``source-only``,
   ``source+translations`` (CE only), ``concner`` (CE + label + translation contrastive) and
   ``concner+distill`` (the teacher's soft tags on the unlabelled text; the student has its own
   seed). Budgets in steps (``--steps``) or in passes over each system's training data
   (``--epochs``: the same number of passes over the English source for every system).
5. ``evaluate`` (library): seqeval micro F1 (IOB2, default mode) on the target test subsets with
   ``model-best`` (best English dev F1); the English dev curve gives the selected step and a
   convergence flag.

Prepared data is cached under ``--cache`` in folders keyed by everything that shapes it (dataset,
languages, targets, subset sizes, seed). Every (seed, system) run writes
``{runs}/seed{N}/{system}/result.json``; a rerun skips finished runs, refuses to mix runs made with
other settings, and leaves runs locked by a parallel process alone (so two processes with the same
command share the work). The report (``accuracy_report.py``) is written from all finished runs.

Run from the repository root::

    python benchmarks/accuracy.py --dataset wikiann --epochs 10        # seeds 0 1 2
    python benchmarks/accuracy.py --dataset conll --seeds 0
    python benchmarks/accuracy.py --dataset wikiann --epochs 10 --report-only
"""
import argparse
import contextlib
import fcntl
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_protocol import (DATASETS, ROOT, convergence, dev_curve, docbin_words, git_commit,  # noqa: E402
                               key_folder, steps_for)

SYSTEMS = ["source-only", "source+translations", "concner", "concner+distill"]
CONFIGS = {
    "source-only": "configs/baseline_src.cfg",
    "source+translations": "configs/baseline_src_trans.cfg",
    "concner": "configs/concner.cfg",
    "concner+distill": "configs/distill.cfg",
}
DIRS = {"source-only": "src", "source+translations": "src_trans", "concner": "concner", "concner+distill": "distill"}
# settings that change what a run measures: a finished run made with others is not reused
RUN_KEYS = ["dataset", "data", "langs", "targets", "n_source", "n_dev", "n_test", "n_unlabelled", "subset_seed",
            "steps", "epochs", "distill_steps", "distill_epochs", "learn_rate", "warmup", "evals", "batch_words",
            "lambda_label", "lambda_trans", "tau", "distill_source", "student_init", "student_seed_offset",
            "freeze_embeddings", "bucket", "autocast"]


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


# ---------------------------------------------------------------------------------------------
# Data


def shared_folder(args: argparse.Namespace) -> Path:
    key = {k: getattr(args, k) for k in ("dataset", "langs", "n_dev", "n_test", "n_unlabelled", "subset_seed")}
    key["data"] = str(args.data)
    return key_folder(f"{args.dataset}-shared", key, args.cache)


def seed_folder(args: argparse.Namespace, seed: int, shared: Path) -> Path:
    key = {"shared": shared.name, "seed": seed, "n_source": args.n_source, "targets": args.targets,
           "full_encoder": str(args.full_encoder)}
    return key_folder(f"{args.dataset}-seed{seed}", key, args.cache)


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
    from spacy_concner.translate.pipeline import make_targets, translate

    data, trans, encoder = prep / "data", prep / "translations", prep / "encoder"
    langs = [t.split(":")[0] for t in args.targets]
    if not (data / "prepare_stats.json").exists():
        log(f"seed {seed}: sampling {args.n_source} source sentences")
        prepare(data, args.data / "en" / "train.txt", source_lang="en", n=args.n_source, seed=seed)
    if not all((trans / f"{lang}.report.json").exists() for lang in langs):
        log(f"seed {seed}: translating ({' '.join(args.targets)})")
        translate(data / "en" / "train.spacy", trans, make_targets(args.targets, {}), progress=False)
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


# ---------------------------------------------------------------------------------------------
# Training and evaluation


def train_words(system: str, args: argparse.Namespace, prep: Path, run: Path) -> int:
    """Words in one pass over a system's training data (what the epoch budget multiplies)."""
    source = [prep / "data" / "en" / "train.spacy"]
    if system == "source-only":
        return docbin_words(source)
    if system in ("source+translations", "concner"):
        return docbin_words(source + sorted((prep / "translations").glob("*.spacy")))
    soft = sorted((run / "soft").glob("*.spacy"))
    return docbin_words((source if args.distill_source else []) + soft)


def budget(system: str, args: argparse.Namespace, prep: Path, run: Path) -> Dict[str, Any]:
    """Steps, evaluation frequency and warm-up of one run, from ``--steps`` or ``--epochs``."""
    student = system == "concner+distill"
    epochs = args.distill_epochs if student else args.epochs
    if epochs is not None:
        words = train_words(system, args, prep, run)
        steps, every = steps_for(epochs, words, args.batch_words, args.evals)
        out = {"epochs": epochs, "train_words": words}
    else:
        steps = args.distill_steps if student else args.steps
        every, out = max(1, steps // args.evals), {}
    warmup = args.warmup if args.warmup is not None else max(1, steps // 10)
    return {**out, "steps": steps, "eval_frequency": every, "warmup": warmup}


def train_command(args: argparse.Namespace, system: str, seed: int, shared: Path, prep: Path, run: Path,
                  out: Path, plan: Dict[str, Any]) -> List[str]:
    cmd = [
        sys.executable, "-m", "spacy", "train", str(ROOT / CONFIGS[system]), "--output", str(out),
        "--paths.train", str(prep / "data" / "en" / "train.spacy"), "--paths.dev", str(shared / "en" / "dev.spacy"),
        "--paths.transformer", str(prep / "encoder"), "--system.seed", str(plan["seed"]),
        "--training.max_steps", str(plan["steps"]), "--training.eval_frequency", str(plan["eval_frequency"]),
        "--training.optimizer.learn_rate.initial_rate", str(args.learn_rate),
        "--training.optimizer.learn_rate.warmup_steps", str(plan["warmup"]),
        "--training.batcher.size", str(args.batch_words), "--gpu-id", str(args.gpu_id),
        "--training.logger.output_file", str(out / "train_log.jsonl"),
    ]
    if args.freeze_embeddings:  # the configs' [initialize.after_init] is spacy_concner.transformer_levers.v1
        cmd += ["--initialize.after_init.freeze_embeddings", "true"]
    if args.autocast:
        cmd += ["--initialize.after_init.autocast", args.autocast]
    if args.bucket:
        cmd += ["--training.batcher.bucket", str(args.bucket)]
    if system in ("source+translations", "concner"):
        cmd += ["--paths.translations", json.dumps([str(prep / "translations")])]
    if system == "concner":
        cmd += ["--components.concner.loss.label_weight", str(args.lambda_label),
                "--components.concner.loss.trans_weight", str(args.lambda_trans),
                "--components.concner.loss.temperature", str(args.tau)]
    if system == "concner+distill":
        cmd += ["--paths.soft", json.dumps([str(run / "soft")])]
        if args.student_init == "teacher":  # the teacher's fine-tuned encoder, a fresh tagging head
            cmd += ["--paths.transformer", str(teacher_encoder(run))]
        if not args.distill_source:
            cmd += ["--paths.train", "null"]
    return cmd


def train(args: argparse.Namespace, system: str, seed: int, shared: Path, prep: Path, run: Path, out: Path,
          plan: Dict[str, Any]) -> float:
    cmd = train_command(args, system, seed, shared, prep, run, out, plan)
    out.mkdir(parents=True, exist_ok=True)
    log(f"seed {seed} {system}: spacy train ({plan['steps']} steps) -> {out}/train.log")
    start = time.time()
    with (out / "train.log").open("w", encoding="utf-8") as fh:
        fh.write(" ".join(shlex.quote(c) for c in cmd) + "\n\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                              env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if proc.returncode != 0:
        raise SystemExit(f"spacy train failed for seed {seed} {system}; see {out / 'train.log'}")
    return time.time() - start


def teacher_encoder(run: Path) -> Path:
    """The concner teacher's trained transformer as a Hugging Face folder (exported once per seed)."""
    out = run / "teacher_encoder"
    if not (out / "config.json").exists():
        import spacy

        from spacy_concner.encoders.export import export_encoder

        log(f"exporting the teacher's encoder -> {out}")
        export_encoder(spacy.load(run / DIRS["concner"] / "model-best"), out)
    return out


def annotate(args: argparse.Namespace, seed: int, shared: Path, run: Path) -> Dict[str, int]:
    import spacy

    from spacy_concner.workflow.distill import annotate_file

    soft = run / "soft"
    done = soft / "done.json"
    if done.exists():
        return read_json(done)
    log(f"seed {seed}: the concner teacher annotates the unlabelled text")
    teacher = spacy.load(run / DIRS["concner"] / "model-best")
    counts = {lang: annotate_file(teacher, shared / lang / "unlabelled.spacy", soft / f"{lang}.spacy", lang)
              for lang in args.langs}
    write_json(done, counts)
    return counts


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0


def same_settings(recorded: Dict[str, Any], settings: Dict[str, Any]) -> bool:
    """A run's recorded settings match; a key added to RUN_KEYS after the run counts as unset (None)."""
    return all(recorded.get(k) == v for k, v in settings.items()) and set(recorded) <= set(settings)


def run_system(args: argparse.Namespace, system: str, seed: int, shared: Path, prep: Path, run: Path,
               settings: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A finished result, or None when another process holds the run or the teacher is not ready."""
    out = run / DIRS[system]
    result_path = out / "result.json"
    if result_path.exists():
        result = read_json(result_path)
        if not same_settings(result["settings"], settings):
            diff = {k: (result["settings"].get(k), v) for k, v in settings.items() if result["settings"].get(k) != v}
            raise SystemExit(f"{out} was run with other settings {diff}: move it away or pass the same flags")
        return result
    lock = out / ".lock"  # another process is on it: leave it alone
    if lock.exists() and _alive(int(lock.read_text() or 0)):
        log(f"seed {seed} {system}: running in process {lock.read_text()}, skipped here")
        return None
    if system == "concner+distill" and not (run / DIRS["concner"] / "result.json").exists():
        log(f"seed {seed} {system}: waiting for its teacher (concner), skipped for now")
        return None
    out.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    try:
        return _run_system(args, system, seed, shared, prep, run, settings, out, result_path)
    finally:
        lock.unlink(missing_ok=True)


def _run_system(args: argparse.Namespace, system: str, seed: int, shared: Path, prep: Path, run: Path,
                settings: Dict[str, Any], out: Path, result_path: Path) -> Dict[str, Any]:
    from spacy_concner.workflow.evaluate import evaluate
    from spacy_concner.workflow.report import to_json

    extra: Dict[str, Any] = {}
    if system == "concner+distill":
        extra["annotated"] = annotate(args, seed, shared, run)
    plan = budget(system, args, prep, run)
    # the student gets its own seed: with the teacher's, its "fresh" head would be the teacher's initial head
    plan["seed"] = seed + args.student_seed_offset if system == "concner+distill" else seed
    if not (out / "trained.json").exists():
        seconds = train(args, system, seed, shared, prep, run, out, plan)
        write_json(out / "trained.json", {"seconds": round(seconds, 1), "plan": plan})
    seconds = read_json(out / "trained.json")["seconds"]
    log(f"seed {seed} {system}: evaluating")
    start = time.time()
    model = out / "model-best"
    ev = evaluate([(system, str(model))], [(lang, str(shared / lang / "test.spacy")) for lang in args.langs])
    result = {
        "system": system, "seed": seed, "settings": settings, "plan": plan, "code": args.code, "train_seconds": seconds,
        "eval_seconds": round(time.time() - start, 1), **extra,
        "dev_en": convergence(dev_curve(out / "train_log.jsonl"), plan["steps"]),
        "f1": {lang: ev.f1(system, lang) for lang in args.langs},
        "f1_strict": {lang: ev.f1(system, lang, "seqeval_strict") for lang in args.langs},
        "evaluation": to_json(ev),
    }
    write_json(result_path, result)
    log(f"seed {seed} {system}: " + ", ".join(f"{l} {100 * f:.1f}" for l, f in result["f1"].items())
        + f"; English dev {result['dev_en']['dev_f1']} at step {result['dev_en']['selected_step']}")
    return result


def per_seed_report(args: argparse.Namespace, seed: int, results: List[Dict[str, Any]]) -> None:
    """The library's evaluation report (per-type tables, strict mode, chart) for one seed."""
    from spacy_concner.workflow.evaluate import PRF, Evaluation, LangResult
    from spacy_concner.workflow.report import write_reports

    mine = [r for r in results if r["seed"] == seed]
    if not mine:
        return

    def lang_result(d: Dict[str, Any]) -> LangResult:
        return LangResult(**{**d, **{k: PRF(**d[k]) for k in ("seqeval", "seqeval_strict", "spacy")}})

    ev = Evaluation(
        [r["system"] for r in mine], args.langs,
        {r["system"]: {l: lang_result(r["evaluation"]["results"][r["system"]][l]) for l in args.langs} for r in mine},
        encoder=mine[0]["evaluation"].get("encoder"),
    )
    write_reports(ev, args.runs / f"seed{seed}" / "evaluation")


def finished(args: argparse.Namespace, settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every finished run under ``--runs`` made with these settings (any seed)."""
    results = []
    for path in sorted(args.runs.glob("seed*/*/result.json")):
        r = read_json(path)
        if same_settings(r["settings"], settings) and r["system"] in SYSTEMS:
            results.append(r)
    return results


def run_all(args: argparse.Namespace, settings: Dict[str, Any], shared: Path, shared_stats: List[Dict[str, Any]],
            command: str) -> None:
    """Pass over seeds x systems until everything asked for is finished (waiting on parallel workers)."""
    from accuracy_report import write_results

    while True:
        pending = 0
        for seed in args.seeds:
            run = args.runs / f"seed{seed}"
            prep = seed_folder(args, seed, shared)
            write_json(run / "seed_info.json", prepare_seed(args, seed, shared, prep))
            for system in args.systems:
                if run_system(args, system, seed, shared, prep, run, settings) is None:
                    pending += 1
            results = finished(args, settings)
            per_seed_report(args, seed, results)
            if results:
                write_results(args, settings, shared_stats, results, command)
        if not pending:
            return
        log(f"{pending} run(s) held by another process or waiting for a teacher: checking again in 60 s")
        time.sleep(60)


# ---------------------------------------------------------------------------------------------
# Arguments


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=sorted(DATASETS), default="conll",
                   help="sets the defaults below marked (dataset): data folder, languages, engines, subset sizes, "
                        "reference row, titles, runs and results folders")
    p.add_argument("--data", "--conll", dest="data", type=Path,
                   help="(dataset) folder with en/train.txt, en/dev.txt, LANG/test.txt, LANG/unlabeled.txt")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    p.add_argument("--langs", nargs="+", help="(dataset) target test languages")
    p.add_argument("--targets", nargs="+", help="(dataset) translation targets LANG:ENGINE")
    p.add_argument("--focus-langs", nargs="*", help="(dataset) languages of an extra mean column")
    p.add_argument("--n-source", type=int, default=1000)
    p.add_argument("--n-dev", type=int, help="(dataset) English dev sentences for model selection (0: all)")
    p.add_argument("--n-test", type=int, help="(dataset) test sentences per language (0: all)")
    p.add_argument("--n-unlabelled", type=int, help="(dataset) unlabelled sentences per language (0: all)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the fixed dev/test/unlabelled subsets")
    p.add_argument("--steps", type=int, help="training steps per run (default 200 unless --epochs)")
    p.add_argument("--epochs", type=float, help="budget in passes over each system's training data "
                   "(= passes over the English source for every system); replaces --steps")
    p.add_argument("--distill-steps", type=int, help="student steps (default: --steps)")
    p.add_argument("--distill-epochs", type=float, help="student passes over its data: source + soft-labelled "
                   "unlabelled text (default: --epochs)")
    p.add_argument("--learn-rate", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, help="warm-up steps (default: 10%% of each run's steps)")
    p.add_argument("--evals", type=int, default=4, help="English dev evaluations per run (model-best selection)")
    p.add_argument("--batch-words", type=int, default=500)
    p.add_argument("--lambda-label", type=float, default=0.1)
    p.add_argument("--lambda-trans", type=float, default=0.1)
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--no-distill-source", dest="distill_source", action="store_false",
                   help="train the student on soft targets only (default: + source CE)")
    p.add_argument("--student-init", choices=["encoder", "teacher"],
                   help="(dataset) start the student from the pretrained encoder or the teacher's fine-tuned one")
    p.add_argument("--student-seed-offset", type=int, default=1000,
                   help="the student trains with seed + this (0: the teacher's seed, as before this option)")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="freeze the encoder's input word embeddings (spacy_concner.freeze_embeddings.v1)")
    p.add_argument("--autocast", choices=["bfloat16", "float16"],
                   help="mixed-precision forward passes of the encoder (transformer_levers.v1 autocast)")
    p.add_argument("--bucket", type=int, help="(dataset) paired_batcher length bucketing: pairs per sorting window "
                   "(0: off). Cuts padding, i.e. compute, on short uneven sentences such as WikiAnn's")
    p.add_argument("--gpu-id", type=int, default=-1)
    p.add_argument("--full-encoder", type=Path, default=Path("assets/me5-small"),
                   help="the full multilingual-e5-small folder (built here if missing)")
    p.add_argument("--reference", type=Path, help="(dataset) JSON file with the reported reference row")
    p.add_argument("--title", help="(dataset) the report's title")
    p.add_argument("--runs", type=Path, help="(dataset) folder of the training runs")
    p.add_argument("--cache", type=Path, help="folder of prepared data, keyed by its settings (default: RUNS/../cache)")
    p.add_argument("--out", type=Path, help="(dataset) folder of the results (json, md, png)")
    p.add_argument("--report-only", action="store_true", help="only rewrite the results from finished runs")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill dataset defaults, make paths absolute, and check the data is there."""
    preset = DATASETS[args.dataset]
    args.defaults = {}
    for name, value in preset.items():
        args.defaults[name] = value
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.steps is not None and args.epochs is not None:
        raise SystemExit("pass --steps or --epochs, not both")
    if args.epochs is None and args.steps is None:
        args.steps = 200
    if args.epochs is not None:
        args.distill_epochs = args.distill_epochs or args.epochs
    else:
        args.distill_steps = args.distill_steps or args.steps
    for name in ("data", "full_encoder", "runs", "out", "reference"):
        value = Path(getattr(args, name))
        setattr(args, name, value if value.is_absolute() else (ROOT / value).resolve())
    args.cache = (args.cache if args.cache else args.runs.parent / "cache").resolve()
    if not (args.data / "en" / "train.txt").exists():
        raise SystemExit(f"{args.data}/en/train.txt not found: pass --data DIR (see ../shared/data/SOURCES.md)")
    missing = [t for t in args.targets if t.split(":")[0] not in args.langs]
    if missing:
        raise SystemExit(f"targets {missing} are not among --langs {args.langs}")
    return args


def run_settings(args: argparse.Namespace) -> Dict[str, Any]:
    settings = {k: getattr(args, k) for k in RUN_KEYS}
    settings["data"] = os.path.relpath(args.data, ROOT)
    return settings


def main() -> None:
    p = parser()
    args = resolve(p.parse_args())
    args.parser = p
    args.code = git_commit()  # at start: a checkout moved while a worker runs must not relabel its runs
    command = "python benchmarks/accuracy.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    if args.gpu_id >= 0:
        import spacy

        spacy.require_gpu(args.gpu_id)
    settings = run_settings(args)
    shared = shared_folder(args)
    shared_stats = prepare_shared(args, shared)
    if not args.report_only:
        run_all(args, settings, shared, shared_stats, command)
    from accuracy_report import write_results

    results = finished(args, settings)
    if not results:
        raise SystemExit(f"no finished runs with these settings under {args.runs}")
    for seed in sorted({r["seed"] for r in results}):
        per_seed_report(args, seed, results)
    write_results(args, settings, shared_stats, results, command)


if __name__ == "__main__":
    main()
