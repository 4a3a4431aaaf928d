"""Restore finished runs' ``result.json`` files from a committed report, when the runs folder is gone.

A benchmark's runs folder lives outside the repository (hours of training, GBs of models); the
committed ``accuracy.json`` keeps every finished run's numbers. When the folder is lost (a new
machine), this writes each listed run back as ``{runs}/seed{N}/{folder}/result.json``, and the
seed's recorded ``seed_info.json`` (a run of that seed rewrites it when it prepares its data), so
that ``accuracy.py`` skips it and the report counts it beside the runs still to come. A restored
result says so (``restored_from``), keeps the commit it was trained at, and has no per-type
evaluation (the per-seed library report skips it). An existing result.json is never overwritten.

    python benchmarks/restore_runs.py benchmarks/results/wikiann/current-code/accuracy.json \\
        --runs /work/bench-runs/wikiann/main-s8 [--seeds 0] [--systems concner ...] [--commit 5bc116d]
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_data import log, read_json, write_json  # noqa: E402
from accuracy_protocol import git_commit  # noqa: E402
from accuracy_runs import DIRS  # noqa: E402


def row_commit(report: Dict[str, Any], row: Dict[str, Any], source: str, commit: Optional[str]) -> str:
    """The commit that trained the row's run: the row's own (reports since 2026-11-27), the report's only one,
    or ``--commit`` (a prefix of one of the report's) for an older report of several commits."""
    commits = report["run_code"]
    if row.get("commit"):
        return row["commit"]
    if commit:
        match = [c for c in commits if c.startswith(commit)]
        if len(match) != 1:
            raise SystemExit(f"--commit {commit}: matches {len(match)} of the report's commits {commits}")
        return match[0]
    if len(commits) != 1:  # an older row does not say which of several commits trained it
        raise SystemExit(f"{source} holds runs from {len(commits)} commits {commits} and its rows do not say "
                         "which: restore each group of runs (--seeds/--systems) with --commit")
    return commits[0]


def result_from_row(report: Dict[str, Any], row: Dict[str, Any], source: str,
                    commit: Optional[str] = None) -> Dict[str, Any]:
    """The inverse of the report's run row (``accuracy_report.run_rows``)."""
    return {
        "system": row["system"], "seed": row["seed"], "settings": report["settings"],
        "plan": {"seed": row["train_seed"], "steps": row["steps"], "epochs": row["epochs"],
                 "train_words": row["train_words"]},
        "code": {"commit": row_commit(report, row, source, commit), "dirty": None},
        "train_seconds": row["train_seconds"], "eval_seconds": row["eval_seconds"],
        "dev_en": {"dev_f1": row["dev_en_f1"], "selected_step": row["selected_step"],
                   "still_rising": row["still_rising"], "last_quarter_gain": row["last_quarter_gain"],
                   "curve": row["dev_curve"]},
        "f1": row["f1"], "f1_strict": row["f1_strict"], "machine": row.get("machine"),
        "restored_from": source,
    }


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("report", type=Path, help="a committed accuracy.json")
    p.add_argument("--runs", type=Path, required=True, help="the runs folder to write into")
    p.add_argument("--seeds", type=int, nargs="*", help="only these seeds (default: every run in the report)")
    p.add_argument("--systems", nargs="*", choices=sorted(DIRS), help="only these systems")
    p.add_argument("--commit", help="the commit that trained the selected runs, for a report of several commits "
                   "whose rows do not name theirs (reports written before 2026-11-27)")
    args = p.parse_args(argv)
    report = read_json(args.report)
    source = f"{args.report} at {git_commit().get('commit')}"
    for row in report["runs"]:
        if (args.seeds and row["seed"] not in args.seeds) or (args.systems and row["system"] not in args.systems):
            continue
        info = args.runs / f"seed{row['seed']}" / "seed_info.json"  # the report reads it for every seed
        if not info.exists():
            write_json(info, report["seeds"][str(row["seed"])])
        path = args.runs / f"seed{row['seed']}" / DIRS[row["system"]] / "result.json"
        if path.exists():
            log(f"{path} exists: left as is")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, result_from_row(report, row, source, args.commit))
        log(f"restored seed {row['seed']} {row['system']} -> {path}")


if __name__ == "__main__":
    main()
