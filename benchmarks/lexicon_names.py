"""What the lexicon engine's ``names`` option does to a source set's translations (no training).

Per language and policy (words / whole / copy): translations kept, translations word for word equal to
their source (useless as translation-contrastive pairs), and projected entities whose text differs from
the source entity's (translated names, and half-translated ones such as "Kingdom of Schottland").

    python benchmarks/lexicon_names.py SOURCE.spacy --langs de bg hu nl --out results/wikiann/lexicon-names
"""
import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import spacy
from spacy.tokens import DocBin

from spacy_concner.data.docdata import get_pair_id
from spacy_concner.translate.lexicon import NAME_POLICIES
from spacy_concner.translate.translate_train import make_targets, translate


def entity_changes(source: Dict[str, Any], path: Path, vocab) -> Dict[str, int]:
    """Entities compared in order, for translations that kept the source's number of entities."""
    compared = changed = 0
    for doc in DocBin().from_disk(path).get_docs(vocab):
        src, tgt = [e.text for e in source[get_pair_id(doc)].ents], [e.text for e in doc.ents]
        if len(src) == len(tgt):
            compared += len(src)
            changed += sum(a != b for a, b in zip(src, tgt))
    return {"entities_compared": compared, "entities_changed": changed}


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="source DocBin (pair ids set, e.g. a benchmark run's data/en/train.spacy)")
    p.add_argument("--langs", nargs="+", default=["de", "bg", "hu", "nl"])
    p.add_argument("--out", type=Path, help="folder for lexicon_names.json / .md")
    args = p.parse_args(argv)
    vocab = spacy.blank("xx").vocab
    source = {get_pair_id(d): d for d in DocBin().from_disk(args.source).get_docs(vocab)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for names in NAME_POLICIES:
            out = Path(tmp) / names
            targets = make_targets([f"{lang}:lexicon" for lang in args.langs], {lang: {"names": names} for lang in args.langs})
            translate(args.source, out, targets, progress=False)
            for lang in args.langs:
                rep = json.loads((out / f"{lang}.report.json").read_text())
                rows.append({"names": names, "lang": lang, "sentences": len(source), "kept": rep["kept"],
                             "identical": rep["identical"], **entity_changes(source, out / f"{lang}.spacy", vocab)})
    lines = ["| names | lang | kept | identical to source | entities changed |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['names']} | {r['lang']} | {r['kept']}/{r['sentences']} | {r['identical']} | "
              f"{r['entities_changed']}/{r['entities_compared']} |" for r in rows]
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "lexicon_names.json").write_text(json.dumps({"source": str(args.source), "rows": rows}, indent=2))
        (args.out / "lexicon_names.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
