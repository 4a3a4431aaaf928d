"""Accuracy benchmark: the project's own workflow, per seed, on real data, and a report over the seeds.

What the benchmark adds to ``spacy project run``: fixed data subsets, seeds, repetition, one control and
the report. What it never adds: a training setting. Each seed is a copy of the project (``project.yml`` and
``configs/``) in ``RUNS/seed{N}``, run with ``python -m spacy project run COMMAND`` for the commands of the
``all`` workflow, with vars that name only data and seeds (:data:`DATA_VARS`; a test holds it to that).

Each system of the table is one unit: the workflow commands that train it, then the workflow's evaluation
(``spacy_concner evaluate``, the ``evaluate`` command's arguments) of that one system. A unit ends by keeping
its evidence (record, budget, English dev curve, evaluation: kilobytes) in ``KEEP/seed{N}`` (default: the
results folder's ``runs/``, committed), and a kept unit is never run again: a stop loses only the unit that
was running, and the report is made from the kept files alone. (Sessions here lose everything outside git;
models are not kept, so a unit that needs the teacher retrains it, bit-identically on the same machine.)

The control: the teacher given as many extra steps as the student gets (``RUNS/seed{N}-equal``): the project's
``train-concner`` from the teacher's fine-tuned encoder, with a fresh head and the student's seed, for the
student's steps (``--vars.transformer``, ``--vars.seed``, ``--vars.train_steps``). Student and control start
from the same encoder and train as long; only distillation differs, so "the student beats its teacher" is not
bought with steps.

    python -m benchmarks accuracy --dataset wikiann --seeds 0 1 2 3 4 --runs /work/bench-runs/wikiann --lanes 2
    python -m benchmarks accuracy --dataset wikiann --runs /work/bench-runs/wikiann --report-only

``--lanes 2`` runs one seed's units in two processes on the 2 cores (``--threads 1`` each): the baselines then
the control in one, the teacher then the student in the other (the control starts once ``distill`` has planned
the student's steps). The runs of one seed are paired in the report, so they are made on one machine; each
records where it ran.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import srsly  # noqa: E402

from benchmarks.accuracy_report import CONTROL, CONTROL_COMMAND, evaluation_path, units, write_report  # noqa: E402
from benchmarks.record import check_checkout, check_pins, code_record, machine_key, machine_record  # noqa: E402

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
PREPARE = ["prepare", "translate", "encoder"]  # the workflow's first commands: every unit's data and encoder
# each system: the workflow commands that train it, in order (spaCy's project lock skips one whose outputs are there
# and unchanged), and its folder under training/ (the control's: the teacher's, in the seed's "-equal" copy)
UNITS: Dict[str, List[str]] = {"source-only": ["train-src"], "source+translations": ["train-src-trans"],
                               "concner": ["train-concner"], "concner+distill": ["train-concner", "distill"],
                               CONTROL: ["train-concner", "distill"]}
FOLDERS = {system: folder for system, (_, _, folder) in units(Path("seed")).items()}
COMMANDS = {system: command for system, (command, _, _) in units(Path("seed")).items()}  # its key in record.json
# --lanes 2: the baselines then the control in one process, the teacher then the student in the other
LANES = [["source-only", "source+translations", CONTROL], ["concner", "concner+distill"]]
RECORD_LOCK = threading.Lock()


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
    """The seed's units not kept yet: the workflow's first commands, then each system's unit, in one process or,
    with ``--lanes 2``, two; each command records where it ran."""
    preset = DATASETS[args.dataset]
    run_dir = args.runs / f"seed{seed}"
    todo = [s for s in args.systems if not kept(args.keep / run_dir.name, s)]
    if not todo:
        log(f"seed {seed}: every unit kept in {args.keep}")
        return
    record_path, kept_record = run_dir / "record.json", args.keep / run_dir.name / "record.json"
    if kept_record.exists():
        here = {"machine": machine_key(machine_record()), "commit": code_record(ROOT)["commit"]}
        done = [s for s in UNITS if kept(args.keep / run_dir.name, s)]
        elsewhere = made_elsewhere(srsly.read_json(kept_record), done, here)
        if elsewhere:
            raise SystemExit(
                f"seed {seed}: kept units were made elsewhere ("
                + "; ".join(f"{s}: {m}" for s, m in elsewhere.items()) + f"); this run is on {here['machine']} at "
                f"commit {here['commit']}. A seed's runs pair only on one machine, and a table is made at one commit: "
                f"run this seed there, or move those units out of {args.keep / run_dir.name} "
                "(e.g. to results/wikiann/replaced/, with a line saying why) to rerun them here.")
    make_project(run_dir)
    variables = project_vars(preset, args.data, args.runs / "subsets", seed, args.gpu_id)
    if not record_path.exists():  # the kept units' records go on in the same file
        srsly.write_json(record_path, srsly.read_json(kept_record) if kept_record.exists()
                         else {"seed": seed, "vars": variables, "commands": {}})
    if srsly.read_json(record_path)["vars"] != variables:
        raise SystemExit(f"{record_path}: made with other vars than this run's; use another --runs folder")
    for command in PREPARE:
        run_recorded(run_dir, command, variables, args.threads)
    lanes = [todo] if args.lanes == 1 else [[s for s in units if s in todo] for units in LANES]
    failed: List[BaseException] = []
    threads: List[threading.Thread] = []

    def lane(systems: List[str]) -> None:
        try:
            for system in systems:
                producer = next((t for t in threads if t is not threading.current_thread()), None)
                run_unit(args, system, run_dir, variables, preset["langs"], producer)
        except BaseException as err:  # noqa: B036 - SystemExit from a failed command, shown after the join
            failed.append(err)

    threads.extend(threading.Thread(target=lane, args=(systems,), name=f"seed{seed}-lane{i}")
                   for i, systems in enumerate(lanes) if systems)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise SystemExit(f"seed {seed}: {failed[0]}")


def run_unit(args: argparse.Namespace, system: str, run_dir: Path, variables: Dict[str, Any], langs: Sequence[str],
             producer: Optional[threading.Thread] = None) -> None:
    """One system: its workflow commands, its evaluation, its evidence kept. The control waits for ``producer`` (the
    other lane, training the student) to plan the student's steps rather than run ``distill`` beside it."""
    log(f"{run_dir.name}: {system}")
    plan = run_dir / "training" / "distill" / "budget.json"
    if system == CONTROL and producer is not None:
        while producer.is_alive() and not plan.exists():
            time.sleep(20)
    if not (system == CONTROL and plan.exists() and producer is not None and producer.is_alive()):
        for command in UNITS[system]:
            run_recorded(run_dir, command, variables, args.threads)
    unit_dir = run_dir
    if system == CONTROL:
        unit_dir = run_dir.parent / f"{run_dir.name}-equal"
        make_project(unit_dir, share_from=run_dir)
        control = control_vars(run_dir, variables)
        log(f"{run_dir.name}: the equal-compute teacher ({control['train_steps']} more steps from the teacher's encoder)")
        run_recorded(unit_dir, "train-concner", control, args.threads, record_dir=run_dir, key=CONTROL_COMMAND,
                     extra={"steps": control["train_steps"]})
    evaluate_system(unit_dir, system, langs, args.threads)
    keep(unit_dir, args.keep / unit_dir.name, FOLDERS[system])
    with RECORD_LOCK:
        (args.keep / run_dir.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / "record.json", args.keep / run_dir.name / "record.json")


