"""The accuracy benchmark's protocol pieces that are not training: datasets, budgets, statistics.

Kept apart from ``accuracy.py`` (which runs things) so that the rules a reviewer checks — which
data, how a budget in passes over the English source becomes steps, when a run counts as
converged, when a margin counts as a win — are small functions that can be read and tested alone.
"""
import hashlib
import json
import math
import statistics
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent

# Per dataset: where the data is, which languages, engines and subset sizes, the reference row's
# file and the words of the report. Every value is only a default: flags override it.
DATASETS: Dict[str, Dict[str, Any]] = {
    "conll": {
        "data": "../shared/data/conll",
        "langs": ["de", "es", "nl"],
        "targets": ["es:apertium", "de:lexicon", "nl:lexicon"],
        "n_dev": 100, "n_test": 500, "n_unlabelled": 500,
        "student_init": "encoder",
        "bucket": 0,
        "focus_langs": [],
        "reference": "benchmarks/reference/conll.json",
        "title": "CoNLL-2002/2003 zero-shot cross-lingual NER",
        "runs": "benchmarks/runs/conll",
        "out": "benchmarks/results",
    },
    "wikiann": {
        "data": "../shared/data/wikiann",
        "langs": ["de", "bg", "hu", "es", "nl"],
        "targets": ["de:lexicon", "bg:lexicon", "hu:lexicon", "es:apertium", "nl:lexicon"],
        "n_dev": 1000, "n_test": 2000, "n_unlabelled": 1000,
        "student_init": "teacher",
        "bucket": 500,
        "focus_langs": ["de", "bg", "hu"],
        "reference": "benchmarks/reference/wikiann.json",
        "title": "WikiAnn zero-shot cross-lingual NER",
        "runs": "benchmarks/runs/wikiann",
        "out": "benchmarks/results/wikiann",
    },
}

# two-sided 95% t quantiles, t_{0.975, dof}; scipy's when installed, this table otherwise
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def key_folder(prefix: str, key: Dict[str, Any], parent: Path) -> Path:
    """A cache folder named by a hash of everything that shapes its content (``key.json`` inside)."""
    blob = json.dumps(key, sort_keys=True, default=str)
    folder = parent / f"{prefix}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").write_text(json.dumps(key, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return folder


def load_reference(path: Path) -> Dict[str, Any]:
    """The reported reference row: ``{"name", "label", "f1": {lang: fraction}}`` from a JSON file."""
    try:
        ref = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"reference file {path} not found: pass --reference FILE (see benchmarks/reference/)")
    missing = [k for k in ("name", "label", "f1") if k not in ref]
    if missing:
        raise SystemExit(f"{path}: the reference needs the keys {missing} (name, label, f1 per language)")
    return ref


def git_commit() -> Dict[str, Any]:
    """The commit the benchmark code came from, and whether tracked files differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def machine_record() -> Dict[str, Any]:
    """Where a run trained. On one machine a run is bit-reproducible, across machines it is not (the same code,
    data and seed: English dev 72.03 in session 8, 71.31 in session 10), so paired runs say where each ran."""
    import os
    import platform

    import numpy
    import torch

    info = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in (info.read_text().splitlines() if info.exists() else [])
              if line.startswith("model name")]
    return {"platform": platform.platform(), "cpu": models[0] if models else platform.processor(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__}


def docbin_words(paths: Sequence[Path]) -> int:
    """Tokens in DocBins (what ``paired_batcher`` counts with ``unit = "words"``)."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    vocab = Vocab()
    return sum(len(doc) for p in paths for doc in DocBin().from_disk(p).get_docs(vocab))


def steps_for(epochs: float, words: int, batch_words: int, evals: int) -> Tuple[int, int]:
    """(steps, eval_frequency) for ``epochs`` passes over ``words``; steps a multiple of the frequency,
    so that the last step is evaluated too."""
    steps = max(evals, math.ceil(epochs * words / batch_words))
    every = math.ceil(steps / evals)
    return every * evals, every


def dev_curve(log_jsonl: Path) -> List[Tuple[int, float]]:
    """(step, English dev F1 in %) of every evaluation in a ConsoleLogger ``output_file``."""
    if not log_jsonl.exists():
        return []
    rows = [json.loads(line) for line in log_jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["step"], r["scores"].get("ents_f", 100 * r["score"])) for r in rows]


