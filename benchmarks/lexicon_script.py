"""Which script the lexicon's translations are written in, next to the target language's own text (no labels).

Per language and ``script`` option (keep / target): the share of Latin-script tokens among all tokens and
among the projected entities' tokens of the translations, and, from the target language's unlabelled text
(where given), the share among all tokens and among capitalised tokens (where names are; no labels needed). A
translation set whose entities are Latin-script while the language writes its names in another script teaches
a cue the target text does not have.

    python benchmarks/lexicon_script.py SOURCE.spacy --langs bg --unlabelled ../shared/data/wikiann \\
        --out benchmarks/results/wikiann/lexicon-script

SOURCE may also be a CoNLL file, sampled as the accuracy benchmark samples its source (``--n-source``,
``--seed``). ``--rules-vs-icu`` adds, for the languages written by translate/script.py's own rules (bg), the
rows ICU would give them; ``--names`` writes the transliteration libraries' comparison on well-known names
(names.json / .md; cyrtranslit and transliterate must be installed for their rows).
"""
import argparse
import contextlib
import difflib
import json
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

import spacy
from spacy.tokens import DocBin

from spacy_concner.data.conll import read_conll
from spacy_concner.translate import script as script_module
from spacy_concner.translate.translate_train import make_targets, parse_options, translate
from spacy_concner.translate.script import SCRIPTS, is_latin, transliterate_word

ROOT = Path(__file__).resolve().parent.parent

# Well-known names and their accepted spellings (Wikipedia's article titles / common press usage) per language.
NAMES_EN = ("Washington Chicago Michael Jackson George Bush John Lennon Charles Dickens William Shakespeare Boston "
            "Texas Hollywood").split()
NAMES = {
    "ru": "Вашингтон Чикаго Майкл Джексон Джордж Буш Джон Леннон Чарльз Диккенс Уильям Шекспир Бостон Техас Голливуд",
    "uk": "Вашингтон Чикаго Майкл Джексон Джордж Буш Джон Леннон Чарльз Діккенс Вільям Шекспір Бостон Техас Голлівуд",
    "bg": "Вашингтон Чикаго Майкъл Джексън Джордж Буш Джон Ленън Чарлз Дикенс Уилям Шекспир Бостън Тексас Холивуд",
    "sr": "Вашингтон Чикаго Мајкл Џексон Џорџ Буш Џон Ленон Чарлс Дикенс Вилијам Шекспир Бостон Тексас Холивуд",
    "el": "Ουάσινγκτον Σικάγο Μάικλ Τζάκσον Τζορτζ Μπους Τζον Λένον Τσαρλς Ντίκενς Ουίλιαμ Σαίξπηρ Βοστώνη Τέξας "
          "Χόλιγουντ",
    "ar": "واشنطن شيكاغو مايكل جاكسون جورج بوش جون لينون تشارلز ديكنز ويليام شكسبير بوسطن تكساس هوليوود",
    "he": "וושינגטון שיקגו מייקל ג'קסון ג'ורג' בוש ג'ון לנון צ'ארלס דיקנס ויליאם שייקספיר בוסטון טקסס הוליווד",
    "hi": "वॉशिंगटन शिकागो माइकल जैक्सन जॉर्ज बुश जॉन लेनन चार्ल्स डिकेंस विलियम शेक्सपियर बोस्टन टेक्सास हॉलीवुड",
    "ja": "ワシントン シカゴ マイケル ジャクソン ジョージ ブッシュ ジョン レノン チャールズ ディケンズ ウィリアム シェイクスピア "
          "ボストン テキサス ハリウッド",
}


def latin_share(words: Iterable[str]) -> Dict[str, float]:
    """Tokens with letters, and the share of them written in Latin letters only."""
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    latin = sum(all(is_latin(c) for c in w if c.isalpha()) for w in lettered)
    return {"tokens": len(lettered), "latin": round(latin / max(len(lettered), 1), 4)}


