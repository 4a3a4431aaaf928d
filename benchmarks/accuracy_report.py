"""The accuracy benchmark's report: ``accuracy.json``, ``accuracy.md`` and ``accuracy.png``.

Written from finished runs only (``accuracy.py`` decides which runs match the settings); every
number in the markdown comes from the runs' ``result.json`` files and the reference file, and the
words (title, labels, languages, engines) from the arguments and the data.
"""
import argparse
import os
import platform
import shlex
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from accuracy_data import target_scripts
from accuracy_protocol import comparison_table, comparisons, git_commit, load_reference
from accuracy_runs import SYSTEMS



def mean_std(values: Sequence[float]) -> Dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values), "values": list(values)}


def groups_of(langs: List[str], focus: List[str]) -> Dict[str, List[str]]:
    """Mean columns: all languages, and the focus languages (e.g. the paper's de/bg/hu) if a strict subset."""
    groups = {"mean": list(langs)}
    if focus and set(focus) < set(langs):
        groups["mean " + "/".join(focus)] = list(focus)
    return groups


def aggregate(results: List[Dict[str, Any]], langs: List[str], groups: Dict[str, List[str]]) -> Dict[str, Any]:
    table: Dict[str, Any] = {}
    for system in SYSTEMS:
        runs = sorted((r for r in results if r["system"] == system), key=lambda r: r["seed"])
        if not runs:
            continue
        row = {lang: mean_std([r["f1"][lang] for r in runs]) for lang in langs}
        for name, members in groups.items():
            row[name] = mean_std([statistics.fmean(r["f1"][l] for l in members) for r in runs])
        row["seeds"] = [r["seed"] for r in runs]
        table[system] = row
    return table


def fmt(cell: Dict[str, Any]) -> str:
    std = f" ± {100 * cell['std']:.1f}" if cell["std"] is not None else ""
    return f"{100 * cell['mean']:.1f}{std}"


def canonical_command(args: argparse.Namespace, seeds: List[int]) -> str:
    """The flags that differ from the (dataset) defaults: what reproduces the runs."""
    flags = [f"--dataset {args.dataset}"]
    skip = {"seeds", "systems", "runs", "out", "cache", "report_only", "help", "dataset", "full_encoder",
            "distill_steps", "distill_epochs", "parser"}
    for action in args.parser._actions:
        dest = action.dest
        if dest in skip or not action.option_strings:
            continue
        value = getattr(args, dest)
        default = args.defaults.get(dest, action.default)
        if dest == "target_script":  # resolved; its default depends on the targets, and None is spelled 'none'
            if value != target_scripts(argparse.Namespace(targets=args.targets, target_script=None)):
                flags.append(" ".join(["--target-script", *(value or ["none"])]))
            continue
        if dest in ("data", "reference") and value == (Path(default) if Path(default).is_absolute()
                                                        else (Path(__file__).resolve().parent.parent / default).resolve()):
            continue
        if dest == "steps" and args.epochs is not None or value == default or value is None:
            continue
        if isinstance(action, argparse._StoreTrueAction) or isinstance(action, argparse._StoreFalseAction):
            flags.append(action.option_strings[0])
        else:
            vals = value if isinstance(value, list) else [value]
            flags.append(" ".join([action.option_strings[0]] + [shlex.quote(str(v)) for v in vals]))
    for dest, base in (("distill_epochs", "epochs"), ("distill_steps", "steps")):
        if getattr(args, dest) is not None and getattr(args, dest) != getattr(args, base):
            flags.append(f"--{dest.replace('_', '-')} {getattr(args, dest)}")
    return " ".join(["python benchmarks/accuracy.py --seeds", *map(str, seeds), *flags])


