"""Resident memory of a long ``nlp.pipe`` stream, with and without handing freed heap back to the OS.

Training needed ``spacy_concner.release_memory.v1`` because glibc keeps freed memory and a loop of
ever-new tensor shapes only grows the heap. This asks the same of production inference: one
process streams the texts through ``nlp.pipe`` several times and samples its RSS; ``--release-every N``
adds the ``concner_release_memory`` component (``malloc_trim(0)`` every N docs), as a long-running
service would. Prints a table.

    python benchmarks/inference_memory.py MODEL TEXTS... --docs 30000 [--release-every 1000] --out DIR
"""
import argparse
import itertools
import json
import platform
import resource
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import spacy

from spacy_concner.data.prepare import read_texts


def rss_mb() -> float:
    """This process's resident set size now (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark needs Linux")


def stream(texts: List[str], n: int) -> Iterator[str]:
    """``n`` texts, cycling through ``texts`` in order."""
    return itertools.islice(itertools.cycle(texts), n)


def measure(nlp, texts: List[str], docs: int, batch_size: int, every: int) -> Dict[str, Any]:
    samples = [{"docs": 0, "rss_mb": round(rss_mb(), 1), "seconds": 0.0}]
    start, done = time.time(), 0
    for _ in nlp.pipe(stream(texts, docs), batch_size=batch_size):
        done += 1
        if done % every == 0 or done == docs:
            samples.append({"docs": done, "rss_mb": round(rss_mb(), 1), "seconds": round(time.time() - start, 1)})
            print(f"{done} docs: RSS {samples[-1]['rss_mb']:.0f} MB", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"samples": samples, "peak_rss_mb": round(peak, 1), "final_rss_mb": samples[-1]["rss_mb"],
            "seconds": round(time.time() - start, 1)}


def table(result: Dict[str, Any]) -> str:
    rows = ["| docs | RSS (MB) | seconds |", "|---:|---:|---:|"]
    rows += [f"| {s['docs']} | {s['rss_mb']:.0f} | {s['seconds']:.0f} |" for s in result["samples"]]
    return "\n".join(rows)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", type=Path, help="a trained pipeline (e.g. a benchmark run's model-best)")
    p.add_argument("texts", type=Path, nargs="+", help="DocBins, CoNLL or one-text-per-line files")
    p.add_argument("--docs", type=int, default=30000, help="texts to stream (cycling through TEXTS)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--every", type=int, default=1000, help="sample RSS every N docs")
    p.add_argument("--release-every", type=int, default=0,
                   help="add the concner_release_memory component: malloc_trim(0) every N docs (0: not added)")
    p.add_argument("--out", type=Path, help="folder for inference_memory[-releaseN].json / .md")
    args = p.parse_args(argv)
    texts = read_texts(args.texts)
    if not texts:
        raise SystemExit(f"no texts in {' '.join(map(str, args.texts))}")
    before = rss_mb()
    nlp = spacy.load(args.model)
    if args.release_every:
        nlp.add_pipe("concner_release_memory", config={"every": args.release_every})
    loaded = rss_mb()
    result = measure(nlp, texts, args.docs, args.batch_size, args.every)
    result.update({
        "model": str(args.model), "texts": [str(t) for t in args.texts], "distinct_texts": len(texts),
        "docs": args.docs, "batch_size": args.batch_size, "release_every": args.release_every,
        "pipeline": nlp.pipe_names,
        "rss_before_load_mb": round(before, 1), "rss_after_load_mb": round(loaded, 1),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    })
    label = f"concner_release_memory every {args.release_every} docs" if args.release_every else "nothing released"
    md = (f"# nlp.pipe memory, {label}\n\n{args.docs} docs ({len(texts)} distinct, cycled), batch size "
          f"{args.batch_size}; RSS after loading {loaded:.0f} MB, peak {result['peak_rss_mb']:.0f} MB, final "
          f"{result['final_rss_mb']:.0f} MB.\n\n{table(result)}\n")
    print(md)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"inference_memory-release{args.release_every}" if args.release_every else "inference_memory"
        (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / f"{stem}.md").write_text(md)


if __name__ == "__main__":
    main()
