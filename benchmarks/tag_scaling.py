"""Throughput of batch tagging (``python -m spacy_concner tag``) in one process and on 1..N Ray workers.

Sentences come from WikiAnn test text (``../shared/data/wikiann/LANG/test.txt``, CoNLL); each
engine tags the same N sentences with ``tag_file`` and its wall time is measured end to end, as a
user sees it: reading, workers loading the pipeline, tagging, writing. A local Ray instance is
started before the clock (a cluster is already running for a user of one); each engine's output
must equal the one-process output, or the script fails. One process runs torch with one thread, as
each Ray worker does (one CPU per worker), so the ratio measures processes, not threads.

    python -m benchmarks tag-scaling --model training/distill/model-best --n 2000 --workers 1 2

On a cluster, the same command the benchmark times runs as
``python -m spacy_concner tag MODEL corpus.txt tagged.spacy --ray ray://HEAD:10001 --workers 16``
(add ``--num-gpus 1`` for one GPU per worker); MODEL must be a path every node can read or an
installed package name.
"""
import argparse
import json
import os
import platform
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
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to time")
    parser.add_argument("--output", type=Path, help="Write the results as JSON here too")
    args = parser.parse_args(argv)

    import ray
    import torch

    from spacy_concner.workflow.ray_runner import RayOptions
    from spacy_concner.workflow.tagging import tag_file

    torch.set_num_threads(1)
    texts = wikiann_sentences(args.lang, args.n)
    words = sum(len(t.split()) for t in texts)
    ray.init(num_cpus=max(os.cpu_count() or 1, max(args.workers)), include_dashboard=False, log_to_driver=False)
    runs: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.txt"
        src.write_text("\n".join(texts) + "\n", encoding="utf-8")
        engines = [("one process", None)] + [(f"ray x{w}", RayOptions(workers=w)) for w in args.workers]
        reference = None
        for name, options in engines:
            out = Path(tmp) / f"{name.replace(' ', '_')}.jsonl"
            start = time.perf_counter()
            report = tag_file(args.model, src, out, batch_size=args.batch_size, ray_options=options)
            seconds = time.perf_counter() - start
            text = out.read_text(encoding="utf-8")
            reference = reference or text
            if text != reference:
                sys.exit(f"{name}: output differs from the one-process output")
            runs.append({"engine": name, "workers": report.workers, "sentences": report.documents_out,
                         "seconds": round(seconds, 2), "sentences_per_s": round(report.documents_out / seconds, 1),
                         "words_per_s": round(words / seconds, 1)})
    ray.shutdown()
    base = runs[0]["sentences_per_s"]
    print(f"tagging {len(texts)} WikiAnn {args.lang} test sentences ({words} words), batch {args.batch_size}, "
          f"model {args.model}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")
    print("| engine | sentences/s | words/s | seconds (end to end) | vs one process |\n|---|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['engine']} | {r['sentences_per_s']} | {r['words_per_s']} | {r['seconds']} | "
              f"{r['sentences_per_s'] / base:.2f}x |")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"model": args.model, "lang": args.lang, "n": len(texts), "words": words,
                                           "batch_size": args.batch_size, "cpus": os.cpu_count(), "runs": runs},
                                          indent=2) + "\n")


if __name__ == "__main__":
    main()
