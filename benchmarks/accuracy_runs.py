"""Accuracy benchmark, runs: ``spacy train`` per (seed, system), the teacher's annotation, evaluation,
and the resumable, lock-shared pass over everything asked for (see ``accuracy.py``)."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_data import log, prepare_seed, read_json, seed_folder, write_json  # noqa: E402
from accuracy_protocol import ROOT, convergence, dev_curve, docbin_words, machine_record, steps_for  # noqa: E402


SYSTEMS = ["source-only", "source+translations", "concner", "concner+distill"]


CONFIGS = {
    "source-only": "configs/baseline_src.cfg",
    "source+translations": "configs/baseline_src_trans.cfg",
    "concner": "configs/concner.cfg",
    "concner+distill": "configs/distill.cfg",
}


DIRS = {"source-only": "src", "source+translations": "src_trans", "concner": "concner", "concner+distill": "distill"}


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
        if args.translation_ce_weight is not None:
            cmd += ["--components.concner.loss.translation_ce_weight", str(args.translation_ce_weight)]
    if system == "concner":
        cmd += ["--components.concner.loss.label_weight", str(args.lambda_label),
                "--components.concner.loss.trans_weight", str(args.lambda_trans),
                "--components.concner.loss.temperature", str(args.tau)]
        if args.label_o is not None:
            cmd += ["--components.concner.loss.include_o", str(args.label_o == "include").lower()]
        if args.positive_by is not None:
            cmd += ["--components.concner.loss.positive_by", args.positive_by]
    if system == "concner+distill":
        cmd += ["--paths.soft", json.dumps([str(run / "soft")])]
        if args.distill_temperature is not None:
            cmd += ["--components.concner.loss.distill_temperature", str(args.distill_temperature)]
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
        write_json(out / "trained.json", {"seconds": round(seconds, 1), "plan": plan, "machine": machine_record()})
    trained = read_json(out / "trained.json")
    seconds = trained["seconds"]
    log(f"seed {seed} {system}: evaluating")
    start = time.time()
    model = out / "model-best"
    ev = evaluate([(system, str(model))], [(lang, str(shared / lang / "test.spacy")) for lang in args.langs])
    result = {
        "system": system, "seed": seed, "settings": settings, "plan": plan, "code": args.code, "train_seconds": seconds,
        "eval_seconds": round(time.time() - start, 1), "machine": trained.get("machine"), **extra,
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

    mine = [r for r in results if r["seed"] == seed and "evaluation" in r]  # restored runs have none
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