def run_recorded(run_dir: Path, command: str, variables: Dict[str, Any], threads: int,
                 record_dir: Optional[Path] = None, key: Optional[str] = None,
                 extra: Optional[Dict[str, Any]] = None) -> None:
    """A workflow command, and where and how long it ran in the seed's record.json (a command spaCy skipped keeps
    the record of when it ran)."""
    seconds = run_command(run_dir, command, variables, threads)
    if seconds is None:
        return
    path = (record_dir or run_dir) / "record.json"
    with RECORD_LOCK:
        record = srsly.read_json(path)
        record["commands"][key or command] = {**ran(seconds, threads), **(extra or {})}
        srsly.write_json(path, record)


def kept(keep_dir: Path, system: str) -> bool:
    """Whether a system's unit is kept: its evaluation is where the report reads it."""
    return evaluation_path(keep_dir, system).exists()


def made_elsewhere(record: Dict[str, Any], systems: Sequence[str], here: Dict[str, str]) -> Dict[str, str]:
    """The given kept units whose last training command ran on another machine (by ``machine_key``) or at another
    commit than ``here``: a run made here would not pair with them (the same code, data and seed give other numbers
    on other hardware), and a table names one commit (a commit lost with a submission that did not land is another)."""
    found = {}
    for system in systems:
        ran_at = record["commands"].get(COMMANDS[system], {})
        where = []
        if ran_at.get("machine") and machine_key(ran_at["machine"]) != here["machine"]:
            where.append(f"machine {machine_key(ran_at['machine'])}")
        commit = (ran_at.get("code") or {}).get("commit")
        if commit and here.get("commit") and commit != here["commit"]:
            where.append(f"commit {commit}")
        if where:
            found[system] = ", ".join(where)
    return found


