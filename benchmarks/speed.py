"""Speed and memory of the concner pipeline against raw torch on the same encoder and batches.

Every case runs in its own subprocess (so each peak RSS is its own), and the cases are
interleaved round by round (so load from other jobs hits both sides alike). Times are medians
over all repetitions of all rounds. Writes benchmarks/results/speed.json and speed.md.

    python benchmarks/speed.py --encoder assets/me5-small --pruned-encoder assets/me5-small-pruned
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.speed_cases import ROOT, Case, Result, Settings, run_case  # noqa: E402
from benchmarks.speed_report import summarise, write_markdown  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def all_cases(settings: Settings) -> List[Case]:
    """The main comparison first, then one group per lever."""
    bs = settings.batch_size
    cases = [
        Case("raw_train", "raw", "train", note="AdamW + clip_grad_norm, all parameters"),
        Case("ours_train", "ours", "train", note="configs/concner.cfg: CE + L_label + L_trans"),
        Case("ours_train_ce", "ours", "train", config="baseline_src_trans.cfg", note="CE only"),
        Case("ours_train_ce_one_call", "ours", "train", config="baseline_src_trans.cfg", sort_by_length=False,
             note="CE only, TransformerModel.v1 sort_by_length = false: one padded call per batch, raw's work"),
        Case("ours_train_thinc_adam", "ours", "train", optimizer="thinc", release_gradients=False,
             note="the previous default: thinc's Adam.v1, gradients zeroed by the shim"),
        Case("ours_train_keep_grads", "ours", "train", release_gradients=False,
             note="spacy_concner.AdamW.v1, gradients zeroed by the shim (release_gradients = false)"),
        Case("raw_infer", "raw", "infer", note="no_grad forward + head + argmax"),
        Case("ours_infer", "ours", "infer", note="nlp.pipe, Viterbi decoding, doc.ents"),
        Case("ours_infer_one_call", "ours", "infer", sort_by_length=False, note="as ours_infer, with "
             "TransformerModel.v1 sort_by_length = false: one padded call per batch, raw's work"),
        Case("raw_train_frozen", "raw", "train", freeze_embeddings=True, group="frozen embeddings"),
        Case("ours_train_frozen", "ours", "train", freeze_embeddings=True, group="frozen embeddings",
             note="[initialize.after_init] spacy_concner.freeze_embeddings.v1"),
        Case("raw_train_bf16", "raw", "train", autocast=True, group="bf16 autocast"),
        Case("ours_train_bf16", "ours", "train", autocast=True, group="bf16 autocast",
             note="[initialize.after_init] spacy_concner.autocast.v1"),
        Case("raw_infer_bf16", "raw", "infer", autocast=True, group="bf16 autocast"),
        Case("ours_infer_bf16", "ours", "infer", autocast=True, group="bf16 autocast"),
        Case("ours_train_frozen_bf16", "ours", "train", freeze_embeddings=True, autocast=True,
             group="levers combined", note="transformer_levers.v1: frozen embeddings + bf16 autocast"),
    ]
    if settings.pruned_encoder:
        cases += [
            Case("raw_train_pruned", "raw", "train", pruned=True, group="pruned vocabulary"),
            Case("ours_train_pruned", "ours", "train", pruned=True, group="pruned vocabulary"),
            Case("ours_infer_pruned", "ours", "infer", pruned=True, group="pruned vocabulary"),
        ]
    for bucketed in (False, True):  # padding costs both sides alike; measured on ours
        tag = "bucketed" if bucketed else "random"
        note = "mixed-length sample sorted by length, then cut into batches" if bucketed else \
            "mixed-length sample in random order"
        for mode in ("train", "infer"):
            cases.append(Case(f"ours_{mode}_mixed_{tag}", "ours", mode, lengths="mixed",
                              bucketed=bucketed, group="bucketing", note=note))
    for size in (1, 4 * bs):
        for side in ("raw", "ours"):
            cases.append(Case(f"{side}_infer_bs{size}", side, "infer", batch_size=size,
                              group="inference batch size"))
    return cases


def run_in_subprocess(settings: Settings, case: Case) -> Result:
    cmd = [sys.executable, __file__, "--_worker", json.dumps({"settings": asdict(settings), "case": asdict(case)})]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"case {case.name} failed:\n{proc.stderr[-4000:]}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    return Result(**json.loads(line[len("RESULT "):]))


def merge(results: List[Result]) -> Result:
    """Pool the repetitions of one case over rounds; peak RSS is the max over rounds."""
    first = results[0]
    merged = Result(**{**asdict(first), "times": [t for r in results for t in r.times]})
    merged.rss_peak_mb = max(r.rss_peak_mb for r in results)
    merged.rss_loaded_mb = max(r.rss_loaded_mb for r in results)
    merged.cpu_times = [t for r in results for t in r.cpu_times]
    merged.extra = {**first.extra, **next((r.extra for r in results if "phases" in r.extra), {})}
    return merged


def git_commit() -> str:
    """The commit the benchmarked code comes from (a dirty tree is marked)."""
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def _medians(result: Result) -> Dict[str, float]:
    """One round's numbers in the shape speed_report.ratio reads."""
    return {"median_s": statistics.median(result.times), "cpu_median_s": statistics.median(result.cpu_times),
            "rss_peak_mb": result.rss_peak_mb}