def unlabelled_row(path: Path, lang: str, max_sentences: int) -> Dict[str, Any]:
    vocab = spacy.blank("xx").vocab
    text = list(read_conll(path, lang, vocab))[:max_sentences]
    return {"lang": lang, "what": f"{lang} unlabelled text ({len(text)} sentences)",
            "all": latin_share(t.text for d in text for t in d),
            "entities": latin_share(t.text for d in text for t in d if t.is_title or t.is_upper)}


@contextlib.contextmanager
def icu_for_rules() -> Iterator[None]:
    """translate/script.py with its own rules switched off: every language through ICU (for the comparison)."""
    saved = script_module.SCHEMES
    script_module.SCHEMES = ()
    script_module._writer.cache_clear()
    try:
        yield
    finally:
        script_module.SCHEMES = saved
        script_module._writer.cache_clear()


def translation_rows(source: Path, langs: Sequence[str], scripts: Sequence[str],
                     options: Mapping[str, Mapping[str, Any]], label: str = "") -> List[Dict[str, Any]]:
    """Translate ``source`` into ``langs`` with the lexicon engine once per script option, and measure each."""
    vocab = spacy.blank("xx").vocab
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in scripts:
            out = Path(tmp) / script
            per_lang = {l: {**options.get(l, {}), "script": script} for l in langs}
            reports = translate(source, out, make_targets([f"{l}:lexicon" for l in langs], per_lang), progress=False)
            for lang, report in reports.items():
                docs = list(DocBin().from_disk(out / f"{lang}.spacy").get_docs(vocab))
                rows.append({"lang": lang, "what": f"translations, script={script}{label} ({len(docs)} sentences)",
                             "script": report.engine.get("script"), "dictionary": report.engine.get("dictionary"),
                             "all": latin_share(t.text for d in docs for t in d),
                             "entities": latin_share(t.text for d in docs for e in d.ents for t in e)})
    return rows


