"""The accuracy report: every finished seed's runs, the table over seeds, the paired comparisons and the target.

Reads only the evidence the runner keeps of each unit (benchmarks/accuracy.py): what the workflow wrote
(``metrics/FOLDER/evaluation.json``, ``training/FOLDER/train_log.jsonl`` and ``budget.json``) and the record of
where each command ran (``record.json``).
"""
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import srsly
from wasabi import MarkdownRenderer

from benchmarks.record import machine_key
from benchmarks.stats import convergence, dev_curve, paired
from spacy_concner.workflow.report import Bars, bar_chart

# each system of the workflow: the project command that trains it (its key in record.json) and its folder under
# training/; the equal-compute control is the teacher's command and folder in the seed's "-equal" copy
SYSTEMS = {"source-only": ("train-src", "src"), "source+translations": ("train-src-trans", "src_trans"),
           "concner": ("train-concner", "concner"), "concner+distill": ("distill", "distill")}
CONTROL = "concner (equal compute)"
CONTROL_COMMAND = "train-concner (equal compute)"

BASELINES = ["source-only", "source+translations"]
STUDENT, TEACHER = "concner+distill", "concner"
TARGET = 3.0  # F1 points over the better baseline on the focus languages' mean, every language positive
COMPARE = [(STUDENT, "better baseline"), (STUDENT, "source-only"), (STUDENT, "source+translations"),
           (STUDENT, TEACHER), (STUDENT, CONTROL), (TEACHER, "source+translations"), (TEACHER, "better baseline"),
           (CONTROL, "better baseline")]


def units(seed_dir: Path) -> Dict[str, Tuple[str, Path, str]]:
    """Each system of a seed: the command that trains it (its key in record.json), the project copy it is trained in
    (the control's: the seed's "-equal" copy) and its folder under training/ and metrics/."""
    control_dir = seed_dir.parent / f"{seed_dir.name}-equal"
    return {**{s: (c, seed_dir, d) for s, (c, d) in SYSTEMS.items()}, CONTROL: (CONTROL_COMMAND, control_dir, "concner")}


def evaluation_path(seed_dir: Path, system: str) -> Path:
    _, unit, folder = units(seed_dir)[system]
    return unit / "metrics" / folder / "evaluation.json"


def seed_runs(seed_dir: Path) -> List[Dict[str, Any]]:
    """One row per system of a finished seed (every system's evaluation kept, the control's included), else []."""
    trained = units(seed_dir)
    evals = {s: evaluation_path(seed_dir, s) for s in trained}
    if not all(p.exists() for p in evals.values()):
        return []
    record = srsly.read_json(seed_dir / "record.json")
    rows = []
    for system, (command, unit, folder) in trained.items():
        ev = srsly.read_json(evals[system])
        by_lang = ev["results"][system]
        rows.append({
            "system": system, "seed": record["seed"], **_training(unit / "training" / folder),
            "f1": {lang: r["seqeval"]["f1"] for lang, r in by_lang.items()},
            "f1_strict": {lang: r["seqeval_strict"]["f1"] for lang, r in by_lang.items()},
            "encoder": ev.get("encoder"),
            "recorded": record["commands"].get(command),
        })
    return rows


def arm_runs(arm_dir: Path) -> List[Dict[str, Any]]:
    """The trainings of a budget-rule arm (the table's runs retrained with a longer budget, in the same per-seed
    layout): system, seed, budget and English dev F1 of each one that finished, so the report can say how a run
    flagged "still rising" was answered."""
    found = []
    for seed_dir in sorted(arm_dir.glob("seed[0-9]*")):
        record = srsly.read_json(seed_dir / "record.json") if (seed_dir / "record.json").exists() else {}
        for system, (command, folder) in SYSTEMS.items():
            trained = seed_dir / "training" / folder
            if not (trained / "budget.json").exists() or command not in record.get("commands", {}):
                continue  # not trained by the arm, or stopped before it finished
            run = _training(trained)
            found.append({"system": system, "seed": record["seed"], "arm": str(arm_dir),
                          "passes": run["budget"]["passes"], "dev_en": run["dev_en"],
                          "recorded": record["commands"][command]})
    return found


def _training(folder: Path) -> Dict[str, Any]:
    """A training folder's budget and its English dev convergence (selected step, still rising)."""
    budget = srsly.read_json(folder / "budget.json")
    return {"budget": budget, "dev_en": convergence(dev_curve(folder / "train_log.jsonl"), budget["steps"])}


def focus_column(focus: List[str]) -> str:
    """The table's column of the focus languages' mean, e.g. "de/bg/hu mean"."""
    return "/".join(focus) + " mean"


def mean_f1(row: Dict[str, Any], langs: List[str]) -> float:
    return 100 * statistics.fmean(row["f1"][lang] for lang in langs)