def round_ratios(runs: Dict[str, List[Result]]) -> Dict[str, List[float]]:
    """Per interleaved round, the ratio of each target pair's medians (its spread is the honest one)."""
    from benchmarks.speed_report import TARGETS, ratio

    out: Dict[str, List[float]] = {}
    for _, ours, raw, kind, _, _ in TARGETS:
        pairs = list(zip(runs.get(ours, []), runs.get(raw, [])))
        if not pairs:
            continue
        for clock in ("wall", "cpu"):
            out[f"{ours}/{raw}/{kind}/{clock}"] = [ratio(_medians(o), _medians(r), kind, clock) for o, r in pairs]
    return out


def rewrite_report(out: Path) -> None:
    """Judge a recorded run again with this commit's report code (timings untouched)."""
    data = json.loads((out / "speed.json").read_text())
    settings = Settings(**data["meta"]["settings"])
    runs = {k: [Result(**r) for r in rs] for k, rs in data["rounds"].items()}
    merged = {k: Result(**v) for k, v in data["cases"].items()}
    cases = [c for c in all_cases(settings) if c.name in merged]
    data["summary"] = summarise(cases, merged, settings, round_ratios(runs))
    data["meta"]["report_commit"] = git_commit()
    (out / "speed.json").write_text(json.dumps(data, indent=1))
    write_markdown(out / "speed.md", data["meta"], data["summary"])
    print((out / "speed.md").read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default=str(ROOT / "assets" / "me5-small"),
                        help="Hugging Face encoder folder (default: assets/me5-small)")
    parser.add_argument("--pruned-encoder", default="", help="Vocabulary-pruned copy of the encoder (lever)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--n-batches", type=int, default=4)
    parser.add_argument("--min-len", type=int, default=20)
    parser.add_argument("--max-len", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=1, help="warm-up repetitions per process")
    parser.add_argument("--reps", type=int, default=2, help="timed repetitions per process and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds over the main cases")
    parser.add_argument("--lever-rounds", type=int, default=1, help="rounds that also run the lever cases")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for every case")
    parser.add_argument("--only", default="", help="comma-separated case names or groups")
    parser.add_argument("--data", default=Settings.data, help="CoNLL file to draw sentences from")
    parser.add_argument("--out", default=str(RESULTS), help="folder for speed.json and speed.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite speed.json's verdicts and speed.md in --out from its recorded rounds")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.report_only:
        rewrite_report(Path(args.out))
        return
    if args._worker:
        spec = json.loads(args._worker)
        result = run_case(Settings(**spec["settings"]), Case(**spec["case"]))
        print("RESULT " + json.dumps(asdict(result)), flush=True)
        return
    for path in (args.encoder, args.pruned_encoder):
        if path and not (Path(path) / "config.json").exists():
            raise SystemExit(f"Encoder folder {path!r} not found (no config.json). Build it with "
                             "`python -m spacy_concner encoder assets/me5-small` or pass --encoder.")
    settings = Settings(encoder=str(Path(args.encoder).resolve()),
                        pruned_encoder=str(Path(args.pruned_encoder).resolve()) if args.pruned_encoder else "",
                        batch_size=args.batch_size, n_batches=args.n_batches, min_len=args.min_len,
                        max_len=args.max_len, warmup=args.warmup, reps=args.reps, threads=args.threads,
                        data=args.data)
    cases = all_cases(settings)
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c.name in wanted or c.group in wanted]
    runs: Dict[str, List[Result]] = {c.name: [] for c in cases}
    loads = []
    started = time.time()
    for rnd in range(args.rounds):
        for case in cases:
            if case.group != "main" and rnd >= args.lever_rounds:
                continue
            loads.append(os.getloadavg()[0])
            res = run_in_subprocess(replace(settings, phases=rnd == 0), case)
            runs[case.name].append(res)
            print(f"[round {rnd + 1}] {case.name:28s} median {sorted(res.times)[len(res.times) // 2]:.3f}s "
                  f"peak RSS {res.rss_peak_mb:.0f} MB  load {loads[-1]:.2f}", flush=True)
    merged = {name: merge(rs) for name, rs in runs.items()}
    meta = {
        "command": "python " + " ".join([os.path.relpath(__file__, ROOT)] + sys.argv[1:]),
        "encoder": settings.encoder, "pruned_encoder": settings.pruned_encoder,
        "settings": asdict(settings), "rounds": args.rounds, "lever_rounds": args.lever_rounds,
        "loadavg_1min": {"min": min(loads), "max": max(loads), "mean": sum(loads) / len(loads)},
        "loadavg_end": os.getloadavg(), "seconds": round(time.time() - started),
        "python": platform.python_version(), "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": git_commit(),
    }
    summary = summarise(cases, merged, settings, round_ratios(runs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps({
        "meta": meta, "summary": summary, "cases": {k: asdict(v) for k, v in merged.items()},
        "rounds": {k: [asdict(r) for r in rs] for k, rs in runs.items()}}, indent=1))
    write_markdown(out / "speed.md", meta, summary)
    print((out / "speed.md").read_text())


if __name__ == "__main__":
    main()
