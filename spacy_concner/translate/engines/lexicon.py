"""The ``lexicon`` engine: word by word with a FreeDict (dictd) or TSV dictionary.

The dictionary reading and the word-by-word rules are :mod:`spacy_concner.translate.lexicon`;
this module only adapts them to the :class:`~.base.Translator` interface.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..lexicon import DictdLexicon, Lexicon, check_names_policy, load_lexicon, translate_all
from ..script import resolve_script, to_target_script
from .base import EngineUnavailable, Translator, iso3, register_builtin

DICTD_DIR = Path("/usr/share/dictd")


def default_dictionary(src: str, tgt: str) -> Path:
    return DICTD_DIR / f"freedict-{iso3(src)}-{iso3(tgt)}.index"


class LexiconTranslator(Translator):
    """Word-by-word translation (see :mod:`spacy_concner.translate.lexicon`); bracket markers only."""

    name = "lexicon"
    batch_size = 256

    def __init__(self, src: str, tgt: str, dictionary: Optional[str] = None, max_words: int = 3,
                 names: str = "words", script: str = "auto") -> None:
        check_names_policy(names)
        self.script = resolve_script(script, tgt)  # recorded resolved: 'keep' or 'target'
        path = Path(dictionary) if dictionary else default_dictionary(src, tgt)
        if not path.exists() and dictionary and not path.suffix:
            path = DICTD_DIR / f"{dictionary}.index"  # a dictd name such as "freedict-eng-deu"
        if not path.exists():
            pkg = f"dict-freedict-{iso3(src)}-{iso3(tgt)}"
            raise EngineUnavailable(
                f"No {src}->{tgt} dictionary at {path}: `apt-get install {pkg}` or pass "
                "dictionary=<file.index (dictd) or file.tsv (source<TAB>target)>."
            )
        self.path = path
        self.lexicon: Lexicon = load_lexicon(path)
        self.max_words = max_words
        self.names = names
        self.tgt = tgt

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        out = translate_all(texts, self.lexicon, self.max_words, self.names)
        return [to_target_script(t, self.tgt) for t in out] if self.script == "target" else out

    def describe(self) -> Dict[str, Any]:
        kind = "dictd" if isinstance(self.lexicon, DictdLexicon) else "tsv"
        return {"engine": self.name, "dictionary": str(self.path), "format": kind, "max_words": self.max_words,
                "names": self.names, "script": self.script}


make_lexicon = register_builtin("lexicon", LexiconTranslator)
