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

Files: this one is the command line; ``accuracy_data.py`` prepares and caches the data,
``accuracy_runs.py`` trains, annotates and evaluates, ``accuracy_report.py`` writes the report, and
``accuracy_protocol.py`` holds the datasets and the statistics.

Run from the repository root::

    python benchmarks/accuracy.py --dataset wikiann --epochs 10        # seeds 0 1 2
    python benchmarks/accuracy.py --dataset conll --seeds 0
    python benchmarks/accuracy.py --dataset wikiann --epochs 10 --report-only
"""
import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_data import prepare_shared, shared_folder, target_scripts  # noqa: E402
from accuracy_protocol import DATASETS, ROOT, git_commit  # noqa: E402
from accuracy_runs import SYSTEMS, finished, per_seed_report, run_all  # noqa: E402

# settings that change what a run measures: a finished run made with others is not reused
RUN_KEYS = ["dataset", "data", "langs", "targets", "n_source", "n_dev", "n_test", "n_unlabelled", "subset_seed",
            "steps", "epochs", "distill_steps", "distill_epochs", "learn_rate", "warmup", "evals", "batch_words",
            "lambda_label", "lambda_trans", "tau", "distill_source", "student_init", "student_seed_offset",
            "freeze_embeddings", "bucket", "autocast", "drop_identical", "translation_ce_weight", "lexicon_names",
            "target_script", "label_o", "positive_by", "distill_temperature"]


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
    p.add_argument("--drop-identical", action="store_true", default=None,
                   help="drop translations word for word equal to their source (translate --identical drop)")
    p.add_argument("--lexicon-names", choices=["words", "whole", "copy"],
                   help="how the lexicon engine treats entities (its names option; unset: 'words', each word "
                        "looked up among the dictionary's names; 'whole': only a whole-entity entry, else copied)")
    p.add_argument("--target-script", nargs="+", metavar="LANG",
                   help="lexicon targets whose translations write the words the dictionary lacks (names) in the "
                        "language's own script (the engine's script=target; bg: Latin -> Cyrillic). Unset: every "
                        "lexicon target with a scheme (bg), as the engine's default; 'none': as written everywhere "
                        "(what runs before that default recorded as unset)")
    p.add_argument("--translation-ce-weight", type=float,
                   help="CE weight of translation tokens (projected labels) in source+translations and concner "
                        "(the loss's translation_ce_weight; unset: the configs' 1.0)")
    p.add_argument("--label-o", choices=["include", "exclude"],
                   help="O tokens in the label-contrastive term of concner (the loss's include_o; unset: the "
                        "configs' include)")
    p.add_argument("--positive-by", choices=["tag", "type"],
                   help="label-contrastive positives share the IOB tag or only the entity type (the loss's "
                        "positive_by; unset: the configs' tag)")
    p.add_argument("--distill-temperature", type=float,
                   help="soft-target temperature of the distillation student (the loss's distill_temperature; "
                        "unset: the configs' 1.0)")
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
    args.target_script = target_scripts(args)  # order-free; None: no lexicon target in its own script
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
