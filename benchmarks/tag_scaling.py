"""Throughput of batch tagging (``python -m spacy_concner tag``) in one process and on 1..N Ray workers.

Sentences come from WikiAnn test text (``../shared/data/wikiann/LANG/test.txt``, CoNLL); each
engine tags the same N sentences with ``tag_file`` and its wall time is measured end to end, as a
user sees it: reading, workers loading the pipeline, tagging, writing. A local Ray instance is
started before the clock (a cluster is already running for a user of one); each engine's output
must equal the one-process output, or the script fails. One process runs torch with one thread, as
each Ray worker does (one CPU per worker), so the ratio measures processes, not threads.

    python -m benchmarks tag-scaling --model training/distill/model-best --n 2000 --workers 1 2 --rounds 3

On a cluster, the same command the benchmark times runs as
``python -m spacy_concner tag MODEL corpus.txt tagged.spacy --ray ray://HEAD:10001 --workers 16``
(add ``--num-gpus 1`` for one GPU per worker); MODEL must be a path every node can read or an
installed package name.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
WIKIANN = ROOT.parent / "shared" / "data" / "wikiann"


def wikiann_sentences(lang: str, n: int) -> List[str]:
    import spacy

    from spacy_concner.data.conll import read_conll

    path = WIKIANN / lang / "test.txt"
    if not path.is_file():
        sys.exit(f"{path} not found: this benchmark reads WikiAnn test text beside the project (../shared/data).")
    texts = []
    for doc in read_conll(path, lang, spacy.blank("xx").vocab):
        texts.append(doc.text)
        if len(texts) == n:
            break
    return texts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Pipeline folder or package name")
    parser.add_argument("--lang", default="de")
    parser.add_argument("--n", type=int, default=1000, help="Sentences to tag")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to time")
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds (each times every engine once)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tag_scaling",
                        help="Writes OUT.json and OUT.md")
    args = parser.parse_args(argv)

    import statistics

    import ray
    import torch

    from benchmarks.inference import log_interval
    from benchmarks.record import check_checkout, code_record, machine_record
    from spacy_concner.workflow.ray_runner import RayOptions
    from spacy_concner.workflow.tagging import DEFAULT_SORT_WINDOW, tag_file

    check_checkout(ROOT)
    torch.set_num_threads(1)
    texts = wikiann_sentences(args.lang, args.n)
    words = sum(len(t.split()) for t in texts)
    ray.init(num_cpus=max(os.cpu_count() or 1, max(args.workers)), include_dashboard=False, log_to_driver=False)
    engines = [("one process", None)] + [(f"ray x{w}", RayOptions(workers=w)) for w in args.workers]
    seconds: Dict[str, List[float]] = {name: [] for name, _ in engines}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.txt"
        src.write_text("\n".join(texts) + "\n", encoding="utf-8")
        for r in range(args.rounds):
            for name, options in engines[r % len(engines):] + engines[:r % len(engines)]:
                out = Path(tmp) / f"{name.replace(' ', '_')}.jsonl"
                start = time.perf_counter()
                report = tag_file(args.model, src, out, batch_size=args.batch_size, ray_options=options,
                                  sort_window=DEFAULT_SORT_WINDOW)
                seconds[name].append(time.perf_counter() - start)
                text = out.read_text(encoding="utf-8")
                reference = reference or text
                if text != reference or report.documents_out != len(texts):
                    sys.exit(f"{name}: output differs from the one-process output")
            print(f"round {r + 1}: " + ", ".join(f"{n} {len(texts) / s[-1]:.1f} sent/s" for n, s in seconds.items()),
                  flush=True)
    ray.shutdown()
    runs = []
    for name, _ in engines:
        median = statistics.median(seconds[name])
        mean, ci = log_interval([b / a for a, b in zip(seconds[name], seconds["one process"])])
        runs.append({"engine": name, "seconds": [round(x, 2) for x in seconds[name]],
                     "sentences_per_s": round(len(texts) / median, 1), "words_per_s": round(words / median, 1),
                     "vs_one_process": round(mean, 3), "ci95": ci and [round(x, 3) for x in ci]})
    data = {"model": args.model, "lang": args.lang, "sentences": len(texts), "words": words,
            "batch_size": args.batch_size, "rounds": args.rounds, "machine": machine_record(),
            "code": code_record(ROOT), "date": time.strftime("%Y-%m-%d %H:%M"), "runs": runs}
    lines = [f"# Batch tagging: one process and Ray workers", "",
             f"`python -m spacy_concner tag` end to end (reading, workers loading the pipeline, tagging, writing) on "
             f"{len(texts)} WikiAnn {args.lang} test sentences ({words} words), batches of {args.batch_size}, "
             f"{args.rounds} interleaved rounds, one torch thread per process, the tag command's defaults (length-sorted windows of {DEFAULT_SORT_WINDOW}, the model's own precision); model `{args.model}`. Machine: "
             f"{data['machine']['cpus']} CPUs ({data['machine']['cpu']}); commit {data['code']['commit'][:7]}; "
             f"{data['date']}. Every engine's output equals the one-process output (checked).", "",
             "| engine | sentences/s (median) | words/s | vs one process (geometric mean) | 95% interval |",
             "|---|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['engine']} | {r['sentences_per_s']} | {r['words_per_s']} | {r['vs_one_process']:.2f} | "
                     f"{r['ci95']} |")
    lines += ["", "On a cluster: `python -m spacy_concner tag MODEL corpus.txt tagged.spacy --ray ray://HEAD:10001 "
              "--workers 16` (`--num-gpus 1` for a GPU per worker); MODEL must be readable on every node.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