def convergence(curve: List[Tuple[int, float]], max_steps: int, min_gain: float = 0.5) -> Dict[str, Any]:
    """Selected step/F1 (first best, as spaCy keeps ``model-best``) and whether dev F1 still rose in the
    last quarter of the steps: its best there beats the best before by ``min_gain`` points or more."""
    if not curve:
        return {"selected_step": None, "dev_f1": None, "still_rising": None, "curve": []}
    best_step, best = max(curve, key=lambda sf: (sf[1], -sf[0]))
    cut = 0.75 * max_steps
    before = [f for s, f in curve if s <= cut]
    after = [f for s, f in curve if s > cut]
    rising = bool(before and after and max(after) - max(before) >= min_gain)
    return {"selected_step": best_step, "dev_f1": best, "still_rising": rising,
            "last_quarter_gain": round(max(after) - max(before), 2) if before and after else None,
            "curve": [[s, round(f, 2)] for s, f in curve]}


def t975(dof: int) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, dof))
    except ImportError:  # pragma: no cover - scipy ships with the dev environment
        return _T975.get(dof, 1.96)


def paired(ours: Dict[int, float], base: Dict[int, float]) -> Optional[Dict[str, Any]]:
    """Per-seed differences ours − base (seeds both have), mean and 95% t-interval (n − 1 dof).

    ``beats`` is True only when the interval lies above 0, False when it lies below, None otherwise
    (including n < 2, where no interval exists)."""
    seeds = sorted(set(ours) & set(base))
    if not seeds:
        return None
    diffs = [ours[s] - base[s] for s in seeds]
    mean = statistics.fmean(diffs)
    out: Dict[str, Any] = {"seeds": seeds, "diffs": diffs, "mean": mean, "ci95": t_interval(diffs), "beats": None}
    if out["ci95"]:
        low, high = out["ci95"]
        out["beats"] = True if low > 0 else False if high < 0 else None
    return out


def t_interval(values: List[float]) -> Optional[List[float]]:
    """95% t-interval (n − 1 dof) of the mean of ``values``; None for fewer than two."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return [mean - half, mean + half]


def per_seed(results: List[Dict[str, Any]], system: str, column: str, groups: Dict[str, List[str]]) -> Dict[int, float]:
    """F1 per seed of one system on a language or a group mean (``groups``: name -> languages)."""
    langs = groups.get(column, [column])
    return {r["seed"]: statistics.fmean(r["f1"][l] for l in langs) for r in results if r["system"] == system}


def comparisons(results: List[Dict[str, Any]], columns: List[str], groups: Dict[str, List[str]]) -> List[Dict[str, Any]]:
    """Paired comparisons the claim rests on: each ConCNER system vs each baseline, and student vs teacher."""
    pairs = [("concner", "source-only"), ("concner", "source+translations"),
             ("concner+distill", "source-only"), ("concner+distill", "source+translations"),
             ("concner+distill", "concner")]
    out = []
    for ours, base in pairs:
        for col in columns:
            stat = paired(per_seed(results, ours, col, groups), per_seed(results, base, col, groups))
            if stat is not None:
                out.append({"system": ours, "baseline": base, "column": col, **stat})
    return out


def cell(c: Dict[str, Any]) -> str:
    """A table cell: mean difference, 95% interval, and "beats"/"below" only when the interval excludes 0."""
    if c["ci95"] is None:
        return f"{100 * c['mean']:+.1f} (1 seed)"
    lo, hi = (100 * x for x in c["ci95"])
    word = {True: " **beats**", False: " **below**", None: ""}[c["beats"]]
    return f"{100 * c['mean']:+.1f} [{lo:+.1f}, {hi:+.1f}]{word}"


def comparison_table(comps: List[Dict[str, Any]], columns: List[str]) -> List[str]:
    """Markdown rows: one per (system, baseline), one column per language / mean."""
    rows: Dict[Tuple[str, str], Dict[str, Dict[str, Any]]] = {}
    for c in comps:
        rows.setdefault((c["system"], c["baseline"]), {})[c["column"]] = c
    lines = ["| comparison (per-seed paired difference, F1) | " + " | ".join(columns) + " | seeds |",
             "|---|" + "---:|" * len(columns) + "---|"]
    for (system, base), by_col in rows.items():
        seeds = next(iter(by_col.values()))["seeds"]
        lines.append(f"| {system} − {base} | " + " | ".join(cell(by_col[c]) if c in by_col else "–" for c in columns)
                     + f" | {', '.join(map(str, seeds))} |")
    return lines
