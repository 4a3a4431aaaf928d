"""Measure the shipped artefact: the workflow's wheel installed in a fresh virtual environment.

What a user gets after ``spacy project run all`` is ``packages/xx_NAME-VERSION/dist/*.whl``. This
script installs that wheel and this package's own wheel (both ``--no-deps``) into a fresh
``python -m venv``, checks that the development copy cannot be imported there, and measures inside
it: per-language entity F1 (seqeval, micro, default mode) on WikiAnn test sentences that played no
part in building the model (``../shared/data/wikiann``: the default workflow never reads it), wheel
size, load seconds, and ``nlp.pipe`` words/s with 1 and 2 processes. Next to it, the same student
as the workflow evaluated it (``training/distill/model-best``, trained on the pruned vocabulary) is
scored on the same sentences, with how many of their words the pruned tokenizer segments
differently from the full one, and the workflow's own F1 from ``metrics/evaluation.json``.

    python benchmarks/package.py --project . [--langs de es nl bg hu] [--limit 2000]

Third-party dependencies (torch, spaCy, ...) come from the interpreter running this script through
a ``.pth`` line (only the directory; its ``.pth`` files, such as an editable install of this
package, are not processed), so only our two wheels are tested, not PyPI.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
WIKIANN = ROOT.parent / "shared" / "data" / "wikiann"
RESULTS = ROOT / "benchmarks" / "results"


# ---------------------------------------------------------------------------------------------
# Shared by both sides (stdlib + whatever spacy_concner is importable in that interpreter)


def read_gold(path: Path, lang: str, limit: int, vocab):
    from spacy_concner.data.conll import read_conll

    docs = [d for d in read_conll(path, lang, vocab) if len(d)]
    return docs[:limit] if limit else docs


def score(nlp, gold_docs, batch_size: int) -> Dict:
    from spacy_concner.workflow.evaluate import evaluate_pipeline

    start = time.perf_counter()
    result, _ = evaluate_pipeline(nlp, gold_docs, batch_size=batch_size)
    seconds = time.perf_counter() - start
    words = sum(len(d) for d in gold_docs)
    return {"sentences": len(gold_docs), "words": words, "gold_entities": result.gold_entities,
            "f1": round(100 * result.seqeval.f1, 2), "precision": round(100 * result.seqeval.precision, 2),
            "recall": round(100 * result.seqeval.recall, 2), "f1_strict": round(100 * result.seqeval_strict.f1, 2),
            "seconds": round(seconds, 1), "words_per_second": round(words / seconds, 1)}


def throughput(nlp, texts: List[str], n_process: int, batch_size: int) -> Dict:
    """``nlp.pipe`` over raw text (tokenizer included), as a user reads a large file."""
    words = sum(len(t.split()) for t in texts)
    start = time.perf_counter()
    n_ents = sum(len(doc.ents) for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size))
    seconds = time.perf_counter() - start
    return {"n_process": n_process, "batch_size": batch_size, "texts": len(texts), "words": words,
            "entities": n_ents, "seconds": round(seconds, 1), "words_per_second": round(words / seconds, 1)}


# ---------------------------------------------------------------------------------------------
# Inside the fresh environment


def worker(args) -> None:
    """Runs in the fresh venv: load the installed package by name, score, time; print JSON."""
    t0 = time.perf_counter()
    import spacy
    import spacy_concner

    if not spacy_concner.__file__.startswith(sys.prefix):
        raise SystemExit(f"spacy_concner imported from {spacy_concner.__file__}, not the fresh venv {sys.prefix}")
    t_import = time.perf_counter() - t0
    start = time.perf_counter()
    nlp = spacy.load(args.model)
    load_seconds = time.perf_counter() - start
    import importlib.util

    out = {"spacy_concner_file": spacy_concner.__file__,
           "model_file": importlib.util.find_spec(args.model).origin,
           "import_seconds": round(t_import, 2), "load_seconds": round(load_seconds, 2),
           "tokenizer_pieces": len(nlp.get_pipe("transformer").model.tokenizer),
           "meta_vocabulary": nlp.meta.get("concner_vocabulary"), "languages": {}}
    texts: List[str] = []
    for lang in args.langs:
        gold = read_gold(Path(args.wikiann) / lang / "test.txt", lang, args.limit, nlp.vocab)
        out["languages"][lang] = score(nlp, gold, args.batch_size)
        texts.extend(d.text for d in gold[: args.throughput_texts // max(1, len(args.langs))])
    out["throughput"] = [throughput(nlp, texts, n, args.batch_size) for n in args.n_process]
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------------------------------------
# The driver (development environment)


def _run(cmd: List[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def find_wheel(project: Path) -> Path:
    meta_path = project / "packages" / "meta.json"
    if not meta_path.exists():
        raise SystemExit(f"{meta_path} not found: run `python -m spacy project run all {project}` first, or pass --wheel.")
    meta = json.loads(meta_path.read_text())
    wheels = sorted((project / "packages").glob(f"xx_{meta['name']}-{meta['version']}/dist/*.whl"))
    if not wheels:
        raise SystemExit(f"No wheel for xx_{meta['name']}-{meta['version']} under {project / 'packages'}: run the `package` step.")
    return wheels[-1]


def fresh_venv(where: Path, wheels: List[Path]) -> Path:
    """A new venv that sees this interpreter's third-party packages but not this source tree."""
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    py = where / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = _clean_env()
    probe = subprocess.run([str(py), "-c", "import spacy_concner"], capture_output=True, text=True, env=env, cwd=str(where))
    if probe.returncode == 0:
        raise SystemExit("The fresh venv can import spacy_concner before our wheel is installed: the check would be void.")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, wheels)], env=env)
    return py


