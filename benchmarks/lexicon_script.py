"""Which script the lexicon's translations are written in, next to the target language's own text (no labels).

Per language and ``script`` option (keep / target): the share of Latin-script tokens among all tokens and
among the projected entities' tokens of the translations, and, from the target language's unlabelled text,
the share among all tokens and among capitalised tokens (where names are; no labels needed). A translation
set whose entities are Latin-script while the language writes its names in another script teaches a cue the
target text does not have.

    python benchmarks/lexicon_script.py SOURCE.spacy --langs bg --unlabelled ../shared/data/wikiann \\
        --out benchmarks/results/wikiann/lexicon-script
"""
import argparse
import json
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List

import spacy
from spacy.tokens import DocBin

from spacy_concner.data.conll import read_conll
from spacy_concner.translate.pipeline import make_targets, translate
from spacy_concner.translate.script import SCRIPTS, is_latin


def latin_share(words: Iterable[str]) -> Dict[str, float]:
    """Tokens with letters, and the share of them written in Latin letters only."""
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    latin = sum(all(is_latin(c) for c in w if c.isalpha()) for w in lettered)
    return {"tokens": len(lettered), "latin": round(latin / max(len(lettered), 1), 4)}


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="source DocBin (pair ids set, e.g. a benchmark run's data/en/train.spacy)")
    p.add_argument("--langs", nargs="+", default=["bg"])
    p.add_argument("--unlabelled", type=Path, required=True, help="dataset folder with LANG/unlabeled.txt")
    p.add_argument("--max-sentences", type=int, default=10000, help="unlabelled sentences read per language")
    p.add_argument("--out", type=Path, help="folder for lexicon_script.json / .md")
    args = p.parse_args(argv)
    vocab = spacy.blank("xx").vocab
    rows = []
    for lang in args.langs:
        text = list(read_conll(args.unlabelled / lang / "unlabeled.txt", lang, vocab))[: args.max_sentences]
        rows.append({"lang": lang, "what": f"{lang} unlabelled text ({len(text)} sentences)",
                     "all": latin_share(t.text for d in text for t in d),
                     "entities": latin_share(t.text for d in text for t in d if t.is_title or t.is_upper)})
    with tempfile.TemporaryDirectory() as tmp:
        for script in SCRIPTS:
            out = Path(tmp) / script
            translate(args.source, out, make_targets([f"{l}:lexicon" for l in args.langs],
                                                     {l: {"script": script} for l in args.langs}), progress=False)
            for lang in args.langs:
                docs = list(DocBin().from_disk(out / f"{lang}.spacy").get_docs(vocab))
                rows.append({"lang": lang, "what": f"translations, script={script} ({len(docs)} sentences)",
                             "all": latin_share(t.text for d in docs for t in d),
                             "entities": latin_share(t.text for d in docs for e in d.ents for t in e)})
    lines = ["| lang | text | Latin-script share: all tokens | entity tokens (unlabelled text: capitalised tokens) |",
             "|---|---|---:|---:|"]
    lines += [f"| {r['lang']} | {r['what']} | {100 * r['all']['latin']:.1f}% of {r['all']['tokens']} | "
              f"{100 * r['entities']['latin']:.1f}% of {r['entities']['tokens']} |" for r in rows]
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "lexicon_script.json").write_text(json.dumps(
            {"source": str(args.source), "unlabelled": str(args.unlabelled), "rows": rows}, indent=2))
        (args.out / "lexicon_script.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