def build_report(title: str, langs: List[str], focus: List[str], rows: List[Dict[str, Any]], command: str,
                 arms: Sequence[Dict[str, Any]] = ()) -> Dict[str, Any]:
    """Table, paired comparisons and target over the seeds' rows; F1 in points (%) from here on."""
    focus_col = focus_column(focus)
    columns = {**{lang: [lang] for lang in langs}, focus_col: focus}
    systems = [s for s in [*SYSTEMS, CONTROL] if any(r["system"] == s for r in rows)]
    by = {(r["system"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows})
    table = {s: {c: _mean_std([mean_f1(by[s, n], ls) for n in seeds if (s, n) in by]) for c, ls in columns.items()}
             for s in systems}
    better = max(BASELINES, key=lambda b: table.get(b, {}).get(focus_col, {}).get("mean", float("-inf")))
    comparisons = []
    for ours, base in COMPARE:
        base = better if base == "better baseline" else base
        if any(c["system"] == ours and c["baseline"] == base for c in comparisons):
            continue  # "better baseline" names one already compared
        for col, ls in columns.items():
            stat = paired({n: mean_f1(by[ours, n], ls) for n in seeds if (ours, n) in by},
                          {n: mean_f1(by[base, n], ls) for n in seeds if (base, n) in by})
            if stat:
                comparisons.append({"system": ours, "baseline": base, "column": col, **stat})
    target = _target(comparisons, better, focus_col, langs)
    commits = sorted({(r["recorded"] or {}).get("code", {}).get("commit") for r in rows} - {None})
    machines = {n: sorted({_machine(r) for r in rows if r["seed"] == n})
                for n in seeds}
    return {"title": title, "command": command, "encoder": rows[0]["encoder"] if rows else None, "seeds": seeds,
            "languages": langs, "focus": focus, "better_baseline": better, "commits": commits,
            "machines_per_seed": machines,
            "still_rising": [_rising(r, arms) for r in rows if r["dev_en"]["still_rising"]],
            "table": table, "comparisons": comparisons, "target": target, "runs": rows}


def _machine(run: Dict[str, Any]) -> str:
    """The machine a run (a table row or an arm's training) was trained on, as reports compare machines."""
    return machine_key((run["recorded"] or {}).get("machine", {}))


def _rising(row: Dict[str, Any], arms: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """A run still rising, with the longer budgets the rule's arms gave the same system and seed on the same
    machine (the same seed's run gives other numbers on other hardware, so only there does an arm answer it)."""
    longer = [{"passes": a["passes"], "dev_f1": a["dev_en"]["dev_f1"], "still_rising": a["dev_en"]["still_rising"],
               "arm": a["arm"]} for a in arms if a["system"] == row["system"] and a["seed"] == row["seed"]
              and a["passes"] > row["budget"]["passes"] and _machine(a) == _machine(row)]
    return {"system": row["system"], "seed": row["seed"], "passes": row["budget"]["passes"],
            "dev_f1": row["dev_en"]["dev_f1"], "longer": sorted(longer, key=lambda a: a["passes"])}


def _mean_std(values: List[float]) -> Dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def _target(comparisons: List[Dict[str, Any]], better: str, focus_col: str, langs: List[str]) -> Dict[str, Any]:
    """The project's target: the student >= +3 F1 over the better baseline on the focus mean, and every language
    positive, each by its paired 95% interval over the seeds."""
    mine = {c["column"]: c for c in comparisons if c["system"] == STUDENT and c["baseline"] == better}
    if focus_col not in mine or mine[focus_col]["ci95"] is None:
        return {"met": None, "why": "fewer than two finished seeds"}
    focus = mine[focus_col]
    positive = {lang: bool(mine[lang]["ci95"] and mine[lang]["ci95"][0] > 0) for lang in langs if lang in mine}
    met = focus["mean"] >= TARGET and focus["ci95"][0] > 0 and all(positive.values())
    return {"met": met, "focus_mean_gain": focus["mean"], "focus_ci95": focus["ci95"],
            "every_language_positive": positive}


def render_markdown(report: Dict[str, Any]) -> str:
    md = MarkdownRenderer()
    md.add(md.title(1, report["title"]))
    md.add(f"Encoder: {report['encoder']}. Seeds: {', '.join(map(str, report['seeds']))}. "
           f"Commit(s): {', '.join(c[:10] for c in report['commits'])}.")
    md.add(md.code_block(report["command"], "bash"))
    md.add(md.title(2, "Summary (README's table)"))
    md.add(render_summary(report))
    cols = list(next(iter(report["table"].values())).keys()) if report["table"] else []
    rows = [[s, *(_cell(report["table"][s][c]) for c in cols)] for s in report["table"]]
    md.add(md.title(2, "Entity F1 (seqeval, %), mean ± std over seeds"))
    md.add(md.table(rows, ["system", *cols], aligns=("l", *("r" for _ in cols))))
    if CONTROL in report["table"]:
        md.add(f"{CONTROL}: the teacher's encoder trained as many more steps as the student gets, from where the student "
               "starts (fresh head, the student's seed), on the teacher's own data and losses.")
    md.add(md.title(2, "Paired differences (F1 points, 95% t-interval over seeds)"))
    pairs: Dict[str, Dict[str, str]] = {}
    for c in report["comparisons"]:
        word = {True: " beats", False: " below", None: ""}[c["beats"]]
        pairs.setdefault(f"{c['system']} − {c['baseline']}", {})[c["column"]] = _pair_cell(c) + word
    md.add(md.table([[k, *(v.get(c, "–") for c in cols)] for k, v in pairs.items()], ["comparison", *cols],
                    aligns=("l", *("r" for _ in cols))))
    t = report["target"]
    md.add(f"Target (student ≥ +{TARGET:g} over the better baseline, {report['better_baseline']}, on the "
           f"{'/'.join(report['focus'])} mean, every language positive, paired 95% intervals): "
           f"**{ {True: 'met', False: 'not met', None: 'not decided'}[t['met']] }**"
           + (f" ({t['why']})" if "why" in t else f" (+{t['focus_mean_gain']:.1f} [{t['focus_ci95'][0]:+.1f}, "
                                                  f"{t['focus_ci95'][1]:+.1f}])."))
    split = {n: ms for n, ms in report["machines_per_seed"].items() if len(ms) > 1}
    md.add("Machines: each seed's runs on one machine." if not split else "Machines: **runs of one seed on "
           "different machines** (" + "; ".join(f"seed {n}: {', '.join(ms)}" for n, ms in split.items()) + ").")
    open_ = [r for r in report["still_rising"] if not r["longer"]]
    md.add("Runs still rising on English dev in their last quarter, no longer budget tried yet (the rule gives them "
           "one): " + (", ".join(f"{r['system']} seed {r['seed']}" for r in open_) or "none") + ".")
    tried = [r for r in report["still_rising"] if r["longer"]]
    if tried:
        md.add("Runs still rising whose longer budget the rule's arm tried (English dev F1; the budget with the higher "
               "is kept, benchmarks/EXPERIMENTS.md): " + "; ".join(
                   f"{r['system']} seed {r['seed']}: {r['dev_f1']:.2f} at {r['passes']:g} passes, "
                   + ", ".join(f"{a['dev_f1']:.2f} at {a['passes']:g}" for a in r["longer"]) for r in tried) + ".")
    return md.text + "\n"


def render_summary(report: Dict[str, Any]) -> str:
    """The short table README shows, made from the report so README copies numbers instead of retyping them:
    each system's focus-language mean and its paired difference from the better baseline."""
    focus_col = focus_column(report["focus"])
    better = report["better_baseline"]
    gain = {c["system"]: c for c in report["comparisons"] if c["baseline"] == better and c["column"] == focus_col}
    rows = []
    for system, stats in report["table"].items():
        name = system + (" (the better baseline)" if system == better else "")
        rows.append([name, _cell(stats[focus_col]), _pair_cell(gain[system]) if system in gain else ""])
    md = MarkdownRenderer()
    md.add(md.table(rows, ["system", f"F1, {focus_col} (± std over seeds)",
                           "paired vs the better baseline (95% interval)"], aligns=("l", "r", "r")))
    return md.text


def _pair_cell(c: Dict[str, Any]) -> str:
    """A paired difference and its 95% interval, e.g. "+4.5 [+3.3, +5.7]"."""
    return f"{c['mean']:+.1f}" + ("" if c["ci95"] is None else f" [{c['ci95'][0]:+.1f}, {c['ci95'][1]:+.1f}]")


def _cell(stat: Dict[str, Any]) -> str:
    return f"{stat['mean']:.1f}" + ("" if stat["std"] is None else f" ± {stat['std']:.1f}")


def write_report(dataset: str, preset: Dict[str, Any], runs: Path, out: Path, command: str,
                 arms: Sequence[Path] = ()) -> Optional[Path]:
    rows = [r for d in sorted(runs.glob("seed[0-9]*")) if d.is_dir() and not d.name.endswith("-equal")
            for r in seed_runs(d)]
    if not rows:
        print(f"no finished seed under {runs} yet: no report written")
        return None
    report = build_report(preset["title"], preset["langs"], preset["focus"], rows, command,
                          [a for arm in arms for a in arm_runs(arm)])
    out.mkdir(parents=True, exist_ok=True)
    srsly.write_json(out / "accuracy.json", report)
    (out / "accuracy.md").write_text(render_markdown(report), encoding="utf-8")
    systems = list(report["table"])
    cols = list(report["table"][systems[0]])
    colours = ["#999999", "#6699cc", "#cc6633", "#339966", "#cccc66"]
    bar_chart(out / "accuracy.png", cols, [Bars(s, [report["table"][s][c]["mean"] / 100 for c in cols], colours[i % 5],
                                               errors=[(report["table"][s][c]["std"] or 0) / 100 for c in cols])
                                          for i, s in enumerate(systems)], report["title"])
    srsly.write_json(out / "accuracy.settings.json", {"dataset": dataset, **preset})
    return out / "accuracy.json"