def _plain(text: str) -> str:
    """Lowercase, combining marks off (Greek accents, Arabic and Hebrew vowel points), for the comparison."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def name_candidates(lang: str) -> Dict[str, Callable[[str], str]]:
    """The transliterations compared for ``lang``: what translate/script.py writes, ICU's plain script transform,
    and the Cyrillic/Greek libraries on PyPI that have the language (where installed)."""
    import icu

    with icu_for_rules():
        ours_icu = script_module.transform_id(lang)
    plain = f"Latin-ASCII; Latn-{script_module.language_script(lang)}"
    out = {"icu (script.py)": icu.Transliterator.createInstance(ours_icu).transliterate,
           "icu plain": icu.Transliterator.createInstance(plain).transliterate}
    if lang in script_module.SCHEMES:
        out["rules (script.py, bg)"] = lambda w: transliterate_word(w, lang)
    with contextlib.suppress(ImportError):
        import cyrtranslit
        code = {"uk": "ua", "be": "by"}.get(lang, lang)
        if code in cyrtranslit.supported():
            out["cyrtranslit"] = lambda w: cyrtranslit.to_cyrillic(w, code)
    with contextlib.suppress(ImportError):
        import transliterate
        if lang in transliterate.get_available_language_codes():
            out["transliterate"] = lambda w: transliterate.translit(w, lang)
    return out


def compare_names(langs: Sequence[str] = tuple(NAMES)) -> List[Dict[str, Any]]:
    """Per language and candidate: the share of letters left in Latin script, the mean similarity
    (difflib's ratio) to the accepted spelling and the number of exact matches, on :data:`NAMES`."""
    rows = []
    for lang in langs:
        accepted = NAMES[lang].split()
        for name, write in name_candidates(lang).items():
            out = [write(w) for w in NAMES_EN]
            letters = [c for w in out for c in w if c.isalpha()]
            rows.append({"lang": lang, "candidate": name, "output": " ".join(out),
                         "latin_letters": round(sum(map(is_latin, letters)) / len(letters), 4),
                         "similarity": round(sum(difflib.SequenceMatcher(None, _plain(o), _plain(a)).ratio()
                                                 for o, a in zip(out, accepted)) / len(accepted), 3),
                         "exact": sum(_plain(o) == _plain(a) for o, a in zip(out, accepted))})
    return rows


def sample_source(conll: Path, n: int, seed: int, tmp: Path) -> Path:
    """The accuracy benchmark's source sample (same function, n and seed) as a DocBin with pair ids."""
    from spacy_concner.data.prepare import prepare

    prepare(tmp, conll, source_lang="en", n=n, seed=seed)
    return tmp / "en" / "train.spacy"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + (" (uncommitted changes)" if git("status", "--porcelain") else "")


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="source DocBin (pair ids set, e.g. a benchmark run's data/en/train.spacy) "
                                             "or a CoNLL file to sample")
    p.add_argument("--langs", nargs="+", default=["bg"])
    p.add_argument("--scripts", nargs="+", default=["keep", "target"], choices=SCRIPTS)
    p.add_argument("--option", "-o", action="append", default=[], help="lexicon engine option, LANG.KEY=VALUE")
    p.add_argument("--unlabelled", type=Path, help="dataset folder with LANG/unlabeled.txt (languages without one "
                                                   "get translation rows only)")
    p.add_argument("--max-sentences", type=int, default=10000, help="unlabelled sentences read per language")
    p.add_argument("--n-source", type=int, default=1000, help="sentences sampled from a CoNLL source")
    p.add_argument("--seed", type=int, default=0, help="seed of that sample")
    p.add_argument("--rules-vs-icu", action="store_true", help="also ICU's rows for the languages with own rules")
    p.add_argument("--names", action="store_true", help="also compare the transliteration libraries on names")
    p.add_argument("--out", type=Path, help="folder for lexicon_script.json / .md (and names.json / .md)")
    args = p.parse_args(argv)
    options = parse_options(args.option)
    rows = [unlabelled_row(args.unlabelled / lang / "unlabeled.txt", lang, args.max_sentences) for lang in args.langs
            if args.unlabelled and (args.unlabelled / lang / "unlabeled.txt").exists()]
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if source.suffix != ".spacy":
            source = sample_source(source, args.n_source, args.seed, Path(tmp))
        rows += translation_rows(source, args.langs, args.scripts, options)
        ruled = [l for l in args.langs if l in script_module.SCHEMES]
        if args.rules_vs_icu and ruled and "target" in args.scripts:
            with icu_for_rules():
                rows += translation_rows(source, ruled, ["target"], options, label=" through ICU")
    rows.sort(key=lambda r: args.langs.index(r["lang"]))
    lines = ["| lang | text | Latin-script share: all tokens | entity tokens (unlabelled text: capitalised tokens) |",
             "|---|---|---:|---:|"]
    lines += [f"| {r['lang']} | {r['what']} | {100 * r['all']['latin']:.1f}% of {r['all']['tokens']} | "
              f"{100 * r['entities']['latin']:.1f}% of {r['entities']['tokens']} |" for r in rows]
    print("\n".join(lines))
    meta = {"command": "python benchmarks/lexicon_script.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": commit(), "source": str(args.source), "unlabelled": str(args.unlabelled)}
    if args.source.suffix != ".spacy":
        meta["sample"] = {"n": args.n_source, "seed": args.seed}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "lexicon_script.json").write_text(json.dumps({**meta, "rows": rows}, indent=2, ensure_ascii=False))
        (args.out / "lexicon_script.md").write_text("\n".join(lines) + "\n")
    if args.names:
        names = compare_names()
        table = ["| lang | candidate | Latin letters left | similarity to the accepted spelling | exact (of "
                 f"{len(NAMES_EN)}) | output |", "|---|---|---:|---:|---:|---|"]
        table += [f"| {r['lang']} | {r['candidate']} | {100 * r['latin_letters']:.1f}% | {r['similarity']:.3f} | "
                  f"{r['exact']} | {r['output']} |" for r in names]
        print("\n".join(table))
        if args.out:
            (args.out / "names.json").write_text(json.dumps({**meta, "english": NAMES_EN, "accepted": NAMES,
                                                              "rows": names}, indent=2, ensure_ascii=False))
            (args.out / "names.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
