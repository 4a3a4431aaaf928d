"""Turn the per-case timings of ``speed.py`` into ratios and a markdown report."""
import math
import statistics
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.stats import t_interval
from benchmarks.speed_cases import Case, Result, Settings

# which case each case is compared with: (same side, main setting) and (raw torch, same setting)
MAIN = {("raw", "train"): "raw_train", ("ours", "train"): "ours_train",
        ("raw", "infer"): "raw_infer", ("ours", "infer"): "ours_infer"}


LEVER_GROUPS = ("frozen embeddings", "pruned vocabulary", "bf16 autocast", "levers combined")


def row(case: Case, res: Result) -> Dict[str, object]:
    med = statistics.median(res.times)
    spread = (max(res.times) - min(res.times)) / med if len(res.times) > 1 else 0.0
    return {
        "case": case.name, "side": case.side, "mode": case.mode, "group": case.group, "note": case.note,
        "config": case.config if case.side == "ours" else "", "median_s": round(med, 4),
        "cpu_median_s": round(statistics.median(res.cpu_times), 4) if res.cpu_times else None,
        "spread": round(spread, 3), "reps": len(res.times),
        "step_ms": round(1000 * med / max(res.steps, 1), 1),
        "cpu_step_ms": round(1000 * statistics.median(res.cpu_times) / max(res.steps, 1), 1) if res.cpu_times else None,
        "words_per_s": round(res.words / med, 1), "wordpieces_per_s": round(res.wordpieces / med, 1),
        "docs_per_s": round(res.docs / med, 1), "padding": round(1 - res.wordpieces / max(res.padded, 1), 3),
        "rss_peak_mb": round(res.rss_peak_mb), "rss_loaded_mb": round(res.rss_loaded_mb),
        "trainable_params": res.extra.get("trainable_params"),
        "phases": res.extra.get("phases"),
    }


def _raw_twin(name: str, rows: Dict[str, Dict]) -> str:
    """The raw case with the same setting, else raw torch's main case for the mode (fp32, all trained)."""
    twin = name.replace("ours_", "raw_", 1).replace("_ce", "")
    if twin in rows:
        return twin
    return "raw_train" if "_train" in name else "raw_infer"


def summarise(cases: List[Case], results: Dict[str, Result], settings: Settings,
              round_ratios: Dict[str, List[float]] = None) -> Dict[str, object]:
    """Rows per case, plus ours/raw ratios (time for training, throughput for inference)."""
    rows = {c.name: row(c, results[c.name]) for c in cases if c.name in results}
    for name, r in rows.items():
        twin = rows.get(_raw_twin(name, rows)) if r["side"] == "ours" else None
        if twin:
            if r["mode"] == "train":
                r["time_vs_raw"] = round(r["median_s"] / twin["median_s"], 2)
            else:
                r["throughput_vs_raw"] = round(twin["median_s"] / r["median_s"], 2)
        base = rows.get(MAIN[(r["side"], r["mode"])])
        if base and base is not r and r["group"] in LEVER_GROUPS:
            r["speedup_vs_main"] = round(base["median_s"] / r["median_s"], 2)
    for group_name in ("bucketing",):
        for side in ("raw", "ours"):
            for mode in ("train", "infer"):
                rnd, bkt = rows.get(f"{side}_{mode}_mixed_random"), rows.get(f"{side}_{mode}_mixed_bucketed")
                if rnd and bkt:
                    bkt["speedup_vs_main"] = round(rnd["median_s"] / bkt["median_s"], 2)
    return {"rows": list(rows.values()), "targets": targets_of(rows, round_ratios or {})}


# (name, ours case, raw case, "time" or "throughput", threshold, True if ours/raw must be <= threshold)
TARGETS = [
    ("train step time ours/raw, identical math (CE only, fp32, all parameters, AdamW)", "ours_train_ce", "raw_train", "time", 1.0, True),
    ("train step time ours/raw, identical math, equal work (one padded call per batch, as raw)",
     "ours_train_ce_one_call", "raw_train", "time", 1.0, True),
    ("train step time ours/raw, concner.cfg (CE + both contrastive losses: more math than raw)", "ours_train", "raw_train", "time", 1.0, True),
    ("train step time raw fp32 / ours with the default levers", "ours_train_frozen_bf16", "raw_train", "speedup", 1.8, False),
    ("inference throughput ours/raw", "ours_infer", "raw_infer", "throughput", 1.0, False),
    ("inference throughput ours/raw, equal work (one padded call per batch, as raw)", "ours_infer_one_call",
     "raw_infer", "throughput", 1.0, False),
    ("training peak RSS ours/raw (identical math)", "ours_train_ce", "raw_train", "rss", 1.0, True),
]


def ratio(ours: Dict, raw: Dict, kind: str, clock: str = "wall") -> float:
    """ours/raw for "time" and "rss"; raw/ours for "throughput" and "speedup" (higher is better)."""
    if kind == "rss":
        return ours["rss_peak_mb"] / raw["rss_peak_mb"]
    key = "median_s" if clock == "wall" else "cpu_median_s"
    return ours[key] / raw[key] if kind == "time" else raw[key] / ours[key]


def round_interval(ratios: List[float]) -> Optional[List[float]]:
    """95% t-interval (n − 1 dof) of the geometric mean of per-round ratios; None for one round.

    Ratios are averaged on the log scale (a round at 0.8 and one at 1.25 cancel). The interval is the
    uncertainty of the estimate, so it narrows as rounds are added, where the range of single rounds
    only widens: on a shared machine whose speed drifts by ±20 % between seconds, "every round on the
    right side" fails more often the more rounds one runs."""
    interval = t_interval([math.log(r) for r in ratios])
    return [math.exp(bound) for bound in interval] if interval else None


