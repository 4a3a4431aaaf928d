"""Accuracy benchmark: the project's own workflow, per seed, on real data, and a report over the seeds.

What the benchmark adds to ``spacy project run``: fixed data subsets, seeds, repetition, one control and
the report. What it never adds: a training setting. Each seed is a copy of the project (``project.yml`` and
``configs/``) in ``RUNS/seed{N}``, run with ``python -m spacy project run COMMAND`` for every command of the
``all`` workflow but ``package``, with vars that name only data and seeds (:data:`DATA_VARS`; a test holds
it to that). spaCy's project lock makes it resumable: a rerun skips every command whose inputs are unchanged.

The control: the teacher given as many extra steps as the student gets (``RUNS/seed{N}-equal``): the project's
``train-concner`` from the teacher's fine-tuned encoder, with a fresh head and the student's seed, for the
student's steps (``--vars.transformer``, ``--vars.seed``, ``--vars.train_steps``). Student and control start
from the same encoder and train as long; only distillation differs, so "the student beats its teacher" is not
bought with steps.

    python -m benchmarks accuracy --dataset wikiann --seeds 0 1 2 3 4 --runs /work/bench-runs/wikiann
    python -m benchmarks accuracy --dataset wikiann --runs /work/bench-runs/wikiann --report-only

Two processes may share the 2 cores with ``--threads 1`` each, on different seeds (the runs of one seed are
paired in the report, so they are made on one machine; each records where it ran).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import srsly  # noqa: E402

from benchmarks.accuracy_report import CONTROL, CONTROL_COMMAND, write_report  # noqa: E402
from benchmarks.record import check_checkout, check_pins, code_record, machine_record  # noqa: E402

DATASETS: Dict[str, Dict[str, Any]] = {
    "wikiann": {
        "data": "../shared/data/wikiann", "langs": ["de", "bg", "hu", "es", "nl"],
        "targets": "de:lexicon bg:lexicon hu:lexicon es:apertium nl:lexicon", "labels": "PER,ORG,LOC",
        "n_dev": 1000, "n_test": 2000, "n_unlabelled": 1000, "focus": ["de", "bg", "hu"],
        "title": "WikiAnn zero-shot cross-lingual NER", "out": "benchmarks/results/wikiann",
    },
    "conll": {
        "data": "../shared/data/conll", "langs": ["de", "es", "nl"],
        "targets": "de:lexicon es:apertium nl:lexicon", "labels": "PER,ORG,LOC,MISC",
        "n_dev": 1000, "n_test": 2000, "n_unlabelled": 1000, "focus": ["de", "es", "nl"],
        "title": "CoNLL-2002/2003 zero-shot cross-lingual NER", "out": "benchmarks/results/conll",
    },
}

# the only project vars the benchmark sets: data, seeds, device. Everything else is project.yml's default.
DATA_VARS = {"source_train", "source_dev", "target_test", "target_unlabelled", "target_langs", "translate_targets",
             "labels", "seed", "student_seed", "gpu_id"}
# the equal-compute control only: where it starts (the teacher's encoder), its seed (the student's) and its steps
CONTROL_VARS = {"transformer", "seed", "train_steps"}
STUDENT_SEED_OFFSET = 1000  # project.yml's student_seed for seed 0; seed N uses N + this
COMMANDS = ["prepare", "translate", "encoder", "train-src", "train-src-trans", "train-concner", "distill", "evaluate"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_blocks(path: Path) -> List[str]:
    """Sentences of a CoNLL-style file, verbatim (``-DOCSTART-`` blocks are not sentences)."""
    blocks = [b.strip("\n") for b in path.read_text(encoding="utf-8").split("\n\n")]
    return [b for b in blocks if b.strip() and not b.startswith("-DOCSTART-")]


def write_subset(src: Path, out: Path, n: int, seed: int) -> int:
    """``n`` sentences of ``src`` drawn with ``seed`` (file order kept), written verbatim; 0: all."""
    blocks = read_blocks(src)
    if n and n < len(blocks):
        keep = sorted(random.Random(seed).sample(range(len(blocks)), n))
        blocks = [blocks[i] for i in keep]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return len(blocks)


def write_subsets(preset: Dict[str, Any], data: Path, out: Path, subset_seed: int = 0) -> Dict[str, int]:
    """The seed-independent subsets every seed shares: English dev (selection), target test, unlabelled text."""
    sizes = {"en/dev.txt": write_subset(data / "en" / "dev.txt", out / "en" / "dev.txt", preset["n_dev"], subset_seed)}
    for lang in preset["langs"]:
        for name, n in (("test.txt", preset["n_test"]), ("unlabeled.txt", preset["n_unlabelled"])):
            sizes[f"{lang}/{name}"] = write_subset(data / lang / name, out / lang / name, n, subset_seed)
    return sizes


def project_vars(preset: Dict[str, Any], data: Path, subsets: Path, seed: int, gpu_id: int) -> Dict[str, Any]:
    """The vars of one seed's ``spacy project run``: data and seeds only (every key in :data:`DATA_VARS`)."""
    return {
        "source_train": str(data / "en" / "train.txt"), "source_dev": str(subsets / "en" / "dev.txt"),
        "target_test": str(subsets / "{lang}" / "test.txt"),
        "target_unlabelled": str(subsets / "{lang}" / "unlabeled.txt"),
        "target_langs": " ".join(preset["langs"]), "translate_targets": preset["targets"], "labels": preset["labels"],
        "seed": seed, "student_seed": seed + STUDENT_SEED_OFFSET, "gpu_id": gpu_id,
    }