def _clean_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def workflow_side(project: Path, args) -> Dict:
    """The student as the workflow evaluated it (pruned vocabulary), on the same WikiAnn sentences."""
    import spacy
    from transformers import AutoTokenizer

    from spacy_concner.encoders.vocabulary import _full_encoder, resegmented_words

    trained = project / "training" / "distill" / "model-best"
    nlp = spacy.load(trained)
    tok = nlp.get_pipe("transformer").model.tokenizer
    full = _full_encoder(project / args.transformer)
    full_tok = AutoTokenizer.from_pretrained(str(full))
    out = {"pipeline": str(trained), "tokenizer_pieces": len(tok), "full_pieces": len(full_tok), "languages": {}}
    for lang in args.langs:
        gold = read_gold(Path(args.wikiann) / lang / "test.txt", lang, args.limit, nlp.vocab)
        res = score(nlp, gold, args.batch_size)
        reseg = resegmented_words(tok, full_tok, [d.text for d in gold])
        res["resegmented_words_percent"] = round(100 * reseg["resegmented_fraction"], 1)
        out["languages"][lang] = res
    evaluation = project / "metrics" / "evaluation.json"
    if evaluation.exists():
        ev = json.loads(evaluation.read_text())
        system = ev.get("results", {}).get("concner+distill", {})
        out["workflow_evaluation"] = {lang: round(100 * r["seqeval"]["f1"], 2) for lang, r in system.items()}
        out["workflow_test_sentences"] = {lang: r.get("sentences") for lang, r in system.items()}
    return out


