"""Paired comparison of two benchmark arms that differ in one setting (e.g. the speed levers).

Each arm is a finished ``benchmarks/accuracy.py`` run folder (its ``accuracy.json``) with the same
seeds, data and budget. For one system, per seed: English dev F1 (what a setting may be chosen on)
and test F1 per language (analysis); then the per-seed difference B − A with its 95% t-interval.

    python benchmarks/compare_arms.py --a RUNS/results-none/accuracy.json --b RUNS/results-levers/accuracy.json \\
        --names "no levers" "frozen + bf16" --system source-only --out benchmarks/results/levers_wikiann_3seeds
"""
import argparse
import json
import statistics
from pathlib import Path
from typing import Any, Dict, List

from accuracy_protocol import paired, per_seed

DEV = "English dev"


def per_seed_scores(data: Dict[str, Any], system: str) -> Dict[str, Dict[int, float]]:
    """column -> seed -> F1 (%) for ``system``: English dev, each language and each group mean."""
    runs = [run for run in data["runs"] if run["system"] == system and run.get("f1")]
    out = {DEV: {run["seed"]: run["dev_en_f1"] for run in runs}}
    for column in data["columns"]:
        out[column] = {seed: 100 * f1 for seed, f1 in per_seed(runs, system, column, data["groups"]).items()}
    return out


def compare(a: Dict[str, Any], b: Dict[str, Any], system: str) -> List[Dict[str, Any]]:
    sa, sb = per_seed_scores(a, system), per_seed_scores(b, system)
    rows = []
    for column in [DEV] + list(a["columns"]):
        if column not in sa or column not in sb:
            continue
        diff = paired(sb[column], sa[column])
        seeds = diff["seeds"] if diff else []
        rows.append({"column": column, "a": statistics.fmean(sa[column][s] for s in seeds) if seeds else None,
                     "b": statistics.fmean(sb[column][s] for s in seeds) if seeds else None, "diff": diff})
    return rows


def _f(x: Any) -> str:
    return "–" if x is None else f"{x:.1f}"


def markdown(rows: List[Dict[str, Any]], names: List[str], system: str, sources: List[str],
             differ: Dict[str, List[Any]]) -> str:
    lines = [f"# {names[1]} vs {names[0]}: {system}, paired over seeds", "",
             f"A: `{sources[0]}`  ", f"B: `{sources[1]}`  ",
             "Settings that differ (A → B): " + (", ".join(f"{k} {v[0]} → {v[1]}" for k, v in differ.items())
                                                 or "none"), "",
             f"| F1 (%) | {names[0]} (A) | {names[1]} (B) | B − A per seed | mean B − A [95% interval] | verdict |",
             "|---|---:|---:|---|---|---|"]
    for r in rows:
        d = r["diff"]
        ci = d["ci95"] if d else None
        verdict = "–" if not d else "one seed: no interval" if not ci else \
            "B higher" if d["beats"] else "B lower" if d["beats"] is False else "within the seed spread"
        lines.append(f"| {r['column']} | {_f(r['a'])} | {_f(r['b'])} | "
                     f"{', '.join(f'{x:+.1f}' for x in d['diffs']) if d else '–'} | "
                     f"{d['mean']:+.1f}" + (f" [{ci[0]:+.1f}, {ci[1]:+.1f}]" if ci else "") + f" | {verdict} |")
    lines += ["", "English dev selects; the language columns are analysis only (no target labels choose anything).",
              "Interval: t with n − 1 degrees of freedom over the per-seed differences.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", required=True, help="accuracy.json of arm A (the reference)")
    p.add_argument("--b", required=True, help="accuracy.json of arm B (the changed setting)")
    p.add_argument("--names", nargs=2, default=["A", "B"])
    p.add_argument("--system", default="source-only")
    p.add_argument("--out", required=True, help="folder for compare.json and compare.md")
    args = p.parse_args()
    a, b = (json.loads(Path(x).read_text()) for x in (args.a, args.b))
    differ = {k: [a["settings"].get(k), b["settings"].get(k)] for k in sorted(set(a["settings"]) | set(b["settings"]))
              if a["settings"].get(k) != b["settings"].get(k)}
    rows = compare(a, b, args.system)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps({"a": args.a, "b": args.b, "names": args.names,
                                                  "system": args.system, "settings_differ": differ, "rows": rows}, indent=1))
    (out / "compare.md").write_text(markdown(rows, args.names, args.system, [args.a, args.b], differ))
    print((out / "compare.md").read_text())


if __name__ == "__main__":
    main()
