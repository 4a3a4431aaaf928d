"""The statistics a reviewer checks, as small functions: when a run still improves, and when a margin is a win.

Kept apart from the runner so that each rule can be read and tested alone (benchmarks/tests/test_stats.py).
"""
import json
import math
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from scipy.stats import t as student_t

MIN_GAIN = 0.5  # English dev F1 points: what "still rising" means in the last quarter of a run


def dev_curve(log_jsonl: Path) -> List[Tuple[int, float]]:
    """(step, English dev F1 in %) of every evaluation in a ConsoleLogger ``output_file``."""
    if not log_jsonl.exists():
        return []
    rows = [json.loads(line) for line in log_jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["step"], r["scores"].get("ents_f", 100 * r["score"])) for r in rows]


def convergence(curve: Sequence[Tuple[int, float]], max_steps: int, min_gain: float = MIN_GAIN) -> Dict[str, Any]:
    """Selected step and F1 (the first best, as spaCy keeps ``model-best``) and whether English dev F1 still rose in
    the last quarter of the steps: its best there beats the best before by ``min_gain`` points or more. A run that
    still rises gets a longer budget (benchmarks/EXPERIMENTS.md)."""
    if not curve:
        return {"selected_step": None, "dev_f1": None, "still_rising": None, "last_quarter_gain": None, "curve": []}
    best_step, best = max(curve, key=lambda sf: (sf[1], -sf[0]))
    cut = 0.75 * max_steps
    before = [f for s, f in curve if s <= cut]
    after = [f for s, f in curve if s > cut]
    gain = max(after) - max(before) if before and after else None
    return {"selected_step": best_step, "dev_f1": round(best, 2), "still_rising": gain is not None and gain >= min_gain,
            "last_quarter_gain": None if gain is None else round(gain, 2),
            "curve": [[s, round(f, 2)] for s, f in curve]}


def t_interval(values: Sequence[float]) -> Optional[List[float]]:
    """95% t-interval (n − 1 degrees of freedom) of the mean of ``values``; None for fewer than two."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    half = float(student_t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
    return [mean - half, mean + half]


def paired(ours: Dict[int, float], base: Dict[int, float]) -> Optional[Dict[str, Any]]:
    """Per-seed differences ours − base over the seeds both have, their mean and 95% t-interval. ``beats`` is True
    only when the interval lies above 0, False when below, None otherwise (and for a single seed)."""
    seeds = sorted(set(ours) & set(base))
    if not seeds:
        return None
    diffs = [ours[s] - base[s] for s in seeds]
    ci = t_interval(diffs)
    beats = None if ci is None else True if ci[0] > 0 else False if ci[1] < 0 else None
    return {"seeds": seeds, "diffs": diffs, "mean": statistics.fmean(diffs), "ci95": ci, "beats": beats}