def markdown(result: Dict) -> str:
    inst, wf = result["installed"], result["workflow"]
    langs = list(inst["languages"])
    targets = set(wf.get("workflow_evaluation", {}))
    lines = [
        "# The shipped artefact: installed wheel vs the workflow's model",
        "",
        f"`python benchmarks/package.py {' '.join(result['argv'])}` on {result['machine']}; {result['date']}.",
        "",
        f"Wheel `{Path(result['wheel']).name}`: **{result['wheel_mb']:.0f} MB**, installed with `pip install --no-deps` "
        f"into a fresh venv together with this package's wheel (spacy_concner imported from the venv: "
        f"`{inst['spacy_concner_file']}`). `spacy.load` **{inst['load_seconds']:.1f} s** (after imports: "
        f"{inst['import_seconds']:.1f} s). Tokenizer: {inst['tokenizer_pieces']:,} pieces installed vs "
        f"{wf['tokenizer_pieces']:,} in the workflow's model (full encoder: {wf['full_pieces']:,}).",
        "",
        f"Entity F1 (seqeval micro, default mode) on the first {result['limit'] or 'all'} sentences of each WikiAnn "
        "test set (`../shared/data/wikiann/LANG/test.txt`; nothing in the default workflow reads them):",
        "",
        "| language | target of the workflow | installed wheel (full vocabulary) | workflow model (pruned vocabulary) | words re-segmented by the pruned tokenizer | workflow's own evaluation (corpus test) |",
        "|---|---|---|---|---|---|",
    ]
    for lang in langs:
        a, b = inst["languages"][lang], wf["languages"][lang]
        own = wf.get("workflow_evaluation", {}).get(lang)
        lines.append(f"| {lang} | {'yes' if lang in targets else 'no'} | {a['f1']:.1f} | {b['f1']:.1f} | "
                     f"{b['resegmented_words_percent']:.1f}% | {'' if own is None else f'{own:.1f}'} |")
    lines += ["", "`nlp.pipe` over raw text (the same WikiAnn sentences, spaCy tokenizer included) in the fresh venv:", "",
              "| n_process | batch_size | texts | words | seconds | words/s |", "|---|---|---|---|---|---|"]
    for t in inst["throughput"]:
        lines.append(f"| {t['n_process']} | {t['batch_size']} | {t['texts']} | {t['words']:,} | {t['seconds']} | {t['words_per_second']:,.0f} |")
    per_lang = ", ".join(f"{l} {inst['languages'][l]['words_per_second']:,.0f}" for l in langs)
    lines += ["", f"Words/s while scoring (pre-tokenised Docs, n_process=1): {per_lang}.", "", result["note"], ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="Where `spacy project run all` ran")
    parser.add_argument("--wheel", type=Path, default=None, help="The model wheel (default: from PROJECT/packages/meta.json)")
    parser.add_argument("--transformer", default="assets/me5-small-pruned", help="The workflow's `transformer` var (relative to PROJECT)")
    parser.add_argument("--wikiann", type=Path, default=WIKIANN)
    parser.add_argument("--langs", nargs="+", default=["de", "es", "nl", "bg", "hu"])
    parser.add_argument("--limit", type=int, default=2000, help="Test sentences per language (0: all 10,000)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-process", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--throughput-texts", type=int, default=3000)
    parser.add_argument("--note", default="", help="A line for the report (e.g. how busy the machine was)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    project = args.project.resolve()
    wheel = (args.wheel or find_wheel(project)).resolve()
    model_name = wheel.name.split("-")[0]
    with tempfile.TemporaryDirectory(prefix="concner_package_") as tmp:
        tmp = Path(tmp)
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "ours"), str(ROOT)])
        ours = next((tmp / "ours").glob("spacy_concner-*.whl"))
        py = fresh_venv(tmp / "venv", [ours, wheel])
        cmd = [str(py), str(Path(__file__).resolve()), "--worker", "--model", model_name, "--wikiann", str(args.wikiann.resolve()),
               "--limit", str(args.limit), "--batch-size", str(args.batch_size), "--throughput-texts", str(args.throughput_texts),
               "--langs", *args.langs, "--n-process", *map(str, args.n_process)]
        proc = _run(cmd, env=_clean_env(), cwd=str(tmp))
        installed = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
        installed["spacy_concner_file"] = installed["spacy_concner_file"].replace(str(tmp), "$TMP")
        installed["model_file"] = installed["model_file"].replace(str(tmp), "$TMP")
    workflow = workflow_side(project, args)
    note = ("The default workflow trains on the small sample corpus (corpus/README.md), so these F1 scores are "
            "low by design: this measures the artefact (does the installed wheel read unseen text as well as the "
            "model the workflow evaluated, how big and fast is it), not the method; `accuracy.md` measures the method.")
    result = {
        "argv": sys.argv[1:] if argv is None else argv, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs" + (f"; {args.note}" if args.note else ""),
        "wheel": str(wheel), "wheel_mb": round(wheel.stat().st_size / 1e6, 1), "limit": args.limit,
        "installed": installed, "workflow": workflow, "note": note,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "package.json").write_text(json.dumps(result, indent=2))
    (args.out / "package.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