def run_rows(results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One row per run: budget, English dev F1 of the selected model, its step, and convergence."""
    rows = []
    for r in sorted(results, key=lambda r: (r["seed"], SYSTEMS.index(r["system"]))):
        dev = r.get("dev_en") or {}
        plan = r.get("plan") or {}
        rows.append({"system": r["system"], "seed": r["seed"], "commit": (r.get("code") or {}).get("commit"),
                     "train_seed": plan.get("seed"),
                     "steps": plan.get("steps"), "epochs": plan.get("epochs"), "train_words": plan.get("train_words"),
                     "train_seconds": r["train_seconds"], "eval_seconds": r["eval_seconds"],
                     "dev_en_f1": dev.get("dev_f1"), "selected_step": dev.get("selected_step"),
                     "still_rising": dev.get("still_rising"), "last_quarter_gain": dev.get("last_quarter_gain"),
                     "dev_curve": dev.get("curve"), "f1": r["f1"], "f1_strict": r["f1_strict"],
                     "machine": r.get("machine"),
                     **({"restored_from": r["restored_from"]} if r.get("restored_from") else {})})
    return rows


def engines(seeds: Dict[str, Any]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for info in seeds.values():
        for lang, t in info["translations"].items():
            out.setdefault(lang, t.get("engine", {}).get("engine") if isinstance(t.get("engine"), dict) else t.get("engine"))
    return out


def identical_translations(prep: Path) -> Dict[str, Dict[str, int]]:
    """Per language: kept translations whose words equal their English source's (they teach the
    translation-contrastive term nothing, and duplicate the source in the CE data)."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from spacy_concner.data.docdata import get_pair_id
    from spacy_concner.translate.translate_train import is_identical

    vocab = Vocab()
    source = {get_pair_id(d): d for d in DocBin().from_disk(prep / "data" / "en" / "train.spacy").get_docs(vocab)}
    out = {}
    for path in sorted((prep / "translations").glob("*.spacy")):
        docs = list(DocBin().from_disk(path).get_docs(vocab))
        same = sum(get_pair_id(d) in source and is_identical(source[get_pair_id(d)], d) for d in docs)
        out[path.stem] = {"identical": same, "kept": len(docs)}
    return out


def prepared_folder(info: Dict[str, Any], cache: Path) -> Path:
    """A run's prepared-data folder: where it was made, else the folder of that key under ``--cache``
    (runs made on another machine, e.g. a GPU box, whose cache lived elsewhere)."""
    prep = Path(info["prepared"])
    if prep.exists() or not (cache / prep.name).exists():
        return prep
    return cache / prep.name


def build_report(args: argparse.Namespace, settings: Dict[str, Any], shared_stats: List[Dict[str, Any]],
                 results: List[Dict[str, Any]], command: str) -> Dict[str, Any]:
    from spacy_concner.workflow.package_meta import describe_encoder
    import json

    seeds = sorted({r["seed"] for r in results})
    seed_info = {str(s): json.loads((args.runs / f"seed{s}" / "seed_info.json").read_text(encoding="utf-8"))
                 for s in seeds}
    for info in seed_info.values():
        info["identical_translations"] = identical_translations(prepared_folder(info, args.cache))
    encoder = describe_encoder(prepared_folder(seed_info[str(seeds[0])], args.cache) / "encoder")
    encoder = encoder.split(", vocabulary pruned")[0] + ", vocabulary pruned (losslessly) to each run's text"
    groups = groups_of(args.langs, args.focus_langs)
    columns = args.langs + list(groups)
    expected = [(s, x) for s in sorted(set(args.seeds) | set(seeds)) for x in args.systems]
    done = {(r["seed"], r["system"]) for r in results}
    return {
        "title": args.title,
        "command": canonical_command(args, seeds),
        "written_by": command,
        "code": git_commit(),  # of the report; each run's own is in run_code
        "run_code": sorted({(r.get("code") or {}).get("commit") or "not recorded" for r in results}),
        "languages": args.langs,
        "groups": groups,
        "columns": columns,
        "settings": settings,
        "encoder": encoder,
        "engines": engines(seed_info),
        "labels": sorted({k for s in shared_stats if s["kind"] == "test" for k in s["entities"]}),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "test_sentences": {s["lang"]: s["sentences"] for s in shared_stats if s["kind"] == "test"},
        "dev_sentences": next(s["sentences"] for s in shared_stats if s["kind"] == "dev"),
        "shared_sets": shared_stats,
        "seeds": seed_info,
        "finished": [f"seed {s} {x}" for s, x in expected if (s, x) in done],
        "pending": [f"seed {s} {x}" for s, x in expected if (s, x) not in done],
        "table": aggregate(results, args.langs, groups),
        "comparisons": comparisons(results, columns, groups),
        "reference": load_reference(args.reference),
        "runs": run_rows(results),
        "restored": sorted({r["restored_from"] for r in results if r.get("restored_from")}),
    }