def keep(unit_dir: Path, keep_dir: Path, folder: str) -> None:
    """Copy a unit's evidence (what the report reads) from the project copy into the keep folder."""
    for name in (f"training/{folder}/budget.json", f"training/{folder}/train_log.jsonl",
                 f"metrics/{folder}/evaluation.json", f"metrics/{folder}/evaluation.md"):
        (keep_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(unit_dir / name, keep_dir / name)


def control_vars(run_dir: Path, variables: Dict[str, Any]) -> Dict[str, Any]:
    """The control's vars: the seed's data vars, and the student's start (project.yml's ``student_transformer``:
    the teacher's encoder that ``distill`` exported), seed and steps, so that the control differs from the
    student in its training data and objective only."""
    student_steps = srsly.read_json(run_dir / "training" / "distill" / "budget.json")["steps"]
    start = srsly.read_yaml(run_dir / "project.yml")["vars"]["student_transformer"]
    local = run_dir / start  # a folder of the seed's project, or a model name
    return {**variables, "transformer": str(local) if local.exists() else start,
            "seed": variables["student_seed"], "train_steps": student_steps}


def ran(seconds: float, threads: int) -> Dict[str, Any]:
    """What record.json keeps of a command that ran: how long, with how many torch threads (bit-identical reruns
    need the same count), at which commit, on which machine and software."""
    return {"seconds": round(seconds, 1), "threads": threads, "code": code_record(ROOT), "machine": machine_record()}


def evaluate_args(unit_dir: Path, system: str, langs: Sequence[str]) -> List[str]:
    """The workflow's ``evaluate`` command for one system: the same scorer and arguments (``--langs``, ``--test``,
    ``--encoder-from`` the project's encoder), its output in ``metrics/FOLDER``. Every system is scored on its own
    there too (spacy_concner.workflow.evaluate), so one at a time gives the same numbers."""
    folder = FOLDERS[system]
    encoder = srsly.read_yaml(unit_dir / "project.yml")["vars"]["transformer"]
    return [sys.executable, "-m", "spacy_concner", "evaluate", f"{system}=training/{folder}/model-best",
            "--langs", " ".join(langs), "--test", "{lang}=data/{lang}/test.spacy", "--encoder-from", encoder,
            "--output", f"metrics/{folder}"]


def evaluate_system(unit_dir: Path, system: str, langs: Sequence[str], threads: int) -> None:
    cmd = evaluate_args(unit_dir, system, langs)
    proc = subprocess.run(cmd, cwd=unit_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    with (unit_dir / "benchmark.log").open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n{proc.stdout}")
    if proc.returncode != 0:
        raise SystemExit(f"{unit_dir}: evaluating {system} failed; see {unit_dir / 'benchmark.log'}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks accuracy", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=sorted(DATASETS), default="wikiann")
    p.add_argument("--data", type=Path, help="the dataset's folder (default: the preset's, under ../shared/data)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--runs", type=Path, help="folder of the per-seed project copies (outside git; not needed for "
                   "--report-only)")
    p.add_argument("--out", type=Path, help="results folder (default: the preset's under benchmarks/results)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of each command (two processes: 1 each)")
    p.add_argument("--gpu-id", type=int, default=-1)
    p.add_argument("--systems", nargs="+", choices=list(UNITS), default=list(UNITS), metavar="SYSTEM",
                   help=f"the units to run (default all: {', '.join(UNITS)})")
    p.add_argument("--lanes", type=int, choices=[1, 2], default=1, help="processes per seed (2: one per core)")
    p.add_argument("--keep", type=Path, help="where each unit's evidence is kept and the report reads it "
                   "(default: the results folder's runs/)")
    p.add_argument("--report-only", action="store_true", help="only write the report from finished seeds")
    p.add_argument("--arms", type=Path, nargs="*", default=[], help="runs folders of budget-rule arms (the same "
                   "layout, longer budgets): the report says what they gave each run still rising")
    return p


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    preset = DATASETS[args.dataset]
    args.data = (args.data or ROOT / preset["data"]).resolve()
    args.out = (args.out or ROOT / preset["out"]).resolve()
    args.keep = (args.keep or args.out / "runs").resolve()
    if not (args.data / "en" / "train.txt").exists():
        raise SystemExit(f"{args.data}/en/train.txt not found: pass --data DIR (see ../shared/data/SOURCES.md)")
    if not args.report_only:
        if args.runs is None:
            raise SystemExit("pass --runs DIR: the folder for the seeds' project copies (outside git)")
        args.runs = args.runs.resolve()
        check_pins(ROOT / "constraints.txt")
        check_checkout(ROOT)
        subsets = args.runs / "subsets"
        if not (subsets / "sizes.json").exists():
            srsly.write_json(subsets / "sizes.json", write_subsets(preset, args.data, subsets))
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copy2(subsets / "sizes.json", args.keep / "subset_sizes.json")
        for seed in args.seeds:
            run_seed(args, seed)
    for seed in args.seeds:
        done = [s for s in UNITS if kept(args.keep / f"seed{seed}", s)]
        log(f"seed {seed}: {len(done)} of {len(UNITS)} units kept" + (f" (to run: "
            f"{', '.join(s for s in UNITS if s not in done)})" if len(done) < len(UNITS) else ""))
    command = ["python -m benchmarks accuracy", *(sys.argv[1:] if argv is None else argv)]
    write_report(args.dataset, preset, args.keep, args.out, " ".join(command), [a.resolve() for a in args.arms])


if __name__ == "__main__":
    main()