def make_project(run_dir: Path, share_from: Optional[Path] = None) -> None:
    """A copy of the project's workflow (project.yml, configs/) in ``run_dir``; with ``share_from``, its data and
    encoder are that project's (the control trains on the seed's own prepared data and pruned encoder)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "project.yml", run_dir / "project.yml")
    shutil.copytree(ROOT / "configs", run_dir / "configs", dirs_exist_ok=True)
    for name in ("data", "assets") if share_from else ():
        if not (run_dir / name).exists():
            (run_dir / name).symlink_to(share_from / name, target_is_directory=True)


def run_command(run_dir: Path, command: str, variables: Dict[str, Any], threads: int) -> Optional[float]:
    """``python -m spacy project run COMMAND`` in ``run_dir``, output appended to ``run_dir/benchmark.log``:
    its seconds, or None when spaCy skipped it (nothing changed since it ran)."""
    cmd = [sys.executable, "-m", "spacy", "project", "run", command, str(run_dir)]
    cmd += [f"--vars.{k}={v}" for k, v in sorted(variables.items())]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "TOKENIZERS_PARALLELISM": "false"}
    start = time.time()
    proc = subprocess.run(cmd, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    with (run_dir / "benchmark.log").open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n{proc.stdout}")
    if proc.returncode != 0:
        raise SystemExit(f"{run_dir}: `spacy project run {command}` failed; see {run_dir / 'benchmark.log'}")
    return None if f"Skipping '{command}'" in proc.stdout else time.time() - start


def run_seed(args: argparse.Namespace, seed: int) -> None:
    """Every command of the workflow for one seed, then the equal-compute control; each records where it ran."""
    preset = DATASETS[args.dataset]
    run_dir = args.runs / f"seed{seed}"
    make_project(run_dir)
    variables = project_vars(preset, args.data, args.runs / "subsets", seed, args.gpu_id)
    record_path = run_dir / "record.json"
    record = srsly.read_json(record_path) if record_path.exists() else {"seed": seed, "vars": variables, "commands": {}}
    commands = COMMANDS[:COMMANDS.index(args.until) + 1] if args.until else COMMANDS
    for command in commands:
        log(f"seed {seed}: {command}")
        seconds = run_command(run_dir, command, variables, args.threads)
        if seconds is not None:  # a skipped command (nothing changed) keeps the record of when it ran
            record["commands"][command] = ran(seconds)
            srsly.write_json(record_path, record)
    if commands != COMMANDS:  # --until: the rest (and the control) on a later run of the same command
        return
    control_dir = args.runs / f"seed{seed}-equal"
    make_project(control_dir, share_from=run_dir)
    control = control_vars(run_dir, variables)
    steps = control["train_steps"]
    log(f"seed {seed}: the equal-compute teacher ({steps} more steps from the teacher's encoder)")
    seconds = run_command(control_dir, "train-concner", control, args.threads)
    if seconds is not None:
        record["commands"][CONTROL_COMMAND] = {**ran(seconds), "steps": steps}
        srsly.write_json(record_path, record)
    if not (control_dir / "metrics" / "evaluation.json").exists():  # also after a stop between train and evaluate
        evaluate_control(control_dir, run_dir, preset["langs"], args.threads)


def control_vars(run_dir: Path, variables: Dict[str, Any]) -> Dict[str, Any]:
    """The control's vars: the seed's data vars, and the student's start (project.yml's ``student_transformer``:
    the teacher's encoder that ``distill`` exported), seed and steps, so that the control differs from the
    student in its training data and objective only."""
    student_steps = srsly.read_json(run_dir / "training" / "distill" / "budget.json")["steps"]
    start = srsly.read_yaml(run_dir / "project.yml")["vars"]["student_transformer"]
    local = run_dir / start  # a folder of the seed's project, or a model name
    return {**variables, "transformer": str(local) if local.exists() else start,
            "seed": variables["student_seed"], "train_steps": student_steps}


def ran(seconds: float) -> Dict[str, Any]:
    """What record.json keeps of a command that ran: how long, at which commit, on which machine and software."""
    return {"seconds": round(seconds, 1), "code": code_record(ROOT), "machine": machine_record()}


def evaluate_control(control_dir: Path, run_dir: Path, langs: Sequence[str], threads: int) -> None:
    """The project's evaluation (`spacy_concner evaluate`) of the control on the seed's test sets."""
    model = control_dir / "training" / "concner" / "model-best"
    cmd = [sys.executable, "-m", "spacy_concner", "evaluate", f"{CONTROL}={model}", "--langs", " ".join(langs),
           "--test", f"{{lang}}={run_dir}/data/{{lang}}/test.spacy", "--output", str(control_dir / "metrics")]
    subprocess.run(cmd, check=True, cwd=control_dir, stdout=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": str(threads)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks accuracy", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=sorted(DATASETS), default="wikiann")
    p.add_argument("--data", type=Path, help="the dataset's folder (default: the preset's, under ../shared/data)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--runs", type=Path, required=True, help="folder of the per-seed project copies (outside git)")
    p.add_argument("--out", type=Path, help="results folder (default: the preset's under benchmarks/results)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of each command (two processes: 1 each)")
    p.add_argument("--gpu-id", type=int, default=-1)
    p.add_argument("--until", choices=COMMANDS, help="stop each seed after this workflow command (to fit a machine "
                   "lent for a few hours; the same command without it goes on, the project lock skipping what ran)")
    p.add_argument("--report-only", action="store_true", help="only write the report from finished seeds")
    p.add_argument("--arms", type=Path, nargs="*", default=[], help="runs folders of budget-rule arms (the same "
                   "layout, longer budgets): the report says what they gave each run still rising")
    return p


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    preset = DATASETS[args.dataset]
    args.data = (args.data or ROOT / preset["data"]).resolve()
    args.out = (args.out or ROOT / preset["out"]).resolve()
    args.runs = args.runs.resolve()
    if not (args.data / "en" / "train.txt").exists():
        raise SystemExit(f"{args.data}/en/train.txt not found: pass --data DIR (see ../shared/data/SOURCES.md)")
    if not args.report_only:
        check_pins(ROOT / "constraints.txt")
        check_checkout(ROOT)
        subsets = args.runs / "subsets"
        if not (subsets / "sizes.json").exists():
            srsly.write_json(subsets / "sizes.json", write_subsets(preset, args.data, subsets))
        for seed in args.seeds:
            run_seed(args, seed)
    command = ["python -m benchmarks accuracy", *(sys.argv[1:] if argv is None else argv)]
    write_report(args.dataset, preset, args.runs, args.out, " ".join(command), [a.resolve() for a in args.arms])


if __name__ == "__main__":
    main()