def table_lines(report: Dict[str, Any]) -> List[str]:
    cols = report["columns"]
    lines = ["| system | " + " | ".join(cols) + " | seeds |", "|---|" + "---:|" * len(cols) + "---|"]
    for system, row in report["table"].items():
        lines.append(f"| {system} | " + " | ".join(fmt(row[c]) for c in cols) + f" | {len(row['seeds'])} |")
    ref = report["reference"]

    def ref_cell(col: str) -> str:
        members = report["groups"].get(col, [col])
        if not all(l in ref["f1"] for l in members):
            return "–"
        return f"*{100 * statistics.fmean(ref['f1'][l] for l in members):.2f}*"

    lines.append(f"| *{ref['name']}* | " + " | ".join(ref_cell(c) for c in cols) + " | – |")
    return lines


def run_lines(report: Dict[str, Any]) -> List[str]:
    lines = ["| seed | system | train seed | steps | passes | English dev F1 (selected) | selected step | "
             "still rising in the last quarter? | train s |", "|---:|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in report["runs"]:
        rising = {True: f"**yes** (+{r['last_quarter_gain']})", False: f"no ({r['last_quarter_gain']:+})"
                  if r["last_quarter_gain"] is not None else "no", None: "n/a"}[r["still_rising"]]
        dev = f"{r['dev_en_f1']:.1f}" if r["dev_en_f1"] is not None else "–"
        lines.append(f"| {r['seed']} | {r['system']} | {r['train_seed']} | {r['steps']} | {r['epochs'] or '–'} | {dev} | "
                     f"{r['selected_step']} | {rising} | {r['train_seconds']:.0f} |")
    return lines


def target_lines(report: Dict[str, Any]) -> List[str]:
    """The issue's target: the shipped system ≥ +3 F1 over the better baseline on the focus mean, every
    language > 0 — on the seeds where the shipped system and both baselines finished (paired), never on
    means over different seed sets."""
    baselines = ("source-only", "source+translations")
    diffs = {(c["baseline"], c["column"]): dict(zip(c["seeds"], c["diffs"])) for c in report["comparisons"]
             if c["system"] == "concner+distill" and c["baseline"] in baselines}
    focus = next((g for g in report["groups"] if g != "mean"), "mean")
    out = []
    for col in [focus] + list(report["languages"]):
        per_base = [diffs.get((b, col), {}) for b in baselines]
        common = sorted(set(per_base[0]) & set(per_base[1]))
        if not common:
            return ["- concner+distill and both baselines have no finished seed in common yet: no answer."]
        margins = {b: 100 * statistics.fmean(d[x] for x in common) for b, d in zip(baselines, per_base)}
        best = min(margins, key=margins.get)  # the smallest margin is over the better baseline
        out.append(f"- {col}: concner+distill {margins[best]:+.1f} F1 vs the better baseline ({best}), "
                   f"paired over seed(s) {', '.join(map(str, common))}.")
    return out


def markdown(report: Dict[str, Any]) -> str:
    """``accuracy.md``: status and command, results, comparisons, runs, setup, chart."""
    lines = [*header_lines(report),
             *comparison_table(report["comparisons"], report["columns"])]
    lines += ["", "Target (the shipped system, concner+distill, ≥ +3 F1 over the better baseline on the "
              "focus mean, every language positive):", "", *target_lines(report), "",
              "## Runs: budget and convergence (English dev only)", "",
              f"English dev F1 (%) of the selected `model-best` on {report['dev_sentences']} English dev sentences and "
              "the step it came from. \"Still rising\": the best dev F1 in the last quarter of the steps beats the best "
              "before it by ≥ 0.5 F1, i.e. the budget was too small for that run.", "",
              *run_lines(report), "",
              *setup_lines(report),
              "", "![chart](accuracy.png)"]
    return "\n".join(lines) + "\n"




def header_lines(report: Dict[str, Any]) -> List[str]:
    """Title, status, the command that produced the numbers, the results table and the comparisons' preamble."""
    seeds = sorted({x for row in report["table"].values() for x in row["seeds"]})
    ref = report["reference"]
    code = report["code"]
    return [
        f"# Accuracy benchmark: {report['title']} ({', '.join(report['languages'])})",
        "",
        f"Entity-level micro F1 (%, seqeval IOB2 default mode), mean ± sample std over the finished seeds "
        f"({', '.join(map(str, seeds))}). Encoder (our rows): {report['encoder']}. Labels: "
        f"{', '.join(report['labels'])}.",
        "",
        f"**Status:** {len(report['finished'])} run(s) finished, {len(report['pending'])} pending"
        + (f" ({', '.join(report['pending'])}): every number below is partial." if report["pending"] else "."),
        "",
        "Produced with (from the repository root; report written at commit "
        f"`{(code['commit'] or '?')[:12]}`{' with uncommitted changes' if code['dirty'] else ''}, runs made at "
        + ", ".join(f"`{c[:12]}`" for c in report["run_code"]) + "):",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"(tables last written by `{report['written_by']}`)",
        "",
        *[f"Runs restored from `{src}` (their runs folder was lost; `benchmarks/restore_runs.py`): "
          + ", ".join(f"seed {r['seed']} {r['system']}" for r in report["runs"] if r.get("restored_from") == src) + "."
          for src in report["restored"]],
        *([""] if report["restored"] else []),
        *table_lines(report),
        "",
        f"*{ref['name']}*: {ref['label']}. An orientation point, not a comparison.",
        "",
        "## Does ConCNER beat the baselines, and the student its teacher?",
        "",
        "Paired per-seed differences (same seed = same English sample, subsets and initialisation), mean and 95% "
        "t-interval [low, high] (n − 1 degrees of freedom). \"beats\" only when the interval lies above 0, "
        "\"below\" when it lies below 0; otherwise the difference is within the seed spread. Per-seed values are in "
        "`accuracy.json` (`comparisons`).",
        "",
    ]


def setup_lines(report: Dict[str, Any]) -> List[str]:
    """The ## Setup section: data, translations, test subsets, selection, training and the machine."""
    s = report["settings"]
    budget = (f"{s['epochs']} passes over each system's training data (student: {s['distill_epochs']})"
              if s["epochs"] is not None else f"{s['steps']} steps (student: {s['distill_steps']})")
    return ["## Setup", "",
              f"- Source: {s['n_source']} sentences of `{s['data']}/en/train.txt` sampled with the run's seed; the seed "
              "also sets initialisation and batch order. The distillation student trains with seed + "
              f"{s['student_seed_offset']}.",
              "- Translations (engine per language): " + ", ".join(f"{l} {e}" for l, e in report["engines"].items())
              + "; marker label projection (kept sentences per seed in `accuracy.json`). Translations identical to "
              "their English source (word for word), per seed: " + "; ".join(
                  f"seed {seed}: " + ", ".join(f"{l} {v['identical']}/{v['kept']}"
                                               for l, v in info["identical_translations"].items())
                  for seed, info in report["seeds"].items()) + "."
              + (" With `--drop-identical` these are dropped (translate `--identical drop`), so the counts are 0."
                 if s.get("drop_identical") else "")
              + (f" Lexicon entities: `names={s['lexicon_names']}` (see `translate_words`)."
                 if s.get("lexicon_names") not in (None, "words") else "")
              + (f" Written in the target's script (lexicon `script=target`): {', '.join(s['target_script'])}."
                 if s.get("target_script") else ""),
              f"- Unlabelled target text for distillation: {s['n_unlabelled'] or 'all'} sentences per language of "
              f"`{{lang}}/unlabeled.txt`, sampled once with seed {s['subset_seed']}.",
              "- Test: " + ", ".join(f"{l} {n}" for l, n in report["test_sentences"].items())
              + f" sentences of `{{lang}}/test.txt`, a fixed subset drawn with seed {s['subset_seed']}, the same for "
              "every run.",
              f"- Model selection: `model-best` on {report['dev_sentences']} English dev sentences; no target-language "
              "labels are used in training, selection or any setting.",
              f"- Training: {budget}, batches of {s['batch_words']} words, the configs' optimizer at the runs' commit (thinc's Adam.v1 before commit 15b3352, spacy_concner.AdamW.v1 from it on), learning rate {s['learn_rate']} with "
              f"linear warm-up ({s['warmup'] if s['warmup'] is not None else '10% of the steps'}) and decay, "
              f"{s['evals']} English dev evaluations per run; input word embeddings "
              f"{'frozen' if s['freeze_embeddings'] else 'trained'}; encoder forward in "
              f"{s.get('autocast') or 'float32'}; ConCNER λ_label = {s['lambda_label']}, "
              f"λ_trans = {s['lambda_trans']}, τ = {s['tau']}; CE weight of translation tokens "
              f"{s.get('translation_ce_weight') if s.get('translation_ce_weight') is not None else 1.0}; O tokens "
              f"{'excluded from' if s.get('label_o') == 'exclude' else 'in'} L_label, positives by "
              f"{s.get('positive_by') or 'tag'}; distillation student (soft-target temperature "
              f"{s.get('distill_temperature') if s.get('distill_temperature') is not None else 1.0}) "
              f"{'with' if s['distill_source'] else 'without'} source CE, starting from the "
              f"{'teacher' if s['student_init'] == 'teacher' else 'pretrained'} encoder with a fresh tagging head.",
              f"- Encoder: {report['encoder']} (identical segmentation and hidden states to the full model on those "
              "texts, checked at build time; no labels involved).",
              f"- Machine: {report['machine']['platform']}, {report['machine']['cpus']} CPUs, shared; training seconds "
              "are indicative only."]


def reference_bars(report: Dict[str, Any]) -> List[Optional[float]]:
    """The published reference per column (mean over a group's languages), None where it has no number."""
    ref, groups = report["reference"], report["groups"]
    return [statistics.fmean(ref["f1"][lang] for lang in groups.get(col, [col]))
            if all(lang in ref["f1"] for lang in groups.get(col, [col])) else None for col in report["columns"]]


def write_chart(report: Dict[str, Any], path: Path) -> None:
    """``accuracy.png``: mean ± std per system and column, the published reference hatched."""
    from spacy_concner.workflow.report import Bars, bar_chart

    cols = report["columns"]
    series = [Bars(label=f"{name} (n={len(row['seeds'])})", values=[row[c]["mean"] for c in cols],
                   errors=[row[c]["std"] or 0 for c in cols], colour=f"C{SYSTEMS.index(name)}")
              for name, row in report["table"].items()]
    series.append(Bars(label=f"{report['reference']['name']} (different encoder)", values=reference_bars(report),
                       colour="C7", reported=True))
    seeds = sorted({s for row in report["table"].values() for s in row["seeds"]})
    partial = " — PARTIAL" if report["pending"] else ""
    title = (f"{report['title']} from {report['settings']['n_source']} English sentences, mean ± std over "
             f"{len(seeds)} seed(s){partial}\nencoder: {report['encoder']}")
    bar_chart(path, cols, series, title, ylabel="entity F1 (%), seqeval")


def write_results(args: argparse.Namespace, settings: Dict[str, Any], shared_stats: List[Dict[str, Any]],
                  results: List[Dict[str, Any]], command: str) -> None:
    import json

    report = build_report(args, settings, shared_stats, results, command)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / f"accuracy.json.{os.getpid()}.tmp"  # parallel workers may write at the same time
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(args.out / "accuracy.json")
    (args.out / "accuracy.md").write_text(markdown(report), encoding="utf-8")
    write_chart(report, args.out / "accuracy.png")
    print(f"wrote {args.out}/accuracy.json, accuracy.md, accuracy.png", flush=True)