def targets_of(rows: Dict[str, Dict], round_ratios: Dict[str, List[float]]) -> List[Dict]:
    """Each target, on wall time and on process CPU time: the ratio of medians, the range and the 95%
    interval over the interleaved rounds, and whether it is met: only when the whole interval is on
    the right side of the threshold (and never from a single round)."""
    out = []
    for label, ours, raw, kind, threshold, at_most in TARGETS:
        if ours not in rows or raw not in rows:
            continue
        for clock in (("wall",) if kind == "rss" else ("wall", "cpu")):
            value = ratio(rows[ours], rows[raw], kind, clock)
            rng = round_ratios.get(f"{ours}/{raw}/{kind}/{clock}") or [value]
            ci = round_interval(rng)
            met = bool(ci) and (ci[1] <= threshold if at_most else ci[0] >= threshold)
            every_round = (max(rng) <= threshold) if at_most else (min(rng) >= threshold)
            out.append({"target": label, "clock": clock, "ours": ours, "raw": raw, "ratio": round(value, 3),
                        "round_min": round(min(rng), 3), "round_max": round(max(rng), 3), "rounds": len(rng),
                        "ci95": [round(c, 3) for c in ci] if ci else None,
                        "threshold": ("<= " if at_most else ">= ") + str(threshold), "met": met,
                        "every_round": every_round})
    return out


def _fmt(v) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_markdown(path: Path, meta: Dict, summary: Dict) -> None:
    s = meta["settings"]
    lines = [
        "# Speed and memory: concner vs raw torch",
        "",
        f"Encoder: `{meta['encoder']}`" + (f"; pruned copy: `{meta['pruned_encoder']}`" if meta["pruned_encoder"] else ""),
        f"Batches: {s['n_batches']} x {s['batch_size']} CoNLL-2003 en train sentences of {s['min_len']}-{s['max_len']} "
        f"words (mixed-length groups: any length), seed {s['seed']}; torch threads {s['threads']}; "
        f"{meta['rounds']} interleaved rounds x {s['reps']} reps after {s['warmup']} warm-up per process; "
        "medians. One repetition = one pass over all batches.",
        f"Machine: {meta['cpus']} CPUs, Python {meta['python']}; 1-min load average during the run "
        f"{meta['loadavg_1min']['min']:.2f}-{meta['loadavg_1min']['max']:.2f} (mean {meta['loadavg_1min']['mean']:.2f}); "
        f"{meta['date']}; {meta['seconds']} s; code at commit {meta.get('commit', '?')}"
        + (f"; verdicts rewritten by the report code at {meta['report_commit']} (`--report-only`)"
           if meta.get("report_commit") else "") + ".",
        "",
        "Command:",
        "```",
        meta["command"],
        "```",
        "",
    ]
    if summary["targets"]:
        lines += ["| target | clock | ratio (medians) | 95% interval over rounds | range over rounds | threshold "
                  "| met | every round |", "|---|---|---:|---:|---:|---|---|---|"]
        for t in summary["targets"]:
            ci = t.get("ci95")
            lines.append(f"| {t['target']} (`{t['ours']}` vs `{t['raw']}`) | {t['clock']} | {t['ratio']:.3f} | "
                         f"{f'{ci[0]:.3f}-{ci[1]:.3f}' if ci else '-'} | "
                         f"{t['round_min']:.3f}-{t['round_max']:.3f} ({t['rounds']} rounds) | {t['threshold']} | "
                         f"{'met' if t['met'] else 'NOT met'} | {'yes' if t.get('every_round') else 'no'} |")
        lines += ["", "A target counts as met only when the 95% interval over the interleaved rounds (t, geometric "
                  "mean of the per-round ratios) lies on the right side of it; 'every round' says whether each "
                  "single round did too. "
                  "wall: elapsed time; cpu: the process's CPU time, which other jobs on a shared machine "
                  "disturb far less (with one torch thread, it is the time the step needs when it runs).", ""]
    cols = ["case", "group", "step_ms", "cpu_step_ms", "words_per_s", "wordpieces_per_s", "docs_per_s", "time_vs_raw",
            "throughput_vs_raw", "speedup_vs_main", "padding", "rss_peak_mb", "trainable_params", "spread", "note"]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for r in summary["rows"]:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    lines += [
        "",
        "step_ms: time per optimizer step (train) or per batch (infer). time_vs_raw: ours/raw time for the "
        "same batches (lower is better); throughput_vs_raw: ours/raw throughput (higher is better). "
        "speedup_vs_main: this lever vs the same side without it (bucketing: sorted vs random order). "
        "padding: share of wordpiece slots that are padding. spread: (max-min)/median of the repetitions. "
        "rss_peak_mb: peak resident memory of the case's own process (ru_maxrss). cpu_step_ms: process "
        "CPU time per step (both threads), less sensitive than wall time to other jobs on the machine.",
        "",
    ]
    phased = [r for r in summary["rows"] if r.get("phases")]
    if phased:
        lines += ["## Where a training step's time goes (ms per step, one instrumented pass)", ""]
        for r in phased:
            parts = ", ".join(f"{k}: {1000 * v:.0f}" for k, v in r["phases"].items() if k != "step")
            lines.append(f"- **{r['case']}** ({1000 * r['phases']['step']:.0f} ms): {parts}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
